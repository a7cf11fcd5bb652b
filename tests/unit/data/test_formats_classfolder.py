"""Class-folder data sets with foreign labels: the mapping file and the reader."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wardrobe.data.formats.classfolder import (
    CLOTHING_DATASET_SMALL_MAPPING,
    load_class_mapping,
    read_class_folder,
)
from wardrobe.taxonomy import CATEGORY_BY_NAME, DF2_CLASSES, FINE_CATEGORIES, GROUP_SLOT

# as conf/paths/default.yaml finds it: $WARDROBE_REAL_DATA, else beside the checkout
REAL_ROOT = Path(
    os.environ.get("WARDROBE_REAL_DATA")
    or Path(__file__).resolve().parents[3].parent / "shared/real-data/clothing-dataset-small"
)


def test_shipped_mapping_names_only_taxonomy_vocabulary():
    mapping = load_class_mapping()
    assert mapping.names == (
        "t-shirt", "longsleeve", "shirt", "pants", "shorts",
        "skirt", "dress", "outwear", "shoes", "hat",
    )  # fmt: skip
    assert mapping.licence == "CC0-1.0"
    for label in mapping.labels.values():
        assert set(label.fine) <= set(FINE_CATEGORIES)
        assert {CATEGORY_BY_NAME[c].group for c in label.fine} == {label.group}
        assert set(label.df2) <= set(DF2_CLASSES)
        assert label.slot == GROUP_SLOT[label.group]
    assert mapping.labels["shoes"].detector_class is None
    assert mapping.labels["pants"].detector_class == "trousers"


def test_a_length_answer_replaces_the_detected_length_and_decides_without_a_box():
    mapping = load_class_mapping()
    assert mapping.coarse_of("t_shirt", "short_sleeve_top", "long") == "longsleeve"
    assert mapping.coarse_of("t_shirt", "long_sleeve_top", "short") == "t-shirt"
    assert mapping.coarse_of("jeans", "trousers", "short") == "shorts"
    assert mapping.coarse_of("t_shirt", None, "long") == "longsleeve"  # whole-photo fallback
    assert mapping.coarse_of("jeans", None, "short") == "shorts"
    # a top boxed as trousers: its length is of sleeves, whatever the box's kind says
    assert mapping.coarse_of("polo", "trousers", "long") == "longsleeve"
    assert mapping.coarse_of("polo", "vest", "long") == "longsleeve"
    assert mapping.coarse_of("t_shirt", "short_sleeve_top", None) == "t-shirt"  # as before


def test_mapping_back_uses_the_detector_sleeve_class():
    mapping = load_class_mapping()
    assert mapping.coarse_of("t_shirt", "short_sleeve_top") == "t-shirt"
    assert mapping.coarse_of("t_shirt", "long_sleeve_top") == "longsleeve"
    assert mapping.coarse_of("t_shirt") == "t-shirt"  # no detection: the first label allowing it
    assert mapping.coarse_of("hoodie", "short_sleeve_top") == "longsleeve"
    # no label holds the class: the one whose classes have its sleeve (or leg) length
    assert mapping.coarse_of("polo", "long_sleeve_outwear") == "longsleeve"
    assert mapping.coarse_of("polo", "short_sleeve_outwear") == "t-shirt"
    assert mapping.coarse_of("jeans", "skirt") == "shorts"
    assert mapping.coarse_of("jeans", "trousers") == "pants"
    assert mapping.coarse_of("polo", "sling") == "t-shirt"  # says nothing of length: the first
    assert mapping.coarse_of("jeans", "short_sleeve_dress") == "pants"  # sleeves, not legs
    assert mapping.coarse_of("oxford") == "shirt"
    assert mapping.coarse_of("sneakers") == "shoes"
    with pytest.raises(KeyError, match="belt"):
        mapping.coarse_of("belt")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{fine: [t_shirtt], group: tops, df2: [short_sleeve_top]}", "not taxonomy fine"),
        ("{fine: [jeans], group: tops, df2: [trousers]}", "not in group"),
        ("{fine: [t_shirt], group: topz, df2: [short_sleeve_top]}", "not a taxonomy group"),
        ("{fine: [t_shirt], group: tops, df2: [tshirt]}", "not DeepFashion2"),
        ("{fine: [sweater], group: tops, df2: [short_sleeve_top]}", "never appears"),
        ("{fine: [t_shirt], group: tops, df2: []}", "detectable"),
        ("{fine: [], group: tops, df2: []}", "empty"),
    ],
)
def test_bad_mapping_entries_fail_naming_the_entry(tmp_path, entry, message):
    path = tmp_path / "m.yaml"
    path.write_text(f"name: x\nlabels:\n  tee: {entry}\n")
    with pytest.raises(ValueError, match=message) as err:
        load_class_mapping(path)
    assert "labels.tee" in str(err.value)


def _photo(path: Path, size=(64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), 128, np.uint8)).save(path)


def test_reader_lists_photos_and_reports_what_it_skipped(tmp_path):
    root = tmp_path / "ds"
    _photo(root / "validation/shoes/a.jpg")
    _photo(root / "validation/shoes/b.png")
    _photo(root / "validation/hat/c.jpg")
    _photo(root / "validation/hat/tiny.jpg", size=(10, 10))
    (root / "validation/hat/broken.jpg").write_bytes(b"not a jpeg")
    (root / "validation/hat/notes.txt").write_text("x")
    _photo(root / "validation/socks/d.jpg")  # not a label of the mapping
    (root / "validation/README").write_text("x")
    samples, report = read_class_folder(root, load_class_mapping(), "val")
    assert [(s.label, s.path.name) for s in samples] == [
        ("hat", "c.jpg"),
        ("shoes", "a.jpg"),
        ("shoes", "b.png"),
    ]
    assert samples[0].index == load_class_mapping().names.index("hat")
    assert report["corrupt_image"] == 1
    assert report["too_small"] == 1
    assert report["not_an_image"] == 1
    assert report["unknown_label_folder"] == 1
    assert report["file_outside_label_folder"] == 1
    assert "socks/ (1 files)" in str(report)


def test_missing_split_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="validation"):
        read_class_folder(tmp_path, load_class_mapping(), "val")


@pytest.mark.skipif(not REAL_ROOT.is_dir(), reason="clothing-dataset-small not beside the checkout")
def test_reads_the_real_data_set_whole():
    mapping = load_class_mapping(CLOTHING_DATASET_SMALL_MAPPING)
    samples, report = read_class_folder(REAL_ROOT, mapping, "val", verify=False)
    assert len(samples) == 341 and not report
    assert {s.label for s in samples} == set(mapping.names)
