"""SynthWardrobe photos: annotated garments, visible-extent boxes, occlusion, shop crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from wardrobe.data.synthetic import product_crop, sample_garment, scene_crop, scene_pair
from wardrobe.data.synthetic.colour import srgb_to_lab
from wardrobe.data.synthetic.scene import DF2_SLOTS, sample_slot_garment
from wardrobe.taxonomy import CATEGORY_BY_NAME, COLOUR_RGB, DF2_CLASSES


def _pairs(n: int, offset: int = 0):
    for i in range(offset, offset + n):
        yield scene_pair(*(np.random.default_rng(s) for s in np.random.SeedSequence(i).spawn(3)))


@pytest.fixture(scope="module")
def scenes():
    return [scene for pair in _pairs(30) for scene in pair]


def _polygon_mask(item, shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for poly in item.polygons:
        cv2.fillPoly(mask, [np.round(np.array(poly).reshape(-1, 2)).astype(np.int32)], 1)
    return mask.astype(bool)


def test_scenes_are_photos_with_320_px_long_side(scenes):
    for scene in scenes:
        assert scene.image.dtype == np.uint8 and max(scene.image.shape[:2]) == 320
        assert scene.source in ("shop", "user")


def test_only_deepfashion2_garments_are_annotated(scenes):
    for scene in scenes:
        for item in scene.items:
            assert item.spec.df2_class in DF2_CLASSES
            assert item.spec.df2_class in CATEGORY_BY_NAME[item.spec.category].df2_classes


def test_boxes_are_the_extent_of_the_visible_polygons(scenes):
    for scene in scenes:
        h, w = scene.image.shape[:2]
        for item in scene.items:
            x1, y1, x2, y2 = item.box
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            mask = _polygon_mask(item, (h, w))
            ys, xs = np.nonzero(mask)
            assert len(xs), "an annotated garment must be visible"
            assert xs.min() >= x1 - 1 and xs.max() <= x2 and ys.min() >= y1 - 1 and ys.max() <= y2
            assert abs(xs.min() - x1) <= 2 and abs(ys.max() + 1 - y2) <= 2
            for poly in item.polygons:
                assert poly[:2] == poly[-2:], "DeepFashion2 polygons are closed"


def test_the_annotated_region_shows_the_garment_colour(scenes):
    """Inside an unoccluded solid garment's polygon, the photo has the garment's colour."""
    checked = 0
    for scene in scenes:
        for item in scene.items:
            if item.occlusion == 1 and item.spec.pattern == "solid":
                mask = _polygon_mask(item, scene.image.shape[:2])
                inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
                if inner.sum() > 200:
                    fabric = srgb_to_lab(scene.image[inner].astype(float).mean(axis=0))
                    ref = srgb_to_lab(np.array(COLOUR_RGB[item.spec.colour_primary], float))
                    assert np.linalg.norm(fabric - ref) < 25
                    checked += 1
    assert checked > 5


def test_a_pair_shows_the_same_garment_in_a_shop_and_a_user_photo(scenes):
    for shop, user in zip(scenes[::2], scenes[1::2], strict=True):
        assert shop.source == "shop" and user.source == "user"
        styled = [[it.spec for it in s.items if it.style == 1] for s in (shop, user)]
        assert len(styled[0]) == 1 and styled[0] == styled[1]


def test_scenes_vary_in_occlusion_truncation_count_and_arrangement(scenes):
    items = [it for s in scenes for it in s.items]
    assert {it.occlusion for it in items} >= {1, 2}
    assert {s.arrangement for s in scenes} == {"worn", "flat_lay"}
    assert max(len(s.items) for s in scenes) >= 3
    worn = [s for s in scenes if s.arrangement == "worn"]
    for scene in worn:
        by_slot = {it.spec.slot: it for it in scene.items}
        if "top" in by_slot and "bottom" in by_slot:
            assert by_slot["top"].box[1] < by_slot["bottom"].box[1], "top is worn above bottom"


def test_scene_garments_balance_the_deepfashion2_classes():
    rng = np.random.default_rng(0)
    classes = [sample_slot_garment(rng, DF2_SLOTS[i % 4]).df2_class for i in range(600)]
    counts = {c: classes.count(c) for c in DF2_CLASSES}
    assert min(counts.values()) >= 20, counts


@pytest.mark.parametrize("maker", [product_crop, scene_crop])
def test_crops_are_square_garment_photos(maker):
    rng = np.random.default_rng(0)
    for category in ("t_shirt", "heels", "belt", "maxi_dress"):
        crop = maker(sample_garment(rng, category), rng, 128)
        assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
        assert crop.std() > 10


def test_shop_crops_have_a_pale_backdrop():
    rng = np.random.default_rng(0)
    crop = product_crop(sample_garment(rng, "tie"), rng, 128)
    corners = np.concatenate([crop[:8, :8], crop[:8, -8:], crop[-8:, :8], crop[-8:, -8:]])
    assert corners.mean() > 170
