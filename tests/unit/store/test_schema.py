"""The typed records speak the taxonomy's vocabulary and reject anything else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.helpers.store_data import make_garment
from wardrobe.store import GarmentAttributes
from wardrobe.store.schema import check_id


def test_slot_is_derived_from_category_and_lists_are_normalised():
    g = make_garment("a", category="jeans")
    assert g.slot == "bottom"
    assert g.attributes.seasons == ["fall", "winter"]  # vocabulary order
    assert [c.colour for c in g.attributes.colours] == ["navy", "white"]  # by share
    assert g.attributes.primary_colour == "navy"


@pytest.mark.parametrize(
    "overrides",
    [
        {"category": "cardigans"},
        {"slot": "footwear"},  # contradicts t_shirt
        {"category_confidence": 1.5},
        {"box": (50.0, 0.0, 10.0, 20.0)},
        {"image_sha256": "not-a-digest"},
        {"id": "has/slash"},
        {"id": ""},
        {"unknown_field": 1},
    ],
)
def test_invalid_garments_are_rejected(overrides):
    with pytest.raises(ValidationError):
        make_garment("a", **overrides)


@pytest.mark.parametrize(
    "attributes",
    [
        {"pattern": "tartan"},
        {"fit": "baggy"},
        {"formality": 2.0},
        {"seasons": ["monsoon"]},
        {"style_tags": ["goth"]},
        {"colours": [{"colour": "cream", "share": 0.5}]},  # an alias, not a palette colour
        {"colours": [{"colour": "red", "share": 0.7}, {"colour": "red", "share": 0.2}]},
        {"colours": [{"colour": "red", "share": 0.7}, {"colour": "blue", "share": 0.7}]},
    ],
)
def test_attributes_outside_the_vocabulary_are_rejected(attributes):
    with pytest.raises(ValidationError):
        GarmentAttributes.model_validate(attributes)


def test_check_id_names_what_is_wrong():
    assert check_id("user-1@example.com", "user id") == "user-1@example.com"
    with pytest.raises(ValueError, match="invalid user id"):
        check_id("a b", "user id")
