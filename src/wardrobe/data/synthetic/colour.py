"""Colour for the generator: palette look-up (CIE76) and label-safe jitter.

sRGB <-> CIELAB and the palette's CIELAB live in :mod:`wardrobe.colour_science` (shared with
ingestion) and are re-exported here.

A colour label must stay true after the generator varies the shade, so jitter happens in CIELAB
inside a ball around the palette reference whose radius is a fraction of the distance to the
nearest *other* palette colour (white and beige are only ~10 dE apart; they get small balls).
"""

from __future__ import annotations

import numpy as np

from wardrobe.colour_science import lab_to_srgb, palette_lab, srgb_to_lab
from wardrobe.taxonomy import COLOUR_RGB, COLOURS

__all__ = [
    "colour_distance",
    "jitter_colour",
    "jitter_radius",
    "lab_to_srgb",
    "lightness",
    "nearest_colour",
    "palette_lab",
    "srgb_to_lab",
]


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
