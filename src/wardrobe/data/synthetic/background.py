"""Backgrounds: plain, gradients, textures (wood, linen, tiles), noise, and non-garment clutter.

Clutter is deliberately *not* garment-like: discs, boxes, triangles, lines and rings (a table,
a plant pot, a cable), so a detector learns garments rather than "any object".
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("plain", "gradient", "wood", "linen", "tiles", "noise")
SHOP_KINDS = ("plain", "gradient")


def _random_rgb(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> np.ndarray:
    return rng.integers(lo, hi, 3).astype(np.float32)


def _gradient(shape, rng, c0, c1) -> np.ndarray:
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    t = np.cos(a) * xs / w + np.sin(a) * ys / h
    if rng.uniform() < 0.3:
        t = np.hypot(xs / w - 0.5, ys / h - 0.5) * 1.4
    t = (t - t.min()) / max(np.ptp(t), 1e-6)
    return c0 * (1 - t[..., None]) + c1 * t[..., None]


def _wood(shape, rng) -> np.ndarray:
    h, w = shape
    base = _random_rgb(rng, 90, 200) * np.array([1.0, 0.75, 0.5], np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    plank = max(12, int(rng.integers(h // 8, h // 3)))
    grain = np.sin(xs / rng.uniform(3, 9) + 3 * np.sin(ys / rng.uniform(20, 60)))
    stripes = ((ys // plank) % 2) * 0.08
    img = base * (1 + 0.08 * grain[..., None] - stripes[..., None])
    img[(ys.astype(int) % plank) < 2] *= 0.6
    return img


def _linen(shape, rng) -> np.ndarray:
    base = _random_rgb(rng, 140, 240)
    noise = rng.standard_normal(shape, dtype=np.float32)
    weave = cv2.blur(noise, (1, 5)) + cv2.blur(noise, (5, 1))
    return base * (1 + 0.06 * weave[..., None])


def _tiles(shape, rng) -> np.ndarray:
    h, w = shape
    img = np.empty((h, w, 3), np.float32)
    img[:] = _random_rgb(rng, 120, 250)
    step = int(rng.integers(24, 64))
    grout = _random_rgb(rng, 60, 200)
    img[::step] = grout
    img[:, ::step] = grout
    return cv2.dilate(img, np.ones((2, 2), np.uint8)) if rng.uniform() < 0.5 else img


def _noise(shape, rng) -> np.ndarray:
    small = rng.uniform(40, 230, (max(2, shape[0] // 16), max(2, shape[1] // 16), 3))
    return cv2.resize(small.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def background(
    shape: tuple[int, int], rng: np.random.Generator, kind: str | None = None, light: bool = False
) -> np.ndarray:
    """A background image (float32 HxWx3, 0..255). ``light``: a pale shop backdrop."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    if light:
        c0 = _random_rgb(rng, 215, 256)
        c1 = np.clip(c0 - rng.uniform(0, 30), 0, 255)
        img = np.broadcast_to(c0, (*shape, 3)).copy() if kind == "plain" else None
        img = _gradient(shape, rng, c0, c1) if img is None else img
    elif kind == "plain":
        img = np.broadcast_to(_random_rgb(rng, 30, 250), (*shape, 3)).copy()
    elif kind == "gradient":
        img = _gradient(shape, rng, _random_rgb(rng), _random_rgb(rng))
    else:
        img = {"wood": _wood, "linen": _linen, "tiles": _tiles, "noise": _noise}[kind](shape, rng)
    img = img.astype(np.float32) + 2.0 * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(img, 0, 255)


def add_clutter(img: np.ndarray, rng: np.random.Generator, count: int, mask=None) -> None:
    """Draw ``count`` non-garment objects (discs, boxes, triangles, rings, cables) in place;
    also into ``mask`` (uint8) when given, to know what they cover."""
    h, w = img.shape[:2]
    for _ in range(count):
        _clutter_one(img, rng, h, w, mask)


def _clutter_one(img, rng, h, w, mask) -> None:
    targets = [img] if mask is None else [img, mask]
    colour = _random_rgb(rng).tolist()
    c = (int(rng.integers(w)), int(rng.integers(h)))
    r = int(rng.integers(max(4, min(h, w) // 20), max(6, min(h, w) // 6)))
    kind = int(rng.integers(5))
    tri = (np.array(c) + rng.integers(-r, r, (3, 2))).astype(np.int32)
    cable = (np.array(c) + np.cumsum(rng.integers(-r, r, (5, 2)), axis=0)).astype(np.int32)
    for target in targets:
        value = colour if target is img else 255
        if kind == 0:
            cv2.circle(target, c, r, value, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(target, (c[0] - r, c[1] - r // 2), (c[0] + r, c[1] + r // 2), value, -1)
        elif kind == 2:
            cv2.fillPoly(target, [tri], value, cv2.LINE_AA)
        elif kind == 3:
            cv2.circle(target, c, r, value, max(2, r // 4), cv2.LINE_AA)
        else:
            cv2.polylines(target, [cable], False, value, max(2, r // 6), cv2.LINE_AA)
