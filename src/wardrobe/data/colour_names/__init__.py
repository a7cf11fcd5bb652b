"""Public colour-naming data: what people call sRGB colours, and the fit of the naming regions.

Two lists travel beside this file (copied verbatim, all names kept, from the npm package
``color-name-lists`` 3.33.2, MIT, which gathers them with their sources and licences):

* ``curated.csv`` — curated name lists: ISCC-NBS "Universal Color Language" centroids (CC0),
  Ridgway's *Color Standards and Color Nomenclature* 1912 (CC0), Werner's *Nomenclature of
  Colours* (CC0), Name That Color / ntc.js (MIT, via color-namer), Wada Sanzo's *Japanese Color
  Dictionary* vol. I in English (CC0), *The Color Thesaurus* (CC0), Risograph inks (MIT),
  color-namer's basic list (MIT). With them: the CSS Color 4 / X11 names that matplotlib ships
  (``matplotlib.colors.CSS4_COLORS``; W3C document licence).
* ``crowd_english.csv`` — *Many Languages, Many Colors*, English (UW Interactive Data Lab, CC0):
  the mean sRGB colour of each name people typed in a crowd-sourced naming survey. Its rows
  whose head word is a palette colour are split by position: even rows are fitted on, **odd rows
  are held out** (``split="heldout"``) for :mod:`wardrobe.evaluation.colour`'s garment-photo test.

Deliberately absent: the XKCD colour survey (matplotlib's ``xkcd:`` colours) — reserved for the
owners' held-out evaluation, never fitted, tuned or measured on here.

A colour name counts when its head word is a palette colour (``taxonomy.colour_head_word``:
"pale mint green" is green, "navy blue" navy); the rest ("teal", "mauve") is skipped.

``python -m wardrobe.data.colour_names fit`` refits :class:`wardrobe.colour_naming.NamingRegions`
(coordinate descent from the current thresholds, each within its range; objective: weighted
accuracy, ``FIT_SHARES``: the crowd rows carry half the weight since crowd naming is what users
do — curated lists follow their own conventions, e.g. Ridgway calls strongly tinted greys
"grey" — the curated rows a quarter, equal per palette colour so rare names such as navy and
beige are not drowned by Ridgway's greens, and shades of the taxonomy's colours as the
generator paints them the last quarter: they are the labels the tagger learnt) and
prints the thresholds to paste into ``colour_naming.FITTED`` with the accuracies.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from wardrobe.colour_naming import FITTED, PROTOTYPES, NamingRegions, name_indices, region_indices
from wardrobe.colour_science import lab_to_srgb, nearest_palette, srgb_to_lab
from wardrobe.taxonomy import COLOURS, colour_head_word

HERE = Path(__file__).parent
CURATED = HERE / "curated.csv"
CROWD = HERE / "crowd_english.csv"
SPLITS = ("fit", "heldout", "all")
CROWD_SOURCE = "mlmc_english"
PALETTE_SOURCE = "palette"
# share of the fit objective per kind of row (crowd naming is what users do; curated lists keep
# rare names in place; the palette's shades keep the generator's and the tagger's labels true)
CROWD_VOTE = 10.0  # a crowd prototype's vote weight vs 1 for the others (CV: 1 0.892, 10 0.909)
FIT_SHARES = MappingProxyType({"crowd": 0.45, "curated": 0.2, "palette": 0.35})


@dataclass(frozen=True)
class NamedColour:
    """One named colour of a list: where from, its name, sRGB and the palette colour it names."""

    source: str
    name: str
    rgb: tuple[int, int, int]
    colour: str  # palette colour of the name's head word


def _hex_rgb(value: str) -> tuple[int, int, int]:
    value = value.strip().lstrip("#")
    if len(value) != 6:
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))


def read_named_colours(path: Path) -> list[NamedColour]:
    """The rows of a ``source,name,hex`` list whose head word is a palette colour."""
    out = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            colour = colour_head_word(row["name"])
            if colour is not None:
                out.append(NamedColour(row["source"], row["name"], _hex_rgb(row["hex"]), colour))
    return out


def css4_colours() -> list[NamedColour]:
    """CSS Color 4 / X11 names (as matplotlib ships them) with a palette head word."""
    from matplotlib.colors import CSS4_COLORS

    out = []
    for name, value in CSS4_COLORS.items():
        colour = colour_head_word(name)
        if colour is not None:
            out.append(NamedColour("css4", name, _hex_rgb(value), colour))
    return out


def crowd_colours(split: str = "all") -> list[NamedColour]:
    """The crowd-survey rows: ``fit`` (even positions), ``heldout`` (odd) or ``all``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    rows = read_named_colours(CROWD)
    if split == "all":
        return rows
    return rows[split == "heldout" :: 2]


def palette_shades(per_colour: int = 40, seed: int = 0) -> list[NamedColour]:
    """Shades of the taxonomy's 14 colours as the generator paints them (its label-safe jitter,
    ``synthetic.colour.jitter_colour``), each lit -8..+8 L* (folds and highlights): the labels
    the tagger learnt, so the regions must keep these names."""
    from wardrobe.data.synthetic.colour import jitter_colour

    rng = np.random.default_rng(seed)
    out = []
    for colour in COLOURS:
        for _ in range(per_colour):
            lab = srgb_to_lab(jitter_colour(colour, rng))
            lab[0] = np.clip(lab[0] + rng.uniform(-8, 8), 0, 100)
            rgb = np.clip(np.rint(lab_to_srgb(lab)), 0, 255).astype(int)
            out.append(NamedColour(PALETTE_SOURCE, f"{colour} shade", tuple(rgb), colour))
    return out


def fit_colours() -> list[NamedColour]:
    """Everything the naming regions are fitted on: curated lists, CSS4, crowd ``fit`` rows and
    the palette's own shades."""
    curated = read_named_colours(CURATED) + css4_colours()
    return curated + crowd_colours("fit") + palette_shades()


def _lab_and_labels(rows: Sequence[NamedColour]) -> tuple[np.ndarray, np.ndarray]:
    lab = srgb_to_lab(np.array([r.rgb for r in rows], dtype=np.float64))
    return lab, np.array([COLOURS.index(r.colour) for r in rows])


def naming_accuracy(
    rows: Sequence[NamedColour], model: str = "prototypes", regions: NamingRegions = FITTED
) -> float:
    """Share of ``rows`` whose colour the naming model names right (swatch level, no photo)."""
    lab, labels = _lab_and_labels(rows)
    return float((name_indices(lab, model, regions) == labels).mean())


def anchor_accuracy(rows: Sequence[NamedColour]) -> float:
    """The same for the old rule: the CIEDE2000-nearest palette anchor."""
    lab, labels = _lab_and_labels(rows)
    return float((nearest_palette(lab)[0] == labels).mean())


def _kind(row: NamedColour) -> str:
    if row.source == CROWD_SOURCE:
        return "crowd"
    return "palette" if row.source == PALETTE_SOURCE else "curated"


def _weights(rows: Sequence[NamedColour], shares: Mapping[str, float]) -> np.ndarray:
    """Each kind of row carries its share of the weight, split equally between its rows (crowd)
    or equally per palette colour (curated, palette)."""
    kinds = [_kind(r) for r in rows]
    per_kind = Counter(kinds)
    per_colour = Counter(zip(kinds, (r.colour for r in rows), strict=True))
    colours = {k: len({c for kk, c in per_colour if kk == k}) for k in per_kind}
    w = []
    for kind, row in zip(kinds, rows, strict=True):
        if kind == "crowd":
            w.append(shares[kind] / per_kind[kind])
        else:
            w.append(shares[kind] / (colours[kind] * per_colour[(kind, row.colour)]))
    w = np.array(w)
    return w / w.sum()


def fit_regions(
    rows: Sequence[NamedColour],
    start: NamingRegions = FITTED,
    shares: Mapping[str, float] = FIT_SHARES,
    steps: Sequence[float] = (8.0, 4.0, 2.0, 1.0),
    passes: int = 6,
) -> NamingRegions:
    """Coordinate descent on the thresholds: each in turn moves by ``±step`` (within its range,
    and only while every palette reference still names itself) as long as the weighted accuracy
    grows (ties keep the current value), coarse steps first."""
    lab, labels = _lab_and_labels(rows)
    weights = _weights(rows, shares)

    def score(regions: NamingRegions) -> float:
        return float(weights[region_indices(lab, regions) == labels].sum())

    best, best_score = start, score(start)
    for step in steps:
        for _ in range(passes):
            improved = False
            for field in dataclasses.fields(NamingRegions):
                lo, hi = field.metadata["range"]
                for delta in (-step, step):
                    value = getattr(best, field.name) + delta
                    if not lo <= value <= hi:
                        continue
                    trial = dataclasses.replace(best, **{field.name: value})
                    if not trial.names_anchors():
                        continue
                    trial_score = score(trial)
                    if trial_score > best_score + 1e-12:
                        best, best_score, improved = trial, trial_score, True
            if not improved:
                break
    return best


def prototype_rows(rows: Sequence[NamedColour]) -> list[dict[str, str]]:
    """The prototype table of ``rows``: CIELAB (2 decimals), palette colour, vote weight."""
    lab, _ = _lab_and_labels(rows)
    return [
        {
            "L": f"{v[0]:.2f}",
            "a": f"{v[1]:.2f}",
            "b": f"{v[2]:.2f}",
            "colour": r.colour,
            "weight": f"{CROWD_VOTE if r.source == CROWD_SOURCE else 1.0:g}",
            "source": r.source,
        }
        for r, v in zip(rows, lab, strict=True)
    ]


def write_prototypes(rows: Sequence[NamedColour], path: Path = PROTOTYPES) -> Path:
    """Write ``colour_prototypes.csv``, the prototypes the naming model votes with."""
    table = prototype_rows(rows)
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    return Path(path)


def main(argv: Sequence[str] | None = None) -> NamingRegions:
    """``python -m wardrobe.data.colour_names fit|show``: refit the regions and rewrite the
    prototypes, or show today's accuracies (swatches, no photo)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fit", "show"])
    args = parser.parse_args(argv)
    fit_rows = fit_colours()
    regions = FITTED
    if args.command == "fit":
        regions = fit_regions(fit_rows)
        print(f"wrote {write_prototypes(fit_rows)}")
    counts = Counter(r.colour for r in fit_rows)
    print(f"fit rows: {len(fit_rows)} ({', '.join(f'{c} {counts[c]}' for c in COLOURS)})")
    for label, rows in [("fit rows", fit_rows), ("crowd held-out", crowd_colours("heldout"))]:
        print(
            f"{label:<16} n={len(rows):>5}  prototypes {naming_accuracy(rows):.3f}"
            f"  regions {naming_accuracy(rows, 'regions', regions):.3f}"
            f"  nearest anchor {anchor_accuracy(rows):.3f}"
        )
    print(f"{regions!r}")
    return regions
