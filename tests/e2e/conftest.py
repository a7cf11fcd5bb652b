"""End-to-end fixtures: the real ``serve.py`` on a free loopback port, with bundles from the
tiny training run (``tiny_bundles``), real stores under tmp_path, and synthetic scene photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.serve_harness import MAX_UPLOAD, keys_override, serving


@pytest.fixture(scope="session")
def scene_photos(tiny_synth) -> list[Path]:
    """Synthetic DeepFashion2-style scene photos (people in garments, 240x320 or larger)."""
    photos = sorted((tiny_synth / "deepfashion2").glob("*/image/*.jpg"))
    assert len(photos) >= 6, photos
    return photos


@pytest.fixture(scope="module")
def keyed_server(tiny_bundles, tmp_path_factory):
    """One server for the module: embedded stores, API keys for alice and bob."""
    root = tmp_path_factory.mktemp("keyed-server")
    overrides = [keys_override(), f"max_upload_bytes={MAX_UPLOAD}"]
    with serving(root, tiny_bundles, overrides) as server:
        yield server
