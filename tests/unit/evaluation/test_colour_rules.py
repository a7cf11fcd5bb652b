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


# ---- colour names on garment photos, hand-labelled real photos --------------------------------
def test_named_colours_are_painted_exactly_and_scored():
    from wardrobe.data.colour_names import NamedColour
    from wardrobe.evaluation.colour import evaluate_colour_names, render_named_garment

    rng = np.random.default_rng(0)
    shop = render_named_garment((200, 30, 40), rng, 96)
    assert shop.shape == (96, 96, 3) and shop.dtype == np.uint8
    rows = [
        NamedColour("test", "pale mint green", (200, 240, 210), "green"),
        NamedColour("test", "light blue", (160, 200, 235), "blue"),
        NamedColour("test", "hot pink", (240, 60, 160), "pink"),
    ]
    result, by_style = evaluate_colour_names(rows, size=96)
    assert result.total == 6 and set(by_style) == {"shop", "scene"}
    assert result.accuracy >= 5 / 6
    # the old nearest-anchor rule: pale mint -> beige, light blue -> white (the misses)
    old, _ = evaluate_colour_names(rows[:2], naming="anchor", size=96)
    assert old.accuracy == 0.0


def test_real_labels_are_checked_against_the_vocabulary(tmp_path):
    import pytest

    from wardrobe.evaluation.colour import REAL_LABELS, read_real_labels

    rows = read_real_labels(REAL_LABELS)
    assert len(rows) >= 80 and all(p.startswith("validation/") for p, _ in rows)
    bad = tmp_path / "labels.csv"
    bad.write_text("path,colour\nvalidation/x.jpg,cream\n")
    with pytest.raises(ValueError, match="cream"):
        read_real_labels(bad)
