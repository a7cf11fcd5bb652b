"""OutfitCompatibilityModule: FITB protocol, metric keys and resets, fast_dev_run, checkpoints,
and the Hydra path (`model=compatibility`) through tasks.train to a loadable bundle."""

from __future__ import annotations

import functools

import lightning as L
import pytest
import torch

from tests.helpers.polyvore_tiny import write_tiny_polyvore
from wardrobe import tasks
from wardrobe.artifacts import load_bundle, read_meta, save_bundle
from wardrobe.data.polyvore_datamodule import PolyvoreDataModule
from wardrobe.models.compatibility_module import (
    OutfitCompatibilityModule,
    bundle_preprocessing,
    fitb_predictions,
)
from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet

DIM = 16


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_polyvore(tmp_path / "polyvore")


def make_module(lr: float = 1e-2) -> OutfitCompatibilityModule:
    torch.manual_seed(0)
    net = OutfitCompatibilityNet(DIM, d_model=16, nhead=2, num_layers=1, dim_feedforward=32)
    return OutfitCompatibilityModule(
        net,
        optimizer=functools.partial(torch.optim.AdamW, lr=lr),
        scheduler=functools.partial(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=3),
        preprocessing={"encoder": {"kind": "stand-in"}, "feature_dim": DIM},
    )


def make_trainer(tmp_path, **kwargs) -> L.Trainer:
    defaults = {
        "accelerator": "cpu",
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": tmp_path,
    }
    return L.Trainer(**(defaults | kwargs))


def feature_dm(tiny, batch_size: int = 4) -> PolyvoreDataModule:
    return PolyvoreDataModule.from_features(
        tiny.root, tiny.features(DIM), batch_size=batch_size, feature_dim=DIM
    )


def oracle_logits(features: torch.Tensor, padding_mask: torch.Tensor | None = None):
    """Knows the tiny set's rule: an outfit is compatible when its items share one style
    (feature dims 0-2 are the style one-hot)."""
    real = (~padding_mask).unsqueeze(-1).float()
    style = (features[..., :3] * real).sum(1) / real.sum(1).clamp(min=1)
    return 10 * (style.max(-1).values - 0.9)


def test_fitb_predictions_pick_the_best_real_candidate():
    scores = torch.tensor([[0.1, 0.9, 0.3, 0.2], [2.0, 0.0, 1.0, 5.0]])
    mask = torch.tensor([[True] * 4, [True, True, True, False]])  # 5.0 is a padded candidate
    assert fitb_predictions(scores, mask).tolist() == [1, 0]


def test_fitb_accuracy_credits_the_matching_set_answer_not_the_first(tiny, tmp_path):
    module = make_module()
    module.net.forward = oracle_logits  # a perfect scorer
    dm = feature_dm(tiny)
    (metrics,) = make_trainer(tmp_path).validate(module, datamodule=dm, verbose=False)
    n = len(tiny.outfits["valid"])
    assert metrics["val/fitb_questions"] == n
    assert metrics["val/fitb_acc"] == 1.0  # answers[0] is never the correct one here
    assert metrics["val/auc"] == 1.0 and metrics["val/compat_questions"] == 2 * n

    # a scorer that prefers the first candidate (answers[0]) gets every question wrong
    def first_answer(features, padding_mask=None):
        return torch.zeros(len(features))

    module.net.forward = first_answer
    (metrics,) = make_trainer(tmp_path).validate(module, datamodule=dm, verbose=False)
    assert metrics["val/fitb_acc"] == 0.0


def test_fast_dev_run_logs_every_metric_once(tiny, tmp_path):
    module = make_module()
    trainer = make_trainer(tmp_path, fast_dev_run=True)
    trainer.fit(module, datamodule=feature_dm(tiny))
    keys = set(trainer.callback_metrics)
    for key in ("train/loss", "train/auc", "train/acc", "val/loss", "val/auc", "val/acc"):
        assert key in keys and torch.isfinite(trainer.callback_metrics[key]), key
    assert "val/auc_best" in keys
    (tested,) = trainer.test(module, datamodule=feature_dm(tiny), verbose=False)
    assert {"test/auc", "test/acc", "test/fitb_acc"} <= set(tested)
    assert not any("dataloader_idx" in k for k in (*keys, *tested))


def test_validation_counts_are_not_polluted_by_the_sanity_check(tiny, tmp_path):
    trainer = make_trainer(tmp_path, max_epochs=1, num_sanity_val_steps=2)
    trainer.fit(make_module(), datamodule=feature_dm(tiny))
    n = len(tiny.outfits["valid"])
    assert trainer.callback_metrics["val/compat_questions"] == 2 * n
    assert trainer.callback_metrics["val/fitb_questions"] == n


def test_learns_the_tiny_rule_and_loads_from_checkpoint(tiny, tmp_path):
    dm = feature_dm(tiny, batch_size=8)
    module = make_module(lr=3e-3)
    trainer = make_trainer(
        tmp_path, max_epochs=8, enable_checkpointing=True, num_sanity_val_steps=0
    )
    (untrained,) = trainer.validate(module, datamodule=dm, verbose=False)
    trainer.fit(module, datamodule=dm)
    assert untrained["val/auc"] < 0.8 and trainer.callback_metrics["val/auc_best"] > 0.9
    path = trainer.checkpoint_callback.best_model_path
    loaded = OutfitCompatibilityModule.load_from_checkpoint(path)  # no arguments needed
    assert loaded.hparams.net == module.hparams.net
    assert loaded.hparams.preprocessing["feature_dim"] == DIM
    batch = next(iter(dm.val_dataloader()))
    module.eval()
    torch.testing.assert_close(
        loaded.eval()(batch["features"], batch["padding_mask"]),
        module(batch["features"], batch["padding_mask"]),
    )


def test_train_task_exports_a_bundle_with_the_encoder(make_cfg, tmp_path):
    """`python train.py model=compatibility` on a tiny image set: the real offline encoder,
    one batch of each stage, then a bundle that serving can load."""
    tiny = write_tiny_polyvore(tmp_path / "pv")
    cfg = make_cfg(
        "train",
        [
            "model=compatibility",
            "callbacks=none",
            "logger=csv",
            "++trainer.fast_dev_run=true",
            f"data.data_dir={tiny.root}",
            "data.batch_size=8",
            "hardware.num_workers=0",
            "model.net.d_model=16",
            "model.net.nhead=2",
            "model.net.dim_feedforward=32",
            "model.preprocessing.encoder.image.image_size=32",
            "model.preprocessing.encoder.image.resize=32",
        ],
    )
    assert cfg.data.encoder == cfg.model.preprocessing.encoder
    metrics, objects = tasks.train(cfg)
    assert objects["datamodule"].feature_dim == 1280  # tf_efficientnet_lite0 pooled features
    assert cfg.objective.metric in metrics  # val/auc_best: checkpointing and sweeps need it
    assert "test/auc" in metrics and "test/fitb_acc" in metrics
    bundle = load_bundle(objects["bundle"])
    assert bundle.preprocessing["encoder"]["name"] == "tf_efficientnet_lite0"
    assert bundle.labels["semantic_categories"] == sorted(set(tiny.category.values()))
    assert isinstance(bundle.net, OutfitCompatibilityNet) and not bundle.net.training


def _encoder_bundle(path):
    """A stand-in encoder bundle (any wardrobe net will do: only its weights' sha matters)."""
    torch.manual_seed(1)
    net = OutfitCompatibilityNet(DIM, d_model=16, nhead=2, num_layers=1, dim_feedforward=32)
    return save_bundle(path, name="clip", net=net, net_cfg=net.config, labels={},
                       preprocessing={})  # fmt: skip


def test_a_bundle_encoder_records_its_weights_sha(tmp_path):
    """Serving feeds stored CLIP embeddings to the net: the bundle must name the CLIP weights."""
    encoder = _encoder_bundle(tmp_path / "clip")
    sha = read_meta(encoder)["weights_sha256"]
    pre = {"encoder": {"kind": "bundle", "path": str(encoder)}, "feature_dim": DIM}
    module = OutfitCompatibilityModule(
        OutfitCompatibilityNet(DIM, d_model=16, nhead=2, num_layers=1, dim_feedforward=32),
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3),
        preprocessing=pre,
    )
    assert module.export_preprocessing["encoder_weights_sha256"] == sha
    assert bundle_preprocessing(pre | {"encoder_weights_sha256": sha})["feature_dim"] == DIM
    with pytest.raises(ValueError, match="encoder bundle"):
        bundle_preprocessing(pre | {"encoder_weights_sha256": "0" * 64})  # a stale sha
    backbone = {"encoder": {"kind": "backbone", "name": "tf_efficientnet_lite0"}}
    assert "encoder_weights_sha256" not in bundle_preprocessing(backbone)
    missing = {"encoder": {"kind": "bundle", "path": str(tmp_path / "nowhere")}}
    with pytest.raises(ValueError, match="cannot read"):
        bundle_preprocessing(missing)
    assert bundle_preprocessing(missing | {"encoder_weights_sha256": sha})  # checkpoint elsewhere
