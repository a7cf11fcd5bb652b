"""DeepFashion2 -> YOLO conversion: labels, resumability, links, and ultralytics training."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import yaml
from PIL import Image, ImageDraw

from wardrobe.data.formats.deepfashion2 import Df2Item, read_df2_split, write_df2_annotation
from wardrobe.data.formats.yolo import (
    YoloBox,
    convert_df2_to_yolo,
    read_yolo_labels,
    write_yolo_labels,
)
from wardrobe.taxonomy import DF2_CLASSES

COLOURS = {1: (200, 30, 30), 8: (30, 30, 200), 9: (30, 160, 30)}  # class id -> fill


def make_df2(root: Path, n_train: int = 8, n_val: int = 4, seed: int = 0) -> Path:
    """A tiny DeepFashion2 tree: 64-96 px images, 1-2 drawn rectangles each."""
    rng = random.Random(seed)
    image_id = 0
    for split, n in (("train", n_train), ("validation", n_val)):
        for _ in range(n):
            image_id += 1
            w, h = rng.choice((64, 80, 96)), rng.choice((64, 80, 96))
            image = Image.new("RGB", (w, h), (235, 235, 235))
            draw = ImageDraw.Draw(image)
            items = []
            for category_id in rng.sample(sorted(COLOURS), rng.randint(1, 2)):
                x1, y1 = rng.randint(0, w // 2), rng.randint(0, h // 2)
                x2, y2 = x1 + rng.randint(16, w // 2), y1 + rng.randint(16, h // 2)
                draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=COLOURS[category_id])
                items.append(Df2Item(category_id, (x1, y1, x2, y2)))
            (root / split / "image").mkdir(parents=True, exist_ok=True)
            image.save(root / split / "image" / f"{image_id:06d}.jpg", quality=95)
            write_df2_annotation(root / split / "annos", image_id, "user", image_id, items)
    return root


def test_labels_round_trip(tmp_path):
    boxes = [YoloBox(0, 0.5, 0.25, 0.1, 0.2), YoloBox(12, 0.123456, 0.9, 0.05, 0.05)]
    path = write_yolo_labels(tmp_path / "a.txt", boxes)
    assert path.read_text().splitlines()[1] == "12 0.123456 0.900000 0.050000 0.050000"
    assert read_yolo_labels(path) == boxes
    assert boxes[0].to_xyxy(100, 200) == pytest.approx((45, 30, 55, 70))


def test_convert_is_exact_resumable_and_linked(tmp_path, capsys):
    df2 = make_df2(tmp_path / "df2")
    out = tmp_path / "yolo"
    (df2 / "validation" / "annos" / "000012.json").unlink()  # one image without annotation
    summary = convert_df2_to_yolo(df2, out, workers=2, chunk_size=3, progress=False)
    assert (summary.converted, summary.skipped_existing) == (11, 0)
    assert summary.report["missing_annotation"] == 1
    assert "11 image(s) converted" in capsys.readouterr().out
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(DF2_CLASSES)) and data["val"] == "images/val"
    assert Path(data["path"]) == out.resolve()
    for split, df2_split in (("train", "train"), ("val", "validation")):
        images, _ = read_df2_split(df2 / df2_split)
        for image in images:
            label = out / "labels" / split / f"{image.image_id:06d}.txt"
            boxes = read_yolo_labels(label)
            assert [b.cls for b in boxes] == [it.category_id - 1 for it in image.items]
            for box, item in zip(boxes, image.items, strict=True):
                xyxy = box.to_xyxy(image.width, image.height)
                assert xyxy == pytest.approx(item.bbox, abs=1e-3)
            linked = out / "images" / split / image.image_path.name
            assert os.stat(linked).st_ino == os.stat(image.image_path).st_ino  # hard link

    again = convert_df2_to_yolo(df2, out, workers=0, progress=False)
    assert (again.converted, again.skipped_existing) == (0, 11)
    anno = df2 / "train" / "annos" / "000003.json"
    later = (out / "labels" / "train" / "000003.txt").stat().st_mtime + 5
    os.utime(anno, (later, later))  # an edited annotation is converted again
    third = convert_df2_to_yolo(df2, out, workers=0, progress=False)
    assert (third.converted, third.skipped_existing) == (1, 10)
    assert not list(out.rglob("*.tmp"))


def test_convert_copies_without_links(tmp_path):
    df2 = make_df2(tmp_path / "df2", n_train=2, n_val=1)
    summary = convert_df2_to_yolo(df2, tmp_path / "y", workers=0, link_images=False, progress=False)
    assert summary.converted == 3
    src, dst = df2 / "train" / "image" / "000001.jpg", tmp_path / "y" / "images/train/000001.jpg"
    assert dst.read_bytes() == src.read_bytes() and not dst.samefile(src)


def test_missing_split_folder_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="validation"):
        convert_df2_to_yolo(tmp_path, tmp_path / "y", splits={"val": "validation"})


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_converted_dataset_trains_ultralytics(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_OFFLINE", "1")  # no hub / online checks
    from ultralytics import YOLO

    df2 = make_df2(tmp_path / "df2")
    summary = convert_df2_to_yolo(df2, tmp_path / "yolo", workers=0, progress=False)
    model = YOLO("yolov8n.yaml")
    model.train(
        data=str(summary.data_yaml),
        epochs=1,
        imgsz=64,
        batch=4,
        workers=0,
        device="cpu",
        plots=False,
        val=True,
        project=str(tmp_path),
        name="t",
        exist_ok=True,
        amp=False,
        verbose=False,
    )
    weights = tmp_path / "t" / "weights"
    assert (weights / "last.pt").is_file()
    results = (tmp_path / "t" / "results.csv").read_text().splitlines()
    assert len(results) == 2 and "metrics/mAP50(B)" in results[0]
    assert model.names == dict(enumerate(DF2_CLASSES))
