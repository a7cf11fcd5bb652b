"""Dresses: length (mini .. maxi), skirt shape and straps or sleeves (the DF2 class)."""

from __future__ import annotations

import numpy as np

from ..sketch import INSIDE, SEAM, Sketch, bezier, ellipse, symmetric
from .parts import ARMPIT_Y, SHOULDER_Y, crew_neck, sleeve_kind, sleeve_set, v_neck

WAIST_Y = 0.55


def _length(rng: np.random.Generator, base: float) -> float:
    return base * rng.uniform(0.97, 1.03)


def _bodice(sk: Sketch, kind: str, waist: float, neckline: str = "crew") -> None:
    """Upper part down to the waist: sleeves or straps of the DF2 class, and a neckline."""
    if kind in ("long", "short"):
        sleeve_set(sk, kind, long_angle=22.0, shoulder=0.4, chest=0.37)
        half = [(0.13, 0.0), (0.4, SHOULDER_Y), (0.37, ARMPIT_Y), (waist, WAIST_Y)]
        sk.body(symmetric([*half, (0.0, WAIST_Y)]))
        (v_neck if neckline == "v" else crew_neck)(sk)
    elif kind == "vest":
        half = [(0.13, 0.0), (0.24, 0.0), *bezier((0.24, 0.0), (0.25, 0.28), (0.36, 0.34), 8)]
        sk.body(symmetric([*half, (waist, WAIST_Y), (0.0, WAIST_Y)]))
        sk.hole(np.concatenate([ellipse(0, 0, 0.13, 0.2, 0, 180), [(0.0, -0.001)]]))
    else:
        top = 0.24
        half = [(0.1, top), (0.34, top - 0.02), (0.36, top + 0.1), (waist, WAIST_Y), (0.0, WAIST_Y)]
        sk.body(symmetric(half))
        for sign in (1.0, -1.0):
            sk.line([(sign * 0.15, top), (sign * 0.2, 0.0)], 0.8, 0.018)


def _skirt(sk: Sketch, waist: float, length: float, hem: float, knee=None) -> None:
    """Skirt part from the waist to the hem (``knee`` = (y, half-width) for a mermaid)."""
    half = [(waist, WAIST_Y)]
    if knee is not None:
        half.append(knee)
    half += [(hem, length), (0.0, length + 0.02)]
    sk.body(symmetric([(0.0, WAIST_Y), *half]))


def casual_dress(spec, rng: np.random.Generator) -> Sketch:
    """Knee-length shift dress: straight, little flare, no waist seam, patch pockets."""
    sk = Sketch(stripe_angle=0.0, texture="plain", print_box=(0.0, 0.4, 0.26))
    length = _length(rng, 1.75)
    _bodice(sk, sleeve_kind(spec.df2_class), 0.36)
    _skirt(sk, 0.36, length, 0.48)
    for sign in (1.0, -1.0):
        sk.line(
            [(sign * 0.2, 0.95), (sign * 0.36, 0.95), (sign * 0.37, 1.15), (sign * 0.21, 1.15)],
            SEAM,
            0.01,
            closed=True,
        )
    return sk


def formal_dress(spec, rng: np.random.Generator) -> Sketch:
    """Floor-length gown: fitted to the knee then flared (mermaid), satin sheen, waist sash."""
    sk = Sketch(stripe_angle=90.0, texture="satin")
    length = _length(rng, 2.6)
    _bodice(sk, sleeve_kind(spec.df2_class), 0.27, neckline="v")
    _skirt(sk, 0.27, length, 0.62, knee=(0.3, 1.75))
    sk.part(
        [
            (-0.28, WAIST_Y - 0.04),
            (0.28, WAIST_Y - 0.04),
            (0.29, WAIST_Y + 0.05),
            (-0.29, WAIST_Y + 0.05),
        ],
        0.75,
    )
    for t in (-0.5, 0.0, 0.5):
        sk.line([(t * 0.3, 1.8), (t * 0.62, length)], 0.8, 0.01)
    return sk


def maxi_dress(spec, rng: np.random.Generator) -> Sketch:
    """Floor-length relaxed dress in gathered tiers."""
    sk = Sketch(stripe_angle=0.0, texture="plain")
    length = _length(rng, 2.5)
    _bodice(sk, sleeve_kind(spec.df2_class), 0.35)
    tiers = np.linspace(WAIST_Y, length, 4)
    widths = (0.35, 0.44, 0.53, 0.64)
    for i in range(3):
        y0, y1, w0, w1 = tiers[i], tiers[i + 1], widths[i], widths[i + 1]
        sk.body([(-w0, y0), (w0, y0), (w1, y1), (-w1, y1)])
        sk.line([(-w0, y0), (w0, y0)], 0.75, 0.012)
        for x in np.linspace(-0.9, 0.9, 7):
            sk.line([(x * w0, y0 + 0.01), (x * w0 * 1.02, y0 + 0.08)], 0.8, 0.008)
    return sk


def midi_dress(spec, rng: np.random.Generator) -> Sketch:
    """Mid-calf fit-and-flare dress: belted waist, A-line pleated skirt."""
    sk = Sketch(stripe_angle=90.0, texture="plain")
    length = _length(rng, 2.1)
    _bodice(sk, sleeve_kind(spec.df2_class), 0.29, neckline="v")
    _skirt(sk, 0.29, length, 0.6)
    sk.part(
        [
            (-0.3, WAIST_Y - 0.035),
            (0.3, WAIST_Y - 0.035),
            (0.31, WAIST_Y + 0.04),
            (-0.31, WAIST_Y + 0.04),
        ],
        0.55,
    )
    sk.dot((0.0, WAIST_Y), 0.03, 0.4)
    for t in (-0.66, -0.33, 0.33, 0.66):
        sk.line([(t * 0.29, WAIST_Y + 0.05), (t * 0.6, length)], 0.82, 0.01)
    return sk


def mini_dress(spec, rng: np.random.Generator) -> Sketch:
    """Short fitted dress ending high on the thigh."""
    sk = Sketch(stripe_angle=0.0, texture="satin", print_box=(0.0, 0.4, 0.24))
    length = _length(rng, 1.25)
    _bodice(sk, sleeve_kind(spec.df2_class), 0.3)
    _skirt(sk, 0.3, length, 0.44)
    sk.line([(-0.3, WAIST_Y), (0.3, WAIST_Y)], SEAM, 0.01)
    return sk


def sundress(spec, rng: np.random.Generator) -> Sketch:
    """Strappy sundress: square neckline, smocked bodice, full flared skirt to the knee."""
    sk = Sketch(stripe_angle=90.0, texture="plain")
    length = _length(rng, 1.7)
    kind = sleeve_kind(spec.df2_class)
    top = 0.26
    half = [(0.18, top), (0.35, top), (0.36, top + 0.08), (0.31, WAIST_Y), (0.0, WAIST_Y)]
    sk.body(symmetric(half))
    strap = 0.06 if kind == "vest" else 0.018
    for sign in (1.0, -1.0):
        sk.line([(sign * 0.24, top), (sign * 0.22, 0.0)], 1.0, strap)
    for y in np.linspace(top + 0.05, WAIST_Y - 0.03, 5):
        sk.line([(-0.33, y), (0.33, y)], 0.78, 0.008)
    _skirt(sk, 0.31, length, 0.68)
    sk.part([(-0.18, top), (0.18, top), (0.18, top + 0.015), (-0.18, top + 0.015)], INSIDE)
    return sk


SHAPES = {
    "casual_dress": casual_dress,
    "formal_dress": formal_dress,
    "maxi_dress": maxi_dress,
    "midi_dress": midi_dress,
    "mini_dress": mini_dress,
    "sundress": sundress,
}
