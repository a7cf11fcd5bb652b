"""The pinned detector start: only a checkpoint with the pinned sha256 is ever unpickled."""

from __future__ import annotations

import pytest

from wardrobe.models import detector_start as ds


def test_other_architectures_pass_through(tmp_path):
    assert ds.resolve_architecture("yolov8n.yaml", tmp_path) == "yolov8n.yaml"


def test_a_changed_file_is_refused(tmp_path):
    (tmp_path / ds.START_FILE).write_bytes(b"not the pinned checkpoint")
    with pytest.raises(ValueError, match="not the pinned"):
        ds.trusted_start(tmp_path)


def test_unavailable_start_falls_back_to_scratch_with_a_warning(tmp_path, monkeypatch, caplog):
    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(ds, "_download", offline)
    assert ds.resolve_architecture(ds.START_NAME, tmp_path) == ds.FROM_SCRATCH_FALLBACK
    assert "no network" in caplog.text
