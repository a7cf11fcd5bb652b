"""Colour naming: the palette name people give a CIELAB colour, a region per name.

One anchor colour per name cannot describe what people call a colour: "green" covers pale mint
and dark forest, and the nearest anchor to a pale green is beige. :func:`name_indices` decides:

1. **Cores.** Each palette colour's reference sRGB (``taxonomy.COLOUR_RGB``) keeps the colours
   nearer to it than half-way to any other palette colour (:func:`anchor_core_radii`): the
   taxonomy's own definitions, which the generator paints and the tagger learnt (the palette's
   beige, a pale cream, stays beige where crowd naming would say white).
2. **Elsewhere, a model fitted on public colour-naming data** (never the XKCD survey, reserved
   for held-out evaluation; data, licences and the fit in :mod:`wardrobe.data.colour_names`):

   * ``"prototypes"`` (the default): the weighted vote of the 15 CIEDE2000-nearest named colours
     of ``colour_prototypes.csv`` (~2,400: curated lists, CSS, the fit half of a crowd naming
     survey with 10x votes, the generator's shades). Each name's region is where its colours
     win the vote — it generalised best in cross-validation on the crowd rows (0.909 vs 0.869);
   * ``"regions"``: explicit CIELCh boundaries (:class:`NamingRegions`, fitted), decided in
     this order —

     a. **black**: ``L < black_l`` and ``C < black_c`` (a very dark blue stays chromatic);
     b. **beige**: light (``L > beige_l``), weakly coloured (``beige_c_min <= C < beige_c``),
        warm yellowish hue — before white, so a cream tint is beige;
     c. **white**: ``L > white_l`` and ``C < white_c``;
     d. **grey**: ``C`` under the achromatic limit (``grey_c``; lower, ``grey_c_warm``, on the
        warm hues ``warm_h0..warm_h1``, where a greyish brown is still called brown);
     e. **navy**: a blue to violet-blue hue (``navy_h0..navy_h1``) darker than ``navy_l``;
     f. **tan**, **brown**: warm hues split at ``brown_l`` (tan: lighter, less chroma than
        orange/yellow — a dull light warm colour is tan or khaki, never yellow; brown: darker,
        moderate chroma, with its own chroma limit on red hues, where dark strong reds stay red);
     g. **pink**: the magenta hues (``purple_pink..pink_red``) unless dark, and red-to-orange
        hues when light (``L > pink_l``);
     h. the **hue sectors** (red, orange, yellow, green, blue, purple) for everything else; a
        dark magenta is red above ``dark_red_h`` and purple below it.

No dependency beyond numpy and the taxonomy: ingestion and serving import it.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path

import numpy as np

from wardrobe.colour_science import ciede2000, palette_lab, srgb_to_lab
from wardrobe.taxonomy import COLOURS

_INDEX = {c: i for i, c in enumerate(COLOURS)}
# A palette colour's *core* — nearer to it than half-way to any other palette colour (which
# holds the generator's label-safe shades, ``synthetic.colour.jitter_radius``: 0.35 of the
# gap) — keeps the palette name whatever the regions say: the taxonomy's own reference colours
# define their names, and the tagger learnt them so. 0.5 was chosen on a development
# SynthWardrobe (seed 2; 0.35: 0.892, 0.42: 0.898, 0.5: 0.904) against the crowd fit rows.
CORE_FRACTION = 0.5
PROTOTYPES = Path(__file__).with_name("colour_prototypes.csv")
PREFILTER = 20  # CIEDE2000 is computed for the PREFILTER * VOTERS CIE76-nearest prototypes
# Dark blue cloth is navy (``navy_cloth``): dyed navy fabric photographs at L* 8-25 and C*ab
# 8-20 (Munsell ~5PB 2/4), far less saturated than the screen navy #000080 of the name lists,
# and inside black's core. The chroma floor was chosen on the 92 hand-labelled real *train*
# photos (tests/fixtures/real_colour_dev_labels.csv: 6 0.761, 8 0.750, 10 0.739, 12 0.739, no
# rule 0.717); hues and lightness are the fitted regions' navy sector.
NAVY_CLOTH_MIN_C = 8.0
VOTERS = 15  # k of the prototype vote (2-fold CV on the crowd fit rows: 5 0.886, 9 0.898, 15 0.909)


def _bounded(default: float, lo: float, hi: float):
    """A threshold with the range a refit may move it in (what colour-naming studies and
    garment usage allow: navy is never lighter than L 34, the blue/purple border stays within
    295..315 degrees), so a handful of odd list entries cannot drag a border anywhere."""
    return field(default=default, metadata={"range": (lo, hi)})


@dataclass(frozen=True)
class NamingRegions:
    """Boundaries of the 14 name regions in CIELCh (degrees for hues; see the module doc).

    The defaults are the hand-set starting point of the fit (read off crowd-named colours);
    :data:`FITTED` is what the fit made of them."""

    black_l: float = _bounded(20.0, 10, 25)
    black_c: float = _bounded(26.0, 10, 35)
    white_l: float = _bounded(88.0, 82, 95)
    white_c: float = _bounded(12.0, 6, 14)
    grey_c: float = _bounded(17.0, 8, 20)
    grey_c_warm: float = _bounded(10.0, 5, 15)
    warm_h0: float = _bounded(30.0, 15, 45)
    warm_h1: float = _bounded(110.0, 95, 125)
    navy_h0: float = _bounded(255.0, 240, 280)
    navy_h1: float = _bounded(312.0, 300, 325)  # dark violet-blues are navy, not purple
    navy_l: float = _bounded(28.0, 24, 34)  # a navy garment's lit folds stay navy
    beige_h0: float = _bounded(60.0, 50, 75)
    beige_h1: float = _bounded(116.0, 110, 130)  # the palette beige itself is at 109
    beige_l: float = _bounded(78.0, 65, 85)
    beige_c: float = _bounded(30.0, 24, 35)
    beige_c_min: float = _bounded(7.0, 4, 8)  # cream and ivory are beige (COLOUR_ALIASES)
    tan_h0: float = _bounded(55.0, 45, 70)
    tan_h1: float = _bounded(108.0, 95, 115)
    tan_c: float = _bounded(45.0, 36, 50)  # khaki and camel cloth; curated lists say yellow
    brown_h0: float = _bounded(25.0, 15, 40)
    brown_h1: float = _bounded(105.0, 95, 115)
    brown_l: float = _bounded(60.0, 45, 65)
    brown_c: float = _bounded(58.0, 40, 70)
    brown_c_red: float = _bounded(48.0, 30, 60)
    brown_dark_l: float = _bounded(48.0, 40, 55)
    pink_l: float = _bounded(58.0, 50, 75)
    pink_dark_l: float = _bounded(45.0, 35, 60)
    dark_red_h: float = _bounded(345.0, 330, 360)
    red_orange: float = _bounded(43.0, 35, 50)
    orange_yellow: float = _bounded(78.0, 68, 85)
    yellow_green: float = _bounded(108.0, 100, 115)
    green_blue: float = _bounded(178.0, 165, 205)
    blue_purple: float = _bounded(307.0, 295, 315)
    purple_pink: float = _bounded(330.0, 315, 345)
    pink_red: float = _bounded(15.0, 0, 25)

    def __post_init__(self) -> None:
        for f in fields(self):
            lo, hi = f.metadata["range"]
            if not lo <= getattr(self, f.name) <= hi:
                raise ValueError(f"{f.name}={getattr(self, f.name)} outside its range {lo}..{hi}")

    def names_anchors(self) -> bool:
        """Whether each palette colour's own reference sRGB gets its own name (the fit keeps
        this true: the generator paints near these references)."""
        return bool((region_indices(palette_lab(), self) == np.arange(len(COLOURS))).all())

    def as_dict(self) -> dict[str, float]:
        """The thresholds by name (for reports and refits)."""
        return asdict(self)


# Fitted by ``python -m wardrobe.data.colour_names fit`` (see that module for data and figures).
FITTED = NamingRegions(
    black_l=25.0,
    black_c=18.0,
    white_l=86.0,
    white_c=12.0,
    grey_c=17.0,
    grey_c_warm=10.0,
    warm_h0=18.0,
    warm_h1=98.0,
    navy_h0=255.0,
    navy_h1=310.0,
    navy_l=25.0,
    beige_h0=60.0,
    beige_h1=120.0,
    beige_l=85.0,
    beige_c=24.0,
    beige_c_min=8.0,
    tan_h0=55.0,
    tan_h1=98.0,
    tan_c=36.0,
    brown_h0=39.0,
    brown_h1=105.0,
    brown_l=58.0,
    brown_c=58.0,
    brown_c_red=56.0,
    brown_dark_l=46.0,
    pink_l=61.0,
    pink_dark_l=51.0,
    dark_red_h=357.0,
    red_orange=41.0,
    orange_yellow=82.0,
    yellow_green=106.0,
    green_blue=200.0,
    blue_purple=304.0,
    purple_pink=327.0,
    pink_red=12.0,
)


def lab_to_lch(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) -> CIELCh (..., 3): lightness, chroma, hue angle in degrees [0, 360)."""
    lab = np.asarray(lab, dtype=np.float64)
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0
    return np.stack([lab[..., 0], np.hypot(lab[..., 1], lab[..., 2]), hue], axis=-1)


def _between(h: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Hue in the arc from ``lo`` to ``hi`` (degrees, counter-clockwise, may wrap past 0)."""
    lo, hi = lo % 360.0, hi % 360.0
    return (h >= lo) & (h < hi) if lo <= hi else (h >= lo) | (h < hi)


def anchor_core_radii(fraction: float = CORE_FRACTION) -> np.ndarray:
    """Radius (CIE76 dE) of each palette colour's *core*: ``fraction`` of the gap to its nearest
    other palette colour, so cores never touch (white and beige are ~10 dE apart)."""
    lab = palette_lab()
    gaps = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(gaps, np.inf)
    return fraction * gaps.min(axis=1)


def name_indices(lab: np.ndarray, model: str = "prototypes", regions=FITTED) -> np.ndarray:
    """Index into ``COLOURS`` of the name of each CIELAB colour (..., 3) -> (...): the palette
    colour whose core holds it, else the ``model``'s answer (``"prototypes"``: the vote of the
    nearest named colours; ``"regions"``: the CIELCh boundaries)."""
    lab = np.asarray(lab, dtype=np.float64)
    if model == "prototypes":
        named = prototype_indices(lab)
    elif model == "regions":
        named = region_indices(lab, regions)
    else:
        raise ValueError(f"unknown naming model {model!r}; use prototypes or regions")
    dist = np.linalg.norm(lab[..., None, :] - palette_lab(), axis=-1)
    nearest = dist.argmin(axis=-1)
    in_core = (
        np.take_along_axis(dist, nearest[..., None], -1)[..., 0] < anchor_core_radii()[nearest]
    )
    named = np.where(in_core, nearest, named)
    return np.where(navy_cloth(lab, regions), _INDEX["navy"], named)


def navy_cloth(lab: np.ndarray, regions: NamingRegions = FITTED) -> np.ndarray:
    """Whether CIELAB colours (..., 3) are dark blue cloth, which people call navy: the
    ``regions``' navy sector (hue and lightness) down to ``NAVY_CLOTH_MIN_C`` chroma (below
    it, black). Colour-name lists define navy by the screen colour #000080 (L* 13, C*ab 81),
    so their vote and black's core call these black."""
    lch = lab_to_lch(np.asarray(lab, dtype=np.float64))
    return (
        _between(lch[..., 2], regions.navy_h0, regions.navy_h1)
        & (lch[..., 0] < regions.navy_l)
        & (lch[..., 1] >= NAVY_CLOTH_MIN_C)
    )


# ---- the prototype model ---------------------------------------------------------------------
@dataclass(frozen=True)
class Prototypes:
    """Named colours to vote with: CIELAB (n, 3), palette index (n,), vote weight (n,)."""

    lab: np.ndarray
    colour: np.ndarray
    weight: np.ndarray


@cache
def prototypes(path: Path = PROTOTYPES) -> Prototypes:
    """The named colours of ``colour_prototypes.csv`` (written by the fit command)."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"no prototypes in {path}")
    return Prototypes(
        lab=np.array([[float(r["L"]), float(r["a"]), float(r["b"])] for r in rows]),
        colour=np.array([_INDEX[r["colour"]] for r in rows]),
        weight=np.array([float(r["weight"]) for r in rows]),
    )


def prototype_indices(lab: np.ndarray, k: int = VOTERS, protos: Prototypes | None = None):
    """The weighted vote of the ``k`` CIEDE2000-nearest prototypes (weight / (1 + dE)) for each
    CIELAB colour (..., 3) -> palette indices (...)."""
    protos = prototypes() if protos is None else protos
    lab = np.asarray(lab, dtype=np.float64)
    flat = lab.reshape(-1, 3)
    # CIEDE2000 only on the PREFILTER x k nearest by CIE76 (cheap), not on all ~2,400: 4x
    # faster, the same answer for 99.4 % of uniformly random CIELAB colours (in-gamut: more)
    k = min(k, len(protos.lab))
    pool = min(len(protos.lab), PREFILTER * k)
    d76 = ((flat[:, None] - protos.lab[None]) ** 2).sum(-1)
    cand = np.argpartition(d76, pool - 1, axis=1)[:, :pool]
    d = ciede2000(flat[:, None], protos.lab[cand])
    order = np.argpartition(d, k - 1, axis=1)[:, :k]
    near = np.take_along_axis(cand, order, 1)
    w = protos.weight[near] / (1.0 + np.take_along_axis(d, order, 1))
    votes = np.zeros((len(flat), len(COLOURS)))
    np.add.at(votes, (np.repeat(np.arange(len(flat)), k), protos.colour[near].ravel()), w.ravel())
    return votes.argmax(axis=1).reshape(lab.shape[:-1])


# ---- the region model ------------------------------------------------------------------------
def region_indices(lab: np.ndarray, regions: NamingRegions = FITTED) -> np.ndarray:
    """The name region of each CIELAB colour (..., 3) -> palette indices (...), no cores."""
    r = regions
    lch = lab_to_lch(lab)
    lum, chroma, hue = lch[..., 0], lch[..., 1], lch[..., 2]
    warm = _between(hue, r.warm_h0, r.warm_h1)
    achromatic = chroma < np.where(warm, r.grey_c_warm, r.grey_c)
    magenta = _between(hue, r.purple_pink, r.pink_red)
    red_hue = _between(hue, r.pink_red, r.red_orange)
    # brown is dark orange: below brown_dark_l no chroma makes an orange/yellow hue orange
    brown_c_ok = chroma < np.where(red_hue, r.brown_c_red, r.brown_c)
    brown_c_ok |= ~red_hue & (lum < r.brown_dark_l)
    beige = _between(hue, r.beige_h0, r.beige_h1) & (lum > r.beige_l)
    beige &= (chroma >= r.beige_c_min) & (chroma < r.beige_c)
    rules = [
        ("black", (lum < r.black_l) & (chroma < r.black_c)),
        ("beige", beige),
        ("white", (lum > r.white_l) & (chroma < r.white_c)),
        ("grey", achromatic),
        ("navy", _between(hue, r.navy_h0, r.navy_h1) & (lum < r.navy_l)),
        ("tan", _between(hue, r.tan_h0, r.tan_h1) & (lum >= r.brown_l) & (chroma < r.tan_c)),
        ("brown", _between(hue, r.brown_h0, r.brown_h1) & (lum < r.brown_l) & brown_c_ok),
        ("pink", (magenta & (lum > r.pink_dark_l)) | (red_hue & (lum > r.pink_l))),
        ("red", red_hue | (magenta & _between(hue, r.dark_red_h, r.pink_red))),
        ("purple", magenta | _between(hue, r.blue_purple, r.purple_pink)),
        ("orange", _between(hue, r.red_orange, r.orange_yellow)),
        ("yellow", _between(hue, r.orange_yellow, r.yellow_green)),
        ("green", _between(hue, r.yellow_green, r.green_blue)),
    ]
    conditions = [cond for _, cond in rules]
    choices = [_INDEX[name] for name, _ in rules]
    return np.select(conditions, choices, default=_INDEX["blue"])


def name_colour(lab: np.ndarray | tuple[float, float, float], model: str = "prototypes") -> str:
    """The palette name of one CIELAB colour."""
    return COLOURS[int(name_indices(np.asarray(lab, dtype=np.float64), model))]


def name_srgb(rgb: np.ndarray | tuple[int, int, int], model: str = "prototypes") -> str:
    """The palette name of one sRGB colour (0..255)."""
    return name_colour(srgb_to_lab(np.asarray(rgb, dtype=np.float64)), model)
