"""check_quality: resolution rejects, blur and exposure warn with numbers, at any resolution."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from wardrobe.ingestion.decode import decode_image
from wardrobe.ingestion.quality import (
    Issue,
    QualityReport,
    QualityThresholds,
    blur_variance,
    check_quality,
    clothing_flag,
)


def drawn_scene(side: int, seed: int = 0) -> np.ndarray:
    """The same vector scene (shapes, lines, text) rasterised sharply at ``side`` px."""
    rng = np.random.default_rng(seed)
    img = np.full((side, side, 3), 140, np.uint8)
    s = side / 100
    for _ in range(25):
        x, y = rng.uniform(0, 100, 2)
        w, h = rng.uniform(5, 30, 2)
        colour = tuple(int(v) for v in rng.integers(30, 230, 3))
        cv2.rectangle(
            img, (int(x * s), int(y * s)), (int((x + w) * s), int((y + h) * s)), colour, -1
        )
    for _ in range(15):
        p, q = rng.uniform(0, 100, (2, 2))
        cv2.line(
            img,
            tuple(int(v * s) for v in p),
            tuple(int(v * s) for v in q),
            (20, 20, 20),
            max(1, int(s)),
        )
    cv2.putText(
        img,
        "WARDROBE",
        (int(10 * s), int(55 * s)),
        cv2.FONT_HERSHEY_SIMPLEX,
        s / 3,
        (250, 250, 250),
        max(1, int(s)),
    )
    return img


def test_thresholds_default_to_the_design():
    t = QualityThresholds()
    assert (t.min_side, t.blur_min_variance, t.dark_mean, t.bright_mean) == (
        224,
        100.0,
        40.0,
        220.0,
    )
    assert (t.shadow_level, t.highlight_level, t.min_clothing_confidence) == (5, 250, 0.7)


def test_1x1_png_decodes_but_is_rejected():
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 10, 10)).save(buf, "PNG")
    decoded = decode_image(buf.getvalue())
    assert decoded.rgb.shape == (1, 1, 3)
    report = check_quality(decoded)
    assert not report.passed and report.codes() == ["too_small"]
    (error,) = report.errors
    assert (error.value, error.threshold) == (1.0, 224.0)
    assert "1x1" in error.message and "224" in error.message


def test_resolution_limit_is_on_the_shorter_side():
    assert not check_quality(np.zeros((223, 4000, 3), np.uint8)).passed
    report = check_quality(drawn_scene(224))
    assert report.passed and report.measures["short_side"] == 224


def test_sharp_scene_gets_the_same_verdict_at_two_resolutions():
    small, large = drawn_scene(600), drawn_scene(1800)
    raw = [
        cv2.Laplacian(cv2.cvtColor(i, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for i in (small, large)
    ]
    assert raw[0] > 2.5 * raw[1]  # the design's raw measure depends on resolution
    reports = [check_quality(i) for i in (small, large)]
    assert [("blurry" in r.codes()) for r in reports] == [False, False]
    ratio = reports[0].measures["blur_variance"] / reports[1].measures["blur_variance"]
    assert 0.6 < ratio < 1.6  # the normalised measure does not


@pytest.mark.parametrize("side", [600, 1800])
def test_blurred_copy_warns(side):
    blurred = cv2.GaussianBlur(drawn_scene(side), (0, 0), 4 * side / 600)
    report = check_quality(blurred)
    assert report.passed  # a warning, not a rejection
    (issue,) = [w for w in report.warnings if w.code == "blurry"]
    assert issue.value == report.measures["blur_variance"] < issue.threshold == 100.0
    assert f"{issue.value:.0f}" in issue.message


def test_real_photo_verdict_does_not_depend_on_resolution(package_photo):
    rgb = decode_image(package_photo("grace_hopper")).rgb
    h, w = rgb.shape[:2]
    double = cv2.resize(rgb, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
    assert "blurry" not in check_quality(rgb).codes()
    assert "blurry" not in check_quality(double).codes()
    assert "blurry" in check_quality(cv2.GaussianBlur(double, (0, 0), 4)).codes()


@pytest.mark.parametrize("name", ["bus", "zidane", "grace_hopper"])
def test_real_photos_pass_without_warnings(package_photo, name):
    report = check_quality(decode_image(package_photo(name)))
    assert report.passed and report.warnings == [], report.warnings


def test_dark_photo_warns_with_numbers(package_photo):
    rgb = decode_image(package_photo("grace_hopper")).rgb
    report = check_quality((rgb * 0.3).astype(np.uint8))
    (issue,) = [w for w in report.warnings if w.code == "too_dark"]
    assert report.measures["mean_brightness"] < 40
    assert "mean brightness" in issue.message and "/255" in issue.message


def test_overexposed_photo_warns(package_photo):
    rgb = decode_image(package_photo("bus")).rgb
    report = check_quality(np.clip(rgb * 2.0, 0, 255).astype(np.uint8))
    assert "too_bright" in report.codes()
    assert report.measures["clipped_highlights"] > 0.15


def test_product_shot_on_white_backdrop_is_not_overexposed():
    img = np.full((400, 400, 3), 255, np.uint8)  # a pure white backdrop (60 % of the photo)
    cv2.ellipse(img, (200, 200), (120, 150), 0, 0, 360, (40, 60, 150), -1)
    report = check_quality(img)
    assert not {"too_bright", "too_dark"} & set(report.codes())
    assert report.measures["backdrop_share"] > 0.5
    assert report.measures["clipped_highlights"] < 0.05


def test_white_shirt_is_not_overexposed():
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(238, 4, (300, 300, 3)), 0, 255).astype(np.uint8)
    img[:30], img[-30:] = 200, 200  # a grey surface around it
    report = check_quality(img)
    assert report.measures["mean_brightness"] > 220
    assert "too_bright" not in report.codes()


def test_clothing_flag():
    assert clothing_flag(0.9) is None
    low = clothing_flag(0.5)
    assert isinstance(low, Issue) and low.code == "not_clothing"
    assert (low.value, low.threshold) == (0.5, 0.7)
    none = clothing_flag(None)
    assert none.value == 0.0 and "no garment" in none.message
    assert clothing_flag(0.5, threshold=0.4) is None


def test_report_with_warning_keeps_the_verdict():
    report = check_quality(drawn_scene(300))
    flagged = report.with_warning(clothing_flag(0.2))
    assert flagged.passed and flagged.codes()[-1] == "not_clothing"
    assert report.with_warning(None) is report
    assert isinstance(flagged, QualityReport) and "not_clothing" not in report.codes()


def test_accepts_grey_and_rejects_wrong_arrays():
    assert check_quality(np.full((300, 300), 128, np.uint8)).passed
    with pytest.raises(ValueError):
        check_quality(np.zeros((300, 300, 3), np.float32))
    with pytest.raises(ValueError):
        check_quality(np.zeros((300, 300, 4), np.uint8))
    assert blur_variance(np.zeros((10, 10), np.uint8)) == 0.0
