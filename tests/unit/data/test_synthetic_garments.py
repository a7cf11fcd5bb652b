"""SynthWardrobe garments: labels follow visible rules, and the pixels agree with the labels."""

from __future__ import annotations

import copy
import dataclasses
import itertools

import cv2
import numpy as np
import pytest

from wardrobe.data.synthetic import product_crop, render_garment, sample_garment
from wardrobe.data.synthetic.colour import jitter_colour, nearest_colour
from wardrobe.data.synthetic.draw import render_at
from wardrobe.data.synthetic.shapes.parts import sleeve_kind
from wardrobe.data.synthetic.spec import FORMALITY_NOISE, base_formality, make_spec
from wardrobe.taxonomy import (
    CATEGORY_BY_NAME,
    COLOURS,
    FINE_CATEGORIES,
    FITS,
    PATTERNS,
    SEASONS,
    STYLE_TAGS,
)


def _solid(category: str, colour: str, fit: str = "regular", seed: int = 0):
    df2 = (CATEGORY_BY_NAME[category].df2_classes or (None,))[0]
    return make_spec(category, df2, colour, None, "solid", fit, appearance_seed=seed)


@pytest.mark.parametrize("category", FINE_CATEGORIES)
def test_every_category_renders_a_garment_inside_the_canvas(category):
    rng = np.random.default_rng(1)
    rgb, mask = render_garment(sample_garment(rng, category), 96, rng)
    assert rgb.shape == (96, 96, 3) and rgb.dtype == np.uint8 and mask.shape == (96, 96)
    assert mask.mean() > 0.04, "garment too small to see"
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert not border.any(), "garment cut by the canvas edge"
    assert (rgb[~mask] == 0).all()


def test_no_two_categories_are_drawn_alike():
    """Same colour, same view: any two categories differ clearly somewhere in the picture."""
    images = {}
    for category in FINE_CATEGORIES:
        spec = _solid(category, "grey")
        rgb, mask = render_garment(spec, 96, np.random.default_rng(0), fill=(0.8, 0.8), max_angle=0)
        images[category] = np.where(mask, rgb.mean(axis=2), 255.0)
    names = list(images)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            differ = (np.abs(images[a] - images[b]) > 30).mean()
            assert differ > 0.005, f"{a} and {b} are drawn alike"


def _hog(img: np.ndarray, n: int = 48, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Histogram of oriented gradients of a grey copy (a classical, colour-blind feature)."""
    grey = cv2.cvtColor(cv2.resize(img, (n, n), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    gx = cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 0, 1)
    b = np.minimum(((np.arctan2(gy, gx) % np.pi) / np.pi * bins).astype(int), bins - 1)
    cells = np.arange(n) // cell
    hist = np.zeros((n // cell, n // cell, bins), np.float32)
    np.add.at(hist, (cells[:, None].repeat(n, 1), cells[None, :].repeat(n, 0), b), np.hypot(gx, gy))
    return (hist / (np.linalg.norm(hist, axis=2, keepdims=True) + 1e-3)).ravel()


@pytest.mark.slow
def test_a_simple_classifier_learns_the_categories_from_shop_crops():
    """HOG + logistic regression on 20 crops per class: far above chance on new garments."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x, y = [], []
    for k, category in enumerate(FINE_CATEGORIES):
        for _ in range(26):
            x.append(_hog(product_crop(sample_garment(rng, category), rng, 96)))
            y.append(k)
    x, y = np.array(x), np.array(y)
    train = np.arange(len(y)) % 26 < 20
    clf = LogisticRegression(max_iter=2000, C=0.5).fit(x[train], y[train])
    accuracy = (clf.predict(x[~train]) == y[~train]).mean()
    assert accuracy > 0.6, accuracy  # chance is 1/47


@pytest.mark.parametrize("colour", COLOURS)
def test_solid_garment_mean_colour_is_the_labelled_colour(colour):
    """Shading, folds, texture and noise never move a solid garment off its colour label."""
    rng = np.random.default_rng(COLOURS.index(colour))
    for category in ("t_shirt", "jeans", "coat", "sneakers", "watch", "bag", "sundress"):
        spec = dataclasses.replace(_solid(category, colour, seed=int(rng.integers(1e6))))
        view = copy.deepcopy(rng)
        rgb, mask = render_garment(spec, 128, rng)
        assert nearest_colour(rgb[mask].mean(axis=0)) == colour, category
        # the same garment as a shop photo (JPEG-free): the inner pixels keep the colour
        crop = product_crop(spec, view, 128)
        inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert nearest_colour(crop[inner].mean(axis=0)) == colour, f"{category} crop"


def _area_at_body_scale(category: str, df2: str) -> tuple[int, int]:
    """(mask area, mask height) of a grey solid garment drawn at 100 px per body unit."""
    spec = make_spec(category, df2, "grey", None, "solid", "regular", appearance_seed=7)
    _, mask, _ = render_at(spec, 100.0, np.random.default_rng(0), max_angle=0)
    ys, _ = np.nonzero(mask)
    return int(mask.sum()), int(np.ptp(ys) + 1)


UPPER = [c for c in FINE_CATEGORIES if len(CATEGORY_BY_NAME[c].df2_classes) > 1
         and CATEGORY_BY_NAME[c].slot != "bottom"]  # fmt: skip


@pytest.mark.parametrize("category", UPPER)
def test_sleeves_and_straps_match_the_deepfashion2_class(category):
    """Long sleeves cover more than short ones, short more than wide straps, wide straps more
    than spaghetti straps (same garment, same scale)."""
    rank = ("sling", "vest", "short", "long")
    areas = {sleeve_kind(d): _area_at_body_scale(category, d)[0]
             for d in CATEGORY_BY_NAME[category].df2_classes}  # fmt: skip
    kinds = sorted(areas, key=rank.index)
    assert all(areas[a] < areas[b] for a, b in itertools.pairwise(kinds)), areas


@pytest.mark.parametrize("category", ["jeans", "chinos"])
def test_shorts_are_drawn_much_shorter_than_trousers(category):
    shorts = _area_at_body_scale(category, "shorts")[1]
    trousers = _area_at_body_scale(category, "trousers")[1]
    assert shorts < 0.45 * trousers


def test_colour_jitter_stays_nearest_to_its_palette_colour():
    rng = np.random.default_rng(0)
    for colour in COLOURS:
        shades = np.array([jitter_colour(colour, rng) for _ in range(50)])
        assert all(nearest_colour(s) == colour for s in shades)
        assert np.ptp(shades, axis=0).max() > 2, f"{colour} is never varied"


@pytest.mark.parametrize("category", ["t_shirt", "jeans", "coat", "mini_dress", "hoodie"])
def test_fit_shows_in_the_width_to_height_ratio(category):
    ratios = []
    for fit in FITS:
        _, mask = render_garment(_solid(category, "navy", fit), 128, np.random.default_rng(0),
                                 max_angle=0)  # fmt: skip
        ys, xs = np.nonzero(mask)
        ratios.append((np.ptp(xs) + 1) / (np.ptp(ys) + 1))
    assert all(a < b * 0.95 for a, b in itertools.pairwise(ratios)), ratios


def test_patterned_garments_show_both_colours_with_primary_dominant():
    rng = np.random.default_rng(3)
    for pattern in [p for p in PATTERNS if p not in ("solid", "graphic")]:
        spec = make_spec("casual_dress", "short_sleeve_dress", "navy", "yellow", pattern, "regular")
        rgb, mask = render_garment(spec, 128, rng)
        names = [nearest_colour(px) for px in rgb[mask][::7]]
        share = {c: names.count(c) / len(names) for c in set(names)}
        assert max(share, key=share.get) == "navy" and share["navy"] > 0.45, (pattern, share)
        assert share.get("yellow", 0) > 0.03, (pattern, share)


def test_a_moderate_sample_covers_every_category_colour_pattern_and_tag():
    rng = np.random.default_rng(0)
    specs = [sample_garment(rng) for _ in range(2500)]
    assert {s.category for s in specs} == set(FINE_CATEGORIES)
    assert {s.colour_primary for s in specs} == set(COLOURS)
    assert {s.pattern for s in specs} == set(PATTERNS)
    assert {s.fit for s in specs} == set(FITS)
    assert {t for s in specs for t in s.style_tags} == set(STYLE_TAGS)
    assert {t for s in specs for t in s.seasons} == set(SEASONS)


def test_labels_follow_the_rules():
    rng = np.random.default_rng(0)
    for _ in range(500):
        s = sample_garment(rng)
        category = CATEGORY_BY_NAME[s.category]
        assert (s.colour_secondary is None) == (s.pattern == "solid")
        assert s.colour_secondary != s.colour_primary
        assert abs(s.formality - base_formality(s.category, s.pattern, s.colour_primary)) <= (
            5 * FORMALITY_NOISE + 1e-6
        )
        assert 0.0 <= s.formality <= 1.0 and s.seasons and s.style_tags
        if category.df2_classes:
            assert s.df2_class in category.df2_classes
        else:
            assert s.df2_class is None and s.fit == "regular"


def test_rules_match_common_sense():
    def tags(cat, pattern="solid", colour="black"):
        return make_spec(cat, (CATEGORY_BY_NAME[cat].df2_classes or (None,))[0], colour,
                         "white", pattern, "regular")  # fmt: skip

    assert "winter" not in tags("sandals", colour="white").seasons
    assert "summer" not in tags("parka", colour="white").seasons
    assert "formal" in tags("suit_jacket", colour="navy").style_tags
    assert "athletic" in tags("sweatpants").style_tags
    assert "bohemian" in tags("maxi_dress", "floral", "yellow").style_tags
    assert tags("dress_shoes").formality > tags("sneakers").formality
    assert tags("t_shirt", "solid").formality > tags("t_shirt", "graphic").formality
    assert tags("blazer", colour="black").formality > tags("blazer", colour="orange").formality
