"""Stage 1-2: constraints validate, resolve against the settings, and filter garments."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.helpers.wardrobes import garment, index_of
from wardrobe import taxonomy
from wardrobe.recommendation import Constraints, RecommendSettings
from wardrobe.recommendation.constraints import check_outfit, garment_mask, resolve

SETTINGS = RecommendSettings()


@pytest.mark.parametrize(
    "bad",
    [
        {"k": 0},
        {"k": 51},
        {"temperature_c": 500},
        {"temperature_c": -80},
        {"occasion": "moon_landing"},
        {"seasons": ["monsoon"]},
        {"formality_min": 0.8, "formality_max": 0.2},
        {"include_ids": ["a"], "exclude_ids": ["a"]},
        {"include_ids": ["bad/id"]},
        {"not_worn_days": 0},
        {"outerwear": "maybe"},
        {"colour": "red"},  # unknown field: a typo must not be silently ignored
    ],
)
def test_absurd_constraints_are_validation_errors(bad):
    with pytest.raises(ValidationError):
        Constraints(**bad)


def test_occasion_sets_the_formality_range_and_explicit_bounds_narrow_it():
    r = resolve(Constraints(occasion="business"), SETTINGS)
    assert r.formality == taxonomy.OCCASION_FORMALITY["business"]
    r = resolve(Constraints(occasion="business", formality_max=0.8), SETTINGS)
    assert r.formality == (taxonomy.OCCASION_FORMALITY["business"][0], 0.8)


@pytest.mark.parametrize(
    ("temperature", "rain", "seasons", "outerwear"),
    [
        (-10, False, ("winter",), "required"),
        (10, True, ("spring", "fall"), "required"),
        (20, False, ("spring", "summer"), "optional"),
        (20, True, ("spring", "summer"), "required"),
        (30, False, ("summer",), "excluded"),
    ],
)
def test_weather_picks_seasons_and_the_outerwear_rule(temperature, rain, seasons, outerwear):
    r = resolve(Constraints(temperature_c=temperature, rain=rain), SETTINGS)
    assert r.seasons == seasons and r.outerwear == outerwear
    assert ("sandals" in r.excluded_categories) == rain
    assert bool(r.notes) == (outerwear != "optional")


def test_explicit_outerwear_and_seasons_win_over_the_weather():
    r = resolve(Constraints(temperature_c=-5, outerwear="excluded", seasons=["summer"]), SETTINGS)
    assert r.outerwear == "excluded" and r.seasons == ("summer",)


def test_filter_applies_each_garment_constraint_and_unknown_attributes_fail():
    idx = index_of(
        garment("shirt", "dress_shirt", formality=0.85, seasons=("spring", "fall")),
        garment("tee", "t_shirt", formality=0.2),
        garment("mystery", "oxford", formality=None),
        garment("summer", "polo", formality=0.7, seasons=("summer",)),
        garment("sandals", "sandals", formality=0.7),
        garment("coat", "coat", formality=0.75),
    )
    c = Constraints(occasion="business", temperature_c=10, rain=True, exclude_ids=["coat"])
    ok, failed = garment_mask(idx, resolve(c, SETTINGS))
    assert [idx.ids[i] for i in ok.nonzero()[0]] == ["shirt"]
    reasons = {name: sorted(idx.ids[i] for i in m.nonzero()[0]) for name, m in failed.items()}
    assert reasons["formality"] == ["mystery", "tee"]
    assert reasons["season"] == ["summer"]
    assert reasons["weather"] == ["sandals"]
    assert reasons["excluded"] == ["coat"]


def test_recently_worn_garments_and_slots_switched_off_are_filtered():
    idx = index_of(garment("a", "t_shirt"), garment("b", "watch"), garment("c", "sundress"))
    c = Constraints(accessories="excluded", body="separates")
    ok, _ = garment_mask(idx, resolve(c, SETTINGS, worn_ids=frozenset({"a"})))
    assert not ok.any()


def test_check_outfit_names_outfit_level_breaks():
    idx = index_of(garment("t", "t_shirt"), garment("j", "jeans"), garment("s", "sneakers"))
    r = resolve(Constraints(temperature_c=0, include_ids=["t"], accessories="required"), SETTINGS)
    everything = list(idx.rows(["t", "j", "s"]))
    assert check_outfit(idx, everything, r) == ["outerwear", "accessory"]
    r = resolve(Constraints(include_ids=["t"]), SETTINGS)
    assert check_outfit(idx, list(idx.rows(["j", "s"])), r) == ["include"]
    assert check_outfit(idx, everything, r) == []


def test_explicit_fields_win_over_parsed_text():
    parsed = Constraints(occasion="formal", temperature_c=10, rain=True)
    merged = Constraints(occasion="casual", k=3).merged_over(parsed)
    assert (merged.occasion, merged.temperature_c, merged.rain, merged.k) == ("casual", 10, True, 3)
