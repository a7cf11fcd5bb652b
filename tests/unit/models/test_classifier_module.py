"""GarmentClassifierModule: a fast_dev_run, metrics, optimizers, checkpoint round trip."""

from __future__ import annotations

import functools

import pytest
import torch
from lightning import Trainer

from tests.helpers.tiny_data import TINY_CLASSES, TINY_PREPROCESSING
from wardrobe.data.classification_datamodule import GarmentClassificationDataModule
from wardrobe.models.classifier_module import GarmentClassifierModule
from wardrobe.models.components import backbones
from wardrobe.models.components.classifier_net import GarmentClassifierNet


def make_module(weights: str = "none", **kwargs) -> GarmentClassifierModule:
    net = GarmentClassifierNet(weights=weights, num_classes=len(TINY_CLASSES))
    return GarmentClassifierModule(
        net=net,
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.01),
        scheduler=functools.partial(torch.optim.lr_scheduler.CosineAnnealingLR),
        preprocessing=TINY_PREPROCESSING,
        **kwargs,
    )


def make_datamodule(root) -> GarmentClassificationDataModule:
    return GarmentClassificationDataModule(
        data_dir=str(root), classes=TINY_CLASSES, batch_size=4, preprocessing=TINY_PREPROCESSING
    )


def tiny_trainer(tmp_path, **kwargs) -> Trainer:
    defaults = {
        "accelerator": "cpu",
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": str(tmp_path),
    }
    return Trainer(**{**defaults, **kwargs})


def test_fast_dev_run_trains_validates_and_tests(tiny_imagefolder, tmp_path):
    module, datamodule = make_module(), make_datamodule(tiny_imagefolder)
    before = module.net.head.weight.detach().clone()
    trainer = tiny_trainer(tmp_path, fast_dev_run=True)
    trainer.fit(module, datamodule=datamodule)
    assert not torch.equal(module.net.head.weight, before)  # one optimizer step happened
    for key in ("train/loss", "train/acc", "val/acc", "val/acc_top5", "val/acc_best"):
        assert key in trainer.callback_metrics, key
    trainer.test(module, datamodule=datamodule)
    assert {"test/loss", "test/acc", "test/acc_top5"} <= set(trainer.callback_metrics)
    matrix = module.test_confusion_matrix
    assert matrix.shape == (len(TINY_CLASSES), len(TINY_CLASSES))
    assert int(matrix.sum()) == 4  # fast_dev_run tests one batch of 4


def test_frozen_backbone_is_left_out_of_the_optimizer():
    module = make_module(freeze_backbone=True)
    module.trainer = type("T", (), {"estimated_stepping_batches": 10})()
    config = module.configure_optimizers()
    optimised = {id(p) for group in config["optimizer"].param_groups for p in group["params"]}
    assert optimised == {id(p) for p in module.net.head.parameters()}
    # cosine without T_max spans the run, stepping per batch
    assert config["lr_scheduler"]["scheduler"].T_max == 10
    assert config["lr_scheduler"]["interval"] == "step"


def test_hparams_are_plain_configs():
    module = make_module(label_smoothing=0.1)
    hp = module.hparams
    assert hp.net["_target_"].endswith("GarmentClassifierNet") and hp.net["num_classes"] == 6
    assert hp.optimizer == {
        "_target_": "torch.optim.adamw.AdamW",
        "_partial_": True,
        "lr": 1e-3,
        "weight_decay": 0.01,
    }
    assert hp.label_smoothing == 0.1 and hp.preprocessing["image_size"] == 64


def test_load_from_checkpoint_gives_identical_outputs(tiny_imagefolder, tmp_path, monkeypatch):
    # Built with the shipped ImageNet weights, as in training.
    module, datamodule = make_module(weights="offline_imagenet"), make_datamodule(tiny_imagefolder)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    trainer.fit(module, datamodule=datamodule)
    path = tmp_path / "classifier.ckpt"
    trainer.save_checkpoint(path)

    # Loading needs neither the pretrained file nor any argument, and no pickled objects.
    def no_file():
        raise AssertionError("load_from_checkpoint must not read the pretrained weights")

    monkeypatch.setattr(backbones, "offline_weights_path", no_file)
    loaded = GarmentClassifierModule.load_from_checkpoint(path, weights_only=True)
    assert loaded.hparams.net["weights"] == "offline_imagenet"  # the record stays truthful
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), module.eval()(x))


@pytest.mark.parametrize("factory", [lambda p: torch.optim.SGD(p), "not a partial"])
def test_optimizer_must_be_a_partial(factory):
    with pytest.raises((TypeError, ValueError)):
        GarmentClassifierModule(
            net=GarmentClassifierNet(weights="none", num_classes=3), optimizer=factory
        )


def test_checkpoint_naming_a_foreign_callable_is_refused(tiny_imagefolder, tmp_path):
    module = make_module()
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(module, datamodule=make_datamodule(tiny_imagefolder))
    path = tmp_path / "tampered.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["hyper_parameters"]["optimizer"]["_target_"] = "os.system"
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match=r"os\.system"):
        GarmentClassifierModule.load_from_checkpoint(path, weights_only=True)
