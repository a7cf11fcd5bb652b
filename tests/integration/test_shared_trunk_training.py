"""The tagger and CLIP quickstarts on the tiny set: heads fitted on the frozen trunk's cached
features, each crop encoded once for both, and bundles whose ``shared_trunk`` fingerprints
match, so serving runs that trunk once per crop."""

import json

import pytest
import torch

from tests.helpers.config import tiny_train_overrides
from wardrobe import tasks
from wardrobe.artifacts import load_bundle
from wardrobe.ingestion.models import shared_trunk_fingerprint
from wardrobe.models.components.backbones import SHARED_TRUNK, build_backbone, trunk_sha256

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
SMALL = ["model.preprocessing.image_size=64", "model.preprocessing.resize=73"]


def _quickstart(model: str, synth, cache, epochs: int = 3) -> list[str]:
    return [
        *tiny_train_overrides(model, synth),
        f"experiment=quickstart/{model}",
        *SMALL,
        f"model.head_warmup_epochs={epochs}",
        f"model.feature_cache_dir={cache}",
        "trainer.limit_train_batches=0",
    ]


def test_tagger_and_clip_heads_fit_on_one_feature_store(make_cfg, tiny_synth, tmp_path):
    cache = tmp_path / "cache"
    _, tagger = tasks.train(make_cfg("train", _quickstart("tagger", tiny_synth, cache)))
    stores = list(cache.glob("trunk-*"))
    assert len(stores) == 1 and len(list(stores[0].glob("*.npy"))) == 1
    rows = len(json.loads(next(stores[0].glob("*.json")).read_text()))
    assert rows == len(tagger["datamodule"].data_train)

    # CLIP reads the same crops through the same trunk: nothing is encoded again
    _, clip = tasks.train(make_cfg("train", _quickstart("clip", tiny_synth, cache)))
    assert len(list(stores[0].glob("*.npy"))) == 1

    # the trunk stayed the ImageNet one; the heads learnt
    imagenet, _ = build_backbone("tf_efficientnet_lite0", "offline_imagenet")
    assert trunk_sha256(tagger["model"].net.trunk) == trunk_sha256(imagenet)
    head = tagger["model"].net.heads["fit"]  # linear or through a hidden layer (quickstart)
    first = next(m for m in head.modules() if isinstance(m, torch.nn.Linear))
    # the Kaiming-uniform scale of an untrained layer of that shape
    fresh = torch.nn.Linear(first.in_features, first.out_features).weight.std()
    assert not torch.allclose(first.weight.std(), fresh, rtol=0.01)

    bundles = {n: load_bundle(o["bundle"]) for n, o in (("tagger", tagger), ("clip", clip))}
    records = {n: b.meta[SHARED_TRUNK] for n, b in bundles.items()}
    assert records["tagger"]["fingerprint"] == records["clip"]["fingerprint"]
    assert records["tagger"]["image"]["image_size"] == 64
    assert {shared_trunk_fingerprint(b) for b in bundles.values()} == {
        records["tagger"]["fingerprint"]
    }
    assert "test/macro_f1" in tagger["trainer"].callback_metrics
    assert "test/t2i_r5" in clip["trainer"].callback_metrics


def test_a_fine_tuned_backbone_records_no_shared_trunk(make_cfg, tiny_synth, tmp_path):
    overrides = [
        *_quickstart("tagger", tiny_synth, tmp_path / "cache", epochs=1),
        "model.freeze_backbone=false",
        "trainer.fast_dev_run=true",
    ]
    _, objects = tasks.train(make_cfg("train", overrides))
    bundle = load_bundle(objects["bundle"])
    assert SHARED_TRUNK not in bundle.meta
    assert shared_trunk_fingerprint(bundle) is None
