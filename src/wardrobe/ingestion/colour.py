"""Background-aware garment colours: which palette colours a garment crop is made of, and how much.

``extract_colours(rgb, mask=None, k=3)`` -> ``[ColourShare(name, share, lab, rgb), ...]``,
largest share first (the primary colour), shares summing to 1 over the *garment* pixels:

1. **Garment pixels only.** The given mask (a segmentation, the generator's), else
   :func:`estimate_foreground`: a border-colour model (below). Mask edges are eroded by one
   pixel: anti-aliased edge pixels blend garment and background.
2. **White balance from the surroundings** (:func:`scene_correction`): the scene's light is
   estimated from the background pixels that could be grey or white (:func:`estimate_illuminant`:
   white patch by default; gray world, shades of gray, gray edge), the garment adapted to D65 by
   a Bradford transform as far as that estimate is trusted, then exposed (:func:`exposure_gain`).
   Chosen on 92 hand-labelled real *train* photos: 0.717 without, 0.750 with (README).
3. **Cluster in CIELAB** (sRGB with its real transfer curve, D65): seeded k-means++ on at most
   ``max_samples`` garment pixels, never downsampled (averaging pixels of a fine stripe invents
   a colour that is in neither stripe). A crop of more than ``max_pixels`` is first read on a
   jittered grid (:func:`jittered_grid`: a random row of each row of cells, a random column of
   each column of cells), so steps 1-3 handle about ``max_pixels`` pixels whatever the crop's
   size, and a stripe as fine as the grid is not aliased into one of its colours.
4. **Merge shades, then name**: clusters closer than ``SHADE_MERGE_DE`` (a shaded solid splits
   into light and dark clusters) are merged, and each centre is named by
   :mod:`wardrobe.colour_naming` — a palette colour's core keeps its name, elsewhere the vote
   of the nearest colours of public colour-naming data decides (so a pale mint is green and a
   light blue blue, where the old rule, the CIEDE2000-nearest of the 14 palette anchors, still
   ``naming="anchor"``, called them beige and white). Clusters with the same name merge.
5. :func:`primary_secondary`: primary = largest share; secondary = the next colour when its share
   is at least ``min_secondary_share`` (0.15).

Foreground estimate, chosen by measurement (``estimate_foreground``): background = pixels close
(CIELAB) to a colour that is common on the crop's border ring but not more common in its centre,
and connected to the border. A garment colour that reaches the border of a tight detector crop
stays foreground because it dominates the centre; a white shirt on a white backdrop keeps every
pixel (the answer, white, is still right). Measured on the 423 SynthWardrobe val crops (JPEG, 128
px), primary-colour accuracy / foreground time per crop (2 shared cores):

=================================  ============  ============  ==================
foreground                         product/scene tight crop    time
=================================  ============  ============  ==================
whole crop (the design)            8.5 %         72.8 %        0
border-colour model (default)      94.3 %        96.0 %        ~11 ms
GrabCut, rect 4 % inset, 3 iters   94.3 %        95.3 %        ~67 ms
generator's true mask              95.3 %        96.7 %        -
=================================  ============  ============  ==================

(tight crop = the garment's mask bounding box + 2 px, lossless redraws.) Same accuracy, six
times faster: the border model is the default; ``foreground="grabcut"`` stays available.

Input is RGB (the decoder's output). The design's ``cv2.imread`` gave BGR against an RGB palette,
which swapped red and blue; nothing here reads files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from wardrobe.colour_naming import name_indices
from wardrobe.colour_science import (
    CATS,
    adaptation_matrix,
    ciede2000,
    lab_to_srgb,
    linear_to_xyz,
    nearest_palette,
    srgb_to_lab,
    srgb_to_linear,
    xyz_to_lab,
)
from wardrobe.ingestion.quality import touching_border
from wardrobe.taxonomy import COLOURS

DEFAULT_K = 3
MIN_SECONDARY_SHARE = 0.15
MAX_SAMPLES = 4000
MAX_PIXELS = 256 * 256  # a larger crop is read on a jittered grid of about this many pixels
FOREGROUND_SIDE = 128  # the foreground estimate runs on a copy this size (longer side)
MIN_GARMENT_PIXELS = 16
NAMINGS = ("prototypes", "regions", "anchor")
# Shading splits one colour into clusters ~3-12 dE00 apart; a garment's two colours are further
# (the generator keeps a secondary >= 35 CIE76 from the primary; navy/black ~ 18 dE00).
SHADE_MERGE_DE = 10.0
# Exposure (``exposure_gain``), chosen on 44 hand-labelled photos of the real *train* split
# (tests/fixtures/real_colour_dev_labels.csv) and a development SynthWardrobe (seed 2)
WHITE_PERCENTILE = 98.0  # of luminance: the brightest 2 %, past speculars and clipped pixels
WHITE_LUMINANCE = 1.0  # Y the brightest patch is taken to have (white)
MAX_EXPOSURE_GAIN = 2.5  # ~1.3 stops
WHITE_MAX_CHROMA = 6.0  # a brighter-than-this-coloured patch is no white reference
MIN_BACKGROUND_SHARE = 0.1  # of the crop, for the exposure to be judged
EXPOSURE_SAMPLES = 4096  # pixels on a grid the exposure and the illuminant are judged from
# Illuminant estimate (``estimate_illuminant``) from the background around the garment
ILLUMINANT_METHODS = ("none", "gray_world", "shades_of_gray", "white_patch", "gray_edge")
DEFAULT_ILLUMINANT = "white_patch"
MINKOWSKI_P = 6.0  # shades of gray (Finlayson & Trezzi 2004): p = 1 gray world, inf white patch
NEUTRAL_MAX_CHROMA = 25.0  # C*ab as photographed: a surface that may be grey/white under a cast
NEUTRAL_L = (20.0, 97.0)  # L*: darker is noise, lighter is clipped (it carries no cast)
FULL_CONFIDENCE_SHARE = 0.3  # of the background near-neutral: the estimate is fully trusted
MAX_CAST_CHROMA = 30.0  # the scene white's C*ab along the daylight locus: more is a surface
MAX_OFF_LOCUS = 6.0  # ... and across it (green-magenta): light sources seldom lie off the locus
# Lab direction of the Planckian locus near D65 (6500 K -> 4000 K: a* +7, b* +34; cooler: -b*)
_LOCUS = np.array([0.2, 1.0]) / np.hypot(0.2, 1.0)
ADAPTATION_DEGREE = 1.0  # CIECAM02's D at full confidence


@dataclass(frozen=True)
class ColourShare:
    """A palette colour of a garment: its share of the garment pixels and its measured shade."""

    name: str
    share: float
    lab: tuple[float, float, float]  # share-weighted mean of its clusters' centres
    rgb: tuple[int, int, int]  # the same shade in sRGB


@dataclass(frozen=True)
class Illuminant:
    """The scene's light as estimated from a photo: the linear RGB of a white surface under it
    (Y = 1), how far to trust it (0..1), and how it was estimated."""

    white: tuple[float, float, float]
    confidence: float
    method: str
    neutral_share: float  # of the background pixels, those that could be grey or white

    @property
    def cast(self) -> tuple[float, float]:
        """(a*, b*) of the scene white (at L* 100) relative to D65: its colour cast."""
        lab = xyz_to_lab(linear_to_xyz(np.asarray(self.white)))
        return float(lab[1]), float(lab[2])


NO_ILLUMINANT = Illuminant((1.0, 1.0, 1.0), 0.0, "none", 0.0)


def extract_colours(
    rgb: np.ndarray,
    mask: np.ndarray | None = None,
    k: int = DEFAULT_K,
    *,
    foreground: str = "border",
    naming: str = "prototypes",
    illuminant: str = DEFAULT_ILLUMINANT,
    cat: str = "bradford",
    max_samples: int = MAX_SAMPLES,
    max_pixels: int | None = MAX_PIXELS,
    seed: int = 0,
) -> list[ColourShare]:
    """Palette colours of the garment in an RGB crop, largest share first.

    ``mask``: garment pixels (bool, same height/width); ``None`` estimates them with
    :func:`estimate_foreground` (``foreground``: ``"border"``, ``"grabcut"`` or ``"none"`` = the
    whole crop). ``k``: k-means clusters before merging by name. ``naming``: ``"prototypes"`` (the
    vote of the nearest named colours), ``"regions"`` (the fitted CIELCh regions) or
    ``"anchor"`` (the nearest palette anchor, the old rule). ``illuminant``: how the scene's
    light is estimated from the pixels around the garment (:func:`estimate_illuminant`;
    ``"none"``: not at all); the garment is then adapted to D65 with the ``cat`` transform
    (:func:`wardrobe.colour_science.adaptation_matrix`), as far as the estimate is trusted.
    ``max_pixels``: crops larger than this are read on a jittered grid (``None``: every pixel).
    Deterministic for a ``seed``.
    """
    if naming not in NAMINGS:
        raise ValueError(f"unknown naming {naming!r}; use one of {NAMINGS}")
    if illuminant not in ILLUMINANT_METHODS:
        raise ValueError(f"unknown illuminant {illuminant!r}; use one of {ILLUMINANT_METHODS}")
    if cat not in CATS:
        raise ValueError(f"unknown chromatic adaptation {cat!r}; use one of {CATS}")
    rgb = _check_rgb(rgb)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != rgb.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} != image shape {rgb.shape[:2]}")
    rng = np.random.default_rng(seed)
    if max_pixels is not None and rgb.shape[0] * rgb.shape[1] > max_pixels:
        grid = jittered_grid(rgb.shape[:2], max_pixels, rng)
        rgb = rgb[grid]
        mask = None if mask is None else mask[grid]
    if mask is None:
        mask = estimate_foreground(rgb, foreground)
    mask = _erode_edges(mask)
    if mask.sum() < MIN_GARMENT_PIXELS:  # nothing usable: judge the whole crop
        mask = np.ones(rgb.shape[:2], bool)
    # exposure needs surroundings to judge by: a crop that is all garment is taken as it is
    judged = naming != "anchor" and (~mask).mean() >= MIN_BACKGROUND_SHARE
    correction = scene_correction(rgb, mask, illuminant, cat) if judged else 1.0
    where = np.flatnonzero(mask)  # indexing the pixels last: rgb[mask] copies every one
    if len(where) > max_samples:
        where = where[rng.choice(len(where), max_samples, replace=False)]
    pixels = rgb.reshape(-1, 3)[where]
    lab = srgb_to_lab(pixels, correction)
    centres, counts = kmeans(lab, k, rng)
    if naming == "anchor":
        names = nearest_palette(centres)[0]
    else:
        centres, counts = merge_shades(centres, counts)
        names = name_indices(centres, naming)
    return _merge(centres, counts, names)


def jittered_grid(
    shape: tuple[int, int], max_pixels: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (for ``np.ix_``-style indexing) of about ``max_pixels`` pixels
    of an image of ``shape``: cells of ``step`` x ``step`` pixels, one random row per row of
    cells and one random column per column (stratified sampling). Unlike a plain stride, whose
    phase is fixed, a pattern whose period divides the step keeps its colours' shares."""
    h, w = shape
    step = int(np.ceil(np.sqrt(h * w / max_pixels)))
    rows = np.arange(0, h, step)
    cols = np.arange(0, w, step)
    rows = np.minimum(rows + rng.integers(0, step, len(rows)), h - 1)
    cols = np.minimum(cols + rng.integers(0, step, len(cols)), w - 1)
    return np.ix_(rows, cols)


def primary_secondary(
    colours: Sequence[ColourShare], min_secondary_share: float = MIN_SECONDARY_SHARE
) -> tuple[str | None, str | None]:
    """(primary, secondary) colour names; secondary only when its share is large enough."""
    primary = colours[0].name if colours else None
    secondary = None
    if len(colours) > 1 and colours[1].share >= min_secondary_share:
        secondary = colours[1].name
    return primary, secondary


def scene_correction(
    rgb: np.ndarray,
    garment: np.ndarray,
    illuminant: str = DEFAULT_ILLUMINANT,
    cat: str = "bradford",
) -> np.ndarray:
    """The 3x3 linear-RGB matrix that takes the photo to how its colours look in daylight:
    chromatic adaptation from the light estimated around the ``garment`` mask (scaled down by
    the estimate's confidence, so a strongly coloured background changes nothing), then the
    exposure of :func:`exposure_gain` judged on the adapted photo."""
    light = estimate_illuminant(
        rgb, garment, illuminant, MINKOWSKI_P, NEUTRAL_MAX_CHROMA, FULL_CONFIDENCE_SHARE
    )
    adapt = adaptation_matrix(np.asarray(light.white), ADAPTATION_DEGREE * light.confidence, cat)
    return exposure_gain(rgb, adaptation=adapt) * adapt


def estimate_illuminant(
    rgb: np.ndarray,
    garment: np.ndarray,
    method: str = DEFAULT_ILLUMINANT,
    p: float = MINKOWSKI_P,
    max_chroma: float = NEUTRAL_MAX_CHROMA,
    full_share: float = FULL_CONFIDENCE_SHARE,
) -> Illuminant:
    """The scene's light from the background around the garment (``garment``: its mask).

    The garment itself is left out: gray world over a blue shirt would call the light blue and
    "correct" the shirt to grey. Of the background only the pixels that could be a grey or
    white surface under a moderate cast vote (C*ab under ``max_chroma`` as photographed, L*
    neither dark nor clipped): a red blanket or a wooden floor is not evidence of the light.
    ``method`` — the classic statistics-based colour constancy estimates over those pixels:

    * ``gray_world`` (Buchsbaum 1980): their mean is grey;
    * ``shades_of_gray`` (Finlayson & Trezzi 2004): their Minkowski ``p``-norm is grey;
    * ``white_patch`` (max-RGB / retinex): their brightest 2 % are white;
    * ``gray_edge`` (van de Weijer, Gevers & Gijsenij 2007): the ``p``-norm of their
      derivatives (Gaussian, sigma 1) is grey — edges between surfaces, not the surfaces;
    * ``none``: daylight, confidence 0.

    Confidence (0..1): the share of the background that voted, relative to ``full_share``,
    times the cast's plausibility as light (:func:`cast_plausibility`): a camera's auto white
    balance leaves small casts, along the daylight locus (warm-cool); a stronger or a green or
    magenta "cast" is more likely a coloured surface."""
    if method not in ILLUMINANT_METHODS:
        raise ValueError(f"unknown illuminant {method!r}; use one of {ILLUMINANT_METHODS}")
    rgb = _check_rgb(rgb)
    garment = np.asarray(garment, dtype=bool)
    if garment.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {garment.shape} != image shape {rgb.shape[:2]}")
    if method == "none":
        return NO_ILLUMINANT
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / EXPOSURE_SAMPLES)))
    grid, background = rgb[::step, ::step], ~garment[::step, ::step]
    lab = srgb_to_lab(grid)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    lo, hi = NEUTRAL_L
    neutral = background & (chroma < max_chroma) & (lab[..., 0] > lo) & (lab[..., 0] < hi)
    share = float(neutral.sum() / max(int(background.sum()), 1))
    if neutral.sum() < MIN_GARMENT_PIXELS:
        return Illuminant((1.0, 1.0, 1.0), 0.0, method, share)
    lin = srgb_to_linear(grid)
    white = _white_estimate(lin, neutral, method, p)
    if white is None or np.any(white <= 0):
        return Illuminant((1.0, 1.0, 1.0), 0.0, method, share)
    white = white / linear_to_xyz(white)[1]
    confidence = min(share / full_share, 1.0)
    light = Illuminant(tuple(float(v) for v in white), confidence, method, share)
    return dataclasses.replace(light, confidence=confidence * cast_plausibility(light.cast))


def cast_plausibility(cast: tuple[float, float]) -> float:
    """How plausible (0..1) a colour cast (a*, b*) is as the light rather than a surface: 1 up
    to half of ``MAX_CAST_CHROMA`` along the daylight locus and half of ``MAX_OFF_LOCUS``
    across it, falling to 0 at the limits (an ellipse in the a*b* plane)."""
    along = float(np.dot(cast, _LOCUS))
    across = float(cast[1] * _LOCUS[0] - cast[0] * _LOCUS[1])
    radius = np.hypot(along / MAX_CAST_CHROMA, across / MAX_OFF_LOCUS)
    return float(np.clip(2.0 - 2.0 * radius, 0.0, 1.0))


def _white_estimate(
    lin: np.ndarray, neutral: np.ndarray, method: str, p: float
) -> np.ndarray | None:
    """Linear RGB of the light from the ``neutral`` pixels of a linear image (h, w, 3)."""
    if method == "gray_world":
        return lin[neutral].mean(axis=0)
    if method == "shades_of_gray":
        return (lin[neutral] ** p).mean(axis=0) ** (1.0 / p)
    if method == "white_patch":
        px = lin[neutral]
        bright = px.sum(axis=1) >= np.percentile(px.sum(axis=1), WHITE_PERCENTILE)
        return px[bright].mean(axis=0)
    blurred = cv2.GaussianBlur(lin.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
    grad = np.sqrt(gx.astype(np.float64) ** 2 + gy.astype(np.float64) ** 2)
    # the blur + Sobel reach 4 px: an edge across the garment's outline is no evidence
    inside = cv2.erode(neutral.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    if inside.sum() < MIN_GARMENT_PIXELS:
        return None
    norm = (grad[inside] ** p).mean(axis=0) ** (1.0 / p)
    return norm if np.all(norm > 1e-6) else None


def exposure_gain(
    rgb: np.ndarray,
    percentile: float = WHITE_PERCENTILE,
    target: float = WHITE_LUMINANCE,
    max_gain: float = MAX_EXPOSURE_GAIN,
    max_chroma: float = WHITE_MAX_CHROMA,
    adaptation: np.ndarray | None = None,
) -> float:
    """How much brighter (linear light) the photo must be for its brightest patch — the pixels
    above the ``percentile`` of luminance over the whole crop, garment and background — to be
    white, when that patch is near-neutral (chroma under ``max_chroma``).

    People name a garment's colour under the light they see it in, not its pixel values:
    phone photos of clothes on beds and floors are exposed for the room, so a white T-shirt
    comes out L* 70-80 (grey) and dark grey cloth L* 25 (black). "The brightest thing is white"
    (white-patch retinex) undoes most of that when the brightest thing is a white or grey
    surface (a shirt, a sheet, a tiled floor); a photo whose brightest patch is coloured (a red
    blanket, a painted backdrop) gives no such reference and is left as it is. Never darker,
    at most ``max_gain``. ``adaptation``: a 3x3 linear-RGB white balance applied first (the
    patch is judged as it looks after it)."""
    rgb = _check_rgb(rgb)
    adapt = np.eye(3) if adaptation is None else np.asarray(adaptation, dtype=np.float64)
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / EXPOSURE_SAMPLES)))
    sample = rgb[::step, ::step].reshape(-1, 3)  # a grid of pixels: enough for a percentile
    y = linear_to_xyz(np.clip(srgb_to_linear(sample) @ adapt.T, 0.0, 1.0))[:, 1]
    bright = y >= np.percentile(y, percentile)
    patch = srgb_to_lab(sample[bright], adapt).mean(axis=0)
    if np.hypot(patch[1], patch[2]) > max_chroma:
        return 1.0
    return float(np.clip(target / max(float(y[bright].min()), 1e-6), 1.0, max_gain))


def merge_shades(
    centres: np.ndarray, counts: np.ndarray, max_de: float = SHADE_MERGE_DE
) -> tuple[np.ndarray, np.ndarray]:
    """Merge clusters closer than ``max_de`` (CIEDE2000), closest pair first, into their
    count-weighted mean: the light and dark clusters k-means cuts a shaded solid colour into
    are one colour, named as a whole (a cream shirt's lit half alone would be white)."""
    centres, counts = np.asarray(centres, np.float64), np.asarray(counts, np.float64)
    while len(centres) > 1:
        d = ciede2000(centres[:, None], centres[None])
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(int(d.argmin()), d.shape)
        if d[i, j] >= max_de:
            break
        merged = (centres[i] * counts[i] + centres[j] * counts[j]) / (counts[i] + counts[j])
        keep = [m for m in range(len(centres)) if m not in (i, j)]
        centres = np.vstack([centres[keep], merged])
        counts = np.append(counts[keep], counts[i] + counts[j])
    return centres, counts


def _merge(centres: np.ndarray, counts: np.ndarray, names: np.ndarray) -> list[ColourShare]:
    total = counts.sum()
    out = []
    for idx in np.unique(names):
        sel = names == idx
        weight = counts[sel].astype(np.float64)
        lab = (centres[sel] * weight[:, None]).sum(axis=0) / weight.sum()
        srgb = np.clip(np.rint(lab_to_srgb(lab)), 0, 255).astype(int)
        out.append(
            ColourShare(
                name=COLOURS[int(idx)],
                share=float(weight.sum() / total),
                lab=tuple(float(v) for v in lab),
                rgb=tuple(int(v) for v in srgb),
            )
        )
    return sorted(out, key=lambda c: -c.share)


# ---- clustering ------------------------------------------------------------------------------
def kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 25, n_init: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means++ (Lloyd, OpenCV's ``cv2.kmeans``) on rows of ``x``: ``(centres (m, d),
    counts (m,))``, ``m <= k`` (clusters that end up empty are dropped). Best of ``n_init``
    starts by compactness; the seed is drawn from ``rng``, so a seeded call repeats."""
    x = np.asarray(x, dtype=np.float32)
    k = max(1, min(k, len(x)))
    cv2.setRNGSeed(int(rng.integers(2**31)))  # OpenCV's RNG is per thread
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, iters, 1e-3)
    _, _, centres = cv2.kmeans(x, k, None, criteria, n_init, cv2.KMEANS_PP_CENTERS)
    # fewer distinct colours than k leaves (near-)equal centres: one cluster of them, and
    # every point counted for its nearest centre (the first on ties, as argmin)
    centres = np.unique(np.round(centres.astype(np.float64), 3), axis=0)
    counts = np.bincount(nearest_centre(x, centres), minlength=len(centres))
    keep = counts > 0
    return centres[keep], counts[keep]


def nearest_centre(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest of ``centres`` for every row of ``x`` (the first on ties)."""
    labels = np.zeros(len(x), np.intp)
    nearest = _squared_distance(x, centres[0])
    for j in range(1, len(centres)):  # whole-row comparisons: argmin over k = 3 is far slower
        d = _squared_distance(x, centres[j])
        labels[d < nearest] = j
        np.minimum(nearest, d, out=nearest)
    return labels


# ---- foreground ------------------------------------------------------------------------------
def estimate_foreground(rgb: np.ndarray, method: str = "border") -> np.ndarray:
    """A bool garment mask for an RGB crop without one (``method``: border, grabcut, none)."""
    rgb = _check_rgb(rgb)
    h, w = rgb.shape[:2]
    if method == "none" or min(h, w) < 8:
        return np.ones((h, w), bool)
    small = _downscale(rgb, FOREGROUND_SIDE)
    if method == "border":
        fg = _border_model(small)
    elif method == "grabcut":
        fg = _grabcut(small)
    else:
        raise ValueError(f"unknown foreground method {method!r}; use border, grabcut or none")
    share = fg.mean()
    if share < 0.01:  # nothing found: a centred ellipse (garments are centred in their crop)
        fg = _centre_ellipse(small.shape[:2])
    return cv2.resize(fg.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


@dataclass(frozen=True)
class _BorderModelSettings:
    ring: float = 0.06  # ring width, fraction of the shorter side
    modes: int = 4  # k-means modes of the ring's colours
    min_ring_share: float = 0.03  # a mode must cover this much of the ring (grid lines do)
    centre_ratio: float = 1.0  # garment, not background, if centre share > ratio x ring share
    tol: tuple[float, float] = (6.0, 15.0)  # CIELAB distance to a mode: min, max
    spread: float = 3.0  # tolerance = spread x the mode's own std (within tol)


_BORDER = _BorderModelSettings()


def _border_model(small: np.ndarray, s: _BorderModelSettings = _BORDER) -> np.ndarray:
    """Background = pixels near a border-but-not-centre colour, connected to the border."""
    h, w = small.shape[:2]
    lab = srgb_to_lab(small).astype(np.float32)
    r = max(2, round(s.ring * min(h, w)))
    ring = np.zeros((h, w), bool)
    ring[:r], ring[-r:], ring[:, :r], ring[:, -r:] = True, True, True, True
    centre = np.zeros((h, w), bool)
    centre[h // 4 : h - h // 4, w // 4 : w - w // 4] = True
    rng = np.random.default_rng(0)
    ring_px = lab[ring]
    if len(ring_px) > 2000:
        ring_px = ring_px[rng.choice(len(ring_px), 2000, replace=False)]
    modes, counts = kmeans(ring_px, s.modes, rng, iters=15, n_init=1)
    labels = nearest_centre(ring_px, modes)
    centre_px = lab[centre]
    near_bg = np.zeros((h, w), bool)
    for j, mode in enumerate(modes):
        if counts[j] / counts.sum() < s.min_ring_share:
            continue
        own = ring_px[labels == j]  # never empty: counts come from the same nearest centres
        tol = float(np.clip(s.spread * np.sqrt(((own - mode) ** 2).sum(-1).mean()), *s.tol))
        # shares of pixels *near* the mode (modes of one gradient backdrop overlap)
        ring_share = (_squared_distance(ring_px, mode) < tol**2).mean()
        centre_share = (_squared_distance(centre_px, mode) < tol**2).mean()
        if centre_share > s.centre_ratio * ring_share:
            continue  # more common in the centre than on the border: the garment itself
        near_bg |= _squared_distance(lab, mode) < tol**2
    background = touching_border(near_bg)
    fg = ~background
    kernel = np.ones((3, 3), np.uint8)
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(fg, cv2.MORPH_CLOSE, kernel).astype(bool)


def _squared_distance(lab: np.ndarray, colour: np.ndarray) -> np.ndarray:
    diff = lab - colour
    return np.einsum("...i,...i->...", diff, diff)


def _grabcut(small: np.ndarray, iters: int = 3) -> np.ndarray:
    h, w = small.shape[:2]
    mx, my = max(1, round(0.04 * w)), max(1, round(0.04 * h))
    gc = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        rect = (mx, my, w - 2 * mx, h - 2 * my)
        cv2.grabCut(small, gc, rect, bgd, fgd, iters, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return np.ones((h, w), bool)
    return (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)


def _centre_ellipse(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    return ((yy - (h - 1) / 2) / (0.4 * h)) ** 2 + ((xx - (w - 1) / 2) / (0.4 * w)) ** 2 <= 1


def _erode_edges(mask: np.ndarray) -> np.ndarray:
    """Drop the one-pixel edge of the mask when enough garment remains."""
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return eroded if eroded.sum() >= 0.5 * mask.sum() else mask


def _downscale(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB image (H, W, 3), got {rgb.dtype} {rgb.shape}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError("empty image")
    return rgb


# ---- evaluation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColourAccuracy:
    """Accuracy of predicted colour names against labels, overall and per true colour."""

    accuracy: float
    correct: int
    total: int
    per_colour: dict[str, float]  # recall of each labelled colour
    support: dict[str, int]
    confusion: np.ndarray = field(repr=False)  # (14, 14): rows true, columns predicted

    def table(self) -> str:
        """A plain-text table: colour, samples, accuracy."""
        lines = [f"{'colour':<8} {'n':>5} {'acc':>6}"]
        for c in COLOURS:
            if self.support.get(c):
                lines.append(f"{c:<8} {self.support[c]:>5} {self.per_colour[c]:>6.1%}")
        lines.append(f"{'overall':<8} {self.total:>5} {self.accuracy:>6.1%}")
        return "\n".join(lines)

    def confusions(self) -> str:
        """The off-diagonal confusion counts, most frequent first: ``true->answered n, ...``."""
        pairs = [
            (int(self.confusion[i, j]), COLOURS[i], COLOURS[j])
            for i in range(len(COLOURS))
            for j in range(len(COLOURS))
            if i != j and self.confusion[i, j]
        ]
        return ", ".join(f"{t}->{p} {n}" for n, t, p in sorted(pairs, key=lambda x: -x[0]))


def colour_accuracy(
    predicted: Sequence[str | None], expected: Sequence[str | None]
) -> ColourAccuracy:
    """Accuracy of ``predicted`` colour names against ``expected`` labels (``None`` labels are
    skipped; a ``None`` prediction counts as wrong)."""
    if len(predicted) != len(expected):
        raise ValueError(f"{len(predicted)} predictions for {len(expected)} labels")
    index = {c: i for i, c in enumerate(COLOURS)}
    confusion = np.zeros((len(COLOURS), len(COLOURS)), np.int64)
    support = dict.fromkeys(COLOURS, 0)
    correct = total = 0
    for pred, true in zip(predicted, expected, strict=True):
        if true is None:
            continue
        if true not in index:
            raise ValueError(f"unknown colour label {true!r}")
        total += 1
        support[true] += 1
        correct += pred == true
        if pred in index:  # a None prediction is wrong but has no column
            confusion[index[true], index[pred]] += 1
    per_colour = {
        c: (float(confusion[i, i] / support[c]) if support[c] else float("nan"))
        for c, i in index.items()
    }
    return ColourAccuracy(
        accuracy=correct / total if total else float("nan"),
        correct=int(correct),
        total=total,
        per_colour=per_colour,
        support=support,
        confusion=confusion,
    )
