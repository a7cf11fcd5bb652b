"""Stage 3: templates and the beam search (same best outfit as the exhaustive baseline on a
small wardrobe, a fraction of its evaluations on a larger one)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.wardrobes import index_of
from wardrobe import taxonomy
from wardrobe.data.synthetic.spec import sample_garment
from wardrobe.recommendation import Constraints, RecommendSettings
from wardrobe.recommendation.candidates import (
    NoCandidates,
    beam_search,
    candidate_space,
    exhaustive,
    plan,
)
from wardrobe.recommendation.constraints import garment_mask, resolve
from wardrobe.recommendation.index import WardrobeIndex
from wardrobe.recommendation.scoring import RuleScorer
from wardrobe.recommendation.synthetic import garment_in, sample_wardrobe
from wardrobe.store import Garment

SETTINGS = RecommendSettings()


def synthetic_index(n: int, seed: int) -> WardrobeIndex:
    items = sample_wardrobe(np.random.default_rng(seed), n)
    return index_of(*[g for g, _ in items])


def balanced_index(seed: int, per_slot=(10, 8, 4, 6, 8, 6)) -> WardrobeIndex:
    """Garments with ``per_slot`` counts in taxonomy.SLOTS order (every template possible)."""
    rng = np.random.default_rng(seed)
    garments = []
    for slot, count in zip(taxonomy.SLOTS, per_slot, strict=True):
        options = taxonomy.categories_in_slot(slot)
        for i in range(count):
            spec = sample_garment(rng, options[int(rng.integers(len(options)))])
            garments.append(garment_in(f"{slot}{i}", spec))
    return index_of(*garments)


def objective(parts):
    return parts["rules"]


def setup(index: WardrobeIndex, constraints: Constraints | None = None, settings=SETTINGS):
    r = resolve(constraints or Constraints(), settings)
    ok, _ = garment_mask(index, r)
    return RuleScorer(index, settings), plan(index, ok, r, settings.search)


def beam_best(scorer, plans, settings=SETTINGS):
    groups = [g for steps in plans for g in beam_search(scorer, steps, objective, settings.search)]
    best = max(
        (float(objective(scorer.parts(g))[j]), sorted(g.items[j].tolist()))
        for g in groups
        for j in range(len(g))
    )
    return best


def exhaustive_best(scorer, plans):
    best = (-1.0, [])
    for chunk, parts in exhaustive(scorer, plans):
        j = int(np.argmax(objective(parts)))
        best = max(best, (float(objective(parts)[j]), sorted(chunk[j].tolist())))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_beam_search_finds_the_exhaustive_best_on_small_wardrobes(seed):
    index = balanced_index(seed)
    scorer, plans = setup(index)
    exact_score, _exact = exhaustive_best(scorer, plans)
    evaluated_exhaustively = scorer.evaluated
    scorer.evaluated = 0
    found_score, _found = beam_best(scorer, plans)
    assert found_score == pytest.approx(exact_score)
    assert scorer.evaluated < evaluated_exhaustively


def test_beam_search_cost_grows_far_slower_than_the_candidate_space():
    costs, spaces = [], []
    for n in (60, 240):
        scorer, plans = setup(synthetic_index(n, 5))
        for steps in plans:
            beam_search(scorer, steps, objective, SETTINGS.search)
        costs.append(scorer.evaluated)
        spaces.append(sum(candidate_space(steps) for steps in plans))
    assert spaces[1] / spaces[0] > 100  # 4x the garments, over 100x the outfits
    assert costs[1] / costs[0] < 6  # roughly linear in the wardrobe


def test_outfits_follow_the_slot_templates():
    index = synthetic_index(80, 3)
    scorer, plans = setup(
        index,
        settings=SETTINGS.model_copy(
            update={"search": SETTINGS.search.model_copy(update={"max_accessories": 2})}
        ),
    )
    for steps in plans:
        for group in beam_search(scorer, steps, objective, SETTINGS.search):
            for rows in group.items:
                slots = [taxonomy.SLOTS[index.slot[r]] for r in rows]
                separates = slots.count("top") == 1 and slots.count("bottom") == 1
                assert separates != (slots.count("one_piece") == 1)
                assert slots.count("footwear") == 1 and slots.count("outerwear") <= 1
                accessories = [index.category[r] for r in rows if index.slot[r] == 5]
                assert len(accessories) <= 2 and len(set(accessories)) == len(accessories)


def test_an_included_garment_fixes_its_slot_and_body():
    index = synthetic_index(80, 4)
    dress = next(i for i in range(len(index)) if taxonomy.SLOTS[index.slot[i]] == "one_piece")
    scorer, plans = setup(index, Constraints(include_ids=[index.ids[dress]]))
    assert len(plans) == 1
    for group in beam_search(scorer, plans[0], objective, SETTINGS.search):
        assert (group.items == dress).any(axis=1).all()


def test_impossible_templates_say_why():
    index = index_of(
        *[
            g
            for g, _ in sample_wardrobe(np.random.default_rng(0), 30)
            if g.category not in taxonomy.categories_in_slot("footwear")
        ]
    )
    with pytest.raises(NoCandidates, match="no footwear"):
        setup(index)
    two_tops = [i for i in range(len(index)) if index.slot[i] == 0][:2]
    full = synthetic_index(60, 1)
    tops = [full.ids[i] for i in range(len(full)) if full.slot[i] == 0][:2]
    with pytest.raises(NoCandidates, match="need 2 top places; an outfit has 1"):
        setup(full, Constraints(include_ids=tops))
    assert len(two_tops) == 2


def test_index_keeps_only_the_users_garments():
    g = sample_wardrobe(np.random.default_rng(0), 1)[0][0]
    foreign = Garment(
        **g.model_dump(),
        user_id="mallory",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )
    with pytest.raises(ValueError, match="do not belong"):
        WardrobeIndex.build("alice", [foreign])


def test_a_required_accessory_with_accessories_switched_off_is_impossible():
    no_accessories = SETTINGS.model_copy(
        update={"search": SETTINGS.search.model_copy(update={"max_accessories": 0})}
    )
    with pytest.raises(NoCandidates, match="max_accessories is 0"):
        setup(balanced_index(0), Constraints(accessories="required"), settings=no_accessories)
