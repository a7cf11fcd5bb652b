"""Stage 4: the corrected rule scorer, its incremental folds, and the learned scorer wiring."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.helpers.wardrobes import DIM, garment, index_of, random_bundle
from wardrobe.recommendation import RecommendSettings
from wardrobe.recommendation.index import WardrobeIndex
from wardrobe.recommendation.scoring import LearnedScorer, OutfitState, RuleScorer

SETTINGS = RecommendSettings()


def parts_of(*garments) -> dict[str, float]:
    idx = index_of(*garments)
    scorer = RuleScorer(idx, SETTINGS)
    state = scorer.fold([list(range(len(idx)))])
    return {k: float(v[0]) for k, v in scorer.parts(state).items()}


@pytest.mark.parametrize("order", [("t_shirt", "jeans"), ("jeans", "t_shirt")])
def test_category_pairs_match_in_either_order(order):
    """The design sorted the pair but not the table keys: ("t_shirt", "jeans") never matched."""
    a, b = order
    assert parts_of(garment("a", a), garment("b", b))["combo"] == 1.0
    assert parts_of(garment("a", a), garment("b", "skirt"))["combo"] == 0.7


def test_colour_harmony_uses_the_taxonomy_and_every_colour():
    navy_white = parts_of(garment("a", "t_shirt", "navy"), garment("b", "jeans", "white"))
    neutral = parts_of(garment("a", "t_shirt", "black"), garment("b", "jeans", "beige"))
    complementary = parts_of(garment("a", "t_shirt", "blue"), garment("b", "jeans", "orange"))
    clash = parts_of(garment("a", "t_shirt", "red"), garment("b", "jeans", "blue"))
    assert navy_white["colour"] == pytest.approx(0.9)  # classic pairing of the design
    assert neutral["colour"] == pytest.approx(0.8)
    assert complementary["colour"] == pytest.approx(1.0)
    assert clash["colour"] < 0.5 < neutral["colour"]
    # secondary colours count (the design looked at primaries only), in proportion to their share
    one_motif = parts_of(
        garment("a", "t_shirt", "navy", secondary="red"), garment("b", "jeans", "white")
    )
    clashing_motifs = parts_of(
        garment("a", "t_shirt", "navy", secondary="red"),
        garment("b", "jeans", "white", secondary="blue"),
    )
    assert clash["colour"] < clashing_motifs["colour"] < one_motif["colour"]


def test_three_main_colour_families_are_busy():
    two = parts_of(garment("a", "t_shirt", "blue"), garment("b", "jeans", "orange"))
    three = parts_of(
        garment("a", "t_shirt", "blue"),
        garment("b", "jeans", "orange"),
        garment("c", "sneakers", "brown"),
    )
    assert three["colour"] < two["colour"]


def test_formality_spread_and_shared_season():
    close = parts_of(
        garment("a", "dress_shirt", formality=0.8), garment("b", "chinos", formality=0.7)
    )
    apart = parts_of(
        garment("a", "dress_shirt", formality=0.9), garment("b", "shorts", formality=0.1)
    )
    assert close["formality"] > 0.9 and apart["formality"] == 0.0
    no_common = parts_of(
        garment("a", "t_shirt", seasons=("summer",)), garment("b", "jeans", seasons=("winter",))
    )
    assert no_common["season"] == 0.0 and close["season"] == 1.0
    assert no_common["rules"] < close["rules"]


def test_partial_folds_are_order_independent_and_match_a_full_fold():
    idx = index_of(
        garment("a", "t_shirt", "red", 0.2, secondary="green"),
        garment("b", "jeans", "blue", 0.3),
        garment("c", "sneakers", "white", 0.15),
        garment("d", "bomber", "orange", 0.35),
    )
    scorer = RuleScorer(idx, SETTINGS, personal=np.array([0.1, 0.2, 0.0, -0.3]))
    values = [
        {k: float(v[0]) for k, v in scorer.parts(scorer.fold([list(p)])).items()}
        for p in itertools.permutations(range(4))
    ]
    for v in values[1:]:
        assert v == pytest.approx(values[0])
    assert values[0]["personal"] == pytest.approx(0.0)
    # extending a partial outfit gives the same state as folding the whole outfit
    partial = scorer.fold([[0, 1]])
    grown = scorer.extend(partial, np.array([0, 0]), np.array([2, 3]))
    direct = scorer.fold([[0, 1, 2], [0, 1, 3]])
    for key in ("rules", "colour", "combo"):
        np.testing.assert_allclose(scorer.parts(grown)[key], scorer.parts(direct)[key])


def test_learned_scorer_gives_probabilities_and_ignores_padding():
    idx = index_of(*[garment(f"g{i}", "t_shirt") for i in range(4)])
    idx = WardrobeIndex("u", idx.garments, np.random.default_rng(0).normal(size=(4, DIM)))
    scorer = LearnedScorer(random_bundle().net, DIM, batch_size=2)
    mixed = scorer.score(idx, [[0, 1, 2], [0, 3], [1, 2, 3]])
    assert mixed.shape == (3,) and ((mixed > 0) & (mixed < 1)).all()
    alone = scorer.score(idx, [[0, 3]])
    assert alone[0] == pytest.approx(mixed[1], abs=1e-5)  # padding to 3 items changes nothing
    with pytest.raises(ValueError, match="dims"):
        LearnedScorer(random_bundle().net, DIM + 1).score(idx, [[0, 1]])


def test_empty_state_scores_a_lone_garment():
    idx = index_of(garment("a", "t_shirt", "white"))
    scorer = RuleScorer(idx, SETTINGS)
    state = scorer.extend(OutfitState.empty(), np.array([0]), np.array([0]))
    parts = scorer.parts(state)
    assert parts["colour"][0] == pytest.approx(0.8) and parts["formality"][0] == 1.0
