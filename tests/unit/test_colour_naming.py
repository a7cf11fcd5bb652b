"""Colour naming: names people use for colours, fitted on public data (never the XKCD survey)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from wardrobe import colour_naming as cn
from wardrobe.colour_science import palette_lab
from wardrobe.data import colour_names as data
from wardrobe.taxonomy import COLOURS, colour_head_word

MODELS = ("prototypes", "regions")

# (sRGB, name): everyday shades that the nearest-anchor rule misnamed (pale greens -> beige,
# light blue -> white/grey, pink -> red, dark blues -> black) and the neutral boundaries.
EVERYDAY = [
    ("#d0f0c0", "green"),  # pale mint
    ("#bdecb6", "green"),  # pastel green
    ("#98ff98", "green"),  # mint
    ("#a8d8ea", "blue"),  # light blue
    ("#87ceeb", "blue"),  # sky blue
    ("#3a5fcd", "blue"),
    ("#ffc0cb", "pink"),
    ("#f4c2c2", "pink"),  # baby pink
    ("#ff69b4", "pink"),  # hot pink
    ("#d00000", "red"),
    ("#8b0000", "red"),  # dark red is red, not brown
    ("#000080", "navy"),
    ("#111111", "black"),
    ("#0a0a14", "black"),  # a blue-black with no chroma to speak of
    ("#f5f5dc", "beige"),
    ("#f0ead6", "beige"),  # eggshell / cream
    ("#fafafa", "white"),
    ("#d2b48c", "tan"),
    ("#c19a6b", "tan"),  # camel
    ("#5c3a1e", "brown"),
    ("#808080", "grey"),
]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(("hex_colour", "name"), EVERYDAY)
def test_everyday_shades_get_the_name_people_use(model, hex_colour, name):
    assert cn.name_srgb(_rgb(hex_colour), model) == name


@pytest.mark.parametrize("model", MODELS)
def test_every_palette_reference_names_itself(model):
    names = cn.name_indices(palette_lab(), model)
    assert [COLOURS[i] for i in names] == list(COLOURS)


def test_navy_blue_and_black_are_split_by_lightness_and_chroma_in_the_regions():
    regions = cn.FITTED
    assert cn.name_srgb(_rgb("#1a2b6d"), "regions") == "navy"  # dark, strongly blue
    assert cn.name_srgb(_rgb("#2c3e75"), "regions") == "blue"  # lighter
    assert cn.name_srgb(_rgb("#0a0a14"), "regions") == "black"  # no chroma
    assert regions.navy_l <= 34 and regions.black_c < 30


def test_pink_is_lighter_than_red_on_the_same_hue():
    # one hue (~15 degrees), two lightnesses
    assert cn.name_colour((45.0, 60.0, 16.0)) == "red"
    assert cn.name_colour((75.0, 25.0, 7.0)) == "pink"


def test_beige_white_and_tan_by_chroma_and_lightness():
    assert cn.name_colour((97.0, 0.0, 1.0)) == "white"  # neutral
    assert cn.name_colour((94.0, 1.0, 12.0)) == "beige"  # a cream tint
    assert cn.name_colour((74.0, 4.0, 25.0)) == "tan"  # darker and more coloured


def test_names_broadcast_over_any_shape():
    lab = np.random.default_rng(0).uniform([0, -60, -60], [100, 60, 60], (4, 5, 3))
    names = cn.name_indices(lab)
    assert names.shape == (4, 5) and names.min() >= 0 and names.max() < len(COLOURS)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="naming model"):
        cn.name_indices(np.zeros(3), "nearest")


def test_a_region_threshold_outside_its_range_is_refused():
    with pytest.raises(ValueError, match="navy_l"):
        cn.NamingRegions(navy_l=60.0)


# ---- head words -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "colour"),
    [
        ("pale mint green", "green"),
        ("Navy Blue", "navy"),  # the modifier is the palette name of that shade
        ("greenish blue", "blue"),
        ("Light Gray", "grey"),
        ("lightseagreen", "green"),  # CSS names run together
        ("mediumvioletred", "red"),
        ("teal", None),
        ("whitesmoke", None),
        ("", None),
    ],
)
def test_colour_names_map_to_the_palette_by_head_word(name, colour):
    assert colour_head_word(name) == colour


# ---- the data and the fit ---------------------------------------------------------------------
def test_no_xkcd_survey_in_the_fitted_data():
    rows = data.fit_colours()
    assert not any("xkcd" in r.source.lower() for r in rows)
    with cn.PROTOTYPES.open() as f:
        assert not any("xkcd" in r["source"].lower() for r in csv.DictReader(f))


def test_crowd_held_out_rows_are_not_prototypes():
    fit, held_out = data.crowd_colours("fit"), data.crowd_colours("heldout")
    assert len(fit) > 150 and len(held_out) > 150
    assert not {r.name for r in fit} & {r.name for r in held_out}
    crowd_prototypes = int((cn.prototypes().weight == data.CROWD_VOTE).sum())
    assert crowd_prototypes == len(fit)


def test_prototype_table_is_what_the_fit_data_gives():
    with cn.PROTOTYPES.open(newline="") as f:
        stored = list(csv.DictReader(f))
    assert stored == data.prototype_rows(data.fit_colours())


def test_fitted_regions_are_a_fixed_point_of_the_fit():
    assert data.fit_regions(data.fit_colours()) == cn.FITTED


def test_naming_beats_the_nearest_anchor_on_held_out_crowd_names():
    held_out = data.crowd_colours("heldout")
    assert data.naming_accuracy(held_out) > data.anchor_accuracy(held_out) + 0.1
