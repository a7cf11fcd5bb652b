"""DeepFashion2 -> the ultralytics YOLO dataset layout, and YOLO label files.

Output::

    <out>/images/{train,val}/NNNNNN.jpg   hard links to the DeepFashion2 images (copy fallback)
    <out>/labels/{train,val}/NNNNNN.txt   one ``cls cx cy w h`` line per item, normalised, cls 0..12
    <out>/data.yaml                       path, train, val, names (taxonomy.DF2_CLASSES)

The conversion is resumable (an image whose label file exists and is newer than its annotation is
skipped), writes every label atomically (tmp + rename; the label is written last, so it marks a
finished image) and runs in worker processes, in chunks, with a progress bar.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from tqdm import tqdm

from wardrobe.data.formats._io import atomic_write_text
from wardrobe.data.formats.deepfashion2 import Df2Image, df2_pairs, load_df2_image
from wardrobe.data.formats.report import SkipReport
from wardrobe.taxonomy import DF2_CLASSES, df2_id_to_yolo

DEFAULT_SPLITS: Mapping[str, str] = {"train": "train", "val": "validation"}
CHUNK_SIZE = 128


@dataclass(frozen=True)
class YoloBox:
    """One YOLO label line: class index and normalised centre/size."""

    cls: int
    cx: float
    cy: float
    w: float
    h: float

    def to_xyxy(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Pixel ``(x1, y1, x2, y2)`` in an image of ``width`` x ``height``."""
        return (
            (self.cx - self.w / 2) * width,
            (self.cy - self.h / 2) * height,
            (self.cx + self.w / 2) * width,
            (self.cy + self.h / 2) * height,
        )


@dataclass
class ConversionSummary:
    """What ``convert_df2_to_yolo`` did."""

    converted: int = 0
    skipped_existing: int = 0
    report: SkipReport = field(default_factory=lambda: SkipReport(name="DeepFashion2 -> YOLO"))
    data_yaml: Path | None = None

    def merge(self, other: ConversionSummary) -> ConversionSummary:
        """Add ``other``'s counts into this summary."""
        self.converted += other.converted
        self.skipped_existing += other.skipped_existing
        self.report.merge(other.report)
        return self

    def __str__(self) -> str:
        return (
            f"DeepFashion2 -> YOLO: {self.converted} image(s) converted, "
            f"{self.skipped_existing} already done (skipped). {self.report}"
        )


# ---------------------------------------------------------------------------- labels


def df2_image_to_yolo(image: Df2Image) -> list[YoloBox]:
    """YOLO boxes of a ``Df2Image`` (its boxes are already clipped by the reader)."""
    boxes = []
    for item in image.items:
        x1, y1, x2, y2 = item.bbox
        boxes.append(
            YoloBox(
                cls=df2_id_to_yolo(item.category_id),
                cx=(x1 + x2) / 2 / image.width,
                cy=(y1 + y2) / 2 / image.height,
                w=(x2 - x1) / image.width,
                h=(y2 - y1) / image.height,
            )
        )
    return boxes


def yolo_labels_text(boxes: Sequence[YoloBox]) -> str:
    """The text of a label file: ``cls cx cy w h`` with 6 decimals, one box a line."""
    return "".join(f"{b.cls} {b.cx:.6f} {b.cy:.6f} {b.w:.6f} {b.h:.6f}\n" for b in boxes)


def write_yolo_labels(label_path: str | os.PathLike, boxes: Sequence[YoloBox]) -> Path:
    """Write a label file atomically."""
    return atomic_write_text(label_path, yolo_labels_text(boxes))


def read_yolo_labels(label_path: str | os.PathLike) -> list[YoloBox]:
    """Read a YOLO detection label file (ValueError on a malformed line)."""
    boxes = []
    for number, line in enumerate(Path(label_path).read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise ValueError(f"{label_path}:{number}: expected 5 fields, got {len(fields)}")
        boxes.append(YoloBox(int(fields[0]), *(float(v) for v in fields[1:])))
    return boxes


# ---------------------------------------------------------------------------- conversion


def link_or_copy(src: Path, dst: Path, link: bool = True) -> None:
    """Hard-link ``src`` to ``dst`` (copy if linking fails or ``link`` is False)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        if dst.samefile(src) or dst.stat().st_size == src.stat().st_size:
            return
        dst.unlink()
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def _is_done(anno_path: Path, label_path: Path) -> bool:
    try:
        return label_path.stat().st_mtime >= anno_path.stat().st_mtime
    except FileNotFoundError:
        return False


# A task: (annotation, image, output image, output label); strings pickle small and fast.
_Task = tuple[str, str, str, str]


def _convert_chunk(tasks: Sequence[_Task], link: bool, check_images: bool) -> ConversionSummary:
    """Convert a chunk of images (runs in a worker process)."""
    summary = ConversionSummary()
    for anno, image, image_out, label_out in tasks:
        anno_path, label_path = Path(anno), Path(label_out)
        if _is_done(anno_path, label_path) and Path(image_out).exists():
            summary.skipped_existing += 1
            continue
        df2_image = load_df2_image(anno_path, Path(image), summary.report, check_images)
        if df2_image is None:
            continue
        link_or_copy(Path(image), Path(image_out), link)
        write_yolo_labels(label_path, df2_image_to_yolo(df2_image))
        summary.converted += 1
    return summary


def _tasks(df2_root: Path, out_dir: Path, splits: Mapping[str, str]) -> list[_Task]:
    tasks = []
    for yolo_split, df2_split in splits.items():
        for anno, image in df2_pairs(df2_root / df2_split):
            stem = anno.stem
            tasks.append(
                (
                    str(anno),
                    str(image),
                    str(out_dir / "images" / yolo_split / f"{stem}.jpg"),
                    str(out_dir / "labels" / yolo_split / f"{stem}.txt"),
                )
            )
    return tasks


def write_data_yaml(out_dir: str | os.PathLike, splits: Sequence[str] = ("train", "val")) -> Path:
    """Write ``data.yaml`` for ultralytics: path, one entry per split, names 0..12."""
    out_dir = Path(out_dir).resolve()
    data = {"path": str(out_dir)}
    data.update({split: f"images/{split}" for split in splits})
    data["names"] = dict(enumerate(DF2_CLASSES))
    return atomic_write_text(out_dir / "data.yaml", yaml.safe_dump(data, sort_keys=False))


def convert_df2_to_yolo(
    df2_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    splits: Mapping[str, str] = DEFAULT_SPLITS,
    workers: int | None = None,
    link_images: bool = True,
    check_images: bool = True,
    chunk_size: int = CHUNK_SIZE,
    progress: bool = True,
) -> ConversionSummary:
    """Convert ``<df2_root>/<df2 split>/{image,annos}`` into a YOLO dataset in ``out_dir``.

    ``splits`` maps YOLO split names to DeepFashion2 folder names. ``workers`` processes (default:
    CPU count, at most 8; 0 or 1 = in this process). Prints and returns the summary.
    """
    df2_root, out_dir = Path(df2_root), Path(out_dir)
    missing = [name for name in splits.values() if not (df2_root / name).is_dir()]
    if missing:
        raise FileNotFoundError(f"DeepFashion2 split folder(s) {missing} not found in {df2_root}")
    tasks = _tasks(df2_root, out_dir, splits)
    chunks = [tasks[i : i + chunk_size] for i in range(0, len(tasks), chunk_size)]
    workers = min(8, os.cpu_count() or 1) if workers is None else workers
    summary = ConversionSummary()
    bar = tqdm(total=len(tasks), desc="DF2 -> YOLO", unit="img", disable=not progress)
    with bar:
        if workers <= 1 or len(chunks) <= 1:
            results = (_convert_chunk(chunk, link_images, check_images) for chunk in chunks)
            _collect(results, chunks, summary, bar)
        else:
            with ProcessPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
                n = len(chunks)
                results = pool.map(_convert_chunk, chunks, [link_images] * n, [check_images] * n)
                _collect(results, chunks, summary, bar)
    for yolo_split in splits:
        (out_dir / "labels" / yolo_split).mkdir(parents=True, exist_ok=True)
        (out_dir / "images" / yolo_split).mkdir(parents=True, exist_ok=True)
    summary.data_yaml = write_data_yaml(out_dir, tuple(splits))
    print(summary)
    return summary


def _collect(results, chunks, summary: ConversionSummary, bar: tqdm) -> None:
    for chunk, result in zip(chunks, results, strict=True):
        summary.merge(result)
        bar.update(len(chunk))
