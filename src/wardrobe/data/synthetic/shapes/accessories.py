"""Accessories: belt, tie, scarf, hat, watch and bag, each with its own outline and hardware."""

from __future__ import annotations

import numpy as np

from ..sketch import GOLD, INSIDE, METAL, SEAM, Sketch, bezier, ellipse, rect, symmetric


def belt(spec, rng: np.random.Generator) -> Sketch:
    """A long strap with a metal buckle at one end, holes and a pointed tip at the other."""
    sk = Sketch(stripe_angle=0.0, texture="leather")
    length, w = 1.5, 0.1
    sag = np.stack([np.linspace(0, length, 16), 0.08 * np.sin(np.linspace(0, np.pi, 16))], 1)
    top, bottom = sag, sag[::-1] + np.array([0.0, w])
    sk.body(np.concatenate([top, [(length + 0.06, w / 2 + 0.0)], bottom]))
    metal = GOLD if rng.uniform() < 0.4 else METAL
    sk.line(rect(-0.07, -0.03, 0.05, w + 0.03), metal, 0.025, closed=True)
    sk.line([(-0.01, w / 2), (0.09, w / 2 + 0.005)], metal, 0.018)
    for x in np.linspace(length - 0.42, length - 0.18, 5):
        sk.dot((x, 0.08 * np.sin(np.pi * x / length) + w / 2), 0.013, INSIDE)
    sk.line(top[1:-1] + np.array([0.0, 0.015]), 0.75, 0.006)
    return sk


def tie(spec, rng: np.random.Generator) -> Sketch:
    """Necktie: a knot and a long blade widening to a pointed tip (diagonal stripes)."""
    sk = Sketch(stripe_angle=45.0, texture="satin")
    sk.body(symmetric([(0.0, 1.08), (0.1, 1.0), (0.085, 0.2), (0.05, 0.14), (0.0, 0.14)]))
    sk.part([(-0.07, 0.0), (0.07, 0.0), (0.05, 0.14), (-0.05, 0.14)], 0.85, patterned=True)
    sk.line([(-0.05, 0.14), (0.05, 0.14)], 0.6, 0.01)
    sk.line([(0.0, 0.16), (0.0, 0.3)], 0.75, 0.008)
    return sk


def scarf(spec, rng: np.random.Generator) -> Sketch:
    """Scarf hung in a loop: two long panels of unequal length with fringed ends."""
    sk = Sketch(stripe_angle=0.0, texture="knit")
    w = 0.24
    sk.body(
        np.concatenate(
            [ellipse(0, 0.12, 0.26, 0.16, 180, 360, n=14), [(0.26, 0.18), (-0.26, 0.18)]]
        )
    )
    sk.hole(ellipse(0, 0.1, 0.14, 0.08, 180, 360, n=10))
    ends = []
    for x0, length, lean in ((-0.26, 1.2, -0.04), (0.02, 0.95, 0.05)):
        panel = [(x0, 0.1), (x0 + w, 0.1), (x0 + w + lean, length), (x0 + lean, length)]
        sk.body(panel)
        ends.append((x0 + lean, x0 + w + lean, length))
    sk.line([(0.02, 0.12), (0.05, 0.95)], 0.7, 0.012)
    for x0, x1, y in ends:
        for x in np.linspace(x0 + 0.015, x1 - 0.015, 9):
            sk.line([(x, y - 0.01), (x, y + 0.08)], 0.9, 0.012)
    return sk


def hat(spec, rng: np.random.Generator) -> Sketch:
    """A fedora (wide brim, pinched crown, ribbon band) or a cap (dome and visor)."""
    sk = Sketch(stripe_angle=0.0, texture="plain")
    if rng.uniform() < 0.6:
        sk.body(ellipse(0, 0.0, 0.52, 0.1))
        crown = [
            (-0.27, 0.0),
            (-0.25, -0.3),
            (-0.1, -0.38),
            (0.0, -0.33),
            (0.1, -0.38),
            (0.25, -0.3),
            (0.27, 0.0),
        ]
        sk.body(crown)
        sk.part([(-0.27, -0.02), (0.27, -0.02), (0.265, -0.09), (-0.265, -0.09)], ("c2", 0.6))
        sk.line(bezier((-0.5, 0.03), (0.0, 0.12), (0.5, 0.03)), 0.75, 0.012)
        return sk
    sk.body(
        np.concatenate([ellipse(0, 0.0, 0.3, 0.3, 180, 360, n=20), [(0.3, 0.02), (-0.3, 0.02)]])
    )
    sk.part([(0.05, -0.02), (0.58, 0.02), (0.55, 0.08), (0.05, 0.04)], 0.8)
    sk.dot((0.0, -0.3), 0.03, 0.7)
    for t in (-0.5, 0.0, 0.5):
        sk.line(bezier((0.0, -0.29), (t * 0.5, -0.25), (t * 0.3, 0.0)), SEAM, 0.01)
    return sk


def watch(spec, rng: np.random.Generator) -> Sketch:
    """Wristwatch: round case and dial with hands and marks, strap above and below."""
    sk = Sketch(texture="leather")
    r = 0.13
    sk.body(rect(-0.07, -0.42, 0.07, 0.42))
    for y in np.linspace(0.2, 0.36, 4):
        sk.dot((0.0, y), 0.012, INSIDE)
    sk.line(rect(-0.08, -0.42, 0.08, -0.36), METAL, 0.015, closed=True)
    sk.part(ellipse(0, 0, r + 0.025, r + 0.025), METAL)
    sk.part(ellipse(0, 0, r, r), 1.5)
    for a in np.radians(np.arange(0, 360, 30)):
        sk.line(
            [
                (0.8 * r * np.cos(a), 0.8 * r * np.sin(a)),
                (0.95 * r * np.cos(a), 0.95 * r * np.sin(a)),
            ],
            0.35,
            0.01,
        )
    sk.line([(0.0, 0.0), (0.0, -0.7 * r)], 0.3, 0.012)
    sk.line([(0.0, 0.0), (0.5 * r, 0.2 * r)], 0.3, 0.016)
    sk.part(rect(r + 0.01, -0.02, r + 0.05, 0.02), METAL)
    return sk


def bag(spec, rng: np.random.Generator) -> Sketch:
    """Handbag: trapezoid body, flap with clasp, and a top handle (background shows through)."""
    sk = Sketch(stripe_angle=90.0, texture="leather", print_box=(0.0, 0.3, 0.22))
    sk.body([(-0.3, 0.0), (0.3, 0.0), (0.38, 0.55), (-0.38, 0.55)])
    handle_out = np.concatenate(
        [ellipse(0, 0.02, 0.2, 0.26, 180, 360, n=16), ellipse(0, 0.02, 0.15, 0.21, 0, -180, n=16)]
    )
    sk.part(handle_out, 0.85)
    sk.part(
        [(-0.31, 0.0), (0.31, 0.0), (0.33, 0.2), (0.0, 0.3), (-0.33, 0.2)], 0.88, patterned=True
    )
    sk.line([(-0.33, 0.2), (0.0, 0.3), (0.33, 0.2)], 0.6, 0.012)
    sk.part(rect(-0.04, 0.26, 0.04, 0.33), GOLD)
    sk.line([(-0.36, 0.52), (0.36, 0.52)], SEAM, 0.01)
    return sk


SHAPES = {"belt": belt, "tie": tie, "scarf": scarf, "hat": hat, "watch": watch, "bag": bag}
