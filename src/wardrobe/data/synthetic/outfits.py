"""Polyvore-style outfits built by a HIDDEN STYLIST RULE (written here and nowhere else).

The rule (``rule_violations``) accepts an outfit when all four hold:

1. **slots**: exactly one top + one bottom, or exactly one one-piece (and no top/bottom); exactly
   one pair of footwear; at most one outerwear; at most two accessories, of different categories.
2. **colour**: the non-neutral primary colours fall in at most one colour family, or in two
   families that form a complementary pair of ``COMPLEMENTARY``.
3. **formality**: max - min formality <= ``FORMALITY_SPREAD``.
4. **season**: the items share at least one season.

Every input of the rule is visible in the item images (category silhouette, colour, pattern),
so a compatibility model can learn it only by looking at the items. Positives follow the rule;
negatives (as in Vasileva et al. 2018, items replaced by random items of the same semantic
category) all break it, and the *hard* ones swap exactly one item for a same-slot item that
breaks exactly one part of it (colour, formality or season, evenly). FITB distractors are
same-semantic-category items that break the rule when put in the blank.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from wardrobe.data.formats.polyvore import (
    CompatQuestion,
    FitbQuestion,
    ItemMeta,
    Outfit,
    OutfitItem,
)
from wardrobe.taxonomy import (
    CATEGORY_BY_NAME,
    CATEGORY_INDEX,
    COLOUR_HUE_FAMILY,
    COMPLEMENTARY_FAMILIES,
    SEASONS,
)

from .spec import GarmentSpec

SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
FITB_ANSWERS = 4

# ---- the hidden rule -----------------------------------------------------------------------
# The stylist's colour theory is the colour wheel of ``taxonomy`` (hue families and their
# complementary pairs), which the recommender's rule scorer also knows; the hidden part is how
# the rule combines it with slots, formality and seasons, and that only this file decides.
COLOUR_FAMILY = COLOUR_HUE_FAMILY
COMPLEMENTARY = COMPLEMENTARY_FAMILIES
FORMALITY_SPREAD = 0.3
MAX_ACCESSORIES = 2


def families_ok(families: set[str]) -> bool:
    """At most one accent family, or a complementary pair."""
    return len(families) <= 1 or (len(families) == 2 and frozenset(families) in COMPLEMENTARY)


def _slots_ok(specs: Sequence[GarmentSpec]) -> bool:
    n = Counter(s.slot for s in specs)
    separates = n["top"] == 1 and n["bottom"] == 1 and n["one_piece"] == 0
    one_piece = n["one_piece"] == 1 and n["top"] == 0 and n["bottom"] == 0
    accessories = [s.category for s in specs if s.slot == "accessory"]
    return (
        (separates or one_piece)
        and n["footwear"] == 1
        and n["outerwear"] <= 1
        and len(accessories) <= MAX_ACCESSORIES
        and len(set(accessories)) == len(accessories)
    )


def rule_violations(specs: Sequence[GarmentSpec]) -> tuple[str, ...]:
    """Which parts of the stylist rule an outfit breaks (empty = compatible)."""
    broken = []
    if not _slots_ok(specs):
        broken.append("slots")
    if not families_ok(
        {COLOUR_FAMILY[s.colour_primary] for s in specs if s.colour_primary in COLOUR_FAMILY}
    ):
        broken.append("colour")
    formality = [s.formality for s in specs]
    if max(formality) - min(formality) > FORMALITY_SPREAD + 1e-9:
        broken.append("formality")
    if not set.intersection(*(set(s.seasons) for s in specs)):
        broken.append("season")
    return tuple(broken)


def is_compatible(specs: Sequence[GarmentSpec]) -> bool:
    """Whether the stylist would put these items together."""
    return not rule_violations(specs)


# ---- semantic categories, titles, metadata -------------------------------------------------
SLOT_SEMANTIC = MappingProxyType(
    {
        "top": "tops",
        "bottom": "bottoms",
        "one_piece": "all-body",
        "outerwear": "outerwear",
        "footwear": "shoes",
        "accessory": "accessories",
    }
)
ACCESSORY_SEMANTIC = MappingProxyType(
    {"bag": "bags", "hat": "hats", "scarf": "scarves", "watch": "jewellery"}
)
PATTERN_WORDS = MappingProxyType(
    {
        "solid": "",
        "striped": "striped",
        "plaid": "plaid",
        "checkered": "checked",
        "floral": "floral",
        "graphic": "graphic print",
        "polka_dot": "polka dot",
        "abstract": "abstract print",
    }
)


def semantic_category(category: str) -> str:
    """Polyvore semantic category of a fine category."""
    return ACCESSORY_SEMANTIC.get(category, SLOT_SEMANTIC[CATEGORY_BY_NAME[category].slot])


def category_id(category: str) -> str:
    """The Polyvore-style ``category_id`` string of a fine category (1-based index)."""
    return str(CATEGORY_INDEX[category] + 1)


def title_for(spec: GarmentSpec) -> str:
    """A product title such as "navy striped dress shirt"."""
    words = [spec.colour_primary, PATTERN_WORDS[spec.pattern], spec.category.replace("_", " ")]
    return " ".join(w for w in words if w)


def description_for(spec: GarmentSpec) -> str:
    """A caption naming every attribute (used to train text towers)."""
    fit = (
        ""
        if CATEGORY_BY_NAME[spec.category].group in ("footwear", "accessories")
        else (f"{spec.fit}-fit ")
    )
    motif = (
        ""
        if spec.colour_secondary is None
        else (f" with a {spec.colour_secondary} {PATTERN_WORDS[spec.pattern]} pattern")
    )
    level = "formal" if spec.formality >= 0.7 else "smart" if spec.formality >= 0.4 else "casual"
    return (
        f"A {fit}{spec.colour_primary} {spec.category.replace('_', ' ')}{motif}. "
        f"A {level} piece for {' and '.join(spec.seasons)}. "
        f"Style: {', '.join(t.replace('_', ' ') for t in spec.style_tags)}."
    )


def item_meta(item_id: str, spec: GarmentSpec) -> ItemMeta:
    """The ``polyvore_item_metadata.json`` record of an item."""
    title = title_for(spec)
    return ItemMeta(
        item_id=item_id,
        semantic_category=semantic_category(spec.category),
        category_id=category_id(spec.category),
        title=title,
        description=description_for(spec),
        url_name=re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
        categories=(CATEGORY_BY_NAME[spec.category].group, spec.category),
        related=(),
    )


def category_rows() -> list[tuple[str, str, str]]:
    """Rows of ``categories.csv``: (category_id, fine-grained, semantic)."""
    return [(category_id(c), c, semantic_category(c)) for c in CATEGORY_INDEX]


# ---- the catalogue and outfit sampling -----------------------------------------------------
class Catalogue:
    """Items the stylist can choose from, with their rule inputs as arrays."""

    _FAMILIES = ("", *sorted(set(COLOUR_FAMILY.values())))

    def __init__(self, item_ids: Sequence[str], specs: Sequence[GarmentSpec]) -> None:
        self.item_ids = list(item_ids)
        self.specs = list(specs)
        self.slot = np.array([s.slot for s in specs])
        self.semantic = np.array([semantic_category(s.category) for s in specs])
        self.category = np.array([s.category for s in specs])
        self.formality = np.array([s.formality for s in specs])
        self.seasons = np.array([sum(1 << SEASONS.index(x) for x in s.seasons) for s in specs])
        self.family = np.array([COLOUR_FAMILY.get(s.colour_primary, "") for s in specs])

    def __len__(self) -> int:
        return len(self.specs)

    def candidates(self, slot: str, chosen: list[int]) -> np.ndarray:
        """Items of ``slot`` that keep a partial outfit within the colour, formality and
        season rules (and do not repeat a chosen accessory category)."""
        ok = self.slot == slot
        if chosen:
            f = self.formality[chosen]
            ok &= np.maximum(self.formality, f.max()) - np.minimum(self.formality, f.min()) <= (
                FORMALITY_SPREAD
            )
            common = np.bitwise_and.reduce(self.seasons[chosen])
            ok &= (self.seasons & common) != 0
            families = {x for x in self.family[chosen] if x}
            allowed = [x for x in self._FAMILIES if not x or families_ok(families | {x})]
            ok &= np.isin(self.family, allowed)
            ok &= ~np.isin(self.category, self.category[chosen])
        return np.flatnonzero(ok)


def _template(rng: np.random.Generator) -> list[str]:
    slots = ["top", "bottom"] if rng.uniform() < 0.7 else ["one_piece"]
    slots.append("footwear")
    if rng.uniform() < 0.4:
        slots.append("outerwear")
    slots += ["accessory"] * int(rng.choice(3, p=[0.4, 0.4, 0.2]))
    return slots


def sample_outfit(rng: np.random.Generator, cat: Catalogue, tries: int = 50) -> list[int]:
    """Catalogue indices of an outfit that follows the rule (items in random order)."""
    for _ in range(tries):
        slots = _template(rng)
        rng.shuffle(slots)
        chosen: list[int] = []
        for slot in slots:
            options = cat.candidates(slot, chosen)
            if not len(options):
                break
            chosen.append(int(options[rng.integers(len(options))]))
        else:
            if is_compatible([cat.specs[i] for i in chosen]):
                return chosen
    raise RuntimeError("could not sample a compatible outfit: is the catalogue too small?")


# ---- splits: outfits, compatibility questions, FITB ----------------------------------------
@dataclass(frozen=True)
class Negative:
    """A compatibility negative: its tokens and how it was made (for tests and analysis)."""

    tokens: tuple[str, ...]
    kind: str  # random | hard | slot
    source: str  # set_id of the positive it was derived from
    position: int  # swapped position (-1 for random negatives: every item replaced)


@dataclass
class OutfitSplit:
    """One Polyvore split: outfits with catalogue members, negatives and FITB questions."""

    name: str
    outfits: list[Outfit]
    members: list[list[int]]
    negatives: list[Negative] = field(default_factory=list)
    fitb: list[FitbQuestion] = field(default_factory=list)

    @property
    def compatibility(self) -> list[CompatQuestion]:
        """Positives then negatives, as lines of ``compatibility_<split>.txt``."""
        pos = [CompatQuestion(1, o.tokens) for o in self.outfits]
        return pos + [CompatQuestion(0, n.tokens) for n in self.negatives]


class _TokenPool:
    """Tokens of a split's outfits, by semantic category, resolvable to catalogue items."""

    def __init__(self, split: OutfitSplit, cat: Catalogue) -> None:
        self.member = {}
        by_sem: dict[str, list[str]] = {}
        for outfit, members in zip(split.outfits, split.members, strict=True):
            for token, idx in zip(outfit.tokens, members, strict=True):
                self.member[token] = idx
                by_sem.setdefault(str(cat.semantic[idx]), []).append(token)
        self.by_sem = by_sem
        self.tokens = list(self.member)

    def specs(self, cat: Catalogue, tokens) -> list[GarmentSpec]:
        return [cat.specs[self.member[t]] for t in tokens]


def _swap(tokens, position, token) -> tuple[str, ...]:
    out = list(tokens)
    out[position] = token
    return tuple(out)


def _hard_negative(rng, outfit: Outfit, pool: _TokenPool, cat: Catalogue, slot_break: bool):
    """Swap one item so that the outfit breaks the rule.

    A hard negative swaps in an item of the same semantic category that breaks exactly one
    part of the rule, drawn evenly among colour, formality and season (so each part must be
    learnt); a slot negative swaps in an item of another semantic category that breaks the
    slots.
    """
    tokens = outfit.tokens
    target = "slots" if slot_break else str(rng.choice(["colour", "formality", "season"]))
    fallback = None
    for position in rng.permutation(len(tokens)):
        sem = str(cat.semantic[pool.member[tokens[position]]])
        if slot_break:
            options = [t for t in pool.tokens if str(cat.semantic[pool.member[t]]) != sem]
        else:
            options = pool.by_sem[sem]
        for k in rng.permutation(len(options))[:40]:
            candidate = _swap(tokens, position, options[k])
            broken = rule_violations(pool.specs(cat, candidate))
            neg = Negative(candidate, "slot" if slot_break else "hard", outfit.set_id,
                           int(position))  # fmt: skip
            if broken == (target,) or (slot_break and target in broken):
                return neg
            if broken and fallback is None and (not slot_break or "slots" in broken):
                fallback = neg
    return fallback


def _random_negative(rng, outfit: Outfit, pool: _TokenPool, cat: Catalogue):
    """Replace every item by a random item of the same semantic category (rule broken)."""
    for _ in range(40):
        candidate = []
        for token in outfit.tokens:
            options = pool.by_sem[str(cat.semantic[pool.member[token]])]
            candidate.append(options[int(rng.integers(len(options)))])
        if rule_violations(pool.specs(cat, candidate)):
            return Negative(tuple(candidate), "random", outfit.set_id, -1)
    return None


def make_negatives(rng, split: OutfitSplit, cat: Catalogue) -> list[Negative]:
    """As many negatives as positives: 45 % random, 45 % hard one-item swaps, 10 % slot swaps."""
    pool = _TokenPool(split, cat)
    negatives = []
    for outfit in split.outfits:
        u = rng.uniform()
        if u < 0.45:
            neg = _random_negative(rng, outfit, pool, cat)
        else:
            neg = _hard_negative(rng, outfit, pool, cat, slot_break=u >= 0.9)
        if neg is None:
            neg = _hard_negative(rng, outfit, pool, cat, slot_break=True)
        if neg is not None:
            negatives.append(neg)
    return negatives


def make_fitb(rng, split: OutfitSplit, cat: Catalogue) -> list[FitbQuestion]:
    """One question per outfit: a random blank, the true item and 3 rule-breaking distractors
    of the same semantic category, in random order."""
    pool = _TokenPool(split, cat)
    questions = []
    for outfit, members in zip(split.outfits, split.members, strict=True):
        position = int(rng.integers(len(outfit.items)))
        tokens = outfit.tokens
        correct = tokens[position]
        rest = [cat.specs[m] for i, m in enumerate(members) if i != position]
        options = pool.by_sem[str(cat.semantic[members[position]])]
        seen = {cat.item_ids[members[position]]}
        distractors = []
        for k in rng.permutation(len(options)):
            token = options[k]
            item = cat.item_ids[pool.member[token]]
            if item in seen or token.startswith(outfit.set_id + "_"):
                continue
            if rule_violations([*rest, cat.specs[pool.member[token]]]):
                distractors.append(token)
                seen.add(item)
            if len(distractors) == FITB_ANSWERS - 1:
                break
        if len(distractors) < FITB_ANSWERS - 1:
            continue
        answers = [correct, *distractors]
        order = rng.permutation(FITB_ANSWERS)
        question = tuple(t for i, t in enumerate(tokens) if i != position)
        questions.append(
            FitbQuestion(question, tuple(answers[i] for i in order), outfit.items[position].index)
        )
    return questions


def build_splits(rng: np.random.Generator, cat: Catalogue, n_outfits: int) -> list[OutfitSplit]:
    """Sample ``n_outfits`` outfits, split them train/valid/test, add negatives and FITB."""
    set_ids = [str(v) for v in rng.choice(900_000_000, n_outfits, replace=False) + 100_000_000]
    bounds = np.round(np.cumsum((0.0, *SPLIT_FRACTIONS)) * n_outfits).astype(int)
    splits = []
    for k, name in enumerate(SPLITS):
        members = [sample_outfit(rng, cat) for _ in range(bounds[k], bounds[k + 1])]
        outfits = [
            Outfit(
                set_ids[bounds[k] + j],
                tuple(OutfitItem(cat.item_ids[m], i + 1) for i, m in enumerate(ms)),
            )
            for j, ms in enumerate(members)
        ]
        split = OutfitSplit(name, outfits, members)
        if outfits:
            split.negatives = make_negatives(rng, split, cat)
            split.fitb = make_fitb(rng, split, cat)
        splits.append(split)
    return splits
