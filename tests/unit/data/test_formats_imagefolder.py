"""Garment crops into ImageFolder and scanning it against the taxonomy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from wardrobe.data.formats.deepfashion2 import Df2Image, Df2Item
from wardrobe.data.formats.imagefolder import export_crops, padded_box, scan_imagefolder
from wardrobe.taxonomy import CATEGORY_INDEX, FINE_CATEGORIES


@dataclass(frozen=True)
class FineItem:
    """An item of another detection dataset, with a fine category."""

    bbox: tuple[float, float, float, float]
    fine_category: str


@dataclass(frozen=True)
class FineImage:
    image_path: Path
    items: tuple = field(default_factory=tuple)


def photo(path: Path, size=(80, 64)) -> Path:
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste((200, 0, 0), (10, 10, 40, 50))
    image.save(path)
    return path


def test_export_df2_crops_by_class(tmp_path):
    src = photo(tmp_path / "000001.jpg")
    items = (Df2Item(1, (10, 10, 40, 50)), Df2Item(8, (50, 0, 80, 64)), Df2Item(9, (90, 0, 99, 9)))
    record = Df2Image(1, src, "user", 1, items, 80, 64)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    broken = Df2Image(2, tmp_path / "broken.jpg", "user", 1, items[:1], 80, 64)
    written, report = export_crops([record, broken], tmp_path / "crops", pad=0.1)
    assert [(p.relative_to(tmp_path / "crops").as_posix(), label) for p, label in written] == [
        ("short_sleeve_top/000001_0.jpg", "short_sleeve_top"),
        ("trousers/000001_1.jpg", "trousers"),
    ]
    assert report["degenerate_box"] == 1 and report["corrupt_image"] == 1
    with Image.open(written[0][0]) as crop:
        assert crop.size == (36, 48)  # 30x40 box + 10% each side
        red, green, _ = crop.getpixel((18, 24))
        assert red > 150 and green < 60


def test_export_fine_categories_then_scan(tmp_path):
    src = photo(tmp_path / "look.jpg")
    items = (FineItem((10, 10, 40, 50), "blouse"), FineItem((40, 0, 80, 64), "jorts"))
    written, report = export_crops(
        [FineImage(src, items)], tmp_path / "folder", classes=FINE_CATEGORIES
    )
    assert [label for _, label in written] == ["blouse"] and report["unknown_class"] == 1
    (tmp_path / "folder" / "blouse" / "notes.txt").write_text("x")
    (tmp_path / "folder" / "mystery_garment").mkdir()
    photo(tmp_path / "folder" / "mystery_garment" / "a.jpg")
    samples, report = scan_imagefolder(tmp_path / "folder")
    assert samples == [(tmp_path / "folder" / "blouse" / "look_0.jpg", CATEGORY_INDEX["blouse"])]
    assert report["unknown_class_folder"] == 1 and report["not_an_image"] == 1
    assert "mystery_garment/ (1 files)" in str(report)
    with pytest.raises(ValueError, match="mystery_garment"):
        scan_imagefolder(tmp_path / "folder", strict=True)


def test_padded_box_clips():
    assert padded_box((0, 0, 10, 10), 12, 12, 0.5) == (0, 0, 12, 12)
    assert padded_box((5, 5, 5, 9), 12, 12, 0.0) is None
