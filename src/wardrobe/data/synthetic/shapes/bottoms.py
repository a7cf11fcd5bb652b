"""Bottoms: leg length and taper, waistbands, pockets, cuffs and cloth texture tell them apart."""

from __future__ import annotations

import numpy as np

from ..sketch import GOLD, METAL, SEAM, Sketch, bezier, both_sides, mirror, rect, symmetric
from .parts import band

TROUSER_LENGTH = 1.6
SHORTS_LENGTH = 0.55


def legs(
    sk: Sketch,
    length: float,
    waist: float = 0.34,
    hip: float = 0.4,
    hem_out: float = 0.39,
    leg: float = 0.2,
    crotch: float = 0.36,
) -> tuple[float, float]:
    """Two legs from the waist (y=0) to ``length``; returns (outer, inner) hem x."""
    inner = hem_out - leg
    half = [
        (0.0, 0.0),
        (waist, 0.0),
        (hip, 0.28),
        (hem_out, length),
        (inner, length),
        (0.0, crotch),
    ]
    sk.body(np.concatenate([half, mirror(half[1:-1])[::-1]]))
    return hem_out, inner


def _length(rng: np.random.Generator, base: float) -> float:
    return base * rng.uniform(0.97, 1.03)


def _is_shorts(spec) -> bool:
    return spec.df2_class == "shorts"


def _waistband(sk: Sketch, waist: float, height: float = 0.07, loops: bool = True) -> None:
    band(sk, 0.0, height, waist, waist + 0.005, tone=0.88)
    if loops:
        for x in (-0.8, -0.3, 0.3, 0.8):
            sk.part(rect(x * waist - 0.012, -0.005, x * waist + 0.012, height + 0.02), 0.8)


def _drawstring_waist(sk: Sketch, waist: float, height: float = 0.1) -> None:
    band(sk, 0.0, height, waist + 0.01, waist, tone=0.85)
    for x in np.linspace(-waist + 0.03, waist - 0.03, 9):
        sk.line([(x, 0.01), (x, height - 0.01)], 0.7, 0.006)
    for sign in (1.0, -1.0):
        sk.line([(sign * 0.03, height * 0.5), (sign * 0.07, height + 0.22)], 1.25, 0.016)


def jeans(spec, rng: np.random.Generator) -> Sketch:
    """Denim: waistband, rivet button, J-stitch fly, curved pockets, contrast stitching."""
    sk = Sketch(texture="denim", stripe_angle=90.0)
    length = _length(rng, SHORTS_LENGTH if _is_shorts(spec) else TROUSER_LENGTH)
    out, inner = legs(sk, length, leg=0.22 if _is_shorts(spec) else 0.19)
    _waistband(sk, 0.34)
    sk.dot((0.0, 0.035), 0.022, METAL)
    sk.line(bezier((0.0, 0.07), (0.1, 0.12), (0.02, 0.3)), GOLD, 0.01)
    pocket = bezier((0.2, 0.07), (0.22, 0.19), (0.37, 0.2))
    both_sides(sk, "line", pocket, GOLD, 0.011)
    both_sides(sk, "line", [(0.395, 0.22), (out - 0.012, length - 0.02)], GOLD, 0.008)
    both_sides(sk, "dot", (0.36, 0.2), 0.012, METAL)
    if _is_shorts(spec):
        for x in np.linspace(inner, out, 8):
            sk.line([(x, length - 0.02), (x + 0.01, length + 0.025)], 1.4, 0.01)
            sk.line([(-x, length - 0.02), (-x - 0.01, length + 0.025)], 1.4, 0.01)
    return sk


def chinos(spec, rng: np.random.Generator) -> Sketch:
    """Twill trousers: belt loops, slant pockets, tapered legs with turn-up cuffs."""
    sk = Sketch(texture="weave", stripe_angle=90.0)
    shorts = _is_shorts(spec)
    length = _length(rng, SHORTS_LENGTH if shorts else TROUSER_LENGTH * 0.97)
    out, inner = legs(
        sk, length, hem_out=0.37 if not shorts else 0.4, leg=0.17 if not shorts else 0.21
    )
    _waistband(sk, 0.34)
    sk.dot((0.0, 0.035), 0.016, 0.5)
    both_sides(sk, "line", [(0.22, 0.07), (0.37, 0.24)], SEAM, 0.012)
    sk.line([(0.0, 0.07), (0.0, 0.3)], SEAM, 0.008)
    cuff = 0.08
    for sign in (1.0, -1.0):
        sk.part(
            [
                (sign * (out + 0.01), length - cuff),
                (sign * (inner - 0.01), length - cuff),
                (sign * (inner - 0.01), length),
                (sign * (out + 0.01), length),
            ],
            0.86,
        )
    return sk


def dress_pants(spec, rng: np.random.Generator) -> Sketch:
    """Tailored trousers: narrow waistband with tab, pressed centre creases, long straight legs."""
    sk = Sketch(texture="plain", stripe_angle=90.0)
    length = _length(rng, TROUSER_LENGTH * 1.04)
    out, inner = legs(sk, length, hem_out=0.38, leg=0.18)
    band(sk, 0.0, 0.05, 0.34, 0.345, tone=0.9)
    sk.part(rect(-0.02, 0.0, 0.07, 0.05), 0.8)
    sk.dot((0.05, 0.025), 0.01, METAL)
    sk.line([(0.0, 0.05), (0.0, 0.26)], SEAM, 0.008)
    crease = [(0.2, 0.08), ((out + inner) / 2, length)]
    both_sides(sk, "line", crease, 1.25, 0.012)
    both_sides(sk, "line", [(0.3, 0.06), (0.385, 0.2)], SEAM, 0.008)
    return sk


def shorts(spec, rng: np.random.Generator) -> Sketch:
    """Casual shorts: elastic drawstring waist, short wide legs with side piping."""
    sk = Sketch(texture="plain", stripe_angle=0.0)
    length = _length(rng, 0.5)
    out, inner = legs(sk, length, hem_out=0.43, leg=0.25, crotch=0.3)
    _drawstring_waist(sk, 0.34)
    both_sides(sk, "line", [(0.4, 0.1), (out - 0.005, length)], 1.45, 0.02)
    both_sides(sk, "line", [(out, length - 0.05), (inner, length - 0.05)], SEAM, 0.01)
    return sk


def sweatpants(spec, rng: np.random.Generator) -> Sketch:
    """Fleece sweatpants: wide drawstring waist, full straight legs, open hems, heather cloth."""
    sk = Sketch(texture="heather", stripe_angle=90.0)
    length = _length(rng, TROUSER_LENGTH * 0.97)
    legs(sk, length, waist=0.36, hip=0.43, hem_out=0.43, leg=0.23)
    _drawstring_waist(sk, 0.36, height=0.12)
    both_sides(sk, "line", [(0.27, 0.14), (0.38, 0.33)], SEAM, 0.012)
    return sk


def joggers(spec, rng: np.random.Generator) -> Sketch:
    """Joggers: drawstring waist, tapered legs gathered into rib ankle cuffs, zip pockets."""
    sk = Sketch(texture="plain", stripe_angle=90.0, print_box=(0.24, 0.5, 0.14))
    length = _length(rng, TROUSER_LENGTH * 0.93)
    out, inner = legs(sk, length - 0.1, waist=0.34, hip=0.41, hem_out=0.3, leg=0.15)
    _drawstring_waist(sk, 0.34)
    for sign in (1.0, -1.0):
        cuff = [
            (sign * (out - 0.01), length - 0.1),
            (sign * (inner + 0.01), length - 0.1),
            (sign * (inner + 0.02), length),
            (sign * (out - 0.02), length),
        ]
        sk.part(cuff, 0.8)
    both_sides(sk, "line", [(0.26, 0.16), (0.36, 0.36)], METAL, 0.012)
    return sk


def skirt(spec, rng: np.random.Generator) -> Sketch:
    """Skirt: waistband and a trapezoid (A-line, pleated or pencil) without legs."""
    sk = Sketch(texture="plain", stripe_angle=90.0)
    style = ("a_line", "pleated", "pencil")[int(rng.integers(3))]
    length = _length(rng, {"a_line": 0.7, "pleated": 0.62, "pencil": 0.8}[style])
    hem = {"a_line": 0.58, "pleated": 0.62, "pencil": 0.42}[style]
    half = [(0.0, 0.0), (0.31, 0.0), (0.38, 0.2), (hem, length), (0.0, length + 0.015)]
    sk.body(symmetric(half))
    band(sk, 0.0, 0.07, 0.31, 0.32, tone=0.85)
    if style == "pleated":
        for t in np.linspace(-0.85, 0.85, 8):
            sk.line([(t * 0.3, 0.07), (t * hem, length)], 0.78, 0.01)
    elif style == "pencil":
        sk.line([(0.0, length - 0.18), (0.0, length)], INSIDE_TONE, 0.02)
    return sk


INSIDE_TONE = 0.45


def leggings(spec, rng: np.random.Generator) -> Sketch:
    """Leggings: high wide waistband, skin-tight legs tapering to narrow ankles, no fly."""
    sk = Sketch(texture="satin", stripe_angle=90.0)
    length = _length(rng, TROUSER_LENGTH * 0.98)
    legs(sk, length, waist=0.3, hip=0.36, hem_out=0.2, leg=0.09, crotch=0.32)
    band(sk, 0.0, 0.12, 0.3, 0.31, tone=0.8)
    both_sides(sk, "line", [(0.34, 0.3), (0.2, length - 0.02)], 0.8, 0.008)
    return sk


SHAPES = {
    "jeans": jeans,
    "chinos": chinos,
    "dress_pants": dress_pants,
    "shorts": shorts,
    "sweatpants": sweatpants,
    "joggers": joggers,
    "skirt": skirt,
    "leggings": leggings,
}
