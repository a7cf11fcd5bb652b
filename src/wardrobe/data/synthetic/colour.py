"""Colour science for the generator: sRGB <-> CIELAB, palette look-up, label-safe jitter.

A colour label must stay true after the generator varies the shade, so jitter happens in CIELAB
inside a ball around the palette reference whose radius is a fraction of the distance to the
nearest *other* palette colour (white and beige are only ~10 dE apart; they get small balls).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from wardrobe.taxonomy import COLOUR_RGB, COLOURS

_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_EPS, _KAPPA = 216 / 24389, 24389 / 27


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in 0..255 -> CIELAB (..., 3), D65 white."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) -> sRGB (..., 3) as floats in 0..255 (not clipped)."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA) * _WHITE_D65
    lin = xyz @ _XYZ_TO_RGB.T
    lin = np.clip(lin, 0.0, None)
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return c * 255.0


@cache
def palette_lab() -> np.ndarray:
    """CIELAB of the 14 palette colours, in ``COLOURS`` order (14, 3)."""
    return srgb_to_lab(np.array([COLOUR_RGB[c] for c in COLOURS], dtype=np.float64))


def nearest_colour(rgb: np.ndarray | tuple[float, float, float]) -> str:
    """The palette colour nearest (CIELAB Euclidean) to one sRGB colour."""
    d = np.linalg.norm(palette_lab() - srgb_to_lab(np.asarray(rgb, dtype=np.float64)), axis=-1)
    return COLOURS[int(np.argmin(d))]


def colour_distance(a: str, b: str) -> float:
    """CIELAB distance between two palette colours."""
    lab = palette_lab()
    return float(np.linalg.norm(lab[COLOURS.index(a)] - lab[COLOURS.index(b)]))


def jitter_radius(colour: str, fraction: float = 0.35) -> float:
    """Largest label-safe jitter (dE) around a palette colour: a fraction of the gap to its
    nearest neighbour (a ball of radius < half the gap never crosses the Voronoi boundary)."""
    lab = palette_lab()
    i = COLOURS.index(colour)
    gaps = np.linalg.norm(lab - lab[i], axis=-1)
    gaps[i] = np.inf
    return float(fraction * gaps.min())


def jitter_colour(colour: str, rng: np.random.Generator, fraction: float = 0.35) -> np.ndarray:
    """A shade of a palette colour (sRGB float, 0..255) that is still nearest to it in CIELAB."""
    ref = palette_lab()[COLOURS.index(colour)]
    radius = jitter_radius(colour, fraction)
    for _ in range(16):
        step = rng.normal(size=3)
        step *= radius * rng.uniform() ** (1 / 3) / max(np.linalg.norm(step), 1e-9)
        rgb = np.clip(lab_to_srgb(ref + step), 0, 255)
        if nearest_colour(rgb) == colour:
            return rgb
    return np.array(COLOUR_RGB[colour], dtype=np.float64)


def lightness(colour: str) -> float:
    """CIELAB L* of a palette colour (0 black .. 100 white)."""
    return float(palette_lab()[COLOURS.index(colour)][0])
