"""Quality check of an upload before the expensive models (module 1 of the design, corrected).

``check_quality(image, thresholds)`` -> :class:`QualityReport`: ``errors`` reject the photo,
``warnings`` are shown to the user, ``measures`` hold every number the verdicts came from.

=================  =======================================================  ======  =========
check              measure                                                  action  default
=================  =======================================================  ======  =========
resolution         shorter side in pixels                                   reject  < 224
blur               variance of the Laplacian at a *normalised* size          warn    < 100
exposure           histogram of the subject: mean, clipped shadows/highlights warn   see below
is clothing        best detector confidence (:func:`clothing_flag`)          warn    < 0.7
=================  =======================================================  ======  =========

Corrections to the design:

* **Blur does not depend on resolution.** The Laplacian variance of the same scene falls ~10x
  when its resolution doubles, so the design's fixed threshold passed blurry 12 MP photos and
  failed sharp thumbnails. It is measured with the shorter side resized (INTER_AREA) to
  ``blur_reference_side`` (512). Smaller photos are measured at their own size: upsampling
  would invent blur. Measured: ``bus.jpg`` 2575 / 2896 at 1x / 2x its size (raw: 3619 / 334);
  the same photos Gaussian-blurred (sigma 2 px at 1x) give 12-60.
* **Exposure ignores a plain backdrop and white/black garments.** Clipped pixels (<= 5 or >= 250)
  connected to the border, when they cover at least half of the border, are a studio backdrop
  (product shots on white have 45-78 % of such pixels and a mean up to 236: the design's
  ``mean > 220`` flagged them) and are left out. The verdicts need clipping, not only a mean: a
  well-exposed white shirt has a mean near 240 but few pixels >= 250. ``too_bright``: mean >
  220 with >= 5 % clipped highlights, or > 15 % clipped highlights; ``too_dark``: mean < 40
  (the design's rule) or > 15 % clipped shadows. Measured on 16 real photos (3 package photos,
  13 fashion samples): 2 warnings, both product shots on a light grey backdrop that is
  partly blown out; ``bus.jpg`` x2 brightness and ``grace_hopper.jpg`` x0.3 are flagged.
  Overexposure that merges a garment into a white backdrop is *not* caught (weakness).
* RGB input (the decoder's output), never a path: no ``cv2.imread`` returning ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from wardrobe.ingestion.decode import DecodedImage

# issue codes
TOO_SMALL = "too_small"
BLURRY = "blurry"
TOO_DARK = "too_dark"
TOO_BRIGHT = "too_bright"
NOT_CLOTHING = "not_clothing"

_EXPOSURE_SIDE = 256  # exposure statistics are computed on a copy this size (shorter side)


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds of the quality check (defaults: the design's, corrected as documented)."""

    min_side: int = 224
    blur_reference_side: int = 512
    blur_min_variance: float = 100.0
    shadow_level: int = 5  # a pixel <= this is a clipped shadow
    highlight_level: int = 250  # a pixel >= this is a clipped highlight
    dark_mean: float = 40.0
    bright_mean: float = 220.0
    clipped_with_mean: float = 0.05  # clipped share that confirms a dark/bright mean
    max_clipped_share: float = 0.15  # clipped share that warns on its own
    backdrop_border_share: float = 0.5  # clipped share of the border that makes a backdrop
    min_clothing_confidence: float = 0.7


@dataclass(frozen=True)
class Issue:
    """One finding of the check: a machine ``code``, a user ``message`` and the numbers."""

    code: str
    message: str
    value: float
    threshold: float


@dataclass(frozen=True)
class QualityReport:
    """Verdict: ``passed`` is False when there is any error (warnings never reject)."""

    passed: bool
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    measures: dict[str, float] = field(default_factory=dict)

    def with_warning(self, issue: Issue | None) -> QualityReport:
        """A copy with one more warning (``None``: unchanged), e.g. from :func:`clothing_flag`."""
        if issue is None:
            return self
        return replace(self, warnings=[*self.warnings, issue])

    def codes(self) -> list[str]:
        """Codes of all issues, errors first."""
        return [i.code for i in (*self.errors, *self.warnings)]


def check_quality(
    image: DecodedImage | np.ndarray, thresholds: QualityThresholds | None = None
) -> QualityReport:
    """Check resolution (reject), blur and exposure (warn) of an RGB photo."""
    t = thresholds or QualityThresholds()
    rgb = image.rgb if isinstance(image, DecodedImage) else image
    grey = _grey(rgb)
    h, w = grey.shape
    short = min(h, w)
    measures: dict[str, float] = {"width": float(w), "height": float(h), "short_side": float(short)}
    if short < t.min_side:
        error = Issue(
            TOO_SMALL,
            f"The photo is {w}x{h} pixels; it needs at least {t.min_side} pixels on its "
            "shorter side. Upload a larger photo.",
            float(short),
            float(t.min_side),
        )
        return QualityReport(False, [error], [], measures)

    warnings: list[Issue] = []
    blur = blur_variance(grey, t.blur_reference_side)
    measures["blur_variance"] = blur
    if blur < t.blur_min_variance:
        warnings.append(
            Issue(
                BLURRY,
                f"The photo looks blurry (sharpness {blur:.0f}, expected at least "
                f"{t.blur_min_variance:.0f}): hold the camera still and focus on the garment.",
                blur,
                t.blur_min_variance,
            )
        )
    exposure = exposure_measures(grey, t)
    measures.update(exposure)
    warnings += _exposure_issues(exposure, t)
    return QualityReport(True, [], warnings, measures)


def clothing_flag(best_confidence: float | None, threshold: float = 0.7) -> Issue | None:
    """A ``not_clothing`` warning when the detector's best confidence is below ``threshold``
    (``None``: nothing detected); ``None`` when the photo shows clothing."""
    value = 0.0 if best_confidence is None else float(best_confidence)
    if value >= threshold:
        return None
    found = "no garment was found" if best_confidence is None else f"confidence {value:.2f}"
    return Issue(
        NOT_CLOTHING,
        f"This may not be a photo of clothing ({found}, expected at least {threshold:.2f}).",
        value,
        float(threshold),
    )


# ---- measures --------------------------------------------------------------------------------
def _grey(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {rgb.dtype}")
    if rgb.ndim == 2:
        return rgb
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _shorter_side_to(grey: np.ndarray, side: int) -> np.ndarray:
    """Downscale (INTER_AREA) so that the shorter side is ``side``; never upscale."""
    h, w = grey.shape
    scale = side / min(h, w)
    if scale >= 1:
        return grey
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def blur_variance(grey: np.ndarray, reference_side: int = 512) -> float:
    """Variance of the Laplacian with the shorter side brought down to ``reference_side``."""
    small = _shorter_side_to(_grey(grey), reference_side)
    return float(cv2.Laplacian(small, cv2.CV_64F).var())


def exposure_measures(grey: np.ndarray, t: QualityThresholds | None = None) -> dict[str, float]:
    """Histogram statistics of the subject: ``mean_brightness``, ``clipped_shadows`` and
    ``clipped_highlights`` (shares of subject pixels), and ``backdrop_share``.

    A plain backdrop is clipped pixels (<= ``shadow_level`` or >= ``highlight_level``) connected
    to the border *when they cover at least half of the border* (a product shot on white or
    black); it is left out of the statistics. Blown-out patches that reach the border of an
    ordinary photo (sky, a lamp) stay in: that is overexposure.
    """
    t = t or QualityThresholds()
    small = _shorter_side_to(_grey(grey), _EXPOSURE_SIDE)
    backdrop = np.zeros(small.shape, bool)
    for clipped in (small <= t.shadow_level, small >= t.highlight_level):
        if _border_ring(clipped).mean() >= t.backdrop_border_share:
            backdrop |= touching_border(clipped)
    subject = ~backdrop
    if subject.mean() < 0.02:  # all backdrop: a blank or fully blown-out frame, judge it all
        subject = np.ones_like(subject)
    hist = np.bincount(small[subject].ravel(), minlength=256).astype(np.float64)
    n = hist.sum()
    return {
        "mean_brightness": float((hist * np.arange(256)).sum() / n),
        "clipped_shadows": float(hist[: t.shadow_level + 1].sum() / n),
        "clipped_highlights": float(hist[t.highlight_level :].sum() / n),
        "backdrop_share": float(backdrop.mean()),
    }


def _border_ring(mask: np.ndarray) -> np.ndarray:
    return np.concatenate([mask[0], mask[-1], mask[1:-1, 0], mask[1:-1, -1]])


def touching_border(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` in a connected component that reaches the image border."""
    if not mask.any():
        return mask
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    keep = np.zeros(n, bool)
    keep[np.unique(_border_ring(labels))] = True
    keep[0] = False  # label 0 = not in the mask
    return keep[labels]


def _exposure_issues(m: dict[str, float], t: QualityThresholds) -> list[Issue]:
    issues = []
    mean, shadows, highlights = m["mean_brightness"], m["clipped_shadows"], m["clipped_highlights"]
    if mean < t.dark_mean or shadows > t.max_clipped_share:
        issues.append(
            Issue(
                TOO_DARK,
                f"The photo is too dark (mean brightness {mean:.0f}/255, {shadows:.0%} of it "
                f"is black): add light.",
                *((shadows, t.max_clipped_share) if mean >= t.dark_mean else (mean, t.dark_mean)),
            )
        )
    bright_mean = mean > t.bright_mean and highlights >= t.clipped_with_mean
    if bright_mean or highlights > t.max_clipped_share:
        issues.append(
            Issue(
                TOO_BRIGHT,
                f"The photo is overexposed (mean brightness {mean:.0f}/255, {highlights:.0%} of "
                f"it is blown out to white): reduce the light or the exposure.",
                *((highlights, t.max_clipped_share) if not bright_mean else (mean, t.bright_mean)),
            )
        )
    return issues
