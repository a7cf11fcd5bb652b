"""Free-text requests parse into constraints; unknown words are ignored."""

from __future__ import annotations

import pytest

from wardrobe.recommendation import parse_request


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "smart casual for a rainy 10°C day",
            {"occasion": "smart_casual", "temperature_c": 10.0, "rain": True},
        ),
        ("something for a summer wedding", {"occasion": "formal", "seasons": ["summer"]}),
        ("Business casual, about 50 F", {"occasion": "business_casual", "temperature_c": 10.0}),
        ("gym session, it's -3 degrees", {"occasion": "athletic", "temperature_c": -3.0}),
        (
            "a chilly autumn office day",
            {"occasion": "business_casual", "temperature_c": 8.0, "seasons": ["fall"]},
        ),
        ("job interview", {"occasion": "business"}),
    ],
)
def test_requests_parse_into_constraints(text, expected):
    parsed = parse_request(text).constraints
    assert {key: getattr(parsed, key) for key in expected} == expected


def test_unknown_words_and_bare_numbers_are_ignored():
    parsed = parse_request("zorblax 3 outfits with flibber ✨ please")
    assert parsed.constraints.model_dump(exclude_defaults=True) == {}
    assert parsed.understood == []


def test_out_of_range_temperatures_are_not_taken():
    assert parse_request("it is 999°C on venus").constraints.temperature_c is None
