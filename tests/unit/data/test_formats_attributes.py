"""Attribute rows (JSONL/CSV) and the iMaterialist-Fashion mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from wardrobe import taxonomy
from wardrobe.data.formats.attributes import (
    AttributeRow,
    load_imaterialist_mapping,
    map_imaterialist_labels,
    read_attribute_rows,
    write_attribute_rows,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "attributes"

FULL = AttributeRow(
    image="img/a.jpg",
    category="jeans",
    colour_primary="navy",
    pattern="solid",
    fit="slim",
    formality=0.3,
    seasons=("fall", "winter"),
    style_tags=("casual",),
)


def test_jsonl_validation_counts_bad_rows():
    rows, report = read_attribute_rows(FIXTURES / "rows.jsonl")
    assert [r.image for r in rows] == ["img/a.jpg", "img/b.jpg", "img/f.jpg"]
    assert rows[0] == FULL
    assert rows[1] == AttributeRow("img/b.jpg", category="blouse", colour_primary="beige")
    assert rows[2].seasons == () and rows[2].style_tags is None  # labelled none vs missing
    assert report["unknown_colour"] == 1 and report["formality_out_of_range"] == 1
    assert report["unknown_seasons"] == 1 and report["bad_json"] == 1
    assert report["unknown_category"] == 1 and "jorts" in str(report)


def test_csv_validation_and_lists():
    rows, report = read_attribute_rows(FIXTURES / "rows.csv")
    assert [r.image for r in rows] == ["img/a.jpg", "img/b.jpg", "img/f.jpg"]
    assert rows[0] == FULL
    assert rows[1].colour_primary == "beige" and rows[1].pattern is None  # empty = missing
    assert rows[2].seasons == ("spring", "fall") and rows[2].formality == 0.0
    assert rows[2].style_tags == ("casual", "preppy")
    assert report.total == 3 and "monsoon" in str(report)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_round_trip_is_deterministic(tmp_path, suffix):
    rows, _ = read_attribute_rows(FIXTURES / f"rows{suffix}")
    rows.append(AttributeRow("x.jpg"))  # every label missing
    path = write_attribute_rows(tmp_path / f"out{suffix}", rows)
    back, report = read_attribute_rows(path)
    assert back == rows and not report
    again = write_attribute_rows(tmp_path / f"again{suffix}", back)
    assert again.read_bytes() == path.read_bytes()
    if suffix == ".jsonl":
        first = path.read_text().splitlines()[0]
        assert first.startswith('{"category": "jeans", "colour_primary": "navy"')  # sorted keys


def test_mapping_targets_exist_in_taxonomy():
    mapping = load_imaterialist_mapping()
    vocab = {
        "categories": taxonomy.FINE_CATEGORIES,
        "nicknames": taxonomy.FINE_CATEGORIES,
        "dress_lengths": taxonomy.FINE_CATEGORIES,
        "patterns": taxonomy.PATTERNS,
        "fits": taxonomy.FITS,
    }
    assert set(mapping) == set(vocab)
    for section, table in mapping.items():
        for name, target in table.items():
            assert target is None or target in vocab[section], f"{section}: {name} -> {target}"
    assert len(mapping["categories"]) == 46  # the 46 iMaterialist 2020 classes
    for name in ("plain (pattern)", "stripe", "check", "plaid (pattern)", "floral", "dot"):
        assert mapping["patterns"][name] is not None
    for name in ("tight (fit)", "regular (fit)", "loose (fit)", "oversized"):
        assert mapping["fits"][name] is not None


def test_map_imaterialist_labels():
    assert map_imaterialist_labels(["pants", "jeans", "stripe", "tight (fit)"]) == {
        "category": "jeans",
        "pattern": "striped",
        "fit": "slim",
    }
    assert map_imaterialist_labels(["Sweater", "Plain (pattern)"]) == {
        "category": "sweater",
        "pattern": "solid",
    }
    assert map_imaterialist_labels(["dress", "maxi (length)"]) == {"category": "maxi_dress"}
    assert map_imaterialist_labels(["skirt", "maxi (length)"]) == {"category": "skirt"}
    assert map_imaterialist_labels(["shoe", "glove", "sleeve"]) == {}  # no honest target
    assert map_imaterialist_labels(["top, t-shirt, sweatshirt", "floral", "stripe"]) == {}
