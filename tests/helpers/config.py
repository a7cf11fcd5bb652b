"""Hydra configs composed as the entry points compose them, and the tiny-training overrides."""

from __future__ import annotations

import os
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import wardrobe.config  # noqa: F401  (registers the resolvers)

REPO_ROOT = Path(__file__).resolve().parents[2]
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
