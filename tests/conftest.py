"""Shared fixtures: Hydra configs composed the way the entry points compose them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import wardrobe.config  # noqa: F401  (registers the resolvers)

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"
REAL_SAMPLES = REPO_ROOT.parent / "shared" / "real-samples"

os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("YOLO_OFFLINE", "1")


def config_options(group: str) -> list[str]:
    """The options of a config group (file stems), for parametrised tests."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose_config(name: str, overrides: list[str], tmp_path: Path) -> DictConfig:
    """Compose ``conf/<name>.yaml`` with overrides, writing every path under ``tmp_path``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides, return_hydra_config=True)
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.root_dir = str(tmp_path)
        cfg.paths.output_dir = str(tmp_path / "output")
        del cfg.hydra  # kept in HydraConfig for ${hydra:...}; the job config goes without it
    GlobalHydra.instance().clear()
    return cfg


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


def tiny_train_overrides(model: str, synth: Path) -> list[str]:
    """Overrides that train ``model`` on the tiny set quickly on CPU."""
    data_dir = {
        "classifier": "classification",
        "tagger": "attributes",
        "compatibility": "polyvore",
        "clip": "attributes",
    }
    return [
        f"model={model}",
        f"data.data_dir={synth / data_dir[model]}",
        "data.generate_if_missing=false",
        "data.batch_size=8",
        "hardware.num_workers=0",
        "callbacks=none",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        "trainer.enable_progress_bar=false",
    ]


@pytest.fixture(scope="session")
def tiny_bundles(tiny_synth, tmp_path_factory) -> Path:
    """``model_artifacts/`` with all five models trained tiny on ``tiny_synth`` (see bundles.py)."""
    from tests.bundles import train_tiny_bundles

    return train_tiny_bundles(tmp_path_factory.mktemp("bundles"), tiny_synth)
