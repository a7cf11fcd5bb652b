"""Tiny on-disk datasets (64x64 JPEGs) for the DataModule and LightningModule tests."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from wardrobe.data.formats.attributes import AttributeRow, write_attribute_rows
from wardrobe.taxonomy import COLOUR_RGB, FINE_CATEGORIES, PATTERNS, SEASONS, STYLE_TAGS

TINY_CLASSES = list(FINE_CATEGORIES[:6])  # 6 > 5, so top-5 accuracy is not trivially 1
TINY_PREPROCESSING = {
    "image_size": 64,
    "resize": 72,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "interpolation": "bilinear",
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


@pytest.fixture
def tiny_imagefolder(tmp_path) -> Path:
    """``<root>/{train,val}/<class>/*.jpg`` for ``TINY_CLASSES`` (4 train, 2 val per class)."""
    root = tmp_path / "classification"
    colours = list(COLOUR_RGB.values())
    for split, per_class in (("train", 4), ("val", 2)):
        for c, name in enumerate(TINY_CLASSES):
            for k in range(per_class):
                write_image(root / split / name / f"{k}.jpg", colours[(c + k) % len(colours)])
    return root


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


@pytest.fixture
def tiny_attributes(tmp_path) -> Path:
    """``<root>/{train,val}.jsonl`` + ``<root>/images/*.jpg`` (12 train rows, 6 val rows)."""
    root = tmp_path / "attributes"
    for split, n, seed in (("train", 12, 0), ("val", 6, 1)):
        rows = attribute_rows(n, seed)
        for row in rows:
            write_image(root / row.image, COLOUR_RGB[row.colour_primary])
        write_attribute_rows(root / f"{split}.jsonl", rows)
    return root
