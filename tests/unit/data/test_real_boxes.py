"""Derived boxes for one-garment photos, and real photos added to the detector's training split."""

from __future__ import annotations

import numpy as np
from PIL import Image

from wardrobe.data.formats.yolo import read_yolo_labels
from wardrobe.data.real_boxes import box_contact_sheet, derive_box, derive_box_file
from wardrobe.data.real_yolo import RealPhotoYoloData
from wardrobe.taxonomy import DF2_CLASSES


def _flat_lay(width=240, height=320, box=(60, 80, 190, 270), seed=0) -> np.ndarray:
    """A garment-coloured rectangle on a noisy two-tone floor (wall above, floor below)."""
    rng = np.random.default_rng(seed)
    rgb = np.zeros((height, width, 3), np.float32)
    rgb[: height // 3] = (205, 200, 190)
    rgb[height // 3 :] = (150, 110, 80)
    rgb += rng.normal(0, 6, rgb.shape)
    x1, y1, x2, y2 = box
    rgb[y1:y2, x1:x2] = (30, 60, 160)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def test_box_of_a_garment_on_a_two_tone_background():
    derived = derive_box(_flat_lay())
    assert derived is not None
    x1, y1, x2, y2 = derived.box
    assert abs(x1 - 60) <= 6 and abs(y1 - 80) <= 6 and abs(x2 - 190) <= 6 and abs(y2 - 270) <= 6
    cx, _, _, h = derived.normalised(240, 320)
    assert abs(cx - 125 / 240) < 0.03 and abs(h - 190 / 320) < 0.04


def test_a_photo_without_foreground_gets_no_box(tmp_path):
    plain = np.full((200, 200, 3), 128, np.uint8)
    assert derive_box(plain) is None
    (tmp_path / "broken.jpg").write_bytes(b"nope")
    assert derive_box_file(tmp_path / "broken.jpg") is None


def test_contact_sheet_is_written(tmp_path):
    path = tmp_path / "a.jpg"
    Image.fromarray(_flat_lay()).save(path)
    out = box_contact_sheet(
        [(path, derive_box(_flat_lay()), "pants"), (path, None, "x")], tmp_path / "s.png"
    )
    assert Image.open(out).size[0] > 0


def test_real_photos_join_the_train_split_only(tmp_path):
    real = tmp_path / "real"
    for label, n in (("pants", 3), ("shoes", 2)):
        for i in range(n):
            (real / "train" / label).mkdir(parents=True, exist_ok=True)
            Image.fromarray(_flat_lay(seed=i)).save(real / "train" / label / f"{i}.jpg")
    yolo = tmp_path / "yolo"
    for split in ("train", "val"):
        (yolo / "images" / split).mkdir(parents=True)
        (yolo / "labels" / split).mkdir(parents=True)
    data = RealPhotoYoloData(
        df2_root=str(tmp_path / "df2"), yolo_dir=str(yolo), real_root=str(real),
        per_label=2, background_per_label=1,
    )  # fmt: skip
    summary = data._add_real_photos()
    assert summary["photos"] == {"pants": 2, "shoes": 1}
    labels = sorted((yolo / "labels" / "train").glob("real_*.txt"))
    assert len(labels) == 3 and not list((yolo / "labels" / "val").iterdir())
    by_label = {p.name.split("_")[1]: read_yolo_labels(p) for p in labels}
    assert by_label["shoes"] == []  # a background image: shoes have no DeepFashion2 class
    assert [b.cls for b in by_label["pants"]] == [DF2_CLASSES.index("trousers")]
    assert data.data_sets()[1]["licence"] == "CC0-1.0"
    assert "real" in data.source_stamp()
