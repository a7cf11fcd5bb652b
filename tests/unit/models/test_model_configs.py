"""conf/model/{classifier,tagger}.yaml pick their data, instantiate, and log their objective."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate
from lightning import Trainer
from omegaconf import OmegaConf

from tests.helpers.tiny_data import TINY_CLASSES
from wardrobe.taxonomy import FINE_CATEGORIES

# The logging config is not what these tests are about.
PLAIN_LOGGING = ["hydra/job_logging=default", "hydra/hydra_logging=default"]
DATAMODULES = {
    "classifier": "wardrobe.data.classification_datamodule.GarmentClassificationDataModule",
    "tagger": "wardrobe.data.attributes_datamodule.AttributeDataModule",
}


@pytest.mark.parametrize("model", sorted(DATAMODULES))
def test_model_choice_selects_its_data_and_shares_preprocessing(make_cfg, model):
    cfg = make_cfg("train", [f"model={model}", *PLAIN_LOGGING])
    assert cfg.data._target_ == DATAMODULES[model]
    assert cfg.model_name == model
    model_pre = OmegaConf.to_container(cfg.model.preprocessing, resolve=True)
    assert OmegaConf.to_container(cfg.data.preprocessing, resolve=True) == model_pre
    assert model_pre["image_size"] == 128 and model_pre["mean"] == [0.5, 0.5, 0.5]
    assert cfg.model.optimizer._partial_ and cfg.model.scheduler._partial_


def test_classifier_size_follows_the_class_list(make_cfg):
    cfg = make_cfg("train", ["model=classifier", *PLAIN_LOGGING])
    assert cfg.model.net.num_classes == len(FINE_CATEGORIES)
    assert list(cfg.data.classes) == list(FINE_CATEGORIES)
    cfg = make_cfg("train", ["model=classifier", f"data.classes={TINY_CLASSES}", *PLAIN_LOGGING])
    assert cfg.model.net.num_classes == len(TINY_CLASSES)


@pytest.mark.parametrize("model", sorted(DATAMODULES))
def test_config_trains_one_batch_and_logs_its_objective(
    make_cfg, model, tiny_imagefolder, tiny_attributes, tmp_path
):
    root = tiny_imagefolder if model == "classifier" else tiny_attributes
    overrides = [
        f"model={model}",
        "model.net.weights=none",  # speed; the offline weights are tested in test_backbones
        f"data.data_dir={root}",
        "data.generate_if_missing=false",
        *PLAIN_LOGGING,
    ]
    if model == "classifier":
        overrides.append(f"data.classes={TINY_CLASSES}")
    cfg = make_cfg("train", overrides)
    datamodule = instantiate(cfg.data, batch_size=4)
    module = instantiate(cfg.model)
    trainer = Trainer(
        accelerator="cpu",
        fast_dev_run=True,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(module, datamodule=datamodule)
    assert cfg.objective.metric in trainer.callback_metrics
    assert module.hparams.preprocessing == datamodule.preprocessing
