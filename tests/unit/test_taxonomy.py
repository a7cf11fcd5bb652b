"""The one vocabulary: the counts and mappings every other module relies on."""

import ast
import math
from pathlib import Path

import pytest

from wardrobe import taxonomy as tx


def test_47_unique_fine_categories_in_6_groups():
    assert len(tx.FINE_CATEGORIES) == 47
    assert len(set(tx.FINE_CATEGORIES)) == 47
    assert set(tx.GROUPS) == {"tops", "bottoms", "outerwear", "dresses", "footwear", "accessories"}
    assert {c.group for c in tx.CATEGORIES} == set(tx.GROUPS)


def test_cardigan_once_and_vest_is_outerwear():
    assert tx.FINE_CATEGORIES.count("cardigan") == 1
    assert tx.CATEGORY_BY_NAME["cardigan"].group == "outerwear"
    assert tx.CATEGORY_BY_NAME["vest"].slot == "outerwear"


def test_every_category_has_a_slot_and_group():
    for cat in tx.CATEGORIES:
        assert cat.slot in tx.SLOTS
        assert tx.GROUP_SLOT[cat.group] == cat.slot
    assert {c.slot for c in tx.CATEGORIES} == set(tx.SLOTS)


def test_every_df2_class_maps_to_a_category():
    for df2 in tx.DF2_CLASSES:
        assert tx.categories_for_df2(df2), f"no fine category maps to {df2}"
    for cat in tx.CATEGORIES:
        assert set(cat.df2_classes) <= set(tx.DF2_CLASSES)
    assert set(tx.DF2_LENGTH) <= set(tx.DF2_CLASSES)
    assert {length for _, length in tx.DF2_LENGTH.values()} == {"short", "long"}


def test_df2_ids_and_names():
    assert len(tx.DF2_CLASSES) == 13
    assert tx.df2_id_to_yolo(1) == 0 and tx.df2_id_to_yolo(13) == 12
    assert tx.df2_class_name(5) == "vest"
    assert tx.DF2_RAW_NAMES[0] == "short sleeve top"
    assert sum(tx.DF2_NUM_LANDMARKS) == 294
    for bad in (0, 14):
        with pytest.raises(ValueError, match=r"1\.\.13"):
            tx.df2_id_to_yolo(bad)


def test_footwear_and_accessories_are_not_detectable():
    for name in tx.categories_in_slot("footwear") + tx.categories_in_slot("accessory"):
        assert not tx.CATEGORY_BY_NAME[name].detectable


def test_attribute_schema_sizes():
    assert len(tx.COLOURS) == 14 and len(tx.COLOUR_RGB) == 14
    assert len(tx.PATTERNS) == 8
    assert len(tx.FITS) == 4
    assert len(tx.SEASONS) == 4
    assert len(tx.STYLE_TAGS) == 10
    assert set(tx.COLOURS) >= tx.NEUTRAL_COLOURS
    kinds = {k: v[0] for k, v in tx.ATTRIBUTE_HEADS.items()}
    assert kinds["formality"] == "regression" and kinds["seasons"] == "multilabel"


@pytest.mark.parametrize(
    ("word", "expected"),
    [("Navy", "navy"), ("cream", "beige"), ("burgundy", "red"), ("gray", "grey"), ("mauve", None)],
)
def test_colour_words_normalise_onto_the_palette(word, expected):
    assert tx.normalise_colour(word) == expected


def _vocabulary_literals(tree: ast.AST, names: set[str]) -> int:
    """Number of list/tuple/set literals spelling most (60%+) of one vocabulary again."""
    count, least = 0, max(5, math.ceil(0.6 * len(names)))
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple | ast.Set) and len(node.elts) >= least:
            values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if len(values) == len(node.elts) and set(values) <= names:
                count += 1
    return count


def test_no_other_module_spells_the_vocabularies():
    """No source file outside taxonomy.py writes a list of categories, colours, classes...

    Tables keyed by category and short subsets (a generator's winter garments, say) are rules
    about the vocabulary and are fine; a second list of the names is not.
    """
    src = Path(tx.__file__).parent
    vocabularies = {
        "categories": tx.FINE_CATEGORIES,
        "colours": tx.COLOURS,
        "df2 classes": tx.DF2_CLASSES,
        "patterns": tx.PATTERNS,
        "style tags": tx.STYLE_TAGS,
    }
    offenders = []
    for path in src.rglob("*.py"):
        if path.name == "taxonomy.py":
            continue
        tree = ast.parse(path.read_text())
        for what, names in vocabularies.items():
            if _vocabulary_literals(tree, set(names)):
                offenders.append(f"{path.relative_to(src)} ({what})")
    assert not offenders, f"vocabulary spelled again in {offenders}"


def test_lengths_pair_the_df2_classes_that_differ_by_length_only():
    assert tx.with_length("short_sleeve_top", "long") == "long_sleeve_top"
    assert tx.with_length("trousers", "short") == "shorts"
    assert tx.with_length("long_sleeve_dress", "long") == "long_sleeve_dress"
    assert tx.with_length("skirt", "long") == "skirt"  # a long skirt is still a skirt
    assert tx.with_length(None, "short") is None
    assert tx.length_of_classes(("long_sleeve_top",)) == "long"
    assert tx.length_of_classes(("short_sleeve_top", "long_sleeve_top")) is None  # mixed
    assert tx.length_of_classes(("sling_dress", "long_sleeve_dress")) is None  # sleeveless too
    assert tx.length_of_classes(()) is None
    known = {c.name: tx.length_of_classes(c.df2_classes) for c in tx.CATEGORIES}
    assert known["sweater"] == "long" and known["shorts"] == "short" and known["t_shirt"] is None
    assert set(tx.LENGTH_PART) <= set(tx.GROUPS)
