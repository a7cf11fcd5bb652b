"""Garment crops in the ImageFolder layout: ``<root>/<class>/<stem>_<k>.jpg``.

``export_crops`` cuts every item of a detection dataset (``Df2Image``-like records: an
``image_path`` and ``items`` with a pixel ``bbox``) into a class folder; ``scan_imagefolder``
lists such a folder against a fixed class list (default ``taxonomy.FINE_CATEGORIES``), so class
indices never depend on which folders happen to exist.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PIL import Image

from wardrobe.data.formats._io import IMAGE_SUFFIXES, atomic_write_bytes
from wardrobe.data.formats.report import SkipReport
from wardrobe.taxonomy import FINE_CATEGORIES


def default_label(item: object) -> str:
    """``item.fine_category`` when the item has one, else its DeepFashion2 class name."""
    return getattr(item, "fine_category", None) or item.category_name  # type: ignore[attr-defined]


def padded_box(
    bbox: Sequence[float], width: int, height: int, pad: float
) -> tuple[int, int, int, int] | None:
    """``bbox`` grown by ``pad`` x its size on each side, clipped, in pixels; None if empty."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    dx, dy = (x2 - x1) * pad, (y2 - y1) * pad
    box = (
        max(0, int(x1 - dx)),
        max(0, int(y1 - dy)),
        min(width, round(x2 + dx)),
        min(height, round(y2 + dy)),
    )
    return box if box[2] > box[0] and box[3] > box[1] else None


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def export_crops(
    images: Iterable[object],
    out_dir: str | os.PathLike,
    pad: float = 0.05,
    label_fn: Callable[[object], str | None] = default_label,
    classes: Sequence[str] | None = None,
    quality: int = 95,
) -> tuple[list[tuple[Path, str]], SkipReport]:
    """Write ``out_dir/<label>/<image stem>_<k>.jpg`` for item k of every image.

    ``label_fn(item)`` names the folder (None = skip the item); with ``classes`` given, labels
    outside it are counted as ``unknown_class`` and skipped. Returns ``(path, label)`` pairs.
    """
    out_dir = Path(out_dir)
    report = SkipReport(name=f"crops -> {out_dir.name}")
    allowed = None if classes is None else set(classes)
    written: list[tuple[Path, str]] = []
    for record in images:
        path = Path(record.image_path)  # type: ignore[attr-defined]
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError):
            report.add("corrupt_image", path.name)
            continue
        for k, item in enumerate(record.items):  # type: ignore[attr-defined]
            label = label_fn(item)
            if label is None:
                report.add("unlabelled_item", f"{path.name}#{k}")
                continue
            if allowed is not None and label not in allowed:
                report.add("unknown_class", f"{path.name}#{k}: {label!r}")
                continue
            box = padded_box(item.bbox, image.width, image.height, pad)
            if box is None:
                report.add("degenerate_box", f"{path.name}#{k}: {item.bbox}")
                continue
            target = out_dir / label / f"{path.stem}_{k}.jpg"
            atomic_write_bytes(target, _jpeg_bytes(image.crop(box), quality))
            written.append((target, label))
    return written, report


def scan_imagefolder(
    root: str | os.PathLike, classes: Sequence[str] = FINE_CATEGORIES, strict: bool = False
) -> tuple[list[tuple[Path, int]], SkipReport]:
    """List ``root/<class>/<image>`` as ``(path, index in classes)``, sorted.

    Folders not in ``classes`` are refused: each is counted as ``unknown_class_folder`` (the
    examples name the folders and their file counts) and its files are skipped; with ``strict``
    a ValueError names them all. Non-image files and files outside a class folder are counted
    and skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder root {root} does not exist")
    index = {name: i for i, name in enumerate(classes)}
    report = SkipReport(name=f"image folder {root.name}")
    samples: list[tuple[Path, int]] = []
    unknown = []
    for entry in sorted(root.iterdir()):
        if not entry.is_dir():
            report.add("file_outside_class_folder", entry.name)
            continue
        files = sorted(p for p in entry.rglob("*") if p.is_file())
        if entry.name not in index:
            unknown.append(entry.name)
            report.add("unknown_class_folder", f"{entry.name}/ ({len(files)} files)")
            continue
        for path in files:
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                samples.append((path, index[entry.name]))
            else:
                report.add("not_an_image", path.relative_to(root))
    if strict and unknown:
        raise ValueError(f"{root}: folder(s) {unknown} are not classes of the taxonomy")
    return samples, report
