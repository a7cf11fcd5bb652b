"""evaluate_colour_rules: the rule-based colour extractor scored on SynthWardrobe attribute rows."""

from __future__ import annotations

import numpy as np

from wardrobe.evaluation.colour import (
    colour_rules_accuracy,
    evaluate_colour_rules,
    evaluate_colour_rules_report,
)


def test_evaluate_colour_rules_on_a_tiny_synthwardrobe(tiny_synth, tmp_path):
    metrics, plots = evaluate_colour_rules(tiny_synth / "attributes", tmp_path, splits=("val",))
    assert metrics["samples"] == 47  # one val crop per category
    # the generator's masks are recovered by redrawing every crop from its seed
    assert "colour_acc_masked" in metrics
    assert metrics["colour_acc"] > 0.7 and metrics["colour_acc_masked"] > 0.7
    assert 0 <= metrics["secondary_acc"] <= 1 and metrics["ms_per_crop"] > 0
    assert [p.name for p in plots] == [
        "colour_rules_confusion.png",
        "colour_rules_per_colour.png",
        "colour_rules_samples.png",
    ]
    assert all(p.is_file() and p.stat().st_size > 0 for p in plots)


def test_report_adapter_has_the_evaluator_shape(monkeypatch, tmp_path):
    from wardrobe.evaluation import colour

    calls = []
    monkeypatch.setattr(
        colour, "evaluate_colour_rules", lambda *a, **k: calls.append(a) or ({}, [])
    )
    assert evaluate_colour_rules_report(None, tmp_path / "attributes", tmp_path) == ({}, [])
    assert calls == [(tmp_path / "attributes", tmp_path)]  # every split of a held-out root


def test_per_colour_tables(tiny_synth):
    tables = colour_rules_accuracy(tiny_synth / "attributes", splits=("val",))
    assert set(tables) == {"no_mask", "generator_mask"}
    assert tables["no_mask"].total == tables["generator_mask"].total == 47
    assert sum(tables["no_mask"].support.values()) == 47
    assert np.isfinite(tables["generator_mask"].accuracy)
