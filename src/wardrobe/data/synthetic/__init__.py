"""SynthWardrobe: a seeded procedural generator of garments, photos and outfits.

The offline default dataset of the project (like MNIST for the Lightning template). One seed
gives DeepFashion2 scenes, ImageFolder crops, attribute rows and Polyvore outfits, all drawn from
the same garments and written with the exact format writers of :mod:`wardrobe.data.formats`.

* :func:`sample_garment` / :class:`GarmentSpec` — a garment and its labels (``spec``).
* :func:`render_garment` — its pixels and mask (``draw``).
* :func:`scene_pair`, :func:`product_crop` — photos (``scene``).
* :func:`is_compatible` — the hidden stylist rule of the outfits (``outfits``).
* :func:`generate` — everything on disk; CLI ``python -m wardrobe.data.synthetic --help``.
"""

from .draw import render_garment
from .generate import GenerateConfig, generate
from .outfits import is_compatible, rule_violations
from .scene import product_crop, scene_crop, scene_pair
from .spec import GarmentSpec, sample_garment

__all__ = [
    "GarmentSpec",
    "GenerateConfig",
    "generate",
    "is_compatible",
    "product_crop",
    "render_garment",
    "rule_violations",
    "sample_garment",
    "scene_crop",
    "scene_pair",
]
