"""Tiny on-disk datasets (64x64 JPEGs) for the DataModule and LightningModule tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.tiny_data import TINY_CLASSES, attribute_rows, write_image
from wardrobe.data.formats.attributes import write_attribute_rows
from wardrobe.taxonomy import COLOUR_RGB


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
