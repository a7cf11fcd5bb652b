"""Garment parts shared by several categories: torsos, sleeves, necklines, collars, plackets."""

from __future__ import annotations

import numpy as np

from ..sketch import GOLD, INSIDE, METAL, SEAM, Sketch, bezier, ellipse, mirror, rect, symmetric

SHOULDER_Y = 0.07  # shoulder seam drop below the neck point
ARMPIT_Y = 0.33


def sleeve_kind(df2_class: str | None) -> str:
    """``long``, ``short``, ``vest`` (wide straps), ``sling`` (thin straps) from a DF2 class."""
    if df2_class is None:
        return "long"
    if df2_class.startswith("long_sleeve"):
        return "long"
    if df2_class.startswith("short_sleeve"):
        return "short"
    return "sling" if df2_class.startswith("sling") else "vest"


def torso(
    sk: Sketch,
    length: float,
    shoulder: float = 0.42,
    chest: float = 0.4,
    hem: float = 0.4,
    neck: float = 0.13,
    hem_drop: float = 0.0,
) -> None:
    """Front of a top: neck points at y=0, shoulders, armpits, hem (``hem_drop`` curves it)."""
    half = [(neck, 0.0), (shoulder, SHOULDER_Y), (chest, ARMPIT_Y), (hem, length - hem_drop)]
    if hem_drop:
        half += list(
            bezier(
                (hem, length - hem_drop),
                (hem * 0.6, length + hem_drop * 0.3),
                (0.0, length + hem_drop * 0.2),
                n=6,
            )[1:]
        )
    else:
        half.append((0.0, length))
    sk.body(symmetric(half))


def sleeves(
    sk: Sketch,
    length: float,
    angle: float,
    end: float,
    cuff: float = 0.0,
    shoulder: float = 0.42,
    chest: float = 0.4,
    cuff_tone=0.85,
    flare: float = 0.0,
):
    """Two sleeves hanging at ``angle`` degrees from vertical, ending ``end`` wide."""
    a = np.radians(angle)
    for sign in (1.0, -1.0):
        s = np.array([sign * shoulder, SHOULDER_Y])
        p = np.array([sign * chest, ARMPIT_Y])
        d = np.array([sign * np.sin(a), np.cos(a)])
        n = np.array([-sign * np.cos(a), np.sin(a)])
        e1 = s + length * d - flare * n
        e2 = s + length * d + (end + flare) * n
        sk.body([s, e1, e2, p])
        sk.line([s, p], SEAM, 0.01)
        if cuff:
            t = 1 - cuff / length
            sk.part([s + t * (e1 - s), e1, e2, p + t * (e2 - p)], cuff_tone)


def sleeve_set(sk: Sketch, kind: str, long_angle: float = 24.0, cuff: float = 0.0, **kw) -> None:
    """Sleeves for a DF2 sleeve kind (nothing for vest/sling: straps are drawn by the torso)."""
    if kind == "long":
        sleeves(sk, 0.98, long_angle, 0.13, cuff=cuff, **kw)
    elif kind == "short":
        sleeves(sk, 0.34, 58.0, 0.19, cuff=min(cuff, 0.06), **kw)


def strap_torso(
    sk: Sketch,
    length: float,
    kind: str,
    chest: float = 0.38,
    hem: float = 0.4,
    neck_depth: float = 0.24,
) -> None:
    """Sleeveless top: wide straps and a scoop neck (vest) or thin straps (sling)."""
    if kind == "vest":
        half = [(0.13, 0.0), (0.25, 0.0)]
        half += list(bezier((0.25, 0.0), (0.26, 0.3), (chest, 0.36), n=8)[1:])
        half += [(hem, length), (0.0, length)]
        sk.body(symmetric(half))
        scoop = np.concatenate([ellipse(0, 0, 0.13, neck_depth, 0, 180), [(0.0, -0.001)]])
        sk.hole(scoop)
        sk.line(ellipse(0, 0, 0.13, neck_depth, 0, 180), 0.85, 0.02)
        return
    top = 0.26
    half = [
        (0.08, top - 0.02),
        (chest - 0.02, top),
        (chest, top + 0.1),
        (hem, length),
        (0.0, length),
    ]
    sk.body(symmetric(half))
    for sign in (1.0, -1.0):
        sk.line([(sign * 0.14, top), (sign * 0.2, 0.0)], 0.8, 0.018)
    sk.line(bezier((-chest + 0.02, top), (0, top + 0.05), (chest - 0.02, top)), 0.82, 0.02)


def crew_neck(sk: Sketch, w: float = 0.13, depth: float = 0.08, band: float = 0.025) -> None:
    """Round neckline: the inside of the back shows above the front rib band."""
    front = ellipse(0, 0, w, depth, 0, 180, n=16)
    back = ellipse(0, 0, w, 0.03, 180, 360, n=12)
    sk.part(np.concatenate([front, back]), INSIDE)
    sk.line(front, 0.82, band)


def v_neck(sk: Sketch, w: float = 0.13, depth: float = 0.3, band: float = 0.03) -> None:
    """V neckline with a rib band."""
    back = ellipse(0, 0, w, 0.03, 180, 360, n=12)
    sk.part(np.concatenate([[(w, 0.0), (0.0, depth), (-w, 0.0)], back]), INSIDE)
    sk.line([(-w, 0.0), (0.0, depth), (w, 0.0)], 0.82, band)


def shirt_collar(
    sk: Sketch,
    w: float = 0.12,
    tip=(0.15, 0.2),
    button_down: bool = False,
    rounded: bool = False,
    tone=1.02,
) -> None:
    """Turn-down collar: a visible back band and two flaps with pointed (or round) tips."""
    sk.part(
        np.concatenate(
            [ellipse(0, -0.01, w, 0.06, 180, 360, n=12), [(w, 0.02), (0.0, 0.06), (-w, 0.02)]]
        ),
        0.8,
    )
    flap = np.array([(0.004, 0.07), (w + 0.01, -0.035), (w + 0.05, 0.01), tip])
    if rounded:
        flap = np.concatenate([flap[:3], bezier(flap[2], (tip[0] + 0.04, tip[1]), tip, 6)])
    for pts in (flap, mirror(flap)):
        sk.part(pts, tone, patterned=True)
        sk.line(pts, SEAM, 0.01, closed=True)
    if button_down:
        for sign in (1.0, -1.0):
            sk.dot((sign * (tip[0] - 0.02), tip[1] - 0.03), 0.012, 0.5)


def placket(sk: Sketch, y0: float, y1: float, buttons: int, w: float = 0.035, tone=0.5) -> None:
    """Button placket: two seams and evenly spaced buttons on the centre front."""
    for x in (-w, w):
        sk.line([(x, y0), (x, y1)], SEAM, 0.008)
    for y in np.linspace(y0 + 0.04, y1 - 0.04, buttons):
        sk.dot((0.0, y), 0.016, tone)


def pocket(sk: Sketch, x0, y0, x1, y1, flap: bool = False, tone=SEAM) -> None:
    """Patch pocket outline (optionally with a flap)."""
    sk.line(rect(x0, y0, x1, y1), tone, 0.01, closed=True)
    if flap:
        sk.part(
            [
                (x0 - 0.01, y0 - 0.02),
                (x1 + 0.01, y0 - 0.02),
                (x1 + 0.01, y0 + 0.05),
                ((x0 + x1) / 2, y0 + 0.08),
                (x0 - 0.01, y0 + 0.05),
            ],
            0.85,
        )


def band(sk: Sketch, y0: float, y1: float, w0: float, w1: float, tone=0.82) -> None:
    """A horizontal rib band (hem, waistband) from half-width ``w0`` at ``y0`` to ``w1``."""
    sk.part([(-w0, y0), (w0, y0), (w1, y1), (-w1, y1)], tone)


def zip_line(sk: Sketch, pts, teeth: bool = True) -> None:
    """A zip: metal line with a pull at its top."""
    pts = np.asarray(pts, dtype=np.float64)
    sk.line(pts, METAL, 0.018 if teeth else 0.012)
    top = pts[0]
    sk.part(
        [
            (top[0] - 0.02, top[1]),
            (top[0] + 0.02, top[1]),
            (top[0] + 0.015, top[1] + 0.07),
            (top[0] - 0.015, top[1] + 0.07),
        ],
        METAL,
    )


def buttons(sk: Sketch, xs, ys, r: float = 0.02, tone=0.45) -> None:
    """Buttons at every (x, y) of the grid ``xs`` x ``ys``."""
    for x in xs:
        for y in ys:
            sk.dot((x, y), r, tone)


def gold_buttons(sk: Sketch, xs, ys, r: float = 0.022) -> None:
    """Metal (brass) buttons."""
    buttons(sk, xs, ys, r, GOLD)
