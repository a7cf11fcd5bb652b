"""DeepFashion2 readers and writer: real samples read in place, hand-written fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from wardrobe.data.formats.deepfashion2 import (
    Df2Item,
    df2_annotation_text,
    load_annotation_dict,
    parse_df2_annotation,
    read_df2_coco,
    read_df2_split,
    write_df2_annotation,
)
from wardrobe.data.formats.report import SkipReport
from wardrobe.taxonomy import DF2_NUM_LANDMARKS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "deepfashion2"


def draw_image(path: Path, size: tuple[int, int] = (64, 64)) -> Path:
    """A small JPEG with one filled rectangle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (200, 200, 200))
    image.paste((30, 60, 160), (8, 8, size[0] // 2, size[1] // 2))
    image.save(path, quality=90)
    return path


@pytest.fixture
def df2_split(tmp_path) -> Path:
    """The fixture annotations + drawn images (one truncated, one missing, one orphan)."""
    split = tmp_path / "validation"
    shutil.copytree(FIXTURES / "annos", split / "annos")
    for stem in ("000001", "000002", "000003", "000006", "000007"):
        draw_image(split / "image" / f"{stem}.jpg")
    data = draw_image(tmp_path / "whole.jpg").read_bytes()
    (split / "image" / "000004.jpg").write_bytes(data[: len(data) // 2])  # truncated
    return split


def test_split_reader_counts_every_problem(df2_split):
    images, report = read_df2_split(df2_split)
    assert [im.image_id for im in images] == [1, 2, 3]
    assert report["missing_annotation"] == 1  # 000006.jpg
    assert report["missing_image"] == 1  # 000005.json
    assert report["corrupt_image"] == 1  # truncated 000004.jpg
    assert report["bad_annotation"] == 1  # 000007.json is not JSON
    assert report["unknown_category"] == 1  # category 14 in 000002
    assert report["box_clipped"] == 1  # 000003 item1
    assert report["degenerate_box"] == 1  # 000003 item2, fully outside
    text = str(report)
    assert "missing_annotation" in text and "000006.jpg" in text and "category_id=14" in text


def test_split_reader_items_in_any_key_order(df2_split):
    images, _ = read_df2_split(df2_split)
    first = images[0]
    assert (first.source, first.pair_id, first.width, first.height) == ("user", 7, 64, 64)
    assert [it.category_id for it in first.items] == [1, 8, 9]  # item1, item2, item3
    assert first.items[1].bbox == (34.5, 4.0, 60.0, 28.25)
    assert first.items[1].landmarks == [] and first.items[1].style == 0  # defaults
    assert first.items[2].category_name == "skirt"
    assert len(first.items[2].landmarks) == 3 * DF2_NUM_LANDMARKS[8]
    assert [it.category_name for it in images[1].items] == ["long_sleeve_dress"]
    assert images[2].items[0].bbox == (0.0, 20.0, 40.0, 64.0)  # clipped


def test_writer_layout_and_round_trip(tmp_path):
    items = (
        Df2Item(1, (4, 4, 30, 30), [[4, 4, 30, 4, 30, 30, 4, 4]], [0.0] * 75, style=1),
        Df2Item(8, (34.5, 4, 60, 28.25), occlusion=2, zoom_in=3, viewpoint=3, scale=1),
    )
    path = write_df2_annotation(tmp_path / "annos", 12, "shop", 3, items)
    assert path.name == "000012.json"
    text = path.read_text()
    assert "\n" not in text and text.startswith('{"source": "shop", "pair_id": 3, "item1": {')
    item = json.loads(text)["item1"]
    assert list(item) == [
        "segmentation", "scale", "viewpoint", "zoom_in", "landmarks",
        "style", "bounding_box", "category_id", "occlusion", "category_name",
    ]  # fmt: skip
    assert item["category_name"] == "short sleeve top" and item["bounding_box"] == [4, 4, 30, 30]
    draw_image(tmp_path / "image" / "000012.jpg")
    images, report = read_df2_split(tmp_path)
    assert not report and images[0].items == items
    again = write_df2_annotation(tmp_path / "again", 12, "shop", 3, images[0].items)
    assert again.read_bytes() == path.read_bytes()


def test_report_merge_and_str():
    a, b = SkipReport(name="a"), SkipReport(name="b")
    a.add("corrupt_image", "x.jpg")
    for k in range(5):
        b.add("corrupt_image", f"{k}.jpg")
    b.add("missing_annotation")
    a.merge(b)
    assert a["corrupt_image"] == 6 and a.total == 7 and len(a.examples["corrupt_image"]) == 3
    assert str(a).startswith("a: 7 problem(s): 6 × corrupt_image (e.g. x.jpg; 0.jpg; 1.jpg)")
    assert str(SkipReport(name="c")) == "c: nothing skipped."


# ---------------------------------------------------------------------------- real samples


def test_real_coco_json_and_images(real_samples):
    folder = real_samples / "deepfashion2" / "mmpose_tests" / "deepfasion2"
    images, report = read_df2_coco(folder / "deepfasion2.json", folder)
    assert not report, str(report)
    assert [(im.image_id, im.width, im.height, im.pair_id) for im in images] == [
        (264, 750, 750, 22),
        (265, 750, 750, 22),
    ]
    boxes = [im.items[0].bbox for im in images]
    assert boxes == [(103.0, 80.0, 704.0, 749.0), (178.0, 62.0, 599.0, 748.0)]  # x,y,w,h -> xyxy
    for image in images:
        (item,) = image.items
        assert item.category_name == "long_sleeve_dress" and item.style in (1, 2)
        assert len(item.landmarks) == 3 * DF2_NUM_LANDMARKS[10]  # its slice of 294*3
        assert item.segmentation and Image.open(image.image_path).size == (750, 750)


@pytest.mark.parametrize(
    ("name", "pair_id", "source", "boxes"),
    [
        (
            "readme_quote_pair1_user_QUOTED.json",
            1,
            "user",
            {1: (0, 29, 466, 622), 8: (249, 423, 466, 623)},
        ),
        (
            "issue4_pair1811_shop_QUOTED.json",
            1811,
            "shop",
            {9: (227, 86, 543, 455), 1: (0, 0, 495, 179)},
        ),
    ],
)
def test_real_quoted_raw_annotations(real_samples, name, pair_id, source, boxes):
    path = real_samples / "deepfashion2" / "quoted" / name
    data = load_annotation_dict(path)  # JSON, or a Python repr as quoted in issues
    assert next(iter(data)) == "item2"  # real files start with item2
    report = SkipReport()
    image = parse_df2_annotation(data, 1, Path("000001.jpg"), 750, 750, report)
    assert image is not None and not report, str(report)
    assert (image.source, image.pair_id) == (source, pair_id)
    assert {it.category_id: it.bbox for it in image.items} == {
        k: tuple(float(v) for v in box) for k, box in boxes.items()
    }
    for item in image.items:
        assert len(item.landmarks) == 3 * DF2_NUM_LANDMARKS[item.category_id - 1]
        assert data[f"item{image.items.index(item) + 1}"]["category_name"] == item.raw_name
    rewritten = json.loads(df2_annotation_text(source, pair_id, image.items))
    for key in ("item1", "item2"):
        assert rewritten[key] == data[key]  # same values, same raw names


def test_python_repr_annotation_is_read(tmp_path):
    data = json.loads((FIXTURES / "annos" / "000002.json").read_text())
    path = tmp_path / "annos" / "000002.json"
    path.parent.mkdir()
    path.write_text(repr(data))  # single quotes: how issue threads quote annotations
    assert load_annotation_dict(path) == data
