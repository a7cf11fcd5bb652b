"""Illuminant estimation and chromatic adaptation: the light is judged from the background,
the garment adapted to daylight (D65) only as far as the estimate is trusted."""

from __future__ import annotations

import numpy as np
import pytest

from wardrobe.colour_naming import name_colour, navy_cloth
from wardrobe.colour_science import adaptation_matrix, linear_to_xyz, srgb_to_lab
from wardrobe.ingestion.colour import (
    ILLUMINANT_METHODS,
    cast_plausibility,
    estimate_illuminant,
    extract_colours,
)

_XYZ_TO_RGB = np.linalg.inv(linear_to_xyz(np.eye(3)).T)
WARM = np.array([1.0, 0.80, 0.55])  # linear RGB of white under a warm room light (~4300 K)
ROOM = np.array([1.0, 0.85, 0.68])  # a milder one: fully trusted
# Bradford, illuminant A -> D65, XYZ space (Lindbloom, "Chromatic Adaptation" tables)
BRADFORD_A_TO_D65 = np.array(
    [
        [0.8446965, -0.1179225, 0.3948108],
        [-0.1366303, 1.1041226, 0.1291718],
        [0.0798489, -0.1348999, 3.1924009],
    ]
)
WHITE_A = np.array([1.09850, 1.0, 0.35585])


def _encode(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.round(255 * srgb).astype(np.uint8)


def _room(garment_reflectance, light, background_reflectance=(0.55, 0.55, 0.55), seed=0):
    """A garment (a centred rectangle) on a floor, both lit by ``light`` (linear RGB), with
    texture and sensor noise; returns (sRGB image, garment mask)."""
    rng = np.random.default_rng(seed)
    h, w = 200, 160
    refl = np.empty((h, w, 3))
    refl[:] = background_reflectance
    refl[::40] *= 0.8  # grout lines
    garment = np.zeros((h, w), bool)
    garment[40:160, 35:125] = True
    refl[garment] = garment_reflectance
    refl *= rng.uniform(0.93, 1.0, (h, w, 1))
    return _encode(refl * np.asarray(light) + rng.normal(0, 0.004, (h, w, 3))), garment


# ---- chromatic adaptation ----------------------------------------------------------------------
def test_bradford_matches_the_published_a_to_d65_matrix():
    white_a_rgb = _XYZ_TO_RGB @ WHITE_A
    on_rgb = adaptation_matrix(white_a_rgb, cat="bradford")
    rgb_to_xyz = linear_to_xyz(np.eye(3)).T
    on_xyz = rgb_to_xyz @ on_rgb @ np.linalg.inv(rgb_to_xyz)
    np.testing.assert_allclose(on_xyz, BRADFORD_A_TO_D65, atol=2e-4)


@pytest.mark.parametrize("cat", ["bradford", "von_kries"])
def test_adaptation_makes_the_scene_white_neutral_and_keeps_its_luminance(cat):
    m = adaptation_matrix(WARM, cat=cat)
    adapted = m @ WARM
    np.testing.assert_allclose(adapted / adapted.mean(), 1.0, atol=1e-6)
    np.testing.assert_allclose(linear_to_xyz(adapted)[1], linear_to_xyz(WARM)[1], rtol=1e-6)


def test_degree_of_adaptation_interpolates_from_nothing_to_complete():
    np.testing.assert_allclose(adaptation_matrix(WARM, degree=0.0), np.eye(3), atol=1e-12)
    half = adaptation_matrix(WARM, degree=0.5) @ WARM
    full = adaptation_matrix(WARM, degree=1.0) @ WARM
    assert np.ptp(full) < np.ptp(half) < np.ptp(WARM)


def test_bad_adaptation_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="chromatic adaptation"):
        adaptation_matrix(WARM, cat="cat02x")
    with pytest.raises(ValueError, match="degree"):
        adaptation_matrix(WARM, degree=1.5)
    with pytest.raises(ValueError, match="positive"):
        adaptation_matrix(np.array([1.0, 0.0, 0.5]))


def test_srgb_to_lab_takes_a_matrix_and_the_identity_changes_nothing():
    rgb = np.array([[10, 120, 250], [200, 180, 90]], np.uint8)
    np.testing.assert_allclose(srgb_to_lab(rgb, np.eye(3)), srgb_to_lab(rgb))


# ---- the estimate --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", [m for m in ILLUMINANT_METHODS if m != "none"])
def test_every_estimate_finds_a_warm_light_from_a_grey_floor(method):
    img, garment = _room((0.2, 0.3, 0.7), WARM)  # a blue shirt: it must not be taken as light
    light = estimate_illuminant(img, garment, method)
    b = light.cast[1]
    assert b > 15 and light.confidence > 0.4  # a strong cast: trusted, not fully
    chroma = np.asarray(light.white) / np.asarray(light.white).max()
    np.testing.assert_allclose(chroma, WARM / WARM.max(), atol=0.06)


def test_the_garment_is_left_out_of_the_estimate():
    img, garment = _room((0.3, 0.36, 0.5), (1.0, 1.0, 1.0))  # a greyish-blue shirt, daylight
    assert np.hypot(*estimate_illuminant(img, garment).cast) < 2
    everything = np.zeros_like(garment)  # judged over the whole photo: the shirt tints it
    assert estimate_illuminant(img, everything, "gray_world").cast[1] < -3
    adapted, as_is = (
        extract_colours(img, garment, illuminant=m)[0] for m in ("white_patch", "none")
    )
    np.testing.assert_allclose(adapted.lab, as_is.lab, atol=1.0)  # daylight: nothing to undo


def test_a_red_blanket_gives_no_confidence():
    red = (0.6, 0.05, 0.05)
    img, garment = _room((0.2, 0.2, 0.2), (1.0, 1.0, 1.0), background_reflectance=red)
    light = estimate_illuminant(img, garment)
    assert light.confidence == 0.0 and light.neutral_share < 0.05
    assert extract_colours(img, garment)[0].name == "grey"


def test_green_or_magenta_casts_are_less_plausible_than_warm_or_cool_ones():
    assert cast_plausibility((0.0, 0.0)) == 1.0
    assert cast_plausibility((2.0, 10.0)) == 1.0  # warm, along the Planckian locus
    assert cast_plausibility((10.0, 3.0)) < 0.5  # magenta
    assert cast_plausibility((0.0, 40.0)) == 0.0  # too strong for light: a yellow surface


def test_none_is_daylight_with_no_confidence():
    img, garment = _room((0.8, 0.8, 0.8), WARM)
    light = estimate_illuminant(img, garment, "none")
    assert light.confidence == 0.0 and light.white == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="illuminant"):
        estimate_illuminant(img, garment, "retinex2")
    with pytest.raises(ValueError, match="mask shape"):
        estimate_illuminant(img, garment[:10])


# ---- what it is for ------------------------------------------------------------------------------
def test_white_shirt_under_warm_room_light_is_white():
    img, garment = _room((0.85, 0.85, 0.85), WARM)
    as_photographed = extract_colours(img, garment, illuminant="none")[0].name
    assert as_photographed != "white"  # the cast alone makes it beige or tan
    assert extract_colours(img, garment)[0].name == "white"


def test_light_blue_jeans_under_warm_light_are_blue_not_grey():
    img, garment = _room((0.33, 0.42, 0.62), ROOM)
    assert estimate_illuminant(img, garment).confidence == 1.0
    assert extract_colours(img, garment, illuminant="none")[0].name != "blue"
    assert extract_colours(img, garment)[0].name == "blue"


def test_estimated_foreground_is_what_the_light_is_judged_around():
    img, _ = _room((0.85, 0.85, 0.85), WARM)
    assert extract_colours(img)[0].name == "white"  # no mask given: the border model's


# ---- navy cloth ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lab", "name"),
    [
        ((18.0, 4.0, -16.0), "navy"),  # a navy coat as photographed (L* 18, C*ab 16)
        ((9.0, 3.0, -10.0), "navy"),  # dark navy shorts
        ((12.0, 0.0, -1.0), "black"),  # black: no chroma
        ((17.0, 2.0, -5.0), "black"),  # below the chroma floor
        ((40.0, 2.0, -25.0), "blue"),  # lighter than navy
    ],
)
def test_dark_blue_cloth_is_navy_and_black_stays_black(lab, name):
    assert name_colour(lab) == name
    assert bool(navy_cloth(np.array(lab))) == (name == "navy")
