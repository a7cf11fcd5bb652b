"""DeepFashion2: the raw per-image annotations and the COCO conversion.

Raw layout (one split)::

    <split>/image/000001.jpg
    <split>/annos/000001.json   {"source": "user", "pair_id": 1, "item1": {...}, "item2": {...}}

The top-level keys come in any order (real files start with ``item2``); every key other than
``source`` and ``pair_id`` is an item. ``bounding_box`` is ``[x1, y1, x2, y2]`` in pixels,
``landmarks`` is ``[x, y, v] * K`` with K the count of the item's own category, ``category_name``
is the raw name (``"short sleeve top"``). The COCO conversion (the official
``deepfashion2_to_coco.py``) has ``bbox = [x, y, w, h]`` and 294 * 3 keypoints per annotation.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from wardrobe.data.formats._io import atomic_write_text, probe_image
from wardrobe.data.formats.report import SkipReport
from wardrobe.taxonomy import DF2_CLASSES, DF2_NUM_LANDMARKS, DF2_RAW_NAMES

TOP_LEVEL_KEYS: frozenset[str] = frozenset({"source", "pair_id"})
# Offsets of each category's landmarks inside the 294-long COCO keypoint vector.
LANDMARK_OFFSETS: tuple[int, ...] = tuple(sum(DF2_NUM_LANDMARKS[:i]) for i in range(14))


@dataclass(frozen=True)
class Df2Item:
    """One garment of a DeepFashion2 image.

    ``bbox`` is ``(x1, y1, x2, y2)`` in pixels, ``segmentation`` a list of flat polygons,
    ``landmarks`` the flat ``[x, y, v] * K`` list for the item's category (may be empty).
    """

    category_id: int
    bbox: tuple[float, float, float, float]
    segmentation: list[list[float]] = field(default_factory=list)
    landmarks: list[float] = field(default_factory=list)
    style: int = 0
    occlusion: int = 1
    zoom_in: int = 1
    viewpoint: int = 2
    scale: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "bbox", tuple(float(v) for v in self.bbox))

    @property
    def category_name(self) -> str:
        """Class name as the COCO converter and the taxonomy spell it (``short_sleeve_top``)."""
        return DF2_CLASSES[self.category_id - 1]

    @property
    def raw_name(self) -> str:
        """``category_name`` as the raw annotations spell it (``short sleeve top``)."""
        return DF2_RAW_NAMES[self.category_id - 1]

    @property
    def yolo_class(self) -> int:
        """YOLO class index 0..12."""
        return self.category_id - 1


@dataclass(frozen=True)
class Df2Image:
    """One DeepFashion2 image with its items (``source`` is ``user``/``shop``, or ``unknown``)."""

    image_id: int
    image_path: Path
    source: str
    pair_id: int
    items: tuple[Df2Item, ...]
    width: int
    height: int


# ---------------------------------------------------------------------------- writing


def _num(value: float) -> int | float:
    """Integral values as ints (like the real files), others rounded to 2 decimals."""
    value = float(value)
    return int(value) if value.is_integer() else round(value, 2)


def df2_item_to_dict(item: Df2Item) -> dict:
    """The raw annotation dict of one item, keys in the order of the real files."""
    return {
        "segmentation": [[_num(v) for v in poly] for poly in item.segmentation],
        "scale": item.scale,
        "viewpoint": item.viewpoint,
        "zoom_in": item.zoom_in,
        "landmarks": [_num(v) for v in item.landmarks],
        "style": item.style,
        "bounding_box": [_num(v) for v in item.bbox],
        "category_id": item.category_id,
        "occlusion": item.occlusion,
        "category_name": item.raw_name,
    }


def df2_annotation_text(source: str, pair_id: int, items: Sequence[Df2Item]) -> str:
    """The text of a raw annotation file: one line, ``", "``/``": "`` separators."""
    record: dict = {"source": source, "pair_id": int(pair_id)}
    for k, item in enumerate(items, start=1):
        record[f"item{k}"] = df2_item_to_dict(item)
    return json.dumps(record)


def write_df2_annotation(
    annos_dir: str | os.PathLike,
    image_id: int,
    source: str,
    pair_id: int,
    items: Sequence[Df2Item],
) -> Path:
    """Write ``annos_dir/NNNNNN.json`` (atomically) exactly like DeepFashion2; return its path."""
    path = Path(annos_dir) / f"{int(image_id):06d}.json"
    return atomic_write_text(path, df2_annotation_text(source, pair_id, items))


# ---------------------------------------------------------------------------- reading


def load_annotation_dict(path: str | os.PathLike) -> dict:
    """Parse a raw annotation file: JSON, or a Python dict repr (as quoted in issues)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = ast.literal_eval(text)
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data


def clip_box(
    bbox: Sequence[float], width: int, height: int
) -> tuple[tuple[float, float, float, float], bool]:
    """Clip ``(x1, y1, x2, y2)`` to the image; return the box and whether it changed."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    clipped = (
        min(max(x1, 0.0), width),
        min(max(y1, 0.0), height),
        min(max(x2, 0.0), width),
        min(max(y2, 0.0), height),
    )
    return clipped, clipped != (x1, y1, x2, y2)


def validate_item(
    item: Df2Item, width: int, height: int, report: SkipReport, where: str
) -> Df2Item | None:
    """Check category and box of ``item``; clip a partly-outside box; None if unusable."""
    if not 1 <= item.category_id <= len(DF2_CLASSES):
        report.add("unknown_category", f"{where}: category_id={item.category_id}")
        return None
    box, changed = clip_box(item.bbox, width, height)
    if box[2] - box[0] < 1.0 or box[3] - box[1] < 1.0:
        report.add("degenerate_box", f"{where}: {list(item.bbox)} in {width}x{height}")
        return None
    expected = 3 * DF2_NUM_LANDMARKS[item.category_id - 1]
    if item.landmarks and len(item.landmarks) != expected:
        report.add("landmarks_length", f"{where}: {len(item.landmarks)} != {expected}")
    if changed:
        report.add("box_clipped", f"{where}: {list(item.bbox)} -> {list(box)}")
        return replace(item, bbox=box)
    return item


def item_from_raw(raw: dict) -> Df2Item:
    """A ``Df2Item`` from one raw ``itemN`` dict (raises KeyError/TypeError/ValueError)."""
    return Df2Item(
        category_id=int(raw["category_id"]),
        bbox=tuple(float(v) for v in raw["bounding_box"]),
        segmentation=[[float(v) for v in poly] for poly in raw.get("segmentation") or []],
        landmarks=[float(v) for v in raw.get("landmarks") or []],
        style=int(raw.get("style", 0)),
        occlusion=int(raw.get("occlusion", 1)),
        zoom_in=int(raw.get("zoom_in", 1)),
        viewpoint=int(raw.get("viewpoint", 2)),
        scale=int(raw.get("scale", 2)),
    )


def _item_sort_key(key: str) -> tuple[int, str]:
    suffix = key[4:] if key.startswith("item") else ""
    return (int(suffix), key) if suffix.isdigit() else (10**9, key)


def parse_df2_annotation(
    data: dict,
    image_id: int,
    image_path: Path,
    width: int,
    height: int,
    report: SkipReport,
) -> Df2Image | None:
    """Build a ``Df2Image`` from a raw annotation dict; bad items are counted and dropped."""
    items = []
    for key in sorted((k for k in data if k not in TOP_LEVEL_KEYS), key=_item_sort_key):
        where = f"{image_id:06d}/{key}"
        try:
            item = item_from_raw(data[key])
        except (KeyError, TypeError, ValueError) as exc:
            report.add("bad_item", f"{where}: {exc!r}")
            continue
        item = validate_item(item, width, height, report, where)
        if item is not None:
            items.append(item)
    if not items:
        report.add("no_valid_items", f"{image_id:06d}")
        return None
    return Df2Image(
        image_id=image_id,
        image_path=image_path,
        source=str(data.get("source", "unknown")),
        pair_id=int(data.get("pair_id", -1)),
        items=tuple(items),
        width=width,
        height=height,
    )


def load_df2_image(
    anno_path: Path, image_path: Path, report: SkipReport, check_image: bool = True
) -> Df2Image | None:
    """Read one annotation + image pair; count the reason and return None if unusable."""
    if not anno_path.is_file():
        report.add("missing_annotation", image_path.name)
        return None
    if not image_path.is_file():
        report.add("missing_image", anno_path.name)
        return None
    size = probe_image(image_path) if check_image else _header_size(image_path)
    if size is None:
        report.add("corrupt_image", image_path.name)
        return None
    try:
        data = load_annotation_dict(anno_path)
    except (OSError, ValueError, SyntaxError, UnicodeDecodeError) as exc:
        report.add("bad_annotation", f"{anno_path.name}: {type(exc).__name__}")
        return None
    return parse_df2_annotation(data, int(anno_path.stem), image_path, *size, report)


def _header_size(image_path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from the image header only (no decoding), else None."""
    try:
        with Image.open(image_path) as image:
            return image.size
    except (OSError, ValueError):
        return None


def df2_pairs(split_dir: str | os.PathLike) -> list[tuple[Path, Path]]:
    """``(annotation, image)`` paths of a split, by stem, sorted; either may not exist."""
    split_dir = Path(split_dir)
    images = {p.stem: p for p in (split_dir / "image").glob("*.jpg")}
    annos = {p.stem: p for p in (split_dir / "annos").glob("*.json")}
    image_dir, annos_dir = split_dir / "image", split_dir / "annos"
    stems = sorted(set(images) | set(annos))
    return [
        (annos.get(s, annos_dir / f"{s}.json"), images.get(s, image_dir / f"{s}.jpg"))
        for s in stems
        if s.isdigit()
    ]


def read_df2_split(
    split_dir: str | os.PathLike, check_images: bool = True
) -> tuple[list[Df2Image], SkipReport]:
    """Read ``<split>/image/*.jpg`` + ``<split>/annos/*.json``; skip and count bad files."""
    report = SkipReport(name=f"DeepFashion2 {Path(split_dir).name}")
    images = []
    for anno_path, image_path in df2_pairs(split_dir):
        image = load_df2_image(anno_path, image_path, report, check_image=check_images)
        if image is not None:
            images.append(image)
    return images, report


# ---------------------------------------------------------------------------- COCO conversion


def _coco_item(ann: dict) -> Df2Item:
    category_id = int(ann["category_id"])
    x, y, w, h = (float(v) for v in ann["bbox"])
    landmarks: list[float] = []
    keypoints = ann.get("keypoints") or []
    if 1 <= category_id <= len(DF2_CLASSES) and keypoints:
        lo, hi = LANDMARK_OFFSETS[category_id - 1], LANDMARK_OFFSETS[category_id]
        landmarks = [float(v) for v in keypoints[3 * lo : 3 * hi]]
    return Df2Item(
        category_id=category_id,
        bbox=(x, y, x + w, y + h),
        segmentation=[[float(v) for v in poly] for poly in ann.get("segmentation") or []],
        landmarks=landmarks,
        style=int(ann.get("style", 0)),
    )


def read_df2_coco(
    json_path: str | os.PathLike, image_dir: str | os.PathLike, check_images: bool = True
) -> tuple[list[Df2Image], SkipReport]:
    """Read the COCO-style DeepFashion2 JSON (``bbox = [x, y, w, h]``) into ``Df2Image``s.

    The COCO file has no ``source``: it is ``"unknown"``. ``pair_id`` comes from the image's
    first annotation. The JSON's own ``categories`` list is not trusted (test files trim it);
    category ids are checked against the taxonomy.
    """
    report = SkipReport(name=f"DeepFashion2 COCO {Path(json_path).name}")
    data = json.loads(Path(json_path).read_text(encoding="utf-8"))
    by_image: dict[int, list[dict]] = {}
    for ann in data.get("annotations", []):
        by_image.setdefault(int(ann["image_id"]), []).append(ann)
    images = []
    for entry in data.get("images", []):
        image = _coco_image(
            entry, by_image.pop(int(entry["id"]), []), Path(image_dir), report, check_images
        )
        if image is not None:
            images.append(image)
    for image_id in by_image:
        report.add("annotation_without_image", image_id)
    return images, report


def _coco_image(
    entry: dict, anns: Iterable[dict], image_dir: Path, report: SkipReport, check_images: bool
) -> Df2Image | None:
    image_id, path = int(entry["id"]), image_dir / entry["file_name"]
    anns = list(anns)
    if not anns:
        report.add("missing_annotation", entry["file_name"])
        return None
    width, height = int(entry["width"]), int(entry["height"])
    if check_images and probe_image(path) is None:
        report.add("corrupt_image" if path.is_file() else "missing_image", path.name)
        return None
    items = []
    for ann in anns:
        where = f"{image_id:06d}/ann{ann.get('id')}"
        try:
            item = _coco_item(ann)
        except (KeyError, TypeError, ValueError) as exc:
            report.add("bad_item", f"{where}: {exc!r}")
            continue
        item = validate_item(item, width, height, report, where)
        if item is not None:
            items.append(item)
    if not items:
        report.add("no_valid_items", f"{image_id:06d}")
        return None
    pair_id = int(anns[0].get("pair_id", -1))
    return Df2Image(image_id, path, "unknown", pair_id, tuple(items), width, height)
