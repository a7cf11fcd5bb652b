"""Per-garment stages: crop framing, the coarse-class rule, attribute decoding, colours."""

import numpy as np
import pytest

from wardrobe.ingestion import garments as g
from wardrobe.store.schema import GarmentAttributes
from wardrobe.taxonomy import (
    ATTRIBUTE_HEADS,
    CATEGORY_INDEX,
    COLOUR_RGB,
    COLOURS,
    FINE_CATEGORIES,
    categories_for_df2,
)


def test_crop_is_a_padded_square_around_the_box_clipped_to_the_image():
    assert g.crop_box((40, 40, 60, 80), 200, 200, 0.1) == (26, 36, 74, 84)
    # near the corner: clipped, never negative, never past the image
    assert g.crop_box((0, 0, 30, 10), 100, 50, 0.5) == (0, 0, 45, 35)
    x1, y1, x2, y2 = g.crop_box((90, 40, 100, 50), 100, 50, 0.0)
    assert 0 <= x1 < x2 <= 100 and 0 <= y1 < y2 <= 50


def test_cut_copies_the_region():
    rgb = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    crop = g.cut(rgb, (1, 2, 4, 5))
    assert crop.shape == (3, 3, 3) and crop.flags.c_contiguous
    np.testing.assert_array_equal(crop, rgb[2:5, 1:4])


def _probs(mass: dict[str, float]) -> np.ndarray:
    rest = max(1.0 - sum(mass.values()), 1e-9) / (len(FINE_CATEGORIES) - len(mass))
    p = np.full(len(FINE_CATEGORIES), rest)
    for name, value in mass.items():
        p[CATEGORY_INDEX[name]] = value
    return p / p.sum()


def test_category_agrees_with_the_detected_coarse_class():
    # the classifier's favourite (sneakers) cannot be "trousers", and trousers hold most of its
    # mass: the best trouser category wins
    probs = _probs({"sneakers": 0.44, "jeans": 0.42, "chinos": 0.14})
    choice = g.choose_category(probs, "trousers", top_k=2)
    assert choice.category == "jeans" and not choice.disagreement
    assert choice.confidence == pytest.approx(0.75, abs=1e-3)  # renormalised over trousers
    assert [c for c, _ in choice.top_k] == ["jeans", "chinos"]
    assert all(c in categories_for_df2("trousers") for c, _ in choice.top_k)


def test_a_sure_classifier_overrules_the_detector_and_warns():
    probs = _probs({"sneakers": 0.97, "jeans": 0.03})
    choice = g.choose_category(probs, "trousers", min_coarse_mass=0.1)
    assert choice.category == "sneakers" and choice.disagreement


def test_without_a_detection_the_classifier_decides():
    choice = g.choose_category(_probs({"bag": 0.9}), None, top_k=3)
    assert choice.category == "bag" and len(choice.top_k) == 3
    assert choice.confidence == pytest.approx(0.9, abs=1e-3)


def test_attributes_decode_every_head_kind():
    heads = {}
    for head, (kind, vocab) in ATTRIBUTE_HEADS.items():
        if kind == "regression":
            heads[head] = np.array([0.8, 1.3])
        else:
            row = np.full(len(vocab), 0.1)
            row[1] = 0.9
            heads[head] = np.stack([row, np.full(len(vocab), 0.2)])
    first = g.attributes(heads, 0)
    assert "colour" not in first  # colours come from the extractor
    assert first["pattern"] == ATTRIBUTE_HEADS["pattern"][1][1]
    assert first["style_tags"] == [ATTRIBUTE_HEADS["style_tags"][1][1]]
    assert first["formality"] == pytest.approx(0.8)
    second = g.attributes(heads, 1)
    assert second["style_tags"] == []  # nothing above the threshold
    assert len(second["seasons"]) == 1  # but a garment is always worn in some season
    assert second["formality"] == 1.0  # clipped into the range


def test_attributes_carry_the_taggers_confidence_of_each_decision():
    heads = {}
    for head, (kind, vocab) in ATTRIBUTE_HEADS.items():
        if kind == "regression":
            heads[head] = np.array([0.4])
        else:
            row = np.full(len(vocab), 0.1)
            row[0], row[1] = 0.7, 0.9
            heads[head] = row[None]
    confidence = g.attributes(heads, 0)["confidence"]
    assert confidence["pattern"] == pytest.approx(0.9)  # of the chosen class
    assert confidence["style_tags"] == pytest.approx(0.8)  # mean of the kept labels
    assert "formality" not in confidence  # a score, not a decision
    GarmentAttributes.model_validate({**g.attributes(heads, 0), "colours": []})  # storable


def test_colours_of_a_two_colour_garment_on_a_backdrop():
    crop = np.full((96, 96, 3), 235, np.uint8)  # light backdrop
    crop[16:80, 16:80] = COLOUR_RGB["navy"]
    crop[16:40, 16:80] = COLOUR_RGB["red"]
    found = g.colours(crop)
    assert [c["colour"] for c in found] == ["navy", "red"]
    assert sum(c["share"] for c in found) <= 1.0


def test_tight_crop_keeps_the_box_shape():
    assert g.crop_box((40, 40, 60, 80), 200, 200, 0.1, square=False) == (38, 36, 62, 84)


def test_working_copy_shrinks_big_photos_but_keeps_what_quality_measures():
    from wardrobe.ingestion.pipeline import working_copy

    assert working_copy(np.zeros((3024, 4032, 3), np.uint8), 1280).shape == (960, 1280, 3)
    small = np.zeros((300, 400, 3), np.uint8)
    assert working_copy(small, 1280) is small  # never enlarged
    # a panorama keeps its short side at the blur reference size (512), not 1280 / 16
    assert working_copy(np.zeros((600, 9600, 3), np.uint8), 1280).shape[0] == 512


# ---- the colour rule: the extractor answers, the tagger is kept as evidence ----------------------
def _tagger(colour: str, p: float) -> np.ndarray:
    probs = np.full(len(COLOURS), (1.0 - p) / (len(COLOURS) - 1))
    probs[COLOURS.index(colour)] = p
    return probs


EXTRACTED = [{"colour": "navy", "share": 0.7}, {"colour": "white", "share": 0.3}]


def test_tagger_agreeing_with_the_extractor_is_recorded_as_agreement():
    decision = g.decide_colours(EXTRACTED, _tagger("navy", 0.9))
    assert decision.colours == EXTRACTED  # one answer: the extractor's
    assert decision.evidence == {"tagger": "navy", "confidence": 0.9, "agrees": True}
    assert not decision.disagreement


def test_tagger_naming_the_secondary_colour_is_evidence_not_a_warning():
    decision = g.decide_colours(EXTRACTED, _tagger("white", 0.95))
    assert decision.colours[0]["colour"] == "navy"
    assert decision.evidence["agrees"] is False and not decision.disagreement


def test_a_sure_tagger_naming_a_colour_the_extractor_missed_warns():
    decision = g.decide_colours(EXTRACTED, _tagger("red", 0.8))
    assert decision.colours == EXTRACTED and decision.disagreement
    unsure = g.decide_colours(EXTRACTED, _tagger("red", 0.4))
    assert not unsure.disagreement and unsure.evidence["tagger"] == "red"


def test_without_a_tagger_there_is_no_evidence():
    assert g.decide_colours(EXTRACTED, None) == g.ColourDecision(EXTRACTED, None, False)
    with pytest.raises(ValueError, match="14 colour probabilities"):
        g.decide_colours(EXTRACTED, np.ones(3) / 3)


def test_colour_evidence_is_a_valid_stored_attribute():
    from wardrobe.store.schema import GarmentAttributes

    decision = g.decide_colours(EXTRACTED, _tagger("red", 0.8))
    attrs = GarmentAttributes(colours=decision.colours, colour_evidence=decision.evidence)
    assert attrs.primary_colour == "navy" and attrs.colour_evidence.tagger == "red"
    with pytest.raises(ValueError, match="colour"):
        GarmentAttributes(colour_evidence={"tagger": "cream", "confidence": 0.5, "agrees": False})


def test_a_garment_of_either_length_takes_the_heads_answer_one_of_one_length_its_own():
    assert g.length_answer(None) is None
    long = g.length_answer(np.array([0.2, 0.8]))
    assert long == g.Length("long", pytest.approx(0.8))
    for category, part in (("t_shirt", "sleeves"), ("jeans", "legs")):
        attrs = {"confidence": {"pattern": 0.9}}
        g.add_length(attrs, category, long)
        assert attrs[part] == "long" and attrs["confidence"] == {"pattern": 0.9, part: 0.8}
        GarmentAttributes(**attrs)  # the store takes it
        unanswered = {}
        g.add_length(unanswered, category, None)  # no length head: not known
        assert unanswered == {}
    for category, expected in (("sweater", {"sleeves": "long"}), ("shorts", {"legs": "short"})):
        attrs = {}
        g.add_length(attrs, category, long)  # the category's own length wins
        assert attrs == expected
    for category in ("midi_dress", "skirt", "tank_top", "coat", "sneakers"):
        attrs = {}
        g.add_length(attrs, category, long)
        assert attrs == {}, category
    with pytest.raises(ValueError, match="length"):
        GarmentAttributes(sleeves="three-quarter")
