"""Polyvore Outfits readers and byte-exact writers: real files in place, hand-written fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from wardrobe.data.formats.polyvore import (
    CompatQuestion,
    FitbQuestion,
    ItemMeta,
    Outfit,
    OutfitItem,
    PolyvoreSplit,
    compatibility_text,
    outfits_by_set_id,
    outfits_text,
    read_categories_csv,
    read_categories_rows,
    read_compatibility,
    read_fitb,
    read_item_metadata,
    read_outfits,
    resolve_token,
    split_token,
    write_categories_csv,
    write_compatibility,
    write_fitb,
    write_item_metadata,
    write_outfits,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "polyvore"
REAL_SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "real-samples"


@pytest.fixture
def real_polyvore(real_samples) -> Path:
    return real_samples / "polyvore_outfits" / "xwr-3347_lalala" / "polyvore_outfits"


@pytest.fixture(scope="module")
def real_valid() -> list[Outfit]:
    """valid.json parsed once for the module (the real_samples fixture is per test)."""
    path = REAL_SAMPLES / "polyvore_outfits" / "xwr-3347_lalala" / "polyvore_outfits"
    if not (path / "valid.json").is_file():
        pytest.skip(f"real Polyvore valid.json not present under {path}")
    return read_outfits(path / "valid.json")


# ---------------------------------------------------------------------------- real files


def test_real_valid_counts(real_valid):
    assert len(real_valid) == 5_000
    assert sum(len(o.items) for o in real_valid) == 26_781
    assert all(2 <= len(o.items) <= 14 for o in real_valid)
    assert all([i.index for i in o.items] == list(range(1, len(o.items) + 1)) for o in real_valid)


def test_real_compatibility_every_token_resolves(real_polyvore, real_valid):
    questions = read_compatibility(real_polyvore / "compatibility_valid.txt")
    assert len(questions) == 10_000
    assert sum(q.label == 1 for q in questions) == sum(q.label == 0 for q in questions) == 5_000
    by_set = outfits_by_set_id(real_valid)
    items = {i.item_id for o in real_valid for i in o.items}
    resolved = [resolve_token(t, by_set) for q in questions for t in q.tokens]
    assert set(resolved) <= items and len(resolved) > 10_000
    positives = [q for q in questions if q.label == 1]
    assert all(len({split_token(t)[0] for t in q.tokens}) == 1 for q in positives)


def test_real_split_loader(real_polyvore):
    split = PolyvoreSplit.load(real_polyvore, "valid")
    assert len(split.outfits) == 5_000 and len(split.compatibility) == 10_000
    assert not split.report, str(split.report)


def test_real_writers_reproduce_bytes(real_polyvore, real_valid, tmp_path):
    real_text = (real_polyvore / "valid.json").read_text()
    first50 = outfits_text(real_valid[:50])
    cut = len(first50) - 2  # "\n]" closes the list in our text; the real one goes on with ", "
    assert real_text[:cut] == first50[:cut]
    assert real_text[cut : cut + 3] == ", \n"
    assert outfits_text(real_valid) == real_text  # the whole file, byte for byte
    questions = read_compatibility(real_polyvore / "compatibility_valid.txt")
    path = write_compatibility(tmp_path / "c.txt", questions)
    assert path.read_bytes() == (real_polyvore / "compatibility_valid.txt").read_bytes()


def test_real_categories_csv(real_polyvore, tmp_path):
    rows = read_categories_rows(real_polyvore / "categories.csv")
    assert len(rows) == 224
    categories, report = read_categories_csv(real_polyvore / "categories.csv")
    assert len(categories) == 159
    assert sorted(c.category_id for c in categories.values() if c.conflicting) == ["51", "57", "61"]
    assert report["conflicting_semantic"] == 3 and report["trailing_space"] == 11
    assert report["empty_semantic"] == 6 and report["duplicate_id_rows"] == 224 - 159
    assert "id 51" in str(report)
    assert categories["61"].semantic == "jewellery" and categories["57"].semantic == "sunglasses"
    assert categories["28"].semantic == "bottoms" and categories["2"].semantic == ""
    semantics = {c.semantic for c in categories.values()} - {""}
    assert len(semantics) == 11 and all(s == s.strip() for s in semantics)
    written = write_categories_csv(tmp_path / "categories.csv", rows)
    assert written.read_bytes() == (real_polyvore / "categories.csv").read_bytes()


def test_real_item_images_load(real_samples):
    folder = real_samples / "polyvore_outfits" / "mmfashion_demo" / "fashion_compatibility"
    paths = sorted(folder.glob("set*/*.jpg"))
    assert len(paths) == 5
    for path in paths:
        assert path.stem.isdigit()  # images/<item_id>.jpg
        with Image.open(path) as image:
            image.load()
            assert image.size == (300, 300)


def test_real_quoted_fitb_and_metadata(real_samples, tmp_path):
    quoted = real_samples / "polyvore_outfits" / "quoted"
    questions = read_fitb(quoted / "fill_in_blank_examples_QUOTED.json")
    assert [q.correct_answer for q in questions] == ["222049137_6", "199244701_1"]
    assert [q.correct_index for q in questions] == [3, 1]  # never answers[0] here
    assert [q.blank_position for q in questions] == [6, 1]
    meta = read_item_metadata(quoted / "polyvore_item_metadata_183179503_QUOTED.json")
    item = meta["183179503"]
    assert (item.category_id, item.semantic_category) == ("28", "bottoms")
    assert item.categories[:2] == ("Women's Fashion", "Clothing")  # from "catgeories" (sic)
    out = write_item_metadata(tmp_path / "m.json", meta.values())
    original = (quoted / "polyvore_item_metadata_183179503_QUOTED.json").read_text()
    assert out.read_text() == original.strip()
    (first,) = read_outfits(quoted / "nondisjoint_train_first_record_QUOTED.json")
    assert first.set_id == "199244701" and first.item_at(1) == "132621870"


# ---------------------------------------------------------------------------- fixtures


def test_fixture_split_reports_unresolved_and_missing_images(tmp_path):
    root = tmp_path / "polyvore"
    shutil.copytree(FIXTURES, root)
    (root / "images").mkdir()
    for item_id in ("11", "12", "21"):
        Image.new("RGB", (8, 8)).save(root / "images" / f"{item_id}.jpg")
    split = PolyvoreSplit.from_root(root, "nondisjoint", "valid")
    assert split.report["unresolved_token"] == 1 and "999_1" in str(split.report)
    assert split.report["missing_image"] == 4  # 13, 22, 31, 32
    assert split.report.examples["missing_image"] == ["13", "22", "31"]  # the first 3
    assert split.item_ids == {"11", "12", "13", "21", "22", "31", "32"}
    assert split.resolve("300_3") == "12"  # an item shared by two outfits


def test_fixture_fitb_correct_answer_not_first():
    questions = read_fitb(FIXTURES / "nondisjoint" / "fill_in_blank_valid.json")
    assert [q.correct_answer for q in questions] == ["100_2", "300_1"]
    assert questions[0].answers[0] != questions[0].correct_answer
    bad = FitbQuestion(("100_1",), ("200_1", "300_1"), 2)
    with pytest.raises(ValueError, match="0 answers"):
        _ = bad.correct_answer


def test_fixture_round_trips_are_byte_identical(tmp_path):
    nd = FIXTURES / "nondisjoint"
    outfits = read_outfits(nd / "valid.json")
    assert outfits[2] == Outfit(
        "300", (OutfitItem("31", 1), OutfitItem("32", 2), OutfitItem("12", 3))
    )
    assert (
        write_outfits(tmp_path / "v.json", outfits).read_bytes() == (nd / "valid.json").read_bytes()
    )
    compat = read_compatibility(nd / "compatibility_valid.txt")
    assert compat[1] == CompatQuestion(0, ("100_1", "200_2", "300_3"))
    assert compatibility_text(compat) == (nd / "compatibility_valid.txt").read_text()
    fitb = read_fitb(nd / "fill_in_blank_valid.json")
    written = write_fitb(tmp_path / "f.json", fitb)
    assert written.read_bytes() == (nd / "fill_in_blank_valid.json").read_bytes()
    meta = read_item_metadata(FIXTURES / "polyvore_item_metadata.json")
    assert meta["12"] == ItemMeta("12", "bottoms", "27", description="Blue denim.")
    written = write_item_metadata(tmp_path / "m.json", meta.values())
    assert written.read_bytes() == (FIXTURES / "polyvore_item_metadata.json").read_bytes()
    again = write_outfits(tmp_path / "v2.json", read_outfits(tmp_path / "v.json"))
    assert again.read_bytes() == (tmp_path / "v.json").read_bytes()


def test_fixture_categories_conflicts(tmp_path):
    categories, report = read_categories_csv(FIXTURES / "categories.csv")
    assert set(categories) == {"2", "21", "27", "61", "62"}
    assert categories["21"].fine_grained == ("tshirt", "male T-shirt")
    assert categories["61"].semantics == ("accessories", "jewellery")
    assert categories["62"].semantic == "jewellery"  # trailing space stripped
    assert report["conflicting_semantic"] == 1 and report["empty_semantic"] == 1
    assert report["trailing_space"] == 2 and report["duplicate_id_rows"] == 2
    rows = read_categories_rows(FIXTURES / "categories.csv")
    written = write_categories_csv(tmp_path / "c.csv", rows).read_bytes()
    assert written == (FIXTURES / "categories.csv").read_bytes()
    assert written.count(b"\r\n") == 6 and not written.endswith(b"\n")


def test_token_parsing():
    assert split_token("224930161_12") == ("224930161", 12)
    for bad in ("224930161", "_1", "224930161_x"):
        with pytest.raises(ValueError):
            split_token(bad)
    by_set = {"1": Outfit("1", (OutfitItem("9", 1),))}
    with pytest.raises(KeyError):
        resolve_token("2_1", by_set)
    with pytest.raises(KeyError):
        resolve_token("1_2", by_set)
