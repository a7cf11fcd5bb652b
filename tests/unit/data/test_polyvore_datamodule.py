"""PolyvoreDataModule: negatives, batches, fixed questions, skip reports, the feature cache, and
the evaluation protocol end to end on the REAL Polyvore Outfits valid split (read in place)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from tests.helpers.polyvore_tiny import write_tiny_polyvore
from wardrobe.data.formats.polyvore import read_fitb, token_set_id
from wardrobe.data.item_features import FeatureEncoder, resolve_encoder_spec
from wardrobe.data.polyvore_datamodule import EpochSampler, PolyvoreDataModule
from wardrobe.models.compatibility_module import OutfitCompatibilityModule
from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet
from wardrobe.preprocessing.image import build_transforms

DIM = 16
REAL_POLYVORE = (
    Path(__file__).resolve().parents[3].parent
    / "shared/real-samples/polyvore_outfits/xwr-3347_lalala/polyvore_outfits"
)


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_polyvore(tmp_path / "polyvore")


def feature_dm(tiny, **kwargs) -> PolyvoreDataModule:
    kwargs = {"batch_size": 4, "feature_dim": DIM, **kwargs}
    dm = PolyvoreDataModule.from_features(tiny.root, tiny.features(DIM), **kwargs)
    dm.setup("fit")
    return dm


def item_of_row(dm: PolyvoreDataModule) -> list[str]:
    ids = [""] * len(dm.row_of)
    for item_id, row in dm.row_of.items():
        ids[row] = item_id
    return ids


# ----------------------------------------------------------------------------- negatives


def test_negatives_keep_each_category_and_differ_from_the_positive(tiny):
    dm = feature_dm(tiny, negatives_per_positive=2)
    data, ids = dm.data_train, item_of_row(dm)
    assert len(data) == 3 * len(tiny.outfits["train"])
    for outfit in range(len(tiny.outfits["train"])):
        for epoch in (0, 1):
            positive, label = data.example(3 * outfit, epoch)
            assert label == 1.0
            for k in (1, 2):
                negative, label = data.example(3 * outfit + k, epoch)
                assert label == 0.0 and len(negative) == len(positive)
                cats_pos = [tiny.category[ids[r]] for r in positive]
                cats_neg = [tiny.category[ids[r]] for r in negative]
                assert cats_neg == cats_pos  # the same semantic category, slot by slot
                assert (negative != positive).all()  # every item replaced (Vasileva et al.)


def test_negatives_are_resampled_each_epoch_and_reproducible(tiny):
    data = feature_dm(tiny, seed=3).data_train
    again = feature_dm(tiny, seed=3).data_train
    negatives = [1 + 2 * i for i in range(len(tiny.outfits["train"]))]
    epoch0 = [data.example(i, 0)[0] for i in negatives]
    assert all((a == again.example(i, 0)[0]).all() for a, i in zip(epoch0, negatives, strict=True))
    epoch1 = [data.example(i, 1)[0] for i in negatives]
    assert any((a != b).any() for a, b in zip(epoch0, epoch1, strict=True))


def test_hard_negatives_replace_exactly_one_item(tiny):
    data = feature_dm(tiny, hard_negative_fraction=1.0).data_train
    for i in range(1, len(data), 2):
        positive, negative = data.example(i - 1)[0], data.example(i)[0]
        assert (positive != negative).sum() == 1


def test_long_outfits_are_subsampled_to_max_items(tiny):
    dm = feature_dm(tiny, max_items=4)
    long_positive = dm.data_train.example(0)[0]  # the first train outfit has 10 items
    assert len(long_positive) == 4 and len(set(long_positive.tolist())) == 4


def test_the_sampler_carries_the_epoch(tiny):
    dm = feature_dm(tiny)
    loader = dm.train_dataloader()
    sampler = loader.sampler
    assert isinstance(sampler, EpochSampler)
    sampler.set_epoch(5)  # what Lightning calls before every epoch
    keys = list(sampler)
    assert {e for e, _ in keys} == {5} and sorted(i for _, i in keys) == list(range(len(keys)))


# ------------------------------------------------------------------------------- batches


def test_train_batch_is_padded_to_max_items(tiny):
    dm = feature_dm(tiny, max_items=8, batch_size=24)
    batch = next(iter(dm.train_dataloader()))
    assert batch["features"].shape == (24, 8, DIM)
    assert batch["padding_mask"].shape == (24, 8) and batch["padding_mask"].dtype == torch.bool
    lengths = (~batch["padding_mask"]).sum(1)
    assert lengths.min() >= 3 and lengths.max() <= 8
    padded = batch["features"][batch["padding_mask"]]
    assert (padded == 0).all()  # True = padding, zero-filled
    assert set(batch["label"].tolist()) == {0.0, 1.0}


def test_eval_batches_hold_every_fixed_question_untruncated(tiny):
    dm = feature_dm(tiny, max_items=2)  # shorter than every question: nothing may be cut
    compat = fitb = 0
    for batch in dm.val_dataloader():
        compat += len(batch["label"])
        assert (~batch["padding_mask"]).sum(1).min() >= 3
        fitb += len(batch["fitb"]["target"])  # every batch carries a share of FITB questions
        assert batch["fitb"]["candidate_mask"].all()  # 4 answers each
        assert (~batch["fitb"]["padding_mask"]).sum(-1).min() >= 3
    n = len(tiny.outfits["valid"])
    assert compat == 2 * n and fitb == n


def test_fitb_target_is_the_answer_from_the_question_outfit_not_the_first(tiny):
    dm = feature_dm(tiny)
    questions = read_fitb(tiny.root / "nondisjoint" / "fill_in_blank_valid.json")
    targets = [t for _, t in dm.data_val.fitb.questions]
    expected = [
        next(i for i, a in enumerate(q.answers) if token_set_id(a) == q.set_id) for q in questions
    ]
    assert targets == expected and 0 not in targets


def test_skip_report_counts_unresolved_tokens_and_bad_images(tiny):
    compat = tiny.root / "nondisjoint" / "compatibility_valid.txt"
    compat.write_text(compat.read_text() + "\n0  v900_1 999999_1")  # unknown set_id
    missing = tiny.outfits["train"][1].items[0].item_id
    (tiny.root / "images" / f"{missing}.jpg").unlink()
    corrupt = tiny.outfits["valid"][2].items[2].item_id  # a shoe: no other question uses it
    (tiny.root / "images" / f"{corrupt}.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    dm = PolyvoreDataModule(
        tiny.root,
        batch_size=4,
        feature_cache_dir=str(tiny.root / "cache"),
        build_encoder=lambda spec: mean_colour(),
    )
    dm.prepare_data()
    dm.setup("fit")
    assert dm.report["unresolved_token"] == 1
    assert dm.report["compatibility_question_unresolved"] == 1
    assert dm.report["missing_image"] == 1 and dm.report["train_item_without_feature"] == 1
    assert dm.report["unreadable_image"] == 1
    # the positive and the negative holding the corrupt shoe, and its FITB question
    assert dm.report["compatibility_question_without_features"] == 2
    assert dm.report["fitb_question_without_features"] == 1
    assert "unresolved_token" in str(dm.report)
    n = len(tiny.outfits["valid"])
    assert len(dm.data_val.compat) == 2 * n - 2 and len(dm.data_val.fitb) == n - 1


def test_missing_data_names_the_generator(tmp_path):
    dm = PolyvoreDataModule(tmp_path / "nothing", batch_size=4)
    with pytest.raises(FileNotFoundError, match=r"python -m wardrobe\.data\.synthetic"):
        dm.prepare_data()


# --------------------------------------------------------------------------- the cache


class MeanColour(nn.Module):
    """A stand-in encoder: mean colour of the image, repeated to DIM."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += len(x)
        return x.mean((2, 3)).repeat(1, DIM // 3 + 1)[:, :DIM]


def mean_colour(image_size: int = 16) -> FeatureEncoder:
    spec = resolve_encoder_spec(None)["image"] | {"image_size": image_size, "resize": image_size}
    return FeatureEncoder(MeanColour(), build_transforms(spec), DIM)


class CountingEncoders(list):
    """An encoder builder that keeps every stand-in encoder it built."""

    def __call__(self, spec) -> FeatureEncoder:
        self.append(mean_colour(resolve_encoder_spec(spec)["image"]["image_size"]))
        return self[-1]


@pytest.fixture
def counting_encoder() -> CountingEncoders:
    return CountingEncoders()


def image_dm(tiny, image_size: int, build_encoder: CountingEncoders) -> PolyvoreDataModule:
    encoder = resolve_encoder_spec(None)
    encoder["image"] |= {"image_size": image_size, "resize": image_size}
    return PolyvoreDataModule(
        tiny.root,
        batch_size=4,
        encoder=encoder,
        build_encoder=build_encoder,
        feature_cache_dir=str(tiny.root / "cache"),
    )


def test_feature_cache_is_reused_and_keyed_by_encoder(tiny, counting_encoder):
    n_items = len(tiny.category)
    first = image_dm(tiny, 16, counting_encoder)
    first.prepare_data()
    first.setup("fit")
    assert len(counting_encoder) == 1 and counting_encoder[0].module.calls == n_items
    cache_files = sorted(p.name for p in (tiny.root / "cache").iterdir())
    assert len(cache_files) == 2  # <name>-<id>.safetensors + .json

    second = image_dm(tiny, 16, counting_encoder)
    second.prepare_data()
    second.setup("fit")
    assert len(counting_encoder) == 1  # not even built again
    torch.testing.assert_close(second.features, first.features)

    # another preprocessing = another encoder id: recomputed
    other = image_dm(tiny, 24, counting_encoder)
    other.prepare_data()
    assert len(counting_encoder) == 2 and counting_encoder[1].module.calls == n_items
    assert len(list((tiny.root / "cache").iterdir())) == 4

    # a rewritten image is encoded again, alone
    item = next(iter(tiny.category))
    time.sleep(0.01)
    Image.new("RGB", (16, 16), (250, 250, 0)).save(tiny.root / "images" / f"{item}.jpg")
    image_dm(tiny, 16, counting_encoder).prepare_data()
    assert len(counting_encoder) == 3 and counting_encoder[2].module.calls == 1


def test_default_encoder_is_the_offline_lite0(tiny):
    spec = resolve_encoder_spec(None)
    assert spec["name"] == "tf_efficientnet_lite0" and spec["weights"] == "offline_imagenet"
    assert spec["image"]["image_size"] == 128


def test_feature_dim_mismatch_fails_loudly(tiny):
    with pytest.raises(ValueError, match="feature_dim=99"):
        feature_dm(tiny, feature_dim=99)


# ------------------------------------------------------------------- real Polyvore files


@pytest.mark.skipif(
    not (REAL_POLYVORE / "compatibility_valid.txt").is_file(),
    reason=f"real Polyvore Outfits samples not present at {REAL_POLYVORE} (read in place)",
)
def test_real_valid_split_scores_all_10000_questions(tmp_path):
    """The evaluation protocol on the real nondisjoint valid split (5,000 outfits, 10,000
    compatibility questions), with stand-in features: a seeded random vector per item id
    (the real images are absent), so AUC must be near chance, not good."""
    started = time.perf_counter()
    valid = __import__("json").loads((REAL_POLYVORE / "valid.json").read_text())
    item_ids = sorted({i["item_id"] for o in valid for i in o["items"]})
    vectors = np.random.default_rng(0).standard_normal((len(item_ids), DIM)).astype(np.float32)
    features = dict(zip(item_ids, vectors, strict=True))
    dm = PolyvoreDataModule.from_features(
        REAL_POLYVORE, features, variant=None, batch_size=512, feature_dim=DIM
    )
    torch.manual_seed(0)
    net = OutfitCompatibilityNet(DIM, d_model=32, nhead=2, num_layers=1, dim_feedforward=64)
    module = OutfitCompatibilityModule(net, functools.partial(torch.optim.AdamW, lr=1e-3))
    trainer = L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    (metrics,) = trainer.validate(module, datamodule=dm, verbose=False)
    assert len(valid) == 5_000 and sum(len(o["items"]) for o in valid) == 26_781
    assert dm.report["unresolved_token"] == 0
    assert metrics["val/compat_questions"] == 10_000
    assert 0.4 < metrics["val/auc"] < 0.6  # chance level for random features
    assert 0.0 <= metrics["val/acc"] <= 1.0
    assert "val/fitb_acc" not in metrics  # no real FITB file among the samples
    assert time.perf_counter() - started < 30


def test_train_split_negatives_join_training_as_labelled_negatives(tiny):
    plain = feature_dm(tiny).data_train
    data = feature_dm(tiny, train_split_negatives=True).data_train
    n = len(tiny.outfits["train"])
    assert len(data) == len(plain) + n  # the tiny train file has one negative per outfit
    ids = list(feature_dm(tiny).row_of)
    fixed = [data.example(len(plain) + k) for k in range(n)]
    assert all(label == 0.0 for _, label in fixed)
    # each is the file's negative: its top comes from the next outfit (another style)
    first, _ = data.example(len(plain) + 1)
    styles = {tiny.style[ids[r]] for r in first}
    assert len(styles) > 1
