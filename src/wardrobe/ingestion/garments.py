"""From a detection and the models' outputs to one garment: crop, category, attributes, colours.

Plain functions on numpy arrays; :mod:`wardrobe.ingestion.pipeline` batches the models around
them.

**Coarse-class rule** (detector vs classifier). The detector names one of the 13 DeepFashion2
classes, the classifier one of the 47 fine categories. The fine category must be one that can
appear as the detected class (``taxonomy.categories_for_df2``): the classifier's probabilities
are renormalised over those categories and the best one wins. Only when the classifier puts less
than ``min_coarse_mass`` (0.5) of its probability on them all (it prefers something else: the
detector mislabelled it) does the classifier's own top-1 win, and the garment carries the
``class_disagreement`` warning. (0.1 while the classifier had seen only drawings; since it learns
real photos, 0.5 names more real photos' garments right: README, "Real photos".) A garment
found without the detector (the whole-photo fallback) takes the classifier's top-1.

**Length** (``attributes.sleeves`` of tops, ``attributes.legs`` of bottoms: short or long). A
category of one length has it (a sweater's sleeves are long, shorts' legs short). One of either
length (a T-shirt, jeans) takes the classifier's length head's answer, where the bundle has one:
the detector's class says it too (``short_sleeve_top``, ``trousers``), but detectors get that
part wrong more often than the garment, and the real photos' labels teach the head exactly this
(:mod:`wardrobe.models.partial_label`). The category itself is chosen as before; the length is
what maps a T-shirt back onto "t-shirt" or "longsleeve" in the real-photo evaluation.

**Colour rule** (extractor vs the tagger's colour head): one answer per garment, the
background-aware extractor's (:func:`colours`), since it is the one measured on real photos and
on crowd colour names, while the tagger's colour head learnt only the generator's 14 reference
shades. The tagger's top colour and its probability are kept beside it as evidence
(``attributes.colour_evidence``: its colour, confidence, and whether it agrees with the primary
colour); when the tagger is sure (``>= tagger_confident``) of a colour the extractor did not
find at all, the garment carries the ``colour_disagreement`` warning instead of one answer
silently replacing the other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from wardrobe.ingestion.colour import extract_colours
from wardrobe.taxonomy import (
    ATTRIBUTE_HEADS,
    CATEGORY_BY_NAME,
    CATEGORY_INDEX,
    COLOURS,
    DF2_LENGTH_PAIRS,
    FINE_CATEGORIES,
    LENGTH_PART,
    LENGTHS,
    categories_for_df2,
    length_of_classes,
)

CLASS_DISAGREEMENT = "class_disagreement"
COLOUR_DISAGREEMENT = "colour_disagreement"
TAGGER_COLOUR_CONFIDENT = 0.6
Box = tuple[float, float, float, float]


def crop_box(
    box: Box, width: int, height: int, padding: float, square: bool = True
) -> tuple[int, int, int, int]:
    """A crop around ``box`` enlarged by ``padding`` (fraction of its side, each way), clipped to
    the image. ``square``: the framing of the classification crops the models learnt on; else
    the box's own shape (the colour extractor judges the background from the crop's border, and
    a tall garment in a square crop leaves too little of it in the crop)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if square:
        w = h = max(w, h)
    w, h = w * (1.0 + 2.0 * padding), h * (1.0 + 2.0 * padding)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = round(cx - w / 2), round(cy - h / 2)
    right, bottom = round(cx + w / 2), round(cy + h / 2)
    left, top = max(left, 0), max(top, 0)
    right, bottom = min(right, width), min(bottom, height)
    return left, top, max(right, left + 1), max(bottom, top + 1)


def cut(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels of ``box`` (contiguous copy, so the photo can be freed)."""
    x1, y1, x2, y2 = box
    return np.ascontiguousarray(rgb[y1:y2, x1:x2])


@dataclass(frozen=True)
class CategoryChoice:
    category: str
    confidence: float
    top_k: list[tuple[str, float]]
    disagreement: bool


def choose_category(
    probs: np.ndarray, df2_class: str | None, top_k: int = 3, min_coarse_mass: float = 0.5
) -> CategoryChoice:
    """The fine category of one crop under the coarse-class rule (module docstring)."""
    probs = np.asarray(probs, dtype=np.float64)
    ranked = [(FINE_CATEGORIES[i], float(probs[i])) for i in np.argsort(-probs)[:top_k]]
    if df2_class is None:
        return CategoryChoice(ranked[0][0], ranked[0][1], ranked, False)
    allowed = [CATEGORY_INDEX[c] for c in categories_for_df2(df2_class)]
    mass = float(probs[allowed].sum())
    if mass < min_coarse_mass:
        return CategoryChoice(ranked[0][0], ranked[0][1], ranked, True)
    within = probs[allowed] / mass
    order = np.argsort(-within)[:top_k]
    ranked = [(FINE_CATEGORIES[allowed[i]], float(within[i])) for i in order]
    return CategoryChoice(ranked[0][0], ranked[0][1], ranked, False)


@dataclass(frozen=True)
class Length:
    """The classifier's length answer for one crop: :data:`~wardrobe.taxonomy.LENGTHS`."""

    value: str
    confidence: float


def length_answer(probs: np.ndarray | None) -> Length | None:
    """The more likely length of one crop's length probabilities (None: no length head)."""
    if probs is None:
        return None
    best = int(np.argmax(probs))
    return Length(LENGTHS[best], float(probs[best]))


def add_length(attrs: dict, category: str, answer: Length | None) -> None:
    """Store the garment's length (module docstring) as ``attrs["sleeves"]`` or
    ``attrs["legs"]``, the head's probability in ``attrs["confidence"]``; nothing for a category
    without one (skirts, dresses, outerwear, shoes, accessories) or of either length without an
    answer."""
    known = CATEGORY_BY_NAME[category]
    part = LENGTH_PART.get(known.group)
    if part is None or not any(c in pair for c in known.df2_classes for pair in DF2_LENGTH_PAIRS):
        return
    fixed = length_of_classes(known.df2_classes)
    if fixed is not None:
        attrs[part] = fixed
    elif answer is not None:
        attrs[part] = answer.value
        attrs.setdefault("confidence", {})[part] = round(min(max(answer.confidence, 0.0), 1.0), 4)


def attributes(
    heads: Mapping[str, np.ndarray], index: int, threshold: float = 0.5
) -> dict[str, object]:
    """The tagger's outputs for garment ``index`` as stored attributes (no colour: see
    :func:`colours`). Multilabel heads keep labels at ``threshold``; seasons keep at least the
    most likely one (every garment is worn in some season). ``confidence`` holds the tagger's
    probability of each decision: of the chosen class, or the mean over the kept labels."""
    out: dict[str, object] = {}
    confidence: dict[str, float] = {}
    for head, values in heads.items():
        kind, vocab = ATTRIBUTE_HEADS[head]
        row = np.asarray(values[index])
        if head == "colour":
            continue
        if kind == "multiclass":
            best = int(row.argmax())
            out[head], confidence[head] = vocab[best], float(row[best])
        elif kind == "multilabel":
            kept = np.flatnonzero(row >= threshold)
            if head == "seasons" and not len(kept):
                kept = np.asarray([int(row.argmax())])
            out[head] = [vocab[i] for i in kept]
            if len(kept):
                confidence[head] = float(row[kept].mean())
        else:
            out[head] = float(np.clip(row, 0.0, 1.0))
    out["confidence"] = {k: round(min(max(v, 0.0), 1.0), 4) for k, v in confidence.items()}
    return out


def colours(crop: np.ndarray, k: int = 3, min_share: float = 0.05, foreground: str = "border"):
    """Palette colours of the garment in ``crop`` (background-aware extractor), as
    ``[{"colour", "share"}]``, largest first, dropping slivers under ``min_share``."""
    found = extract_colours(crop, k=k, foreground=foreground)
    return [
        {"colour": c.name, "share": math.floor(c.share * 1e4) / 1e4}
        for c in found
        if c.share >= min_share
    ]


@dataclass(frozen=True)
class ColourDecision:
    """The garment's colours (the extractor's, largest first), the tagger's evidence, and
    whether the two disagree enough to warn."""

    colours: list[dict[str, object]]
    evidence: dict[str, object] | None
    disagreement: bool


def decide_colours(
    extracted: list[dict[str, object]],
    tagger_probs: np.ndarray | None,
    tagger_confident: float = TAGGER_COLOUR_CONFIDENT,
) -> ColourDecision:
    """One colour answer for a garment under the colour rule (module docstring): ``extracted``
    from :func:`colours`, ``tagger_probs`` the tagger's colour probabilities (14) or None."""
    if tagger_probs is None:
        return ColourDecision(extracted, None, False)
    probs = np.asarray(tagger_probs, dtype=np.float64)
    if probs.shape != (len(COLOURS),):
        raise ValueError(f"expected {len(COLOURS)} colour probabilities, got {probs.shape}")
    best = int(probs.argmax())
    tagger, confidence = COLOURS[best], float(np.clip(probs[best], 0.0, 1.0))
    found = [c["colour"] for c in extracted]
    evidence = {
        "tagger": tagger,
        "confidence": round(confidence, 4),
        "agrees": bool(found) and found[0] == tagger,
    }
    return ColourDecision(
        extracted, evidence, confidence >= tagger_confident and tagger not in found
    )
