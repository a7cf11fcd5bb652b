"""Fabric patterns, textures and lighting, computed on the pixel grid of a garment canvas.

Patterns give a weight map ``w`` in [0, 1] (0 = primary colour, 1 = secondary colour) defined in
the garment's own coordinates (``U, V`` body units), so a pattern turns with its garment. The
primary colour always covers most of the fabric (stripes, dots, prints stay < ~40 %), which is
what makes "primary" a well-defined, learnable label.
"""

from __future__ import annotations

import cv2
import numpy as np

from .sketch import Sketch, ellipse


class Frame:
    """Pixel grid <-> garment coordinates of one canvas.

    ``affine`` (2x3) maps garment coordinates ``(U, V)`` (body units, fit already applied) to
    pixels. ``extent`` is the garment's larger side in body units (pattern scale follows it, so
    a pattern stays readable in a small crop of a long garment).
    """

    def __init__(self, affine: np.ndarray, shape: tuple[int, int], extent: float) -> None:
        self.affine = affine
        self.shape = shape
        self.extent = extent
        self.scale = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))  # pixels per unit
        inv = cv2.invertAffineTransform(affine)
        ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
        inv = inv.astype(np.float32)
        self.u = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
        self.v = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]

    def to_px(self, pts: np.ndarray) -> np.ndarray:
        """Garment coordinates (N, 2) -> pixel coordinates (N, 2)."""
        return pts @ self.affine[:, :2].T + self.affine[:, 2]

    def fixed(self, pts: np.ndarray) -> np.ndarray:
        """Pixel coordinates as OpenCV fixed point (shift=4) int32 for sub-pixel drawing."""
        return np.round(self.to_px(pts) * 16).astype(np.int32)


def _band(s: np.ndarray, duty: float, aa: float) -> np.ndarray:
    """Anti-aliased periodic band: 1 inside the first ``duty`` fraction of each period."""
    d = np.abs(s - np.floor(s) - duty / 2)
    d = np.minimum(d, 1 - d)
    return np.clip((duty / 2 - d) / aa + 0.5, 0.0, 1.0)


def striped(f: Frame, rng: np.random.Generator, period: float, angle: float) -> np.ndarray:
    """Stripes running at ``angle`` degrees (0 horizontal, 90 vertical), ~35 % secondary."""
    t = np.radians(angle + 90.0)
    s = (f.u * np.cos(t) + f.v * np.sin(t)) / period + rng.uniform()
    return _band(s, rng.uniform(0.28, 0.4), 1.0 / (period * f.scale))


def plaid(f: Frame, rng: np.random.Generator, period: float) -> np.ndarray:
    """Tartan: wide translucent bands and thin lines in both directions."""
    p = period * 2.2
    aa = 1.0 / (p * f.scale)
    off = rng.uniform(size=4)
    wide = 0.5 * (_band(f.u / p + off[0], 0.24, aa) + _band(f.v / p + off[1], 0.24, aa))
    thin = np.maximum(_band(f.u / p + off[2], 0.05, aa), _band(f.v / p + off[3], 0.05, aa))
    return np.clip(0.55 * wide + 0.85 * thin * (1 - 0.55 * wide), 0.0, 1.0)


def checkered(f: Frame, rng: np.random.Generator, period: float) -> np.ndarray:
    """A checkerboard whose secondary squares are inset (primary stays the majority)."""
    cu, cv = f.u / period + rng.uniform(), f.v / period + rng.uniform()
    board = (np.floor(cu) + np.floor(cv)) % 2
    aa = 1.0 / (period * f.scale)
    inset = np.minimum(_band(cu - 0.15, 0.7, aa), _band(cv - 0.15, 0.7, aa))
    return board * inset


def polka_dot(f: Frame, rng: np.random.Generator, period: float) -> np.ndarray:
    """Dots on a staggered grid (~20 % coverage)."""
    p = period * 1.3
    cu, cv = f.u / p + rng.uniform(), f.v / p + rng.uniform()
    row = np.floor(cv)
    cu = cu + 0.5 * (row % 2)
    du, dv = cu - np.floor(cu) - 0.5, cv - row - 0.5
    dist = np.sqrt(du**2 + dv**2) * p
    radius = 0.26 * p
    return np.clip((radius - dist) * f.scale + 0.5, 0.0, 1.0)


def floral(f: Frame, rng: np.random.Generator, period: float) -> np.ndarray:
    """Five-petal flowers scattered on a jittered grid."""
    w = np.zeros(f.shape, np.float32)
    p = period * 2.6
    lo, hi = f.u.min(), f.u.max()
    vlo, vhi = f.v.min(), f.v.max()
    for cu in np.arange(lo - p, hi + p, p):
        for cv in np.arange(vlo - p, vhi + p, p):
            centre = np.array([cu, cv]) + rng.uniform(-0.3, 0.3, 2) * p
            _flower(w, f, centre, p * rng.uniform(0.16, 0.22), rng.uniform(0, 72))
    return w


def _flower(w: np.ndarray, f: Frame, centre: np.ndarray, r: float, phase: float) -> None:
    for k in range(5):
        a = np.radians(phase + 72 * k)
        c = centre + 1.1 * r * np.array([np.cos(a), np.sin(a)])
        cv2.fillPoly(w, [f.fixed(ellipse(c[0], c[1], r, r, n=10))], 1.0, cv2.LINE_AA, 4)
    cv2.fillPoly(w, [f.fixed(ellipse(centre[0], centre[1], 0.6 * r, 0.6 * r, n=8))], 0.5, 0, 4)


def abstract(f: Frame, rng: np.random.Generator, period: float) -> np.ndarray:
    """Organic blobs from thresholded smooth noise, plus a few brush strokes."""
    n = max(4, int(f.extent / (period * 2.5)))
    noise = rng.normal(size=(n, n)).astype(np.float32)
    u0, v0 = f.u.min(), f.v.min()
    span = max(f.u.max() - u0, f.v.max() - v0) + 1e-6
    gx = np.clip((f.u - u0) / span * (n - 1), 0, n - 1)
    gy = np.clip((f.v - v0) / span * (n - 1), 0, n - 1)
    field = cv2.remap(noise, gx.astype(np.float32), gy.astype(np.float32), cv2.INTER_CUBIC)
    w = np.clip((field - 0.55) * 3.0, 0.0, 1.0)
    for _ in range(3):
        pts = np.cumsum(rng.normal(scale=period, size=(6, 2)), axis=0) + np.array([u0, v0])
        pts += rng.uniform(0, span, 2)
        thick = max(1, int(period * 0.25 * f.scale))
        cv2.polylines(w, [f.fixed(pts)], False, 0.8, thick, cv2.LINE_AA, 4)
    return w


PRINT_SHAPES = ("star", "circle", "triangle", "bars", "diamond", "bolt")


def graphic(f: Frame, rng: np.random.Generator, sketch: Sketch) -> np.ndarray:
    """A print (logo, emblem, slogan bars) on the chest or the print area of the garment."""
    w = np.zeros(f.shape, np.float32)
    cx, cy, size = sketch.print_box or (0.0, 0.5 * (f.v.min() + f.v.max()), 0.3 * f.extent)
    kind = PRINT_SHAPES[int(rng.integers(len(PRINT_SHAPES)))]
    for poly, value in _print_polys(kind, cx, cy, size / 2):
        cv2.fillPoly(w, [f.fixed(poly)], value, cv2.LINE_AA, 4)
    return w


def _print_polys(kind: str, cx: float, cy: float, r: float) -> list[tuple[np.ndarray, float]]:
    c = np.array([cx, cy])
    if kind == "star":
        a = np.radians(np.arange(10) * 36 - 90)
        rad = np.where(np.arange(10) % 2 == 0, r, 0.42 * r)
        return [(c + np.stack([rad * np.cos(a), rad * np.sin(a)], 1), 1.0)]
    if kind == "circle":
        return [
            (ellipse(cx, cy, r, r), 1.0),
            (ellipse(cx, cy, 0.6 * r, 0.6 * r), 0.0),
            (ellipse(cx, cy, 0.3 * r, 0.3 * r), 1.0),
        ]
    if kind == "triangle":
        return [(c + r * np.array([(0, -1.0), (0.95, 0.7), (-0.95, 0.7)]), 1.0)]
    if kind == "diamond":
        return [(c + r * np.array([(0, -1.0), (0.7, 0), (0, 1.0), (-0.7, 0)]), 1.0)]
    if kind == "bolt":
        shape = [(0.2, -1), (-0.55, 0.1), (0, 0.1), (-0.2, 1), (0.55, -0.1), (0, -0.1)]
        return [(c + r * np.array(shape), 1.0)]
    bars = [
        (c + r * np.array([(-1, y), (1, y), (1, y + 0.32), (-1, y + 0.32)]), 1.0)
        for y in (-0.8, -0.2, 0.4)
    ]
    return bars


def pattern_weight(pattern: str, f: Frame, rng: np.random.Generator, sketch: Sketch) -> np.ndarray:
    """Weight map of the secondary colour for ``pattern`` (zeros for solid)."""
    period = 0.075 * f.extent * rng.uniform(0.85, 1.2)
    if pattern == "solid":
        return np.zeros(f.shape, np.float32)
    if pattern == "striped":
        angle = sketch.stripe_angle
        angle = float(rng.choice([0.0, 90.0])) if angle is None else angle
        return striped(f, rng, period * 0.8, angle)
    if pattern == "graphic":
        return graphic(f, rng, sketch)
    makers = {
        "plaid": plaid,
        "checkered": checkered,
        "polka_dot": polka_dot,
        "floral": floral,
        "abstract": abstract,
    }
    return makers[pattern](f, rng, period).astype(np.float32)


# ---- textures and lighting -----------------------------------------------------------------
def texture_field(kind: str, f: Frame, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative fabric texture (mean ~1) that helps tell materials apart."""
    h, w = f.shape
    if kind == "denim":
        s = (f.u + f.v) * f.scale / 2.2
        return (
            1 + 0.07 * np.sin(2 * np.pi * s) + 0.05 * rng.standard_normal((h, w), dtype=np.float32)
        )
    if kind == "knit":
        return 1 + 0.06 * np.sin(2 * np.pi * f.u * f.scale / 3.0)
    if kind == "heather":
        return 1 + 0.09 * cv2.GaussianBlur(rng.standard_normal((h, w), dtype=np.float32), (3, 3), 0)
    if kind == "weave":
        grid = np.sin(np.pi * f.u * f.scale / 1.5) * np.sin(np.pi * f.v * f.scale / 1.5)
        return 1 + 0.04 * np.sign(grid)
    if kind in ("leather", "satin"):
        return sheen(f, rng, 0.25 if kind == "leather" else 0.18)
    return np.ones((h, w), np.float32)


def sheen(f: Frame, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Soft specular highlights along the garment (leather, satin, polished shoes)."""
    t = np.radians(rng.uniform(60, 120))
    s = (f.u * np.cos(t) + f.v * np.sin(t)) / (0.35 * f.extent)
    return 1 + strength * np.maximum(np.sin(2 * np.pi * (s + rng.uniform())), 0) ** 6


def lighting(f: Frame, rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """Gradient light and soft fold shadows, normalised to mean 1 over the garment."""
    h, w = f.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(a) * xs + np.sin(a) * ys) / max(h, w)
    field = 1 + rng.uniform(0.05, 0.16) * (grad - grad.mean())
    folds = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(2, 6))):
        p0 = rng.uniform([0, 0], [w, h])
        p1 = p0 + rng.normal(scale=0.25 * max(h, w), size=2)
        thick = max(1, int(0.02 * max(h, w)))
        cv2.line(folds, tuple(map(int, p0)), tuple(map(int, p1)), 1.0, thick, cv2.LINE_AA)
    sigma = 0.02 * max(h, w) + 0.5
    folds = cv2.GaussianBlur(folds, (0, 0), sigma)
    field = field * (1 - rng.uniform(0.08, 0.18) * folds / max(folds.max(), 1e-6))
    inside = mask > 0
    if inside.any():
        field = field / field[inside].mean()
    return field.astype(np.float32)
