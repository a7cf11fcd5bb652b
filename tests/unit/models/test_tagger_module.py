"""AttributeTaggerModule: masked losses, per-head metrics, fast_dev_run, checkpoint round trip."""

from __future__ import annotations

import functools

import pytest
import torch
from lightning import Trainer

from tests.helpers.tiny_data import TINY_PREPROCESSING
from wardrobe.data.attributes_datamodule import AttributeDataModule
from wardrobe.models.components.tagger_net import AttributeTaggerNet, default_heads
from wardrobe.models.metrics import HeadMetrics, formality_bins
from wardrobe.models.tagger_module import AttributeTaggerModule, masked_head_loss
from wardrobe.taxonomy import ATTRIBUTE_HEADS


def make_module(**kwargs) -> AttributeTaggerModule:
    return AttributeTaggerModule(
        net=AttributeTaggerNet(weights="none"),
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3),
        scheduler=None,
        preprocessing=TINY_PREPROCESSING,
        **kwargs,
    )


def make_datamodule(root) -> AttributeDataModule:
    return AttributeDataModule(data_dir=str(root), batch_size=4, preprocessing=TINY_PREPROCESSING)


def random_batch(batch: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    outputs, targets, masks = {}, {}, {}
    for head, size in default_heads().items():
        kind = ATTRIBUTE_HEADS[head][0]
        outputs[head] = torch.randn(batch, size, generator=g, requires_grad=True)
        if kind == "multiclass":
            targets[head] = torch.randint(0, size, (batch,), generator=g)
        elif kind == "multilabel":
            targets[head] = torch.randint(0, 2, (batch, size), generator=g).float()
        else:
            targets[head] = torch.rand(batch, generator=g)
        masks[head] = torch.tensor([True, False] * (batch // 2))
    return outputs, targets, masks


@pytest.mark.parametrize("head", list(ATTRIBUTE_HEADS))
def test_masked_labels_do_not_change_the_loss(head):
    outputs, targets, masks = random_batch()
    kind = ATTRIBUTE_HEADS[head][0]
    loss = masked_head_loss(kind, outputs[head], targets[head], masks[head])
    changed = targets[head].clone()
    # rewrite every masked label, even to values a loss would reject
    changed[~masks[head]] = -7 if kind == "multiclass" else 0.9
    assert torch.equal(masked_head_loss(kind, outputs[head], changed, masks[head]), loss)
    # ...while a present label does change it
    changed[0] = (
        (changed[0] + 1) % outputs[head].shape[-1] if kind == "multiclass" else 1 - changed[0]
    )
    assert not torch.equal(masked_head_loss(kind, outputs[head], changed, masks[head]), loss)


def test_masked_samples_get_no_gradient():
    outputs, targets, masks = random_batch()
    for head, kind in ((h, ATTRIBUTE_HEADS[h][0]) for h in ATTRIBUTE_HEADS):
        masked_head_loss(kind, outputs[head], targets[head], masks[head]).backward()
        grad = outputs[head].grad
        assert not grad[~masks[head]].any() and grad[masks[head]].any(), head


def test_a_head_with_no_label_contributes_zero():
    outputs, targets, masks = random_batch()
    none = torch.zeros_like(masks["pattern"])
    assert masked_head_loss("multiclass", outputs["pattern"], targets["pattern"], none) == 0


def test_total_loss_follows_the_configured_weights():
    module = make_module(loss_weights={"formality": 3.0, "colour": 0.0})
    assert module.loss_weights["formality"] == 3.0 and module.loss_weights["pattern"] == 1.0
    _, targets, masks = random_batch()
    total, losses, _ = module.model_step((torch.rand(6, 3, 64, 64), targets, masks))
    expected = sum(losses.values()) + 2.0 * losses["formality"] - losses["colour"]
    assert torch.allclose(total, expected)


def test_unknown_loss_weight_fails():
    with pytest.raises(ValueError, match="unknown heads"):
        make_module(loss_weights={"colour_secondary": 1.0})


def test_formality_bins_are_low_mid_high():
    values = torch.tensor([0.0, 0.2, 0.34, 0.5, 0.67, 0.9, 1.0])
    assert formality_bins(values).tolist() == [0, 0, 1, 1, 2, 2, 2]


def test_head_metrics_ignore_masked_samples():
    metric = HeadMetrics("multiclass", 3)
    logits = torch.tensor([[5.0, 0, 0], [5.0, 0, 0]])
    metric.update(logits, torch.tensor([0, 2]), torch.tensor([True, False]))
    assert metric.compute()["f1"] == 1.0  # the wrong, masked sample is not counted
    empty = HeadMetrics("regression", 1)
    empty.update(torch.zeros(2, 1), torch.zeros(2), torch.tensor([False, False]))
    assert not empty.updated


def test_fast_dev_run_logs_every_head(tiny_attributes, tmp_path):
    module, datamodule = make_module(), make_datamodule(tiny_attributes)
    trainer = Trainer(
        accelerator="cpu",
        fast_dev_run=True,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(module, datamodule=datamodule)
    logged = set(trainer.callback_metrics)
    for head in ATTRIBUTE_HEADS:
        assert f"val/{head}/f1" in logged and f"train/{head}/loss" in logged, head
    assert {"train/loss", "val/loss", "val/formality/mae", "val/macro_f1"} <= logged
    assert "val/macro_f1_best" in logged
    f1s = [float(trainer.callback_metrics[f"val/{h}/f1"]) for h in ATTRIBUTE_HEADS]
    assert float(trainer.callback_metrics["val/macro_f1"]) == pytest.approx(sum(f1s) / len(f1s))
    trainer.test(module, datamodule=datamodule)
    assert "test/macro_f1" in trainer.callback_metrics


def test_load_from_checkpoint_gives_identical_outputs(tiny_attributes, tmp_path):
    module = make_module(loss_weights={"formality": 2.0}, freeze_backbone=True)
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(module, datamodule=make_datamodule(tiny_attributes))
    path = tmp_path / "tagger.ckpt"
    trainer.save_checkpoint(path)
    loaded = AttributeTaggerModule.load_from_checkpoint(path, weights_only=True)
    assert loaded.loss_weights["formality"] == 2.0 and loaded.net.backbone_frozen
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = module.eval()(x), loaded.eval()(x)
    assert set(got) == set(expected)
    assert all(torch.equal(got[h], expected[h]) for h in expected)


def test_a_head_without_labels_is_left_out_of_macro_f1(tiny_attributes, tmp_path):
    from dataclasses import replace

    from tests.helpers.tiny_data import attribute_rows
    from wardrobe.data.formats.attributes import write_attribute_rows

    rows = [replace(r, fit=None) for r in attribute_rows(6, 1)]
    write_attribute_rows(tiny_attributes / "val.jsonl", rows)
    trainer = Trainer(
        accelerator="cpu",
        fast_dev_run=True,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(make_module(), datamodule=make_datamodule(tiny_attributes))
    logged = trainer.callback_metrics
    assert "val/fit/f1" not in logged and "train/fit/f1" in logged
    heads = [h for h in ATTRIBUTE_HEADS if h != "fit"]
    f1s = [float(logged[f"val/{h}/f1"]) for h in heads]
    assert float(logged["val/macro_f1"]) == pytest.approx(sum(f1s) / len(f1s))
