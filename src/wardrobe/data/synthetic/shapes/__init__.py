"""Silhouettes of the 47 fine categories, one drawing function per category."""

from __future__ import annotations

import numpy as np

from wardrobe.taxonomy import FINE_CATEGORIES

from ..sketch import Sketch
from ..spec import GarmentSpec
from . import accessories, bottoms, dresses, footwear, outerwear, tops

SHAPES = {
    **tops.SHAPES,
    **bottoms.SHAPES,
    **outerwear.SHAPES,
    **dresses.SHAPES,
    **footwear.SHAPES,
    **accessories.SHAPES,
}
if set(SHAPES) != set(FINE_CATEGORIES):
    raise RuntimeError(f"shapes do not match the taxonomy: {set(SHAPES) ^ set(FINE_CATEGORIES)}")


def sketch_for(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """The drawing of ``spec`` in body units (``rng`` varies its intrinsic details)."""
    return SHAPES[spec.category](spec, rng)
