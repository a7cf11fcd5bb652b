"""Footwear in side view (heel at x=0, toe at x=1, ground at y=0, up is negative y).

Soles, heels, shafts, laces and straps tell the seven kinds apart. Drawn in shoe units and scaled
to body units (a shoe is ~0.45 of a torso long).
"""

from __future__ import annotations

import numpy as np

from ..sketch import INSIDE, METAL, SEAM, Op, Sketch, bezier, ellipse

SHOE_SCALE = 0.45
SOLE_LIGHT = 1.55  # light rubber sole, a tint of the upper's colour
SOLE_DARK = 0.45


def _scaled(sk: Sketch, k: float = SHOE_SCALE) -> Sketch:
    ops = [Op(o.kind, o.pts * k, o.tone, o.width * k, o.patterned, o.closed) for o in sk.ops]
    box = None if sk.print_box is None else tuple(v * k for v in sk.print_box)
    return Sketch(ops, sk.texture, sk.stripe_angle, box)


def _laces(sk: Sketch, start, end, n: int, tone=1.5) -> None:
    a, b = np.asarray(start, float), np.asarray(end, float)
    d = b - a
    normal = np.array([-d[1], d[0]]) / np.linalg.norm(d) * 0.05
    for t in np.linspace(0, 1, n):
        p = a + t * d
        sk.line([p - normal, p + normal], tone, 0.022)


def sneakers(spec, rng: np.random.Generator) -> Sketch:
    """Thick light sole with a toe bumper, laces, padded collar and a side stripe."""
    sk = Sketch(stripe_angle=0.0, texture="plain", print_box=(0.5, -0.17, 0.16))
    upper = [
        (0.02, -0.1),
        (0.0, -0.3),
        (0.06, -0.38),
        (0.2, -0.36),
        (0.34, -0.33),
        (0.62, -0.27),
        (0.86, -0.2),
        (0.99, -0.1),
    ]
    sk.body(upper)
    sk.part([(0.0, 0.0), (0.96, 0.0), (1.03, -0.05), (1.0, -0.11), (0.0, -0.11)], SOLE_LIGHT)
    sk.line([(0.02, -0.06), (1.0, -0.06)], 1.2, 0.012)
    sk.part([(0.34, -0.33), (0.4, -0.4), (0.5, -0.38), (0.46, -0.3)], 0.9)
    _laces(sk, (0.42, -0.32), (0.68, -0.24), 5)
    sk.line(bezier((0.18, -0.13), (0.42, -0.2), (0.62, -0.14)), 1.35, 0.05)
    sk.line([(0.06, -0.38), (0.2, -0.36)], 0.7, 0.03)
    return _scaled(sk)


def dress_shoes(spec, rng: np.random.Generator) -> Sketch:
    """Long sleek Oxford: thin dark sole, low stacked heel, toe cap seam, closed lacing, gloss."""
    sk = Sketch(texture="leather")
    upper = [
        (0.02, -0.05),
        (0.0, -0.22),
        (0.05, -0.27),
        (0.3, -0.24),
        (0.56, -0.2),
        (0.82, -0.14),
        (1.04, -0.08),
        (1.08, -0.04),
    ]
    sk.body(upper)
    sk.part([(0.0, 0.0), (0.24, 0.0), (0.24, -0.06), (0.0, -0.06)], SOLE_DARK)
    sk.part(
        [(0.24, -0.015), (1.05, -0.015), (1.1, -0.035), (1.06, -0.05), (0.24, -0.05)], SOLE_DARK
    )
    sk.line(bezier((0.74, -0.04), (0.8, -0.17), (0.86, -0.14)), SEAM, 0.015)
    _laces(sk, (0.36, -0.235), (0.5, -0.21), 3, tone=0.5)
    sk.line([(0.05, -0.27), (0.32, -0.235)], 0.6, 0.02)
    return _scaled(sk)


def loafers(spec, rng: np.random.Generator) -> Sketch:
    """Slip-on: low vamp, moc-toe stitch, penny strap across the instep, low heel."""
    sk = Sketch(texture="leather")
    upper = [
        (0.02, -0.05),
        (0.0, -0.2),
        (0.06, -0.23),
        (0.3, -0.17),
        (0.46, -0.22),
        (0.7, -0.19),
        (0.92, -0.12),
        (1.0, -0.05),
    ]
    sk.body(upper)
    sk.part([(0.06, -0.23), (0.3, -0.17), (0.46, -0.22), (0.3, -0.2)], INSIDE)
    sk.part([(0.0, 0.0), (0.2, 0.0), (0.2, -0.05), (0.0, -0.05)], SOLE_DARK)
    sk.part([(0.2, -0.01), (0.98, -0.01), (1.02, -0.03), (0.2, -0.04)], SOLE_DARK)
    sk.line(bezier((0.62, -0.2), (0.9, -0.2), (0.98, -0.06)), SEAM, 0.015)
    sk.part([(0.45, -0.22), (0.58, -0.2), (0.58, -0.12), (0.45, -0.13)], 0.8)
    sk.line([(0.48, -0.18), (0.55, -0.18)], INSIDE, 0.02)
    return _scaled(sk)


def boots(spec, rng: np.random.Generator) -> Sketch:
    """Tall shaft above the ankle, lug sole, block heel, laces or a side zip, pull tab."""
    sk = Sketch(texture="leather")
    shaft = 0.75 + 0.15 * rng.uniform()
    upper = [
        (0.0, -0.08),
        (0.02, -shaft),
        (0.38, -shaft),
        (0.4, -0.4),
        (0.66, -0.26),
        (0.92, -0.18),
        (1.0, -0.1),
    ]
    sk.body(upper)
    sk.part([(0.0, 0.0), (0.98, 0.0), (1.03, -0.05), (1.0, -0.1), (0.0, -0.1)], SOLE_DARK)
    for x in np.linspace(0.05, 0.9, 9):
        sk.line([(x, 0.0), (x, -0.03)], 0.3, 0.02)
    sk.part([(0.0, -shaft), (0.38, -shaft), (0.38, -shaft + 0.05), (0.0, -shaft + 0.05)], 0.8)
    if rng.uniform() < 0.6:
        _laces(sk, (0.37, -shaft + 0.1), (0.46, -0.36), 6, tone=1.45)
    else:
        sk.line([(0.22, -shaft + 0.06), (0.24, -0.14)], METAL, 0.02)
    sk.part([(0.04, -shaft - 0.07), (0.1, -shaft - 0.07), (0.1, -shaft), (0.04, -shaft)], 0.7)
    return _scaled(sk)


def sandals(spec, rng: np.random.Generator) -> Sketch:
    """Open sandal: flat footbed and a few straps with the foot's space showing through."""
    sk = Sketch(texture="leather")
    sk.body([(0.0, 0.0), (0.97, 0.0), (1.02, -0.04), (0.97, -0.08), (0.0, -0.08)])
    sk.part([(0.02, -0.07), (0.97, -0.07), (0.99, -0.09), (0.02, -0.09)], 1.4)
    sk.line(ellipse(0.16, -0.17, 0.13, 0.1, 180, 360, n=12), 1.0, 0.05)
    sk.line(bezier((0.28, -0.08), (0.38, -0.32), (0.5, -0.08)), 1.0, 0.06)
    sk.line(bezier((0.62, -0.08), (0.72, -0.24), (0.84, -0.08)), 1.0, 0.06)
    sk.dot((0.04, -0.17), 0.025, METAL)
    return _scaled(sk)


def heels(spec, rng: np.random.Generator) -> Sketch:
    """High heel pump: stiletto heel, arched sole, pointed toe, low-cut shell."""
    sk = Sketch(texture="leather")
    h = 0.42
    shell = [
        (0.0, -h),
        (0.02, -h - 0.18),
        (0.1, -h - 0.16),
        (0.45, -0.2),
        (0.7, -0.1),
        (0.95, -0.04),
        (1.05, -0.01),
        (0.7, 0.0),
        *bezier((0.62, 0.0), (0.3, -0.05), (0.04, -h + 0.02), 8),
    ]
    sk.body(shell)
    sk.part([(0.1, -h - 0.16), (0.45, -0.2), (0.2, -h + 0.02)], INSIDE)
    sk.part([(0.02, -h + 0.03), (0.1, -h + 0.03), (0.075, 0.0), (0.05, 0.0)], SOLE_DARK)
    return _scaled(sk)


def flats(spec, rng: np.random.Generator) -> Sketch:
    """Ballet flat: very low profile, thin sole, rounded toe, small bow on the vamp."""
    sk = Sketch(texture="plain")
    upper = [
        (0.02, -0.02),
        (0.0, -0.13),
        (0.05, -0.15),
        (0.4, -0.1),
        (0.62, -0.14),
        (0.88, -0.1),
        (1.0, -0.04),
        (0.98, 0.0),
    ]
    sk.body([*upper, (0.02, 0.0)])
    sk.part([(0.05, -0.15), (0.4, -0.1), (0.62, -0.14), (0.4, -0.125)], INSIDE)
    sk.part([(0.0, 0.0), (0.99, 0.0), (1.0, -0.02), (0.0, -0.025)], 0.6)
    sk.part([(0.56, -0.17), (0.62, -0.14), (0.56, -0.11)], 0.75)
    sk.part([(0.68, -0.17), (0.62, -0.14), (0.68, -0.11)], 0.75)
    return _scaled(sk)


SHAPES = {
    "sneakers": sneakers,
    "dress_shoes": dress_shoes,
    "loafers": loafers,
    "boots": boots,
    "sandals": sandals,
    "heels": heels,
    "flats": flats,
}
