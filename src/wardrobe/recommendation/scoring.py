"""Outfit scores: the design's rule scorer (corrected) and the learned compatibility net.

**Rules** (each part in [0, 1], blended with ``rule_weights``):

* ``colour``: every colour of every garment counts, weighted by its share. A neutral-only outfit
  scores 0.8, one with accents 0.9 (the design's values); +0.1 for a complementary pair of hue
  families or a classic pairing (``taxonomy.CLASSIC_COLOUR_PAIRS``, e.g. navy + white); minus,
  for each pair of garments, their colour weights times the clash of their families (analogous
  0.35, clashing 0.6); minus 0.15 per main hue family beyond two. The design looked at two
  non-neutral primary colours only, and its neutrals were not the taxonomy's.
* ``formality``: ``1 - (spread / formality_spread_scale)^2`` with spread = max - min.
* ``combo``: the design's category pairs, looked up unordered (its sorted-pair lookup never
  matched), 0.7 when no listed pair is present.
* ``season``: 1 when the garments share a season, else 0.

Every part is a fold over the garments (sums, maxima, min/max, bitwise and), so
:class:`OutfitState` scores partial outfits exactly and extends thousands of them at once with
numpy: the beam search and the exhaustive baseline use the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from wardrobe import taxonomy
from wardrobe.recommendation.index import ALL_SEASONS, FAMILIES, FAMILY_INDEX, WardrobeIndex
from wardrobe.recommendation.settings import RecommendSettings

NEUTRAL_SCORE, ACCENT_SCORE, HARMONY_BONUS = 0.8, 0.9, 0.1
ANALOGOUS_CLASH, CLASH = 0.35, 0.6
BUSY_PENALTY, MAIN_COLOUR = 0.15, 0.5  # a colour with relative weight >= 0.5 is a main colour
COMBO_BASE = 0.7

# The design's category pairs (plus a few of the same kind), looked up as unordered pairs.
GOOD_COMBOS = MappingProxyType(
    {
        frozenset(pair): value
        for pair, value in {
            ("dress_shirt", "dress_pants"): 1.0,
            ("dress_shirt", "chinos"): 0.9,
            ("t_shirt", "jeans"): 1.0,
            ("t_shirt", "shorts"): 0.9,
            ("blazer", "dress_shirt"): 1.0,
            ("blazer", "t_shirt"): 0.7,
            ("sweater", "dress_shirt"): 0.9,
            ("hoodie", "jeans"): 0.9,
            ("suit_jacket", "dress_pants"): 1.0,
            ("dress_shoes", "dress_pants"): 1.0,
            ("oxford", "chinos"): 1.0,
            ("polo", "chinos"): 0.9,
            ("loafers", "chinos"): 0.9,
            ("sneakers", "jeans"): 0.9,
            ("blouse", "skirt"): 0.9,
            ("formal_dress", "heels"): 1.0,
            ("sundress", "sandals"): 1.0,
            ("coat", "dress_pants"): 0.9,
            ("tie", "dress_shirt"): 1.0,
        }.items()
    }
)
for _pair in GOOD_COMBOS:
    if not _pair <= set(taxonomy.CATEGORY_BY_NAME) or len(_pair) != 2:
        raise RuntimeError(f"GOOD_COMBOS pair {sorted(_pair)} is not two fine categories")


def _family_tables() -> tuple[np.ndarray, np.ndarray]:
    f = len(FAMILIES)
    clash, harmony = np.full((f, f), CLASH, np.float32), np.zeros((f, f), np.float32)
    for i, a in enumerate(FAMILIES):
        for j, b in enumerate(FAMILIES):
            pair = frozenset((a, b))
            if a == b or pair in taxonomy.COMPLEMENTARY_FAMILIES:
                clash[i, j] = 0.0
            elif pair in taxonomy.ANALOGOUS_FAMILIES:
                clash[i, j] = ANALOGOUS_CLASH
            harmony[i, j] = float(pair in taxonomy.COMPLEMENTARY_FAMILIES)
    return clash, harmony


FAMILY_CLASH, FAMILY_HARMONY = _family_tables()
CLASSIC = np.zeros((len(taxonomy.COLOURS), len(taxonomy.COLOURS)), np.float32)
for _pair in taxonomy.CLASSIC_COLOUR_PAIRS:
    _a, _b = (taxonomy.COLOURS.index(c) for c in _pair)
    CLASSIC[_a, _b] = CLASSIC[_b, _a] = 1.0
COMBO = np.zeros((len(taxonomy.FINE_CATEGORIES),) * 2, np.float32)
for _pair, _value in GOOD_COMBOS.items():
    _a, _b = (taxonomy.CATEGORY_INDEX[c] for c in _pair)
    COMBO[_a, _b] = COMBO[_b, _a] = _value
_NEUTRAL = np.array([c in taxonomy.NEUTRAL_COLOURS for c in taxonomy.COLOURS])
_POPCOUNT = np.array([bin(m).count("1") for m in range(1 << len(FAMILIES))])
RULE_PARTS = ("colour", "formality", "combo", "season")


@dataclass
class OutfitState:
    """A batch of (partial) outfits and the running folds their scores are made of."""

    items: np.ndarray  # [M, k] garment rows
    family_sum: np.ndarray  # [M, F] summed hue-family weights
    penalty: np.ndarray  # [M] summed pairwise colour clash
    bonus: np.ndarray  # [M] bool: a complementary or classic pair is present
    accent: np.ndarray  # [M] bool: a non-neutral colour is present
    main_families: np.ndarray  # [M] bitmask of main hue families
    fmin: np.ndarray  # [M] (NaN: no known formality yet)
    fmax: np.ndarray
    seasons: np.ndarray  # [M] bitwise and of the season masks (unknown = all)
    combo: np.ndarray  # [M] best listed category pair
    personal: np.ndarray  # [M] summed per-garment preference
    text: np.ndarray  # [M] summed cosine to the request

    @classmethod
    def empty(cls, count: int = 1) -> OutfitState:
        z = np.zeros(count)
        return cls(
            items=np.zeros((count, 0), np.int64),
            family_sum=np.zeros((count, len(FAMILIES)), np.float32),
            penalty=z.copy(),
            bonus=np.zeros(count, bool),
            accent=np.zeros(count, bool),
            main_families=np.zeros(count, np.int64),
            fmin=np.full(count, np.nan),
            fmax=np.full(count, np.nan),
            seasons=np.full(count, ALL_SEASONS, np.int64),
            combo=z.copy(),
            personal=z.copy(),
            text=z.copy(),
        )

    def __len__(self) -> int:
        return len(self.items)

    @property
    def size(self) -> int:
        """Garments per outfit."""
        return self.items.shape[1]

    def take(self, which: np.ndarray) -> OutfitState:
        """The outfits at positions ``which``."""
        return OutfitState(**{k: v[which] for k, v in vars(self).items()})


class RuleScorer:
    """The rule-based scorer over a :class:`WardrobeIndex`, with per-garment unary signals.

    ``personal`` and ``text`` are per-garment arrays (preference adjustment, CLIP cosine to the
    request) that the state sums, so a partial outfit's mean is known at every step.
    """

    def __init__(
        self,
        index: WardrobeIndex,
        settings: RecommendSettings,
        personal: np.ndarray | None = None,
        text: np.ndarray | None = None,
    ) -> None:
        self.index, self.settings = index, settings
        n = len(index)
        self.personal = np.zeros(n) if personal is None else np.asarray(personal, np.float64)
        self.text = np.zeros(n) if text is None else np.asarray(text, np.float64)
        self.accent = (index.palette[:, ~_NEUTRAL] > 0).any(axis=1)
        bits = 1 << np.arange(len(FAMILIES))
        self.main = ((index.family >= MAIN_COLOUR) * bits).sum(axis=1).astype(np.int64)
        self.seasons = np.where(index.seasons == 0, ALL_SEASONS, index.seasons)
        # per-garment halves of the bilinear pair tests (pair = left[i] . right[j])
        self.harmony_left = index.family @ FAMILY_HARMONY
        self.classic_left = index.palette @ CLASSIC
        weights = settings.rule_weights.model_dump()
        total = sum(weights.values())
        self.weights = {k: v / total for k, v in weights.items()}
        self.evaluated = 0  # outfits (partial or complete) scored: the benchmark reports it

    # ------------------------------------------------------------------ folding
    def extend(self, state: OutfitState, parent: np.ndarray, rows: np.ndarray) -> OutfitState:
        """New outfits: ``state[parent[j]] + garment rows[j]`` for every j."""
        idx, p, r = self.index, np.asarray(parent, np.int64), np.asarray(rows, np.int64)
        self.evaluated += len(r)
        fam_r = idx.family[r]  # [J, F]
        penalty = state.penalty[p] + ((state.family_sum[p] @ FAMILY_CLASH) * fam_r).sum(axis=1)
        bonus = state.bonus[p].copy()
        combo = state.combo[p].copy()
        if state.size:
            items = state.items[p]  # [J, k]
            harmony = (self.harmony_left[items] * fam_r[:, None, :]).sum(axis=2)
            classic = (self.classic_left[items] * idx.palette[r][:, None, :]).sum(axis=2)
            bonus |= (np.maximum(harmony, classic) >= MAIN_COLOUR).any(axis=1)
            combo = np.maximum(combo, COMBO[idx.category[items], idx.category[r][:, None]].max(1))
        f = idx.formality[r]
        with np.errstate(invalid="ignore"):
            fmin, fmax = np.fmin(state.fmin[p], f), np.fmax(state.fmax[p], f)
        return OutfitState(
            items=np.concatenate([state.items[p], r[:, None]], axis=1),
            family_sum=state.family_sum[p] + fam_r,
            penalty=penalty,
            bonus=bonus,
            accent=state.accent[p] | self.accent[r],
            main_families=state.main_families[p] | self.main[r],
            fmin=fmin,
            fmax=fmax,
            seasons=state.seasons[p] & self.seasons[r],
            combo=combo,
            personal=state.personal[p] + self.personal[r],
            text=state.text[p] + self.text[r],
        )

    def fold(self, outfits: Sequence[Sequence[int]] | np.ndarray) -> OutfitState:
        """States of complete outfits given as rows (equal lengths)."""
        items = np.asarray(outfits, np.int64).reshape(len(outfits), -1)
        state = OutfitState.empty(len(items))
        everyone = np.arange(len(items))
        for k in range(items.shape[1]):
            state = self.extend(state, everyone, items[:, k])
        return state

    # ------------------------------------------------------------------ scores
    def parts(self, state: OutfitState) -> dict[str, np.ndarray]:
        """Rule parts, their blend ``rules``, and the mean ``personal`` and ``text`` signals."""
        count = max(state.size, 1)
        families = _POPCOUNT[state.main_families]
        base = np.where(state.accent, ACCENT_SCORE, NEUTRAL_SCORE)
        colour = base + HARMONY_BONUS * state.bonus - state.penalty
        colour -= BUSY_PENALTY * np.maximum(families - 2, 0)
        spread = np.nan_to_num(state.fmax - state.fmin, nan=0.0)
        formality = 1.0 - (spread / self.settings.formality_spread_scale) ** 2
        out = {
            "colour": np.clip(colour, 0.0, 1.0),
            "formality": np.clip(formality, 0.0, 1.0),
            "combo": np.maximum(state.combo, COMBO_BASE),
            "season": (state.seasons != 0).astype(np.float64),
        }
        out["rules"] = sum(self.weights[k] * out[k] for k in RULE_PARTS)
        out["personal"] = state.personal / count
        out["text"] = state.text / count
        return out

    def explain_colours(self, rows: Sequence[int]) -> tuple[str, str] | None:
        """The strongest colour fact of an outfit: ``(kind, "navy + white")``, kinds
        ``classic``, ``complementary``, ``clash``, ``tonal``, ``neutral``, ``accent``."""
        idx = self.index
        primaries = [taxonomy.COLOURS[int(np.argmax(idx.palette[r]))] for r in rows]
        primaries = [c for r, c in zip(rows, primaries, strict=True) if idx.palette[r].any()]
        pairs = [(a, b) for i, a in enumerate(primaries) for b in primaries[i + 1 :] if a != b]
        for a, b in pairs:
            if frozenset((a, b)) in taxonomy.CLASSIC_COLOUR_PAIRS:
                return "classic", f"{a} + {b}"
        fam = taxonomy.COLOUR_HUE_FAMILY
        for a, b in pairs:
            if (
                a in fam
                and b in fam
                and frozenset((fam[a], fam[b])) in (taxonomy.COMPLEMENTARY_FAMILIES)
            ):
                return "complementary", f"{a} + {b}"
        for a, b in pairs:
            if a in fam and b in fam and FAMILY_CLASH[FAMILY_INDEX[fam[a]], FAMILY_INDEX[fam[b]]]:
                return "clash", f"{a} + {b}"
        accents = sorted({c for c in primaries if c in fam})
        if not accents:
            return ("neutral", " + ".join(dict.fromkeys(primaries))) if primaries else None
        if len({fam[c] for c in accents}) == 1 and len(accents) > 1:
            return "tonal", " + ".join(accents)
        return "accent", accents[0]

    def best_combo(self, rows: Sequence[int]) -> tuple[str, str] | None:
        """The best listed category pair of an outfit, if any."""
        cats = [taxonomy.FINE_CATEGORIES[self.index.category[r]] for r in rows]
        found = [
            (GOOD_COMBOS[frozenset((a, b))], a, b)
            for i, a in enumerate(cats)
            for b in cats[i + 1 :]
            if frozenset((a, b)) in GOOD_COMBOS
        ]
        return max(found)[1:] if found else None


class LearnedScorer:
    """The compatibility transformer of a bundle, on the garments' stored CLIP embeddings.

    Returns probabilities (sigmoid of the net's logit) for outfits given as garment rows.
    """

    def __init__(self, net: torch.nn.Module, feature_dim: int, batch_size: int = 256) -> None:
        self.net, self.feature_dim, self.batch_size = net.eval(), int(feature_dim), batch_size
        self.evaluated = 0

    def score(self, index: WardrobeIndex, outfits: Sequence[Sequence[int]]) -> np.ndarray:
        """Compatibility probabilities ``[len(outfits)]`` (features: ``index.embeddings``)."""
        if index.embeddings is None:
            raise ValueError("the learned scorer needs the garments' embeddings")
        if index.embeddings.shape[1] != self.feature_dim:
            raise ValueError(
                f"garment embeddings have {index.embeddings.shape[1]} dims, the net expects "
                f"{self.feature_dim}"
            )
        out = np.zeros(len(outfits))
        length = max((len(o) for o in outfits), default=0)
        for start in range(0, len(outfits), self.batch_size):
            chunk = outfits[start : start + self.batch_size]
            rows = np.zeros((len(chunk), length), np.int64)
            pad = np.ones((len(chunk), length), bool)
            for i, outfit in enumerate(chunk):
                rows[i, : len(outfit)], pad[i, : len(outfit)] = outfit, False
            features = torch.from_numpy(index.embeddings[rows])
            with torch.inference_mode():
                logits = self.net(features, torch.from_numpy(pad))
            out[start : start + len(chunk)] = torch.sigmoid(logits).double().numpy()
        self.evaluated += len(outfits)
        return out
