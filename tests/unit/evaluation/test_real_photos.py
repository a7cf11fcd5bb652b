"""Real-photo rows: judging the pipeline's main garment against a photo's coarse label."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from wardrobe.data.formats.classfolder import ClassFolderSample, load_class_mapping
from wardrobe.evaluation.real_photos import (
    contact_sheet,
    outcome_of,
    per_label_table,
    summarise,
)

MAPPING = load_class_mapping()


def _sample(tmp_path: Path, label: str, name: str = "a.jpg") -> ClassFolderSample:
    path = tmp_path / label / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((60, 40, 3), 200, np.uint8)).save(path)
    return ClassFolderSample(path, label, MAPPING.names.index(label))


def _garment(category: str, box, detector_class: str | None, **attributes):
    garment = SimpleNamespace(category=category, box=box, attributes=SimpleNamespace(**attributes))
    return SimpleNamespace(garment=garment, detector_class=detector_class)


def _result(*garments, ok: bool = True):
    return SimpleNamespace(ok=ok, garments=list(garments))


def test_the_largest_garment_is_the_main_one(tmp_path):
    result = _result(
        _garment("jeans", (0, 0, 10, 10), "trousers"),  # a small stray box
        _garment("t_shirt", (0, 0, 40, 50), "long_sleeve_top"),
    )
    outcome = outcome_of(result, _sample(tmp_path, "longsleeve"), MAPPING)
    assert outcome.category == "t_shirt" and outcome.found
    assert outcome.group_ok and outcome.strict_ok
    assert outcome.coarse == "longsleeve"  # the detector's sleeve class decides


def test_the_classifiers_length_answer_maps_back_before_the_detectors_class(tmp_path):
    found_short = _garment("t_shirt", (0, 0, 40, 50), "short_sleeve_top", sleeves="long")
    outcome = outcome_of(_result(found_short), _sample(tmp_path, "longsleeve"), MAPPING)
    assert outcome.coarse == "longsleeve" and outcome.detector_class == "short_sleeve_top"
    no_box = _garment("jeans", (0, 0, 40, 50), None, legs="short")
    assert outcome_of(_result(no_box), _sample(tmp_path, "shorts"), MAPPING).coarse == "shorts"


def test_strict_group_and_ten_class_are_judged_separately(tmp_path):
    # a T-shirt photo found as a long-sleeve top, named a sweater: right group, wrong category
    outcome = outcome_of(
        _result(_garment("sweater", (0, 0, 30, 30), "long_sleeve_top")),
        _sample(tmp_path, "t-shirt"),
        MAPPING,
    )
    assert outcome.group_ok and not outcome.strict_ok and outcome.coarse == "longsleeve"
    refused = outcome_of(_result(ok=False), _sample(tmp_path, "shoes"), MAPPING)
    assert refused.category is None and not refused.group_ok and not refused.found


def test_summary_counts_found_rate_over_detectable_labels_only(tmp_path):
    outcomes = [
        outcome_of(
            _result(_garment("sneakers", (0, 0, 40, 60), None)),  # whole-photo fallback
            _sample(tmp_path, "shoes"),
            MAPPING,
        ),
        outcome_of(
            _result(_garment("jeans", (0, 0, 40, 60), "trousers")),
            _sample(tmp_path, "pants"),
            MAPPING,
        ),
        outcome_of(
            _result(_garment("skirt", (0, 0, 40, 60), None)),
            _sample(tmp_path, "pants", "b.jpg"),
            MAPPING,
        ),
    ]
    metrics = summarise(outcomes, MAPPING)
    assert metrics["found_rate"] == pytest.approx(1 / 2)  # shoes have no DeepFashion2 class
    assert metrics["group_acc"] == pytest.approx(1.0)
    assert metrics["strict_acc"] == pytest.approx(2 / 3)
    assert metrics["pants/strict_acc"] == pytest.approx(1 / 2)
    table = per_label_table(metrics, MAPPING)
    assert "| shoes | 1 | 1.000 | 1.000 | 1.000 | – |" in table
    assert "**all**" in table
    sheet = contact_sheet(outcomes, tmp_path / "sheet.png")
    assert Image.open(sheet).size == (8 * 200, 226)
