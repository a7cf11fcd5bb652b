"""``benchmarks/stylist_rule_on_predictions.py``: substituting true labels for predictions."""

from __future__ import annotations

import importlib.util

import numpy as np

from tests.helpers.config import REPO_ROOT
from wardrobe.evaluation.outfits import heldout_specs

spec = importlib.util.spec_from_file_location(
    "stylist_bench", REPO_ROOT / "benchmarks" / "stylist_rule_on_predictions.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def record_of(true, formality_shift: float) -> dict:
    """A describe record that predicts everything right but the formality."""
    return {
        "category": true.category,
        "attributes": {
            "formality": min(1.0, true.formality + formality_shift),
            "seasons": list(true.seasons),
            "colours": [{"colour": true.colour_primary}],
        },
    }


def test_true_formality_repairs_exactly_what_a_wrong_formality_broke(tiny_synth):
    root = tiny_synth / "polyvore"
    truth = heldout_specs(root)
    # every other item far more formal than it is: spreads break
    records = {i: record_of(t, 0.5 * (n % 2)) for n, (i, t) in enumerate(sorted(truth.items()))}
    qs = bench.questions(root, "valid")
    assert qs

    def accuracy(parts):
        y, s = bench.rule_scores(
            qs, lambda i: bench.with_truth(bench.as_spec(records[i]), truth[i], parts)
        )
        return float(((s == 0) == (y == 1)).mean())

    assert accuracy(()) < 1.0
    assert accuracy(("colour", "season")) == accuracy(())
    assert accuracy(("formality",)) == 1.0
    assert np.isclose(accuracy(tuple(bench.PART_FIELDS)), 1.0)
