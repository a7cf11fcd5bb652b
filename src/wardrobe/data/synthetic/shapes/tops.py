"""Tops: crew necks, polo and shirt collars, plackets, hoods and rib bands tell them apart."""

from __future__ import annotations

import numpy as np

from ..sketch import INSIDE, SEAM, Sketch, bezier, ellipse, mirror, symmetric
from ..spec import GarmentSpec
from .parts import (
    band,
    crew_neck,
    placket,
    pocket,
    shirt_collar,
    sleeve_kind,
    sleeve_set,
    strap_torso,
    torso,
    v_neck,
)

CHEST_PRINT = (0.0, 0.42, 0.34)


def _length(rng: np.random.Generator, base: float) -> float:
    return base * rng.uniform(0.97, 1.03)


def t_shirt(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Crew neck, plain hem, short or long plain sleeves."""
    sk = Sketch(stripe_angle=0.0, print_box=CHEST_PRINT)
    kind = sleeve_kind(spec.df2_class)
    sleeve_set(sk, kind, long_angle=26.0)
    torso(sk, _length(rng, 1.0), hem=0.41)
    crew_neck(sk)
    return sk


def polo(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Polo collar, short three-button placket, ribbed sleeve ends."""
    sk = Sketch(stripe_angle=0.0, print_box=(0.22, 0.36, 0.1), texture="weave")
    sleeve_set(sk, sleeve_kind(spec.df2_class), cuff=0.06, cuff_tone=0.8)
    torso(sk, _length(rng, 1.0), hem=0.4)
    placket(sk, 0.05, 0.32, 3, w=0.04, tone=0.9)
    shirt_collar(sk, w=0.12, tip=(0.17, 0.15), rounded=True, tone=0.92)
    return sk


def tank_top(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """No sleeves: wide straps and a deep scoop (vest) or spaghetti straps (sling)."""
    sk = Sketch(stripe_angle=0.0, print_box=(0.0, 0.55, 0.3))
    strap_torso(sk, _length(rng, 1.05), sleeve_kind(spec.df2_class), chest=0.34, hem=0.37)
    return sk


def henley(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Round neck without a collar, a short placket with three buttons, slim long body."""
    sk = Sketch(stripe_angle=0.0, texture="knit")
    sleeve_set(sk, sleeve_kind(spec.df2_class), long_angle=22.0, cuff=0.08, cuff_tone=0.85)
    torso(sk, _length(rng, 1.08), hem=0.38, chest=0.38)
    crew_neck(sk, w=0.12, depth=0.07)
    placket(sk, 0.07, 0.36, 3, w=0.035, tone=0.45)
    return sk


def _shirt(spec, rng, collar_kw, pockets: int, hem_drop: float, texture: str) -> Sketch:
    sk = Sketch(stripe_angle=90.0, texture=texture)
    sleeve_set(sk, sleeve_kind(spec.df2_class), long_angle=20.0, cuff=0.1, cuff_tone=0.96)
    length = _length(rng, 1.08)
    torso(sk, length, hem=0.4, hem_drop=hem_drop)
    placket(sk, 0.06, length - 0.04, 6, w=0.032, tone=0.92)
    if pockets >= 1:
        pocket(sk, 0.12, 0.3, 0.29, 0.5, flap=pockets == 2)
    if pockets == 2:
        pocket(sk, -0.29, 0.3, -0.12, 0.5, flap=True)
    shirt_collar(sk, **collar_kw)
    return sk


def dress_shirt(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Spread collar, full button placket, French cuffs, curved shirt-tail hem, no pocket."""
    return _shirt(spec, rng, {"tip": (0.19, 0.16)}, pockets=0, hem_drop=0.1, texture="plain")


def oxford(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Button-down collar, chest pocket, basket-weave cloth, curved hem."""
    return _shirt(
        spec,
        rng,
        {"tip": (0.14, 0.22), "button_down": True},
        pockets=1,
        hem_drop=0.07,
        texture="weave",
    )


def flannel(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Shirt collar, two flap pockets, straight hem (plaid or checked cloth)."""
    return _shirt(spec, rng, {"tip": (0.16, 0.2)}, pockets=2, hem_drop=0.0, texture="heather")


def blouse(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Wide soft neckline with a bow, flared sleeves, peplum hem (or thin straps)."""
    sk = Sketch(stripe_angle=90.0, texture="satin")
    kind = sleeve_kind(spec.df2_class)
    length = _length(rng, 0.95)
    if kind == "sling":
        strap_torso(sk, length, "sling", chest=0.36, hem=0.46)
    else:
        sleeve_set(sk, kind, long_angle=30.0, flare=0.05)
        xs = np.linspace(0.5, 0.0, 15)
        waves = np.stack([xs, length + 0.025 * np.abs(np.sin(xs * 5 * np.pi))], axis=1)
        half = [(0.17, 0.0), (0.42, 0.07), (0.37, 0.33), (0.33, length - 0.25), *waves]
        sk.body(symmetric(half))
        sk.part(np.concatenate([ellipse(0, 0, 0.17, 0.14, 0, 180), [(0.0, -0.03)]]), INSIDE)
        sk.line(bezier((-0.33, length - 0.25), (0, length - 0.22), (0.33, length - 0.25)), SEAM)
    for sign in (1.0, -1.0):  # bow
        sk.part([(0.0, 0.16), (sign * 0.1, 0.1), (sign * 0.1, 0.22)], 0.9, patterned=True)
        sk.line([(0.0, 0.16), (sign * 0.05, 0.34)], 0.9, 0.025)
    sk.dot((0.0, 0.16), 0.025, 0.8)
    return sk


def sweater(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Chunky knit: rib hem band, rib cuffs, crew or V neck, boxy body."""
    sk = Sketch(stripe_angle=0.0, texture="knit")
    sleeve_set(sk, "long", long_angle=24.0, cuff=0.13, cuff_tone=0.82, shoulder=0.44, chest=0.42)
    length = _length(rng, 1.02)
    torso(sk, length, shoulder=0.44, chest=0.43, hem=0.41)
    band(sk, length - 0.12, length, 0.41, 0.39)
    if rng.uniform() < 0.5:
        v_neck(sk, depth=0.28, band=0.04)
    else:
        crew_neck(sk, depth=0.09, band=0.05)
    return sk


def hoodie(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Hood behind the neck, kangaroo pocket, drawstrings, rib cuffs and hem."""
    sk = Sketch(stripe_angle=0.0, texture="heather", print_box=(0.0, 0.36, 0.26))
    sleeve_set(sk, "long", long_angle=24.0, cuff=0.1, cuff_tone=0.85, shoulder=0.44)
    length = _length(rng, 1.02)
    torso(sk, length, shoulder=0.44, chest=0.42, hem=0.4)
    hood = np.concatenate(
        [ellipse(0, -0.04, 0.25, 0.3, 180, 360, n=20), [(0.2, 0.14), (-0.2, 0.14)]]
    )
    sk.part(hood, 0.95, patterned=True)
    sk.part(ellipse(0, 0.0, 0.14, 0.17, 0, 360), INSIDE)
    sk.line(ellipse(0, -0.04, 0.25, 0.3, 180, 360, n=20), SEAM, 0.012)
    band(sk, length - 0.1, length, 0.4, 0.4, tone=0.85)
    pocket_pts = [(-0.22, 0.58), (0.22, 0.58), (0.3, length - 0.12), (-0.3, length - 0.12)]
    sk.line(pocket_pts, SEAM, 0.014, closed=True)
    for sign in (1.0, -1.0):
        sk.line([(sign * 0.07, 0.14), (sign * 0.08, 0.42)], 0.9, 0.018)
    return sk


def sweatshirt(spec: GarmentSpec, rng: np.random.Generator) -> Sketch:
    """Thick rib crew collar, raglan seams, wide rib hem band and cuffs."""
    sk = Sketch(stripe_angle=0.0, texture="heather", print_box=CHEST_PRINT)
    sleeve_set(sk, "long", long_angle=24.0, cuff=0.13, cuff_tone=0.8, shoulder=0.44)
    length = _length(rng, 0.98)
    torso(sk, length, shoulder=0.44, chest=0.42, hem=0.38)
    band(sk, length - 0.13, length, 0.39, 0.37, tone=0.8)
    crew_neck(sk, w=0.13, depth=0.08, band=0.06)
    raglan = np.array([(0.12, 0.05), (0.42, 0.33)])
    sk.line(raglan, SEAM, 0.012)
    sk.line(mirror(raglan), SEAM, 0.012)
    return sk


SHAPES = {
    "t_shirt": t_shirt,
    "polo": polo,
    "tank_top": tank_top,
    "henley": henley,
    "dress_shirt": dress_shirt,
    "oxford": oxford,
    "flannel": flannel,
    "blouse": blouse,
    "sweater": sweater,
    "hoodie": hoodie,
    "sweatshirt": sweatshirt,
}
