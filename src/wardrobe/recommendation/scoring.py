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
from wardrobe.data.garment_features import check_parts, garment_caption, garment_features
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
    """The rule-based scorer over a :class:`WardrobeIndex`, with per-garment unary signals
    (and, when :attr:`learned` is set, the learned net's probability as the part ``learned``).

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
        # a LearnedScorer whose probability joins every part computed (the beam search's
        # objective then sees it); None = rules only in the search
        self.learned: LearnedScorer | None = None

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
        if self.learned is not None and state.size:
            # the learned net inside the search: partial outfits are scored as they grow
            out["learned"] = self.learned.score(self.index, state.items)
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
    """The compatibility transformer of a bundle, on what the store holds for each garment.

    The net reads one feature row per garment, built by
    :func:`wardrobe.data.garment_features.garment_features` from the stored record and CLIP
    embedding (and the CLIP text embedding of its caption when ``parts`` has ``text``): the very
    function that built the training features. A wardrobe's rows are computed once per
    :class:`WardrobeIndex` (cached on it). Returns probabilities (sigmoid of the net's logit).

    Args:
        net: the compatibility net (eval mode).
        feature_dim: the net's input size (checked against the rows).
        parts: the bundle's feature set (``preprocessing.encoder.parts``; ``("image",)`` for a
            bundle trained on CLIP image embeddings alone).
        text_embedder: CLIP text embeddings of strings, needed when ``parts`` has ``text``.
        embedding_dim: size of the CLIP embeddings the net was trained on (default
            ``feature_dim``, as for an image-embedding-only net).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        feature_dim: int,
        parts: Sequence[str] = ("image",),
        text_embedder=None,
        embedding_dim: int | None = None,
        batch_size: int = 1024,
    ) -> None:
        self.net, self.feature_dim, self.batch_size = net.eval(), int(feature_dim), batch_size
        self.embedding_dim = int(embedding_dim or feature_dim)
        self.parts = check_parts(parts)
        if "text" in self.parts and text_embedder is None:
            raise ValueError("the compatibility net reads caption embeddings: give text_embedder")
        self.text_embedder = text_embedder
        self.evaluated = 0

    def item_features(self, index: WardrobeIndex) -> np.ndarray:
        """The net's input row of every garment of ``index`` ``[n, feature_dim]`` (cached)."""
        key = ("learned_features", self.parts)
        rows = index.cache.get(key)
        if rows is None:
            rows = index.cache[key] = self._rows(index)
        if rows.shape[1] != self.feature_dim:
            raise ValueError(
                f"garment features have {rows.shape[1]} dims (parts {list(self.parts)} on "
                f"{index.embeddings.shape[1]}-d embeddings), the net expects {self.feature_dim}"
            )
        return rows

    def _rows(self, index: WardrobeIndex) -> np.ndarray:
        if index.embeddings is None:
            raise ValueError("the learned scorer needs the garments' embeddings")
        fields = {"category", "category_confidence", "slot", "attributes"}
        records = [g.model_dump(include=fields) for g in index.garments]
        text = None
        if "text" in self.parts:
            text = np.asarray(self.text_embedder([garment_caption(r) for r in records]))
        return garment_features(records, self.parts, index.embeddings, text)

    def score(self, index: WardrobeIndex, outfits: Sequence[Sequence[int]]) -> np.ndarray:
        """Compatibility probabilities ``[len(outfits)]`` of outfits given as garment rows."""
        return 1.0 / (1.0 + np.exp(-self.logits(index, outfits)))

    def logits(self, index: WardrobeIndex, outfits: Sequence[Sequence[int]]) -> np.ndarray:
        """The net's logits ``[len(outfits)]`` (outfits may differ in length)."""
        features = torch.from_numpy(self.item_features(index))
        out = np.zeros(len(outfits))
        for start in range(0, len(outfits), self.batch_size):
            chunk = outfits[start : start + self.batch_size]
            length = max(len(o) for o in chunk)
            rows = np.zeros((len(chunk), length), np.int64)
            pad = np.ones((len(chunk), length), bool)
            for i, outfit in enumerate(chunk):
                rows[i, : len(outfit)], pad[i, : len(outfit)] = outfit, False
            with torch.inference_mode():
                logits = self.net(features[torch.from_numpy(rows)], torch.from_numpy(pad))
            out[start : start + len(chunk)] = logits.double().numpy()
        self.evaluated += len(outfits)
        return out

    def complements(
        self, index: WardrobeIndex, partial: Sequence[int], candidates: Sequence[int]
    ) -> np.ndarray:
        """Complementary-item retrieval: the logit of ``partial + [c]`` for each candidate
        garment row ``c`` (rank them best first for "what goes with this")."""
        base = [int(r) for r in partial]
        return self.logits(index, [[*base, int(c)] for c in candidates])
