"""Stage 6: top K with diversity, and a short explanation per outfit.

Selection is maximal marginal relevance: each pick maximises ``lambda * score - (1 - lambda) *
overlap`` with the outfits already picked (overlap = shared garments / outfit size), and an
outfit sharing more than ``max_shared_garments`` garments with a pick is never taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from wardrobe import taxonomy


def diverse_top_k(
    outfits: Sequence[Sequence[int]],
    scores: np.ndarray,
    k: int,
    max_shared: int,
    mmr_lambda: float,
) -> list[int]:
    """Positions of up to ``k`` outfits, best first, no two sharing more than ``max_shared``."""
    sets = [frozenset(int(g) for g in o) for o in outfits]
    scores = np.asarray(scores, np.float64)
    chosen: list[int] = []
    overlap = np.zeros(len(sets))  # max overlap with the picks so far
    alive = np.ones(len(sets), bool)
    spread = float(np.ptp(scores)) if len(scores) else 0.0
    scale = spread if spread > 0 else 1.0
    while len(chosen) < k and alive.any():
        value = mmr_lambda * scores / scale - (1 - mmr_lambda) * overlap
        best = int(np.argmax(np.where(alive, value, -np.inf)))
        chosen.append(best)
        alive[best] = False
        for i in np.flatnonzero(alive):
            shared = len(sets[i] & sets[best])
            if shared > max_shared:
                alive[i] = False
            else:
                overlap[i] = max(overlap[i], shared / max(len(sets[i]), 1))
    return chosen


def explain(
    facts: Mapping[str, object],
    breakdown: Mapping[str, float],
) -> str:
    """One short sentence from an outfit's facts and score breakdown, e.g.
    ``"navy + white: classic contrast; formality matches a business occasion"``."""
    parts: list[str] = []
    colour = facts.get("colour")
    if colour:
        kind, words = colour  # type: ignore[misc]
        parts.append(
            {
                "classic": f"{words}: classic contrast",
                "complementary": f"{words}: complementary colours",
                "tonal": f"{words}: one colour family",
                "neutral": f"{words}: an easy neutral palette",
                "accent": f"{words} as the one accent on neutrals",
                "clash": f"{words}: a bold colour mix",
            }[kind]
        )
    occasion = facts.get("occasion")
    if occasion and breakdown.get("formality", 0) >= 0.6:
        parts.append(f"formality matches a {str(occasion).replace('_', ' ')} occasion")
    elif breakdown.get("formality", 0) >= 0.9:
        parts.append("consistent formality")
    combo = facts.get("combo")
    if combo:
        a, b = (c.replace("_", " ") for c in combo)  # type: ignore[union-attr]
        parts.append(f"{a} with {b} is a proven pairing")
    for note in facts.get("notes", ()):  # type: ignore[union-attr]
        parts.append(str(note))
    if breakdown.get("personal", 0) > 0.05 and facts.get("liked"):
        parts.append(f"you like {facts['liked']}")
    if "learned" in breakdown and breakdown["learned"] >= 0.7:
        parts.append("the compatibility model rates it highly")
    if breakdown.get("text", 0) > 0 and facts.get("request"):
        parts.append(f"close to \u201c{facts['request']}\u201d")
    return "; ".join(parts[:4]) or "a balanced outfit"


def liked_feature(summary: Mapping[str, list[str]], garments_features: set[str]) -> str | None:
    """The first liked colour/category/style that the outfit has (for the explanation)."""
    for kind in ("colour", "category", "style", "pattern"):
        for name in summary.get(kind, []):
            if name in garments_features:
                return name.replace("_", " ") if name not in taxonomy.COLOURS else name
    return None
