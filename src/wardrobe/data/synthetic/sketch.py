"""A garment drawing in body units: polygons, lines and dots recorded as ops, rasterised later.

Shapes are written in *body units* (the torso of a wearer, shoulder to hip, is 1.0; y points
down), so garments keep their real proportions: shorts are squat, a maxi dress is long, a tie is
thin. The rasteriser maps them to pixels with one affine transform (scale, fit width, rotation).

Tones: a float ``k`` is the fabric's primary colour shaded (``k < 1`` darker, ``k > 1`` lighter);
``("c2", k)`` is the secondary colour shaded; a 3-tuple is a literal material colour (sRGB).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Tone = float | tuple
Points = np.ndarray

INSIDE = 0.55  # tone of the garment's inside (seen through a neckline or an opening)
SEAM = 0.72  # tone of seams and outlines
METAL = (176, 176, 182)
GOLD = (196, 160, 72)


@dataclass
class Op:
    """One drawing operation in body units."""

    kind: str  # body | hole | part | line | dot
    pts: Points
    tone: Tone = 1.0
    width: float = 0.0
    patterned: bool = False
    closed: bool = False


@dataclass
class Sketch:
    """A garment drawing: ordered ops plus hints for patterns, texture and prints."""

    ops: list[Op] = field(default_factory=list)
    texture: str = "plain"  # plain | denim | knit | heather | weave | leather | satin | canvas
    stripe_angle: float | None = None  # degrees; None = let the pattern choose
    print_box: tuple[float, float, float] | None = None  # (cx, cy, size) of a graphic print

    def body(self, pts) -> Sketch:
        """Add fabric (patterned) to the garment."""
        self.ops.append(Op("body", _arr(pts)))
        return self

    def hole(self, pts) -> Sketch:
        """Cut an opening: the background shows through."""
        self.ops.append(Op("hole", _arr(pts)))
        return self

    def part(self, pts, tone: Tone = 1.0, patterned: bool = False) -> Sketch:
        """Add a region painted with ``tone`` (or the pattern shaded by ``tone``)."""
        self.ops.append(Op("part", _arr(pts), tone, patterned=patterned))
        return self

    def line(self, pts, tone: Tone = SEAM, width: float = 0.012, closed: bool = False) -> Sketch:
        """Draw a seam, outline or string (adds to the garment where it leaves the fabric)."""
        self.ops.append(Op("line", _arr(pts), tone, width, closed=closed))
        return self

    def dot(self, centre, radius: float, tone: Tone = 0.6) -> Sketch:
        """Draw a button, rivet or hole."""
        cx, cy = np.asarray(centre, dtype=np.float64).reshape(-1)[:2]
        self.ops.append(Op("dot", ellipse(cx, cy, radius, radius, n=12), tone))
        return self

    def extent_points(self) -> Points:
        """Points of everything that adds to the garment (for its bounding box)."""
        kept = [op.pts for op in self.ops if op.kind in ("body", "part", "line")]
        return np.concatenate(kept, axis=0)

    def mirrored(self) -> Sketch:
        """The same drawing flipped left-right (a shoe facing the other way)."""
        flip = np.array([-1.0, 1.0])
        ops = [Op(o.kind, o.pts * flip, o.tone, o.width, o.patterned, o.closed) for o in self.ops]
        box = self.print_box
        box = None if box is None else (-box[0], box[1], box[2])
        return Sketch(ops, self.texture, self.stripe_angle, box)


def _arr(pts) -> Points:
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


# ---- geometry helpers (all in body units) --------------------------------------------------
def ellipse(cx: float, cy: float, rx: float, ry: float, a0=0.0, a1=360.0, n: int = 24) -> Points:
    """Points on an elliptic arc from ``a0`` to ``a1`` degrees (0 = +x, 90 = +y i.e. down)."""
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def bezier(p0, p1, p2, n: int = 12) -> Points:
    """Quadratic Bezier curve through control point ``p1``."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def rect(x0: float, y0: float, x1: float, y1: float) -> Points:
    """Axis-aligned rectangle."""
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64)


def mirror(pts) -> Points:
    """Reflect points about x = 0."""
    return _arr(pts) * np.array([-1.0, 1.0])


def symmetric(half) -> Points:
    """A left-right symmetric outline from its right half (listed top to bottom)."""
    half = _arr(half)
    return np.concatenate([half, mirror(half)[::-1]], axis=0)


def both_sides(sk: Sketch, method: str, pts, *args, **kwargs) -> None:
    """Call ``sk.<method>`` on ``pts`` and on their mirror image."""
    getattr(sk, method)(pts, *args, **kwargs)
    getattr(sk, method)(mirror(pts), *args, **kwargs)


def polyline_between(a, b, n: int = 2) -> Points:
    """A straight polyline from ``a`` to ``b``."""
    return np.linspace(np.asarray(a, float), np.asarray(b, float), n)
