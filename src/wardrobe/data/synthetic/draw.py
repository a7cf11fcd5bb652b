"""Render one garment: sketch (body units) -> pattern, parts, texture, light, noise -> pixels.

``render_garment`` gives a product-style canvas (the garment fitted into ``size`` x ``size``);
``render_at`` draws at a given body-unit scale on a tight canvas, for composing scenes where
garments keep their relative sizes.
"""

from __future__ import annotations

import cv2
import numpy as np

from .colour import jitter_colour
from .patterns import Frame, lighting, pattern_weight, texture_field
from .shapes import sketch_for
from .sketch import Sketch, Tone
from .spec import FIT_WIDTH, GarmentSpec

MAX_ANGLE = 6.0  # degrees of random tilt


def shade(rgb: np.ndarray, k: float) -> np.ndarray:
    """A visible shade of ``rgb``: ``k < 1`` adds contrast (darker, or lighter on very dark
    colours, where darker would vanish), ``k > 1`` lightens."""
    rgb = np.asarray(rgb, dtype=np.float32)
    if k >= 1:
        return rgb + (255 - rgb) * min(k - 1, 1.0)
    if float(rgb.mean()) < 60:
        return rgb + (255 - rgb) * (1 - k) * 0.45
    return rgb * k


def _tone_rgb(tone: Tone, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    if isinstance(tone, tuple) and tone and tone[0] == "c2":
        return shade(c2, float(tone[1]))
    if isinstance(tone, tuple):
        return np.asarray(tone, dtype=np.float32)
    return shade(c1, float(tone))


def garment_colours(spec: GarmentSpec, app_rng: np.random.Generator):
    """The exact shades of this garment (label-safe jitter of its palette colours)."""
    c1 = jitter_colour(spec.colour_primary, app_rng).astype(np.float32)
    c2 = c1 if spec.colour_secondary is None else jitter_colour(spec.colour_secondary, app_rng)
    return c1, np.asarray(c2, dtype=np.float32)


def rasterize(sketch: Sketch, spec: GarmentSpec, frame: Frame, app_rng, rng):
    """Draw ``sketch`` on ``frame``: returns (rgb uint8 HxWx3 black outside, mask bool HxW)."""
    fx = FIT_WIDTH[spec.fit]
    c1, c2 = garment_colours(spec, app_rng)
    w = pattern_weight(spec.pattern, frame, app_rng, sketch)[..., None]
    fabric = np.clip(c1 * (1 - w) + c2 * w, 0, 255).astype(np.uint8)
    img = fabric.copy()
    mask = np.zeros(frame.shape, np.uint8)
    for op in sketch.ops:
        pts = frame.fixed(op.pts * np.array([fx, 1.0]))
        _apply(op, pts, img, mask, fabric, frame.scale, c1, c2)
    field = texture_field(sketch.texture, frame, rng) * lighting(frame, rng, mask)
    out = img.astype(np.float32) * field[..., None]
    inside = mask > 0
    if spec.pattern == "solid" and inside.any():
        out[inside] = _match_mean(out[inside], c1)
    out += rng.uniform(1.5, 4.0) * rng.standard_normal(out.shape, dtype=np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    out[~inside] = 0
    return out, inside


def _match_mean(pixels: np.ndarray, target: np.ndarray, rounds: int = 4) -> np.ndarray:
    """Shift pixels so that their mean is ``target`` (the labelled shade), within 0..255.

    Clipping stops dark or light pixels from moving, so the shift is repeated: the others
    (trims, dials, soles) carry the rest.
    """
    for _ in range(rounds):
        pixels = np.clip(pixels + (target - pixels.mean(axis=0)), 0, 255)
    return pixels


def _apply(op, pts, img, mask, fabric, scale, c1, c2) -> None:
    """Rasterise one op onto the image and the mask."""
    if op.kind == "hole":
        cv2.fillPoly(mask, [pts], 0, cv2.LINE_8, 4)
        return
    if op.kind == "line":
        thick = max(1, round(op.width * scale))
        colour = _tone_rgb(op.tone, c1, c2).tolist()
        cv2.polylines(img, [pts], op.closed, colour, thick, cv2.LINE_AA, 4)
        cv2.polylines(mask, [pts], op.closed, 255, thick, cv2.LINE_8, 4)
        return
    region = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(region, [pts], 1, cv2.LINE_8, 4)
    sel = region.astype(bool)
    if op.kind == "body":
        img[sel] = fabric[sel]
    elif op.patterned:
        k = _tone_rgb(op.tone, c1, c2) / np.maximum(c1, 1.0)
        img[sel] = np.clip(fabric[sel] * np.clip(k, 0.2, 3.0), 0, 255).astype(np.uint8)
    else:
        img[sel] = _tone_rgb(op.tone, c1, c2).astype(np.uint8)
    mask[sel] = 255


def _layout(points: np.ndarray, angle: float, scale: float, shape=None, margin: float = 3.0):
    """Affine (2x3) from garment coords to pixels, and the canvas shape if none is given."""
    t = np.radians(angle)
    rot = scale * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    px = points @ rot.T
    lo, hi = px.min(axis=0), px.max(axis=0)
    if shape is None:
        shape = (int(np.ceil(hi[1] - lo[1] + 2 * margin)), int(np.ceil(hi[0] - lo[0] + 2 * margin)))
    centre = np.array([shape[1], shape[0]], dtype=np.float64) / 2
    offset = centre - (lo + hi) / 2
    return np.hstack([rot, offset[:, None]]), shape


def _rotated_extent(points: np.ndarray, angle: float) -> float:
    """Larger side of the bounding box of ``points`` turned by ``angle`` degrees."""
    t = np.radians(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    px = points @ rot.T
    return float((px.max(axis=0) - px.min(axis=0)).max())


def _prepare(spec: GarmentSpec, rng: np.random.Generator):
    app_rng = np.random.default_rng(spec.appearance_seed)
    sketch = sketch_for(spec, app_rng)
    if spec.group == "footwear" and rng.uniform() < 0.5:
        sketch = sketch.mirrored()
    points = sketch.extent_points() * np.array([FIT_WIDTH[spec.fit], 1.0])
    extent = float((points.max(axis=0) - points.min(axis=0)).max())
    return app_rng, sketch, points, extent


def render_garment(
    spec: GarmentSpec,
    size: int,
    rng: np.random.Generator,
    fill: tuple[float, float] = (0.74, 0.86),
    max_angle: float = MAX_ANGLE,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``spec`` centred in a ``size`` x ``size`` canvas (black outside the mask).

    The garment's larger side fills a random fraction ``fill`` of the canvas and it is tilted by
    up to ``max_angle`` degrees. Returns (rgb uint8 HxWx3, mask bool HxW).
    """
    app_rng, sketch, points, extent = _prepare(spec, rng)
    angle = rng.uniform(-max_angle, max_angle)
    scale = rng.uniform(*fill) * size / _rotated_extent(points, angle)
    affine, shape = _layout(points, angle, scale, shape=(size, size))
    affine[:, 2] += rng.uniform(-0.02, 0.02, 2) * size
    return rasterize(sketch, spec, Frame(affine, shape, extent), app_rng, rng)


def render_at(
    spec: GarmentSpec, unit_px: float, rng: np.random.Generator, max_angle: float = MAX_ANGLE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``spec`` with one body unit = ``unit_px`` pixels, on a tight canvas.

    Returns (rgb, mask, anchor): ``anchor`` is the pixel (x, y) of the garment's body origin
    (neck point of tops, dresses and outerwear; waist of bottoms), for placing it in a scene.
    """
    app_rng, sketch, points, extent = _prepare(spec, rng)
    affine, shape = _layout(points, rng.uniform(-max_angle, max_angle), unit_px)
    rgb, mask = rasterize(sketch, spec, Frame(affine, shape, extent), app_rng, rng)
    return rgb, mask, affine[:, 2].copy()
