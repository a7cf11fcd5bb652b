"""Tiny on-disk datasets (64x64 JPEGs) and tiny settings for the DataModule and module tests."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image

from wardrobe.data.formats.attributes import AttributeRow
from wardrobe.taxonomy import COLOUR_RGB, FINE_CATEGORIES, PATTERNS, SEASONS, STYLE_TAGS

TINY_CLASSES = list(FINE_CATEGORIES[:6])  # 6 > 5, so top-5 accuracy is not trivially 1
TINY_PREPROCESSING = {
    "image_size": 64,
    "resize": 72,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "interpolation": "bilinear",
}
# A CLIP model's block: the image keys plus the text side
CLIP_PREPROCESSING = {**TINY_PREPROCESSING, "tokenizer": "clip_bpe", "context_length": 16}
# A CLIP net small enough for a unit test (no pretrained weights)
TINY_CLIP_NET = {
    "weights": "none",
    "embed_dim": 32,
    "text_width": 32,
    "text_layers": 1,
    "text_heads": 2,
    "context_length": 16,
}

# A SynthWardrobe small enough for a unit test (about 2 s on one core).
TINY_GENERATOR = {
    "seed": 0,
    "crops_per_class": 2,
    "scenes": 2,
    "outfits": 4,
    "workers": 1,
    "progress": False,
}


def write_image(path: Path, rgb: tuple[int, int, int], size: int = 64) -> Path:
    """A solid square of ``rgb`` with a darker band (so crops differ)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (size, size), rgb)
    band = tuple(c // 2 for c in rgb)
    image.paste(Image.new("RGB", (size, size // 4), band), (0, size // 2))
    image.save(path, quality=95)
    return path


def attribute_rows(n: int, seed: int) -> list[AttributeRow]:
    """Rows with every kind of label, and some labels missing (None)."""
    rng = random.Random(seed)
    colours = list(COLOUR_RGB)
    rows = []
    for i in range(n):
        rows.append(
            AttributeRow(
                image=f"images/{seed}_{i}.jpg",
                colour_primary=colours[i % len(colours)],
                pattern=None if i % 3 == 2 else PATTERNS[i % len(PATTERNS)],
                fit=None if i % 4 == 3 else "regular",
                formality=None if i % 5 == 4 else round(rng.random(), 3),
                seasons=None if i % 2 else tuple(rng.sample(SEASONS, 2)),
                style_tags=() if i % 3 == 0 else (STYLE_TAGS[i % len(STYLE_TAGS)],),
            )
        )
    return rows
