"""Stage 3: candidate outfits by slot template, grown by beam search (never the full product).

Templates: ``top + bottom + footwear`` or ``one_piece + footwear``, then an outerwear step
(required, optional or left out) and up to ``max_accessories`` accessory steps. An optional step
keeps both the outfits without the slot and their best extensions, so outfits of every template
come out of one search.

The search: the first two slots are paired exhaustively (both slots pruned first, by a pair
score against a sample of the other slot, when that would exceed ``max_first_pairs``); every
later step extends each partial outfit with every garment of the slot (in a large wardrobe, with
the ``max_step_candidates`` garments that best extend the leading partial outfits), scores the
extensions exactly (:class:`~wardrobe.recommendation.scoring.OutfitState` folds), keeps each
parent's best ``children_per_parent``, lets no garment fill more than ``max_item_repeats``
places, and keeps the best ``beam_width``. The cost is linear in the wardrobe (the pruning
probes) plus a constant (``beam_width x max_step_candidates`` per step), where the product of
the slots grows with its 3rd to 5th power.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from wardrobe import taxonomy
from wardrobe.recommendation.constraints import Resolved
from wardrobe.recommendation.index import SLOT_INDEX, WardrobeIndex
from wardrobe.recommendation.scoring import OutfitState, RuleScorer
from wardrobe.recommendation.settings import SearchSettings

BODIES = {"separates": ("top", "bottom", "footwear"), "one_piece": ("one_piece", "footwear")}
Objective = Callable[[dict[str, np.ndarray]], np.ndarray]


class NoCandidates(Exception):
    """No outfit can be built; the message says why (it becomes the response's reason)."""


@dataclass(frozen=True)
class Step:
    """One slot to fill: from ``pool`` (garment rows); ``optional`` keeps outfits without it."""

    slot: str
    pool: np.ndarray
    optional: bool = False


def plan(
    index: WardrobeIndex, ok: np.ndarray, r: Resolved, search: SearchSettings
) -> list[list[Step]]:
    """The step lists (one per body kind that can be built), or :class:`NoCandidates`."""
    fixed: dict[str, list[int]] = {}
    for garment_id in r.include_ids:
        row = index.row[garment_id]
        fixed.setdefault(taxonomy.SLOTS[index.slot[row]], []).append(row)
    for slot, rows in fixed.items():
        if len(rows) > _max_of(slot, search):
            raise NoCandidates(
                f"the garments to include need {len(rows)} {slot} places; an outfit has "
                f"{_max_of(slot, search)}"
            )
    if len(fixed.get("accessory", [])) > 1:
        cats = [index.category[g] for g in fixed["accessory"]]
        if len(set(cats)) < len(cats):
            raise NoCandidates("the accessories to include are of the same kind")
    plans, missing = [], []
    for body in r.bodies:
        if any(s in fixed for s in _other_body(body)):
            continue
        steps, lack = _body_steps(index, ok, r, search, body, fixed)
        if lack:
            missing.append(lack)
        else:
            plans.append(steps)
    if not plans:
        detail = "; ".join(dict.fromkeys(missing)) or "the garments to include do not fit"
        raise NoCandidates(f"no complete outfit: {detail}")
    return plans


def _max_of(slot: str, search: SearchSettings) -> int:
    return search.max_accessories if slot == "accessory" else 1


def _other_body(body: str) -> tuple[str, ...]:
    return BODIES["one_piece" if body == "separates" else "separates"][:-1]


def _pool(index: WardrobeIndex, ok: np.ndarray, slot: str) -> np.ndarray:
    return np.flatnonzero(ok & (index.slot == SLOT_INDEX[slot]))


def _body_steps(index, ok, r: Resolved, search, body, fixed) -> tuple[list[Step], str | None]:
    steps = []
    for slot in BODIES[body]:
        pool = np.array(fixed[slot]) if slot in fixed else _pool(index, ok, slot)
        if not len(pool):
            return [], f"no {slot.replace('_', '-')} fits the constraints"
        steps.append(Step(slot, pool))
    layer = "required" if "outerwear" in fixed else r.outerwear
    if layer != "excluded":
        pool = (
            np.array(fixed["outerwear"]) if "outerwear" in fixed else _pool(index, ok, "outerwear")
        )
        if len(pool):
            steps.append(Step("outerwear", pool, optional=layer == "optional"))
        elif layer == "required":
            return [], "outerwear is required but none fits the constraints"
    if r.accessories == "required" and not search.max_accessories:
        return [], "an accessory is required but max_accessories is 0"
    if r.accessories != "excluded" and search.max_accessories:
        chosen = fixed.get("accessory", [])
        for row in chosen:
            steps.append(Step("accessory", np.array([row])))
        pool = _pool(index, ok, "accessory")
        required = r.accessories == "required" and not chosen
        if required and not len(pool):
            return [], "an accessory is required but none fits the constraints"
        for k in range(search.max_accessories - len(chosen)):
            if len(pool):
                steps.append(Step("accessory", pool, optional=not (required and k == 0)))
    return steps, None


# ---------------------------------------------------------------------------- beam search
def _group_rank(keys: np.ndarray) -> np.ndarray:
    """Rank of each entry within its key group, entries being in priority order already."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    lengths = np.diff(np.r_[starts, len(keys)])
    ranks = np.empty(len(keys), np.int64)
    ranks[order] = np.arange(len(keys)) - np.repeat(starts, lengths)
    return ranks


def select(
    scores: np.ndarray, parent: np.ndarray, rows: np.ndarray, width: int, search: SearchSettings
) -> np.ndarray:
    """Positions kept: best first, at most ``children_per_parent`` per parent and
    ``max_item_repeats`` per new garment, ``width`` in all."""
    order = np.argsort(-scores, kind="stable")
    order = order[_group_rank(parent[order]) < search.children_per_parent]
    order = order[_group_rank(rows[order]) < search.max_item_repeats]
    return order[:width]


def _extend_all(
    scorer: RuleScorer, state: OutfitState, pool: np.ndarray
) -> tuple[OutfitState, np.ndarray, np.ndarray]:
    """Every parent x every pool garment whose category the parent does not hold yet."""
    parent = np.repeat(np.arange(len(state)), len(pool))
    rows = np.tile(pool, len(state))
    if state.size:
        cats = scorer.index.category
        clash = (cats[state.items[parent]] == cats[rows][:, None]).any(axis=1)
        parent, rows = parent[~clash], rows[~clash]
    return scorer.extend(state, parent, rows), parent, rows


def _prune_first(
    scorer: RuleScorer, objective: Objective, a: np.ndarray, b: np.ndarray, keep: int
) -> np.ndarray:
    """The ``keep`` garments of pool ``a`` that pair best with a spread sample of pool ``b``."""
    if len(a) <= keep:
        return a
    sample = b[np.linspace(0, len(b) - 1, min(len(b), 16)).astype(np.int64)]
    singles = scorer.extend(OutfitState.empty(), np.zeros(len(a), np.int64), a)
    pairs, parent, _ = _extend_all(scorer, singles, sample)
    mean = np.bincount(parent, objective(scorer.parts(pairs)), minlength=len(a))
    return a[np.argsort(-mean / len(sample), kind="stable")[:keep]]


def _prune_step(scorer, state, pool, objective, keep: int, probes: int = 4) -> np.ndarray:
    """The ``keep`` garments of ``pool`` that extend the best ``probes`` partial outfits best
    (so a step costs ``beam x keep``, not ``beam x slot size``, in a large wardrobe)."""
    best = np.argsort(-objective(scorer.parts(state)), kind="stable")[:probes]
    extended, _, rows = _extend_all(scorer, state.take(best), pool)
    gain = np.full(int(pool.max()) + 1, -np.inf)
    np.maximum.at(gain, rows, objective(scorer.parts(extended)))
    return pool[np.argsort(-gain[pool], kind="stable")[:keep]]


def beam_search(
    scorer: RuleScorer, steps: list[Step], objective: Objective, search: SearchSettings
) -> list[OutfitState]:
    """Complete outfits (one state per template size) found by the beam search."""
    first, second = steps[0].pool, steps[1].pool
    if len(first) * len(second) > search.max_first_pairs:
        keep = max(int(np.sqrt(search.max_first_pairs)), 1)
        first, second = (
            _prune_first(scorer, objective, first, second, keep),
            _prune_first(scorer, objective, second, first, keep),
        )
    singles = scorer.extend(OutfitState.empty(), np.zeros(len(first), np.int64), first)
    groups = [_step(scorer, singles, second, objective, search)]
    for step in steps[2:]:
        grown = [_step(scorer, g, step.pool, objective, search) for g in groups]
        groups = [g for g in (groups if step.optional else []) + grown if len(g)]
    return groups


def _step(scorer, state, pool, objective, search) -> OutfitState:
    if len(pool) > search.max_step_candidates and len(state):
        pool = _prune_step(scorer, state, pool, objective, search.max_step_candidates)
    extended, parent, rows = _extend_all(scorer, state, pool)
    if not len(extended):
        return extended
    keep = select(objective(scorer.parts(extended)), parent, rows, search.beam_width, search)
    return extended.take(keep)


# ---------------------------------------------------------------------------- exhaustive
def enumerate_outfits(steps: list[Step], index: WardrobeIndex) -> Iterator[np.ndarray]:
    """Every outfit the steps allow (the exhaustive baseline), in chunks of rows ``[M, k]``.
    Only for small wardrobes: this is the product the beam search avoids."""
    mandatory = [s.pool for s in steps if not s.optional]
    optional = [s for s in steps if s.optional]
    for used in itertools.product((False, True), repeat=len(optional)):
        pools = mandatory + [s.pool for s, u in zip(optional, used, strict=True) if u]
        chunk = []
        for combo in itertools.product(*pools):
            cats = index.category[list(combo)]
            if len(set(cats.tolist())) == len(combo) and len(set(combo)) == len(combo):
                chunk.append(combo)
            if len(chunk) >= 50_000:
                yield np.array(chunk, np.int64)
                chunk = []
        if chunk:
            yield np.array(chunk, np.int64)


def candidate_space(steps: list[Step]) -> int:
    """How many outfits the steps allow (an upper bound: accessory order counts twice)."""
    total = 1
    for step in steps:
        total *= len(step.pool) + (1 if step.optional else 0)
    return total


def exhaustive(
    scorer: RuleScorer, plans: list[list[Step]]
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Every outfit of every plan with its score parts, chunk by chunk (the baseline)."""
    for steps in plans:
        for chunk in enumerate_outfits(steps, scorer.index):
            yield chunk, scorer.parts(scorer.fold(chunk))
