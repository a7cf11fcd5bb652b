"""A user's corrections of a garment: kept apart from the prediction, merged as a JSON merge
patch, checked against the taxonomy, seen by every read, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.helpers.store_data import make_garment
from wardrobe.store import NotFound


def test_a_correction_overlays_the_prediction_and_records_who_and_when(records):
    records.upsert_garments("u", [make_garment("a")])
    g = records.correct_garment("u", "a", {"category": "jeans"}, corrected_by="u")
    assert (g.category, g.slot, g.category_confidence) == ("jeans", "bottom", 1.0)
    assert g.prediction.category == "t_shirt" and g.prediction.category_confidence == 0.9
    assert g.correction.corrected_by == "u" and g.correction.corrected_at.tzinfo is not None
    g = records.correct_garment("u", "a", {"attributes": {"pattern": "striped"}}, "u")
    assert g.category == "jeans" and g.attributes.pattern == "striped"  # merged, not replaced
    assert g.attributes.fit == "regular"  # uncorrected attributes stay predicted
    assert records.get_garment("u", "a") == g
    assert records.all_garments("u") == [g]
    assert records.list_garments("u").items == [g]


def test_a_reingest_never_overwrites_a_correction(records):
    records.upsert_garments("u", [make_garment("a")])
    records.correct_garment("u", "a", {"category": "polo"}, "u")
    records.upsert_garments("u", [make_garment("a", category="hoodie")])  # new prediction
    g = records.get_garment("u", "a")
    assert g.category == "polo" and g.prediction.category == "hoodie"


def test_null_drops_a_fields_correction(records):
    records.upsert_garments("u", [make_garment("a")])
    records.correct_garment("u", "a", {"category": "polo", "attributes": {"fit": "slim"}}, "u")
    g = records.correct_garment("u", "a", {"category": None}, "u")
    assert g.category == "t_shirt" and g.attributes.fit == "slim"
    g = records.correct_garment("u", "a", {"attributes": {"fit": None}}, "u")
    assert g.correction is None and g.prediction is None and g.attributes.fit == "regular"


@pytest.mark.parametrize(
    "patch",
    [
        {"category": "spacesuit"},
        {"attributes": {"pattern": "tartan-ish"}},
        {"attributes": {"seasons": ["monsoon"]}},
        {"attributes": {"collar": "round"}},  # no such attribute
        {"attributes": {"sleeves": "three-quarter"}},  # lengths are short or long
        {"slot": "top"},
    ],
)
def test_values_outside_the_taxonomy_are_refused(records, patch):
    records.upsert_garments("u", [make_garment("a")])
    with pytest.raises(ValueError):
        records.correct_garment("u", "a", patch, "u")
    assert records.get_garment("u", "a").correction is None


def test_a_corrected_length_is_kept_and_sure(records):
    records.upsert_garments("u", [make_garment("a")])
    g = records.correct_garment("u", "a", {"attributes": {"sleeves": "long"}}, "u")
    assert g.attributes.sleeves == "long" and g.attributes.confidence["sleeves"] == 1.0


def test_corrections_are_per_user_and_go_with_the_garment(records):
    records.upsert_garments("u", [make_garment("a"), make_garment("b")])
    records.upsert_garments("v", [make_garment("a")])
    with pytest.raises(NotFound):
        records.correct_garment("w", "a", {"category": "polo"}, "w")
    records.correct_garment("u", "a", {"category": "polo"}, "u")
    records.correct_garment("u", "b", {"category": "jeans"}, "u")
    assert records.get_garment("v", "a").category == "t_shirt"
    assert [g.id for g in records.corrected_garments()] == ["a", "b"]
    records.delete_garment("u", "b")
    records.upsert_garments("u", [make_garment("b")])  # the same id, a new garment
    assert records.get_garment("u", "b").correction is None
    assert [(g.user_id, g.id) for g in records.corrected_garments()] == [("u", "a")]


def test_filters_and_the_fingerprint_follow_corrections(records):
    records.upsert_garments("u", [make_garment("a"), make_garment("b", category="jeans")])
    before = records.garments_fingerprint("u")
    records.correct_garment("u", "a", {"category": "shorts"}, "u")
    assert records.garments_fingerprint("u") != before  # the recommender's cache sees it
    assert records.list_garments("u", slot="bottom").total == 2
    assert [g.id for g in records.list_garments("u", category="shorts").items] == ["a"]
    assert records.list_garments("u", colour="navy").total == 2
    assert records.list_garments("u", colour="red").total == 0
    assert records.count_garments_of_photo("u", make_garment("a").image_sha256) == 1
