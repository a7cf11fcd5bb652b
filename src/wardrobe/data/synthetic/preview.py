"""A contact sheet to look at: one crop per category, scenes with their boxes, a few outfits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from wardrobe.taxonomy import FINE_CATEGORIES

from .outfits import rule_violations

FONT = cv2.FONT_HERSHEY_SIMPLEX
INK = (20, 20, 20)
COLUMNS = 8


def _read(path: Path, size: int | None = None) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        img = np.full((size or 64, size or 64, 3), 128, np.uint8)
    return img if size is None else cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _label(img: np.ndarray, text: str, height: int = 16, scale: float = 0.38) -> np.ndarray:
    strip = np.full((height, img.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (2, height - 4), FONT, scale, INK, 1, cv2.LINE_AA)
    return np.concatenate([img, strip], axis=0)


def _grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    padded = [
        cv2.copyMakeBorder(
            t,
            2,
            h - t.shape[0] + 2,
            2,
            w - t.shape[1] + 2,
            cv2.BORDER_CONSTANT,
            value=(255, 255, 255),
        )
        for t in tiles
    ]
    blank = np.full_like(padded[0], 255)
    padded += [blank] * (-len(padded) % columns)
    rows = [np.concatenate(padded[i : i + columns], 1) for i in range(0, len(padded), columns)]
    return np.concatenate(rows, 0)


def _title(width: int, text: str) -> np.ndarray:
    bar = np.full((28, width, 3), 235, np.uint8)
    cv2.putText(bar, text, (6, 20), FONT, 0.6, INK, 1, cv2.LINE_AA)
    return bar


def crop_tiles(root: Path, crops) -> list[np.ndarray]:
    """The first crop of every category (a shop-style one if any), labelled."""
    first = {}
    for c in sorted(crops, key=lambda c: c.from_scene):
        first.setdefault(c.spec.category, c)
    tiles = []
    for cat in FINE_CATEGORIES:
        c = first.get(cat)
        img = _read(root / c.path) if c else np.full((128, 128, 3), 200, np.uint8)
        text = cat if c is None else f"{cat} ({c.spec.colour_primary})"
        tiles.append(_label(img, text))
    return tiles


def scene_tiles(root: Path, pairs, n: int = 6) -> list[np.ndarray]:
    """Scenes with their annotated boxes and class names drawn."""
    tiles = []
    for pair in pairs:
        for im in pair.images:
            if len(tiles) == n:
                return tiles
            path = root / "deepfashion2" / pair.split / "image" / f"{im['image_id']:06d}.jpg"
            img = _read(path)
            for box, cls in zip(im["boxes"], im["classes"], strict=True):
                cv2.rectangle(img, tuple(box[:2]), (box[2] - 1, box[3] - 1), (0, 0, 230), 2)
                cv2.putText(
                    img, cls, (box[0] + 3, box[1] + 12), FONT, 0.4, (0, 0, 230), 1, cv2.LINE_AA
                )
            tiles.append(_label(img, f"{im['source']} / {im['arrangement']}", 18, 0.45))
    return tiles


def outfit_rows(root: Path, poly: dict, n_pos: int = 3, n_neg: int = 3) -> list[np.ndarray]:
    """Outfits as rows of item images: positives, then hard negatives with the broken rule."""
    if not poly.get("splits"):
        return []
    split, cat = poly["splits"][0], poly["catalogue"]
    rows = []
    for members in split.members[:n_pos]:
        rows.append(_outfit_row(root, cat, members, "compatible"))
    pool = {
        t: m
        for o, ms in zip(split.outfits, split.members, strict=True)
        for t, m in zip(o.tokens, ms, strict=True)
    }
    for neg in [x for x in split.negatives if x.kind == "hard"][:n_neg]:
        members = [pool[t] for t in neg.tokens]
        broken = ", ".join(rule_violations([cat.specs[m] for m in members]))
        rows.append(_outfit_row(root, cat, members, f"hard negative: breaks {broken}"))
    return rows


def _outfit_row(root: Path, cat, members, text: str) -> np.ndarray:
    tiles = [
        _label(
            _read(root / "polyvore" / "images" / f"{cat.item_ids[m]}.jpg", 96),
            f"{cat.specs[m].category} {cat.specs[m].formality:.2f}",
            14,
            0.32,
        )
        for m in members
    ]
    row = np.concatenate(tiles, 1)
    return _label(row, text, 18, 0.45)


def write_preview(path, root, crops, pairs, poly) -> Path:
    """Write the contact sheet PNG and return its path."""
    root, path = Path(root), Path(path)
    sections = [("one crop per fine category", _grid(crop_tiles(root, crops), COLUMNS))]
    scenes = scene_tiles(root, pairs)
    if scenes:
        sections.append(("DeepFashion2 scenes (annotated boxes)", _grid(scenes, 3)))
    rows = outfit_rows(root, poly)
    if rows:
        sections.append(("Polyvore outfits (formality under each item)", _grid(rows, 1)))
    width = max(s.shape[1] for _, s in sections)
    parts = []
    for title, body in sections:
        body = cv2.copyMakeBorder(
            body, 0, 0, 0, width - body.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255)
        )
        parts += [_title(width, title), body]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(parts, 0))
    return path
