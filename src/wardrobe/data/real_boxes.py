"""Boxes for one-garment photos that come without any: foreground segmentation.

Real garment collections (clothing-dataset-small) show one garment a photo on a floor, bed, wall
or hanger, with a class label and no box. A detector needs boxes, so this module derives one:

1. the photo is shrunk to :data:`WORK_SIDE` px (speed; a box needs no detail);
2. the background is modelled from the photo's border ring in CIELAB: k-means over the ring's
   pixels, keeping the clusters that cover at least :data:`MIN_BORDER_SHARE` of the ring (a
   garment touching one edge covers little of the ring, so it does not become "background");
3. a pixel is foreground when its CIELAB distance to every background colour exceeds a threshold
   (Otsu's on the distance map, never under :data:`MIN_DELTA_E`);
4. opening and closing clean the mask; the box is the union of the components that hold at least
   :data:`MIN_COMPONENT_SHARE` of the foreground (a garment's sleeve separated by a fold stays in).

A photo whose mask is implausible (under :data:`MIN_FOREGROUND` of the photo) gets no box: the
caller counts it and leaves the photo out of detector training rather than teaching a wrong box.
The contact sheet of :func:`box_contact_sheet` is how a person checks the boxes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

WORK_SIDE = 160
BORDER = 0.05  # ring width, fraction of the shorter side
BORDER_CLUSTERS = 3
MIN_BORDER_SHARE = 0.15
MIN_DELTA_E = 12.0
MIN_COMPONENT_SHARE = 0.08
MIN_FOREGROUND = 0.04


@dataclass(frozen=True)
class DerivedBox:
    """A derived box in the photo's pixels, and the share of the photo that is foreground."""

    box: tuple[int, int, int, int]  # x1, y1, x2, y2
    foreground: float

    def normalised(self, width: int, height: int) -> tuple[float, float, float, float]:
        """YOLO ``(cx, cy, w, h)`` in 0..1."""
        x1, y1, x2, y2 = self.box
        return (
            (x1 + x2) / 2 / width,
            (y1 + y2) / 2 / height,
            (x2 - x1) / width,
            (y2 - y1) / height,
        )


def _border_ring(lab: np.ndarray) -> np.ndarray:
    h, w = lab.shape[:2]
    b = max(2, round(BORDER * min(h, w)))
    sides = (lab[:b], lab[-b:], lab[:, :b], lab[:, -b:])
    ring = np.concatenate([side.reshape(-1, 3) for side in sides])
    return ring.astype(np.float32)


def background_colours(lab: np.ndarray) -> np.ndarray:
    """CIELAB centres of the border-ring clusters that are background (``[K, 3]``)."""
    ring = _border_ring(lab)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, labels, centres = cv2.kmeans(ring, BORDER_CLUSTERS, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    shares = np.bincount(labels.ravel(), minlength=BORDER_CLUSTERS) / len(labels)
    return centres[shares >= MIN_BORDER_SHARE]


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """Boolean foreground mask of a one-garment photo (``uint8`` RGB ``[H, W, 3]``)."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0  # OpenCV's 8-bit L is 0..255; a and b are offset by 128
    lab[..., 1:] -= 128.0
    centres = background_colours(lab)
    distance = np.min(np.linalg.norm(lab[:, :, None, :] - centres[None, None], axis=-1), axis=-1)
    scaled = np.clip(distance * 2.0, 0, 255).astype(np.uint8)  # 0.5 delta E per grey level
    otsu, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = (scaled >= max(otsu, 2.0 * MIN_DELTA_E)).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2)
    return mask.astype(bool)


def derive_box(rgb: np.ndarray) -> DerivedBox | None:
    """The garment's box in ``rgb`` (its own pixels), or None when no plausible one is found."""
    height, width = rgb.shape[:2]
    scale = WORK_SIDE / max(height, width)
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))))
    mask = foreground_mask(small).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= MIN_COMPONENT_SHARE * areas.sum()) + 1
    share = float(areas[keep - 1].sum()) / mask.size
    if share < MIN_FOREGROUND:
        return None
    x1 = stats[keep, cv2.CC_STAT_LEFT].min()
    y1 = stats[keep, cv2.CC_STAT_TOP].min()
    x2 = (stats[keep, cv2.CC_STAT_LEFT] + stats[keep, cv2.CC_STAT_WIDTH]).max()
    y2 = (stats[keep, cv2.CC_STAT_TOP] + stats[keep, cv2.CC_STAT_HEIGHT]).max()
    box = (
        max(0, int(x1 / scale)),
        max(0, int(y1 / scale)),
        min(width, round(x2 / scale)),
        min(height, round(y2 / scale)),
    )
    return DerivedBox(box, share)


def derive_box_file(path: str | os.PathLike) -> DerivedBox | None:
    """:func:`derive_box` of an image file (None when unreadable too)."""
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError):
        return None
    return derive_box(rgb)


def box_contact_sheet(
    items: Sequence[tuple[str | os.PathLike, DerivedBox | None, str]],
    out: str | os.PathLike,
    columns: int = 8,
    cell: int = 160,
) -> Path:
    """A PNG grid of photos with their derived box (green) and caption; red frame: no box."""
    rows = max(1, -(-len(items) // columns))
    sheet = Image.new("RGB", (columns * cell, rows * (cell + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (path, derived, caption) in enumerate(items):
        with Image.open(path) as image:
            photo = image.convert("RGB")
        scale = cell / max(photo.size)
        thumb = photo.resize(
            (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
        )
        x0, y0 = (i % columns) * cell, (i // columns) * (cell + 14)
        sheet.paste(thumb, (x0, y0))
        if derived is None:
            draw.rectangle(
                [x0, y0, x0 + thumb.width - 1, y0 + thumb.height - 1], outline="red", width=3
            )
        else:
            x1, y1, x2, y2 = (round(v * scale) for v in derived.box)
            draw.rectangle([x0 + x1, y0 + y1, x0 + x2, y0 + y2], outline=(0, 220, 0), width=2)
        draw.text((x0 + 2, y0 + cell), caption[:26], fill="black")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
