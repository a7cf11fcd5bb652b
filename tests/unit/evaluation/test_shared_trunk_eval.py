"""evaluate.py's crop bundles share one trunk pass per held-out crop and score as if run whole."""

from __future__ import annotations

import pytest

from tests.helpers.crop_bundles import save_crop_bundles, tiny_crop_nets
from wardrobe.artifacts import load_bundle
from wardrobe.evaluation.images import evaluate_classifier, evaluate_tagger
from wardrobe.evaluation.retrieval import evaluate_clip
from wardrobe.evaluation.shared_trunk import TrunkOutputs
from wardrobe.models.components.backbones import POOLED_CENTRES

EVALUATORS = {
    "classifier": (evaluate_classifier, "classification"),
    "tagger": (evaluate_tagger, "attributes"),
    "clip": (evaluate_clip, "attributes"),
}


def _scores(root, synth, out, trunk):
    return {
        name: evaluate(load_bundle(root / name), synth / subdir, out, trunk=trunk)[0]
        for name, (evaluate, subdir) in EVALUATORS.items()
    }


@pytest.mark.parametrize("record", [True, False], ids=["shared", "unrecorded"])
def test_the_crop_bundles_share_the_trunk_and_score_the_same(tiny_synth, tmp_path, record):
    root = save_crop_bundles(tmp_path / "bundles", tiny_crop_nets(POOLED_CENTRES), record)
    whole = _scores(root, tiny_synth, tmp_path, trunk=None)
    trunk = TrunkOutputs()
    shared = _scores(root, tiny_synth, tmp_path, trunk=trunk)
    for name, metrics in whole.items():
        assert shared[name] == pytest.approx(metrics, abs=1e-6), name
    crops = int(whole["classifier"]["samples"])  # attributes/ reads classification/'s crops
    if record:  # one trunk pass per crop; the tagger and CLIP run their heads only
        assert (trunk.computed, trunk.reused) == (crops, 2 * crops)
    else:  # no fingerprint recorded: each bundle runs whole
        assert (trunk.computed, trunk.reused) == (0, 0)
