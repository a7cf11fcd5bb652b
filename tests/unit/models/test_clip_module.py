"""ClipFinetuneModule: recall@k under the shared-caption rule, a fast_dev_run, checkpoints."""

from __future__ import annotations

import functools

import pytest
import torch
from lightning import Trainer

from tests.helpers.tiny_data import CLIP_PREPROCESSING
from tests.helpers.tiny_data import TINY_CLIP_NET as TINY
from wardrobe.data.clip_datamodule import ImageTextDataModule
from wardrobe.models.clip_module import ClipFinetuneModule
from wardrobe.models.components import backbones
from wardrobe.models.components.clip_net import GarmentClipNet
from wardrobe.models.metrics import caption_retrieval_recall, recall_at_k

# ------------------------------------------------------------------------------ recall@k


def test_recall_counts_a_query_hit_when_any_top_k_item_shares_its_group():
    # 3 caption queries x 5 images with captions 0 0 1 1 2 (two crops share each of 0 and 1)
    similarity = torch.tensor(
        [
            [0.1, 0.9, 0.8, 0.0, 0.2],  # caption 0: image 1 first -> hit at rank 1
            [0.9, 0.1, 0.2, 0.3, 0.8],  # caption 1: images 0, 4, then 3 (caption 1) -> rank 3
            [0.5, 0.4, 0.3, 0.2, 0.1],  # caption 2: its only image 4 is last -> rank 5
        ]
    )
    queries = torch.tensor([0, 1, 2])
    gallery = torch.tensor([0, 0, 1, 1, 2])
    recall = recall_at_k(similarity, queries, gallery, ks=(1, 2, 3, 5, 10))
    assert recall == pytest.approx({1: 1 / 3, 2: 1 / 3, 3: 2 / 3, 5: 1.0, 10: 1.0})


def test_recall_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="similarity"):
        recall_at_k(torch.zeros(2, 3), torch.arange(2), torch.arange(4))


def test_pairs_with_equal_captions_are_one_query_and_all_count_as_hits():
    # 4 pairs, captions A A B C (as token rows); image embeddings are one-hot, text embeddings
    # put caption A nearest to image 1 (the OTHER A crop): still a hit at 1.
    tokens = torch.tensor([[5, 6], [5, 6], [7, 8], [9, 9]])
    images = torch.eye(4)
    texts = torch.tensor(
        [
            [0.0, 1.0, 0.0, 0.0],  # A -> image 1
            [0.0, 1.0, 0.0, 0.0],  # A (same caption, same embedding)
            [0.0, 0.0, 0.6, 0.8],  # B -> image 3 first (wrong), image 2 second
            [0.0, 0.0, 0.0, 1.0],  # C -> image 3
        ]
    )
    metrics = caption_retrieval_recall(images, texts, tokens, ks=(1, 2))
    assert metrics["captions"] == 3  # A, B, C: three text queries, not four
    assert metrics["t2i_r1"] == pytest.approx(2 / 3) and metrics["t2i_r2"] == 1.0
    # image -> text over the 3 distinct captions: images 1, 2, 3 find A, B, C first (image 0
    # scores 0 with every caption, so its rank is a tie)
    assert metrics["i2t_r1"] >= 3 / 4
    strict = caption_retrieval_recall(images, texts, torch.arange(8).view(4, 2), ks=(1,))
    assert strict["t2i_r1"] == pytest.approx(2 / 4)  # without the rule, A's first crop misses


# ------------------------------------------------------------------------------ module


def make_module(weights: str = "none", **kwargs) -> ClipFinetuneModule:
    torch.manual_seed(0)
    net = GarmentClipNet(**{**TINY, "weights": weights})
    return ClipFinetuneModule(
        net=net,
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.05),
        scheduler=functools.partial(torch.optim.lr_scheduler.CosineAnnealingLR),
        preprocessing=CLIP_PREPROCESSING,
        **kwargs,
    )


def make_datamodule(root) -> ImageTextDataModule:
    return ImageTextDataModule(str(root), batch_size=4, preprocessing=CLIP_PREPROCESSING)


def tiny_trainer(tmp_path, **kwargs) -> Trainer:
    defaults = {
        "accelerator": "cpu",
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": str(tmp_path),
    }
    return Trainer(**{**defaults, **kwargs})


def test_fast_dev_run_trains_validates_and_tests(tiny_attributes, tmp_path):
    module, datamodule = make_module(), make_datamodule(tiny_attributes)
    before = module.net.clip.text_projection.detach().clone()
    trainer = tiny_trainer(tmp_path, fast_dev_run=True)
    trainer.fit(module, datamodule=datamodule)
    assert not torch.equal(module.net.clip.text_projection, before)
    keys = ["train/loss", "val/loss", "val/t2i_r1", "val/t2i_r5", "val/t2i_r10", "val/i2t_r1"]
    for key in [*keys, "val/t2i_r5_best", "val/captions"]:
        assert key in trainer.callback_metrics, key
    # one val batch of 4 pairs: every k >= 4 covers the whole gallery
    assert trainer.callback_metrics["val/t2i_r5"] == 1.0
    assert 0.0 <= trainer.callback_metrics["val/t2i_r1"] <= 1.0
    trainer.test(module, datamodule=datamodule)
    assert {"test/loss", "test/t2i_r5", "test/i2t_r10"} <= set(trainer.callback_metrics)


def test_preprocessing_must_match_the_net():
    with pytest.raises(ValueError, match="net reads"):
        ClipFinetuneModule(
            net=GarmentClipNet(**TINY),
            optimizer=functools.partial(torch.optim.AdamW),
            preprocessing={**CLIP_PREPROCESSING, "context_length": 32},
        )


def test_hparams_record_the_whole_preprocessing_block():
    hp = make_module().hparams
    assert hp.preprocessing["tokenizer"] == "clip_bpe" and hp.preprocessing["context_length"] == 16
    assert hp.preprocessing["image_size"] == 64 and hp.net["context_length"] == 16


def test_load_from_checkpoint_gives_identical_embeddings(tiny_attributes, tmp_path, monkeypatch):
    module, datamodule = make_module("offline_imagenet"), make_datamodule(tiny_attributes)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(module, datamodule=datamodule)
    path = tmp_path / "clip.ckpt"
    trainer.save_checkpoint(path)

    def no_file():
        raise AssertionError("load_from_checkpoint must not read the pretrained weights")

    monkeypatch.setattr(backbones, "offline_weights_path", no_file)
    loaded = ClipFinetuneModule.load_from_checkpoint(path, weights_only=True).eval()
    assert loaded.hparams.net["weights"] == "offline_imagenet"
    assert loaded.hparams.preprocessing == module.hparams.preprocessing
    images, tokens = torch.rand(3, 3, 64, 64), module.net.tokenize(["a red shirt", "b", "c"])
    module.eval()
    with torch.no_grad():
        a, b = module.net(images, tokens), loaded.net(images, tokens)
    for key in ("image", "text", "logit_scale"):
        assert torch.equal(a[key], b[key]), key
