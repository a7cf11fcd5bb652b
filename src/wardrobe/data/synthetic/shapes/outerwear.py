"""Outerwear: open fronts, lapels, zips, hoods, lengths and materials tell them apart."""

from __future__ import annotations

import numpy as np

from ..sketch import (
    GOLD,
    INSIDE,
    METAL,
    SEAM,
    Sketch,
    bezier,
    both_sides,
    ellipse,
    mirror,
    rect,
    symmetric,
)
from .parts import (
    band,
    crew_neck,
    placket,
    pocket,
    shirt_collar,
    sleeve_kind,
    sleeve_set,
    torso,
    zip_line,
)
from .parts import buttons as button_grid

JACKET = {"shoulder": 0.46, "chest": 0.45}


def _length(rng: np.random.Generator, base: float) -> float:
    return base * rng.uniform(0.97, 1.03)


def _jacket_body(
    sk: Sketch,
    length: float,
    hem: float = 0.45,
    kind: str = "long",
    cuff: float = 0.0,
    angle: float = 20.0,
) -> None:
    sleeve_set(sk, kind, long_angle=angle, cuff=cuff, cuff_tone=0.85, **JACKET)
    torso(sk, length, hem=hem, **JACKET)


def _v_opening(sk: Sketch, depth: float, w: float = 0.12) -> None:
    """The open V of a jacket: the background (or what is worn under it) shows through."""
    sk.hole([(-w, -0.05), (w, -0.05), (w, 0.0), (0.0, depth), (-w, 0.0)])
    sk.part(np.concatenate([ellipse(0, 0.0, w, 0.05, 180, 360, n=10), [(0.0, 0.04)]]), INSIDE)


def _lapels(sk: Sketch, depth: float, peak: bool, width: float = 0.2) -> None:
    """Notched or peak lapels on both sides of the V."""
    tip = (width + 0.07, 0.08) if peak else (width + 0.03, 0.17)
    notch = (width - 0.01, 0.15) if peak else (width - 0.04, 0.13)
    lapel = np.array(
        [
            (0.12, 0.0),
            (0.15, -0.04),
            (width, 0.06),
            notch,
            tip,
            (width * 0.55, depth * 0.75),
            (0.0, depth),
        ]
    )
    for pts in (lapel, mirror(lapel)):
        sk.part(pts, 0.9, patterned=True)
        sk.line(pts, 0.6, 0.012, closed=True)


def blazer(spec, rng: np.random.Generator) -> Sketch:
    """Notched lapels, two brass buttons, patch pockets, cutaway front."""
    sk = Sketch(stripe_angle=90.0, texture="weave")
    length = _length(rng, 1.12)
    _jacket_body(sk, length)
    _v_opening(sk, 0.55)
    sk.hole([(0.0, 0.8), (0.16, length + 0.02), (-0.16, length + 0.02)])
    _lapels(sk, 0.55, peak=False)
    sk.line([(0.0, 0.55), (0.0, 0.8)], 0.6, 0.01)
    button_grid(sk, [0.03], [0.6, 0.74], 0.024, GOLD)
    both_sides(sk, "line", rect(0.2, 0.72, 0.38, 0.92), SEAM, 0.012, closed=True)
    return sk


def suit_jacket(spec, rng: np.random.Generator) -> Sketch:
    """Peak lapels, one button, welt pockets and a white pocket square."""
    sk = Sketch(stripe_angle=90.0, texture="plain")
    length = _length(rng, 1.16)
    _jacket_body(sk, length, hem=0.44)
    _v_opening(sk, 0.62)
    sk.hole([(0.0, 0.72), (0.1, length + 0.02), (-0.1, length + 0.02)])
    _lapels(sk, 0.62, peak=True, width=0.21)
    sk.line([(0.0, 0.62), (0.0, 0.72)], 0.6, 0.01)
    sk.dot((0.03, 0.67), 0.024, 0.35)
    both_sides(sk, "part", rect(0.2, 0.8, 0.37, 0.84), 0.7)
    sk.part([(-0.32, 0.3), (-0.2, 0.3), (-0.23, 0.24), (-0.28, 0.26)], (240, 240, 236))
    sk.part(rect(-0.33, 0.3, -0.19, 0.32), 0.7)
    return sk


def bomber(spec, rng: np.random.Generator) -> Sketch:
    """Satin bomber: rib collar, centre zip, puffy body gathered into a wide rib hem and cuffs."""
    sk = Sketch(stripe_angle=0.0, texture="satin", print_box=(-0.22, 0.35, 0.14))
    length = _length(rng, 0.95)
    sleeve_set(sk, "long", long_angle=24.0, cuff=0.13, cuff_tone=0.7, shoulder=0.47, chest=0.47)
    torso(sk, length - 0.12, shoulder=0.47, chest=0.48, hem=0.46)
    band(sk, length - 0.13, length, 0.44, 0.4, tone=0.7)
    crew_neck(sk, w=0.12, depth=0.07, band=0.05)
    zip_line(sk, [(0.0, 0.08), (0.0, length)])
    sk.line([(0.55, 0.35), (0.62, 0.5)], METAL, 0.012)
    return sk


def denim_jacket(spec, rng: np.random.Generator) -> Sketch:
    """Denim: shirt collar, button front, pointed chest pocket flaps, yoke seams, hem band."""
    sk = Sketch(stripe_angle=90.0, texture="denim")
    length = _length(rng, 0.92)
    _jacket_body(sk, length, hem=0.44, kind=sleeve_kind(spec.df2_class), cuff=0.08)
    band(sk, length - 0.1, length, 0.44, 0.44, tone=0.9)
    sk.line([(-0.46, 0.2), (-0.1, 0.24), (0.1, 0.24), (0.46, 0.2)], GOLD, 0.01)
    for sign in (1.0, -1.0):
        sk.line([(sign * 0.15, 0.24), (sign * 0.15, length - 0.1)], GOLD, 0.008)
        sk.part(
            [
                (sign * 0.18, 0.28),
                (sign * 0.36, 0.28),
                (sign * 0.36, 0.35),
                (sign * 0.27, 0.4),
                (sign * 0.18, 0.35),
            ],
            0.85,
        )
        sk.dot((sign * 0.27, 0.35), 0.014, METAL)
    placket(sk, 0.08, length - 0.02, 5, w=0.03, tone=METAL)
    shirt_collar(sk, w=0.13, tip=(0.2, 0.17))
    return sk


def leather_jacket(spec, rng: np.random.Generator) -> Sketch:
    """Biker jacket: wide lapels, diagonal zip, belt with buckle at the hem, zipped cuffs."""
    sk = Sketch(stripe_angle=90.0, texture="leather")
    length = _length(rng, 0.95)
    _jacket_body(sk, length, hem=0.44, cuff=0.0)
    for pts in (
        [(0.12, 0.0), (0.3, 0.06), (0.22, 0.24), (0.1, 0.36)],
        [(-0.12, 0.0), (-0.34, 0.08), (-0.3, 0.3), (-0.12, 0.2)],
    ):
        sk.part(pts, 0.8)
        sk.line(pts, 0.55, 0.012, closed=True)
    sk.part(np.concatenate([ellipse(0, 0, 0.12, 0.05, 180, 360, n=10), [(0.0, 0.05)]]), INSIDE)
    sk.line([(0.1, 0.36), (-0.12, length - 0.1)], METAL, 0.02)
    band(sk, length - 0.1, length, 0.44, 0.44, tone=0.8)
    sk.line(rect(-0.2, length - 0.1, -0.1, length), METAL, 0.015, closed=True)
    both_sides(sk, "line", [(0.22, 0.55), (0.34, 0.72)], METAL, 0.012)
    for sign in (1.0, -1.0):
        sk.line([(sign * 0.68, 0.82), (sign * 0.8, 0.98)], METAL, 0.012)
    return sk


def coat(spec, rng: np.random.Generator) -> Sketch:
    """Knee-length overcoat: wide notched lapels, double-breasted buttons, welt pockets."""
    sk = Sketch(stripe_angle=90.0, texture="weave")
    length = _length(rng, 1.85)
    sleeve_set(sk, "long", long_angle=14.0, cuff=0.0, **JACKET)
    torso(sk, length, hem=0.52, **JACKET)
    _v_opening(sk, 0.45, w=0.12)
    _lapels(sk, 0.45, peak=False, width=0.24)
    sk.line([(0.08, 0.45), (0.08, length)], 0.6, 0.012)
    button_grid(sk, [-0.1, 0.2], [0.55, 0.75, 0.95], 0.026, 0.4)
    both_sides(sk, "part", [(0.25, 1.15), (0.42, 1.1), (0.43, 1.14), (0.26, 1.19)], 0.7)
    if rng.uniform() < 0.5:
        band(sk, 0.98, 1.05, 0.47, 0.47, tone=0.8)
        sk.line(rect(-0.06, 0.96, 0.06, 1.07), 0.5, 0.015, closed=True)
    return sk


def parka(spec, rng: np.random.Generator) -> Sketch:
    """Long hooded parka: fur-trimmed hood, zip with storm flap, four flap pockets, waist cord."""
    sk = Sketch(stripe_angle=0.0, texture="heather")
    length = _length(rng, 1.5)
    sleeve_set(sk, "long", long_angle=18.0, cuff=0.1, cuff_tone=0.8, **JACKET)
    torso(sk, length, hem=0.5, **JACKET)
    hood = ellipse(0, -0.05, 0.29, 0.33, 180, 360, n=22)
    sk.part(np.concatenate([hood, [(0.2, 0.12), (-0.2, 0.12)]]), 0.95, patterned=True)
    sk.part(ellipse(0, -0.02, 0.18, 0.2), INSIDE)
    fur = ellipse(0, -0.02, 0.2, 0.22, 0, 360, n=40)
    for i, p in enumerate(fur):
        r = 0.05 if i % 2 else 0.03
        out = p + (p - np.array([0, -0.02])) / np.linalg.norm(p - [0, -0.02]) * r
        sk.line([p, out], (206, 196, 178), 0.018)
    sk.part(rect(-0.045, 0.17, 0.045, length), 0.88)
    button_grid(sk, [0.0], np.linspace(0.25, length - 0.1, 6), 0.016, 0.5)
    for x0 in (0.14, -0.38):
        pocket(sk, x0, 0.35, x0 + 0.24, 0.55, flap=True)
        pocket(sk, x0, 0.95, x0 + 0.24, 1.25, flap=True)
    sk.line([(-0.46, 0.78), (0.46, 0.78)], SEAM, 0.012)
    return sk


def vest(spec, rng: np.random.Generator) -> Sketch:
    """Sleeveless layer: a buttoned waistcoat with pointed hem, or a quilted zip gilet."""
    sk = Sketch(stripe_angle=90.0, texture="plain")
    length = _length(rng, 0.95)
    half = [(0.12, 0.0), (0.3, 0.04), *bezier((0.3, 0.04), (0.28, 0.3), (0.42, 0.38), 8)]
    if rng.uniform() < 0.5:  # waistcoat
        half += [(0.42, length - 0.08), (0.08, length + 0.06), (0.0, length - 0.02)]
        sk.body(symmetric(half))
        sk.hole([(-0.12, -0.05), (0.12, -0.05), (0.12, 0.0), (0.0, 0.45), (-0.12, 0.0)])
        sk.line([(0.0, 0.45), (0.0, length - 0.02)], 0.6, 0.01)
        button_grid(sk, [0.03], np.linspace(0.5, length - 0.1, 4), 0.018, 0.45)
        both_sides(sk, "line", [(0.18, 0.7), (0.33, 0.68)], SEAM, 0.016)
        return sk
    half += [(0.43, length), (0.0, length)]
    sk.body(symmetric(half))
    sk.part(rect(-0.13, -0.06, 0.13, 0.04), 0.85)
    for y in np.arange(0.16, length, 0.13):
        half = 0.27 if y < 0.34 else 0.41  # inside the armholes
        sk.line([(-half, y), (half, y)], 0.72, 0.01)
    zip_line(sk, [(0.0, -0.05), (0.0, length)])
    return sk


def cardigan(spec, rng: np.random.Generator) -> Sketch:
    """Knit cardigan: deep V with button bands down the front, rib hem and cuffs."""
    sk = Sketch(stripe_angle=0.0, texture="knit")
    length = _length(rng, 1.05)
    sleeve_set(sk, sleeve_kind(spec.df2_class), long_angle=22.0, cuff=0.12, cuff_tone=0.82)
    torso(sk, length, hem=0.41)
    sk.hole([(-0.12, -0.05), (0.12, -0.05), (0.12, 0.0), (0.0, 0.42), (-0.12, 0.0)])
    band(sk, length - 0.11, length, 0.41, 0.41, tone=0.82)
    for side in ([(0.12, 0.0), (0.0, 0.42)], [(-0.12, 0.0), (0.0, 0.42)]):
        sk.line(side, 0.8, 0.05)
    sk.line([(0.0, 0.42), (0.0, length)], 0.8, 0.05)
    button_grid(sk, [0.0], np.linspace(0.48, length - 0.08, 5), 0.018, 0.45)
    return sk


SHAPES = {
    "blazer": blazer,
    "suit_jacket": suit_jacket,
    "bomber": bomber,
    "denim_jacket": denim_jacket,
    "leather_jacket": leather_jacket,
    "coat": coat,
    "parka": parka,
    "vest": vest,
    "cardigan": cardigan,
}
