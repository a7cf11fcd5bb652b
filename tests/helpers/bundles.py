"""All five bundles trained tiny (seconds each) into one ``model_artifacts/``, for the pipeline
and serving tests. Real training runs through ``tasks.train``; the models are barely trained, so
tests built on them check wiring and consistency, not accuracy."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.config import compose_config, tiny_train_overrides
from wardrobe import tasks

MODELS = ("detector", "classifier", "tagger", "clip", "compatibility")
_FAST = ["trainer.fast_dev_run=true", "test=false", "logger=csv"]


def tiny_detector_overrides(synth: Path) -> list[str]:
    """A one-batch YOLOv8 run at 64 px on the tiny set's DeepFashion2 scenes."""
    return [
        "model=detector",
        f"data.df2_root={synth / 'deepfashion2'}",
        "data.generate_if_missing=false",
        "data.convert_workers=0",
        "hardware.detector_imgsz=64",
        "hardware.detector_batch=4",
        "hardware.num_workers=0",
        "trainer.fast_dev_run=true",
    ]


def _overrides(model: str, synth: Path, artifacts: Path) -> list[str]:
    if model == "detector":
        return tiny_detector_overrides(synth)
    extra = []
    if model == "compatibility":  # served features: what the store holds of each garment
        parts = "[image, text, category, slot, colour, formality, season, pattern, fit, style]"
        extra = [
            "~model.preprocessing.encoder",
            f"+model.preprocessing.encoder={{kind: garments, path: {artifacts}, parts: {parts}}}",
            "model.net.feature_dim=613",
        ]
    return [*tiny_train_overrides(model, synth), *_FAST, *extra]


def train_tiny_bundles(root: Path, synth: Path, models: tuple[str, ...] = MODELS) -> Path:
    """Train every model on the tiny set under ``root``; return ``root/model_artifacts``."""
    artifacts = root / "model_artifacts"
    for model in models:
        job = root / "jobs" / model
        cfg = compose_config("train", _overrides(model, synth, artifacts), job)
        cfg.paths.root_dir = str(root)
        cfg.paths.output_dir = str(job / "output")
        tasks.train(cfg)
    return artifacts
