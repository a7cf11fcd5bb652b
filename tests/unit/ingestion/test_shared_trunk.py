"""One trunk pass per crop: bundles recording the same frozen-trunk fingerprint share it.

The three crop bundles are built tiny (timm's ``test_efficientnet`` trunk, 32 px) with one
trunk's weights copied into all three, saved with :func:`save_bundle` and loaded back, as
serving loads them. The detector plays no part in ``analyse_crops``: a stand-in carries its id.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.helpers.crop_bundles import IMAGE, TRUNK, save_crop_bundles, tiny_crop_nets
from wardrobe.artifacts import load_bundle
from wardrobe.ingestion.models import CROP_MODELS, IngestionModels, shared_trunk_fingerprint
from wardrobe.models.components.backbones import (
    POOLED,
    POOLED_CENTRES,
    POOLED_CENTRES_MAPS,
    SHARED_TRUNK,
    trunk_fingerprint,
)
from wardrobe.taxonomy import FINE_CATEGORIES

_nets, _save = tiny_crop_nets, save_crop_bundles


def _models(root: Path, backend: str = "torch", share: bool = True) -> IngestionModels:
    bundles = {name: load_bundle(root / name) for name in CROP_MODELS}
    detector = SimpleNamespace(meta={"weights_sha256": "0" * 64})
    return IngestionModels(detector, bundles, backend, root / ".onnx_cache", share_trunks=share)


def _crops(n: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (40 + 7 * i, 30 + 5 * i, 3), dtype=np.uint8) for i in range(n)]


def _count_trunk_calls(models: IngestionModels) -> list[int]:
    """Passes through any trunk (its stem convolution runs once per pass, wrapped or not)."""
    calls = [0]
    for name in CROP_MODELS:
        models.bundles[name].net.backbone.conv_stem.register_forward_hook(
            lambda *_: calls.__setitem__(0, calls[0] + 1)
        )
    return calls


def _assert_same(a, b, atol: float = 1e-5) -> None:
    probs_a, heads_a, embeds_a, lengths_a = a
    probs_b, heads_b, embeds_b, lengths_b = b
    np.testing.assert_allclose(probs_a, probs_b, atol=atol)
    np.testing.assert_allclose(embeds_a, embeds_b, atol=atol)
    assert (lengths_a is None) == (lengths_b is None)
    if lengths_a is not None:
        np.testing.assert_allclose(lengths_a, lengths_b, atol=atol)
    assert heads_a.keys() == heads_b.keys()
    for head in heads_a:
        np.testing.assert_allclose(heads_a[head], heads_b[head], atol=atol)


QUICKSTART_CLASSIFIER = {"head_reads": "pooled", "head_hidden": 16}
OWN_TAIL = {**QUICKSTART_CLASSIFIER, "classifier_output": POOLED_CENTRES_MAPS}
WITH_LENGTHS = {**OWN_TAIL, "length_head": True}


@pytest.fixture(
    scope="module",
    params=[
        (POOLED, {}),
        (POOLED_CENTRES, {}),
        (POOLED_CENTRES, QUICKSTART_CLASSIFIER),
        (POOLED_CENTRES, OWN_TAIL),
        (POOLED_CENTRES, WITH_LENGTHS),
    ],
)
def shared_root(request, tmp_path_factory) -> Path:
    """The three bundles on one trunk, for each trunk output (the heads read pooled features,
    or pooled features and early blocks' centres; the quickstart's classifier: an MLP on the
    pooled part, of the frozen last stages or of its own on the trunk's maps)."""
    trunk_output, classifier = request.param
    return _save(tmp_path_factory.mktemp("shared"), _nets(trunk_output, **classifier))


def test_bundles_with_one_trunk_run_it_once_per_batch_with_the_separate_outputs(shared_root):
    shared, separate = _models(shared_root), _models(shared_root, share=False)
    assert list(shared.trunk_groups.values()) == [list(CROP_MODELS)]
    assert separate.trunk_groups == {}
    shared_calls, separate_calls = _count_trunk_calls(shared), _count_trunk_calls(separate)
    crops = _crops(5)
    a, b = shared.analyse_crops(crops, batch_size=2), separate.analyse_crops(crops, batch_size=2)
    _assert_same(a, b)
    assert shared_calls[0] == 3  # 3 batches, one trunk pass each
    assert separate_calls[0] == 9  # 3 batches x 3 models
    assert a[0].shape == (5, len(FINE_CATEGORIES)) and a[2].shape == (5, 32)
    if shared.has_lengths:  # short / long, a distribution per crop
        assert a[3].shape == (5, 2) and np.allclose(a[3].sum(1), 1.0, atol=1e-5)
    else:
        assert a[3] is None
    np.testing.assert_allclose(np.linalg.norm(a[2], axis=1), 1.0, atol=1e-5)
    # one model alone (search by photo, the per-image baseline) gives the same rows
    np.testing.assert_allclose(shared.embed_crops(crops[:2]), a[2][:2], atol=1e-5)


def test_onnx_shared_pass_matches_torch(shared_root):
    onnx = _models(shared_root, backend="onnx")
    cache = sorted(p.name for p in (shared_root / ".onnx_cache").glob("*.onnx"))
    assert len([n for n in cache if n.startswith("trunk-")]) == 1
    assert len([n for n in cache if "-head-" in n]) == 3
    crops = _crops(4)
    _assert_same(onnx.analyse_crops(crops), _models(shared_root).analyse_crops(crops), atol=1e-4)


def test_a_bundle_whose_trunk_differs_runs_whole_and_the_others_still_share(tmp_path):
    nets = _nets()
    with torch.no_grad():  # a fine-tuned tagger: its trunk is no longer the shared one
        next(nets["tagger"].trunk.parameters()).add_(0.5)
    root = _save(tmp_path, nets)
    models = _models(root)
    assert list(models.trunk_groups.values()) == [["classifier", "clip"]]
    crops = _crops(3)
    _assert_same(models.analyse_crops(crops), _models(root, share=False).analyse_crops(crops))


def test_a_record_that_does_not_match_the_weights_falls_back_to_the_whole_model(tmp_path):
    nets = _nets()
    other = _nets()["tagger"]
    with torch.no_grad():
        next(other.trunk.parameters()).add_(0.5)
    # the tagger's bundle claims a trunk its weights are not: it must not be trusted
    root = _save(tmp_path, nets, record_of={"tagger": other})
    assert shared_trunk_fingerprint(load_bundle(root / "tagger")) is None
    assert list(_models(root).trunk_groups.values()) == [["classifier", "clip"]]


def test_bundles_without_a_record_run_whole_as_before(tmp_path):
    root = _save(tmp_path, _nets(), record=False)
    meta = json.loads((root / "tagger" / "bundle.json").read_text())
    assert SHARED_TRUNK not in meta
    models = _models(root)
    assert models.trunk_groups == {}
    crops = _crops(2)
    _assert_same(models.analyse_crops(crops), _models(root, share=False).analyse_crops(crops))


def test_the_fingerprint_follows_weights_and_preprocessing():
    nets = _nets()
    prints = {
        n: trunk_fingerprint(net.trunk, TRUNK, IMAGE)["fingerprint"] for n, net in nets.items()
    }
    assert len(set(prints.values())) == 1  # classifier.backbone and clip.visual.trunk alike
    other_size = trunk_fingerprint(nets["tagger"].trunk, TRUNK, {**IMAGE, "image_size": 30})
    assert other_size["fingerprint"] != prints["tagger"]
