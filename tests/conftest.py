"""Shared fixtures: composed configs, the real samples, a tiny SynthWardrobe, tiny bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import DictConfig

from tests.helpers.config import REAL_SAMPLES, compose_config


@pytest.fixture
def make_cfg(tmp_path):
    """``make_cfg("train", ["model=tagger"])`` -> a composed config rooted in tmp_path."""

    def _make(name: str, overrides: list[str] | None = None) -> DictConfig:
        return compose_config(name, list(overrides or []), tmp_path)

    return _make


@pytest.fixture
def real_samples() -> Path:
    """``../shared/real-samples`` beside the checkout, read in place (research-only licences)."""
    if not REAL_SAMPLES.is_dir():
        pytest.skip(f"real samples not present at {REAL_SAMPLES}")
    return REAL_SAMPLES


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """A tiny SynthWardrobe (every format, every category) generated once per test session."""
    from wardrobe.data.synthetic import generate

    root = tmp_path_factory.mktemp("synth") / "synthwardrobe"
    generate(
        root=str(root),
        seed=0,
        scenes=12,
        crops_per_class=4,
        outfits=60,
        workers=1,
        progress=False,
    )
    return root


@pytest.fixture(scope="session")
def tiny_bundles(tiny_synth, tmp_path_factory) -> Path:
    """``model_artifacts/`` with all five models trained tiny on ``tiny_synth``
    (see tests/helpers/bundles.py)."""
    from tests.helpers.bundles import train_tiny_bundles

    return train_tiny_bundles(tmp_path_factory.mktemp("bundles"), tiny_synth)
