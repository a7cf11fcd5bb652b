"""Partial labels: the loss, and the classifier learning from synthetic + coarse real photos."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lightning import Trainer
from PIL import Image

from wardrobe.data.real_classification_datamodule import RealSynthClassificationDataModule
from wardrobe.models.components.backbones import POOLED_CENTRES_MAPS
from wardrobe.models.components.classifier_net import GarmentClassifierNet
from wardrobe.models.partial_label import PartialLabelClassifierModule, partial_label_loss
from wardrobe.taxonomy import CATEGORY_INDEX, FINE_CATEGORIES

PRE = {
    "image_size": 32,
    "resize": 36,
    "mean": [0.5] * 3,
    "std": [0.5] * 3,
    "interpolation": "bilinear",
}


def test_one_hot_partial_label_is_cross_entropy():
    logits = torch.randn(5, 7)
    targets = torch.tensor([0, 3, 6, 2, 2])
    allowed = F.one_hot(targets, 7).float()
    assert torch.allclose(partial_label_loss(logits, allowed), F.cross_entropy(logits, targets))


def test_loss_is_minus_log_of_the_allowed_mass():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    allowed = torch.tensor([[0.0, 1.0, 1.0, 0.0]])
    mass = logits.softmax(-1)[0, 1:3].sum()
    assert torch.allclose(partial_label_loss(logits, allowed), -mass.log())


def test_gradient_moves_mass_into_the_allowed_set_only():
    logits = torch.zeros(1, 4, requires_grad=True)
    partial_label_loss(logits, torch.tensor([[1.0, 1.0, 0.0, 0.0]])).backward()
    grad = logits.grad[0]
    assert grad[0] < 0 and grad[1] < 0 and grad[2] > 0 and grad[3] > 0
    assert torch.isclose(grad[0], grad[1])  # no preference inside the set


def test_a_sample_without_allowed_classes_is_refused():
    with pytest.raises(ValueError, match="at least one allowed"):
        partial_label_loss(torch.zeros(2, 3), torch.tensor([[1.0, 0, 0], [0, 0, 0]]))


def _image(path, colour) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((40, 40, 3), colour, np.uint8)).save(path)


@pytest.fixture
def two_sources(tmp_path):
    """SynthWardrobe-like crops of 3 fine categories and a real class-folder set of 3 labels."""
    synth, real = tmp_path / "synth", tmp_path / "real"
    for split in ("train", "val"):
        for k, name in enumerate(("t_shirt", "jeans", "sneakers")):
            for i in range(4):
                _image(synth / split / name / f"{i}.jpg", (60 * k + 20, 40, 40 + i))
        real_split = "validation" if split == "val" else "train"
        for k, label in enumerate(("t-shirt", "pants", "shoes")):
            for i in range(4):
                _image(real / real_split / label / f"{i}.jpg", (40, 60 * k + 20, 30 + i))
    return synth, real


def _datamodule(synth, real) -> RealSynthClassificationDataModule:
    return RealSynthClassificationDataModule(
        data_dir=str(synth),
        classes=list(FINE_CATEGORIES),
        batch_size=8,
        preprocessing=PRE,
        real_root=str(real) if real else None,
    )


def _module(net: dict | None = None, **kwargs) -> PartialLabelClassifierModule:
    return PartialLabelClassifierModule(
        net=GarmentClassifierNet(weights="none", num_classes=len(FINE_CATEGORIES), **(net or {})),
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3),
        preprocessing=PRE,
        **kwargs,
    )


def _trainer(tmp_path, **kwargs) -> Trainer:
    return Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=str(tmp_path),
        **kwargs,
    )


def test_batches_carry_partial_labels_from_both_sources(two_sources):
    synth, real = two_sources
    dm = _datamodule(synth, real)
    dm.setup("fit")
    assert len(dm.data_train) == 12 + 12
    _, allowed, source, coarse = dm.data_train[0]
    assert source == 0 and coarse == -1 and allowed.sum() == 1
    real = dm.data_train.datasets[1]
    shoe = next(i for i, row in enumerate(real.rows) if row[0].parent.name == "shoes")
    _, allowed, source, coarse = real[shoe]
    chosen = {FINE_CATEGORIES[i] for i in torch.nonzero(allowed).flatten()}
    assert source == 1 and "sneakers" in chosen and "boots" in chosen and "jeans" not in chosen
    assert coarse == dm.mapping.names.index("shoes")
    assert len(dm.val_dataloader()) == 2  # synthetic val, then real val


def test_validation_reports_synthetic_and_real_side_by_side(two_sources, tmp_path):
    synth, real = two_sources
    module = _module(head_warmup_epochs=3, feature_cache_dir=str(tmp_path / "cache"))
    before = module.net.head.weight.detach().clone()
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=1)
    trainer.fit(module, datamodule=_datamodule(synth, real))
    assert not torch.equal(module.net.head.weight, before)
    metrics = trainer.callback_metrics
    for key in ("val/synth/acc", "val/acc", "val/real/group_acc", "val/real/strict_acc"):
        assert key in metrics, key
    assert 0.0 <= float(metrics["val/real/strict_acc"]) <= float(metrics["val/real/group_acc"])
    # the real photos: one list file (shared with the probes); the synthetic crops: the
    # per-image store of the frozen trunk (shared with the tagger and CLIP)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    assert len(list((tmp_path / "cache").glob("trunk-*/*.npy"))) == 1


def test_own_last_stages_learn_on_cached_maps_and_mirror_images_beside_a_frozen_trunk(
    two_sources, tmp_path
):
    synth, real = two_sources
    module = _module(
        net={"trunk_output": POOLED_CENTRES_MAPS, "head_reads": "pooled"},
        freeze_backbone=True,
        head_warmup_epochs=2,
        tail_epochs=2,
        feature_cache_dir=str(tmp_path / "cache"),
    )
    net = module.net
    tail = {k: v.clone() for k, v in net.tail.state_dict().items()}
    trunk = {k: v.clone() for k, v in net.backbone.state_dict().items()}
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=0)
    trainer.fit(module, datamodule=_datamodule(synth, real))
    moved = [k for k, v in net.tail.state_dict().items() if not torch.equal(v, tail[k])]
    assert any(k.endswith("weight") for k in moved)
    # batch norm statistics stay, and the shared trunk is untouched
    assert not any(k.endswith(("running_mean", "running_var")) for k in moved)
    assert all(torch.equal(v, trunk[k]) for k, v in net.backbone.state_dict().items())
    assert module.bundle_meta["shared_trunk"]["output"] == POOLED_CENTRES_MAPS
    # the images and their mirror images: two list files, two per-image stores
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2
    stores = sorted(p.name.split("-")[-1] for p in (tmp_path / "cache").glob("trunk-*"))
    assert len(stores) == 2 and "mirrored" in stores


def test_a_length_head_learns_the_lengths_the_labels_fix_and_is_scored_on_real_photos(
    two_sources, tmp_path
):
    synth, real = two_sources
    module = _module(
        net={"head_reads": "pooled", "length_head": True},
        freeze_backbone=True,
        head_warmup_epochs=30,
        feature_cache_dir=str(tmp_path / "cache"),
    )
    # the fixture's rows: synthetic t_shirt (length not fixed), jeans (not fixed), sneakers
    # (none); real "t-shirt" short, "pants" long, "shoes" none
    dm = _datamodule(synth, real)
    dm.setup("fit")
    rows = dm.data_train.datasets[1].rows
    lengths = module.length_targets(
        torch.stack([dm.data_train.datasets[1].allowed_vector(r[1]) for r in rows]),
        torch.tensor([r[2] for r in rows]),
        torch.tensor([r[3] for r in rows]),
    )
    by_label = {r[0].parent.name: int(v) for r, v in zip(rows, lengths, strict=True)}
    assert by_label == {"t-shirt": 0, "pants": 1, "shoes": -1}
    before = module.net.lengths.weight.detach().clone()
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=0)
    trainer.fit(module, datamodule=dm)
    assert not torch.equal(module.net.lengths.weight, before)
    trainer.validate(module, datamodule=dm)
    # the plain-coloured photos tell a t-shirt from pants: their lengths are learnt
    assert float(trainer.callback_metrics["val/real/length_acc"]) == 1.0


def test_real_metrics_judge_the_prediction_against_the_coarse_label(two_sources, tmp_path):
    synth, real = two_sources
    module = _module()
    with torch.no_grad():  # a head that always answers "jeans"
        module.net.head.weight.zero_()
        module.net.head.bias.fill_(-10.0)
        module.net.head.bias[CATEGORY_INDEX["jeans"]] = 10.0
    trainer = _trainer(tmp_path)
    trainer.validate(module, datamodule=_datamodule(synth, real))
    metrics = trainer.callback_metrics
    assert float(metrics["val/real/strict_acc"]) == pytest.approx(1 / 3)  # the pants photos
    assert float(metrics["val/real/group_acc"]) == pytest.approx(1 / 3)
    assert float(metrics["val/real/coarse_acc"]) == pytest.approx(1 / 3)
    assert float(metrics["val/synth/acc"]) == pytest.approx(1 / 3)


def test_without_real_photos_training_goes_on_with_a_warning(two_sources, tmp_path, caplog):
    synth, _ = two_sources
    dm = _datamodule(synth, tmp_path / "nowhere")
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=1)
    trainer.fit(_module(), datamodule=dm)
    assert "real photos not found" in caplog.text
    assert "val/synth/acc" in trainer.callback_metrics
    assert "val/real/strict_acc" not in trainer.callback_metrics
    assert json.dumps(dm.data_sets())  # the bundle's record: synthetic only
    assert [d["name"] for d in dm.data_sets()] == ["SynthWardrobe"]
