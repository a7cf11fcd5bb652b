"""Recommendation quality on held-out synthetic wardrobes, judged by the generator's hidden
stylist rule (``wardrobe.data.synthetic.outfits.rule_violations``), which the recommender never
sees: it only reads garment attributes, as it would for a real user.

* Share of recommended outfits that satisfy the rule vs random outfits of the same slot
  templates. Random ones pass about 9 % (each of colour, formality and season must hold by
  chance); the recommender measured 100 % on these wardrobes. Thresholds: >= 90 % recommended,
  <= 30 % random, a gap of at least 0.6 - slack for a seed where few compatible outfits exist,
  far from what chance could give.
* A simulated user who likes outfits with a blue garment and skips the others, for 5 rounds of
  10 recommendations (50 events, past the cold start of 10): the share of top-10 outfits with a
  blue garment rose from 0.20 to 0.52 on average, and all of them still satisfy the rule
  (measured). Thresholds: it never falls for any user, rises by at least 0.25 on average, and
  the outfits still satisfy the rule >= 80 % of the time (personalisation must not trade
  compatibility away).
"""

from __future__ import annotations

import numpy as np
import pytest

from wardrobe import taxonomy
from wardrobe.data.synthetic.outfits import is_compatible
from wardrobe.recommendation import Recommender, RecommendSettings
from wardrobe.recommendation.synthetic import random_embeddings, sample_wardrobe
from wardrobe.store import GarmentRepository, RecordStore, VectorStore

DIM, SIZE = 16, 80
FAMILY = "blue"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    records = RecordStore(f"sqlite:///{root / 'w.db'}", sqlite_synchronous="NORMAL")
    repo = GarmentRepository(records, VectorStore.embedded(str(root / "chroma"), dim=DIM))
    yield repo
    records.close()


def wardrobe(repo: GarmentRepository, seed: int) -> tuple[str, dict]:
    """A held-out wardrobe (seeds unused elsewhere); returns its user and garment specs."""
    rng = np.random.default_rng(seed)
    items = sample_wardrobe(rng, SIZE, prefix=f"h{seed}-")
    user = f"heldout{seed}"
    repo.put(user, [g for g, _ in items], random_embeddings(rng, len(items), DIM))
    return user, {g.id: spec for g, spec in items}


def random_outfit(rng: np.random.Generator, specs: dict) -> list:
    """A random outfit of the recommender's templates (separates or one-piece, footwear,
    optional outerwear and accessory)."""
    by_slot: dict[str, list] = {}
    for spec in specs.values():
        by_slot.setdefault(spec.slot, []).append(spec)
    one_piece = "one_piece" in by_slot and rng.uniform() < 0.25
    slots = (["one_piece"] if one_piece else ["top", "bottom"]) + ["footwear"]
    slots += [s for s in ("outerwear", "accessory") if s in by_slot and rng.uniform() < 0.5]
    return [by_slot[s][int(rng.integers(len(by_slot[s])))] for s in slots]


def test_recommended_outfits_follow_the_hidden_rule_far_more_than_random(store):
    rec = Recommender(store, RecommendSettings())
    rng = np.random.default_rng(0)
    recommended, random = [], []
    for seed in range(9100, 9110):
        user, specs = wardrobe(store, seed)
        result = rec.recommend(user)
        assert result.reason is None and len(result.outfits) >= 5
        recommended += [is_compatible([specs[g] for g in o.garment_ids]) for o in result.outfits]
        random += [is_compatible(random_outfit(rng, specs)) for _ in range(200)]
    share, chance = float(np.mean(recommended)), float(np.mean(random))
    print(
        f"stylist rule: recommended {share:.3f} ({len(recommended)} outfits), random {chance:.3f}"
    )
    assert share >= 0.9 and chance <= 0.3 and share - chance >= 0.6


def has_family(specs: dict, garment_ids: list[str]) -> bool:
    return any(
        taxonomy.COLOUR_HUE_FAMILY.get(specs[g].colour_primary) == FAMILY for g in garment_ids
    )


def test_feedback_for_one_colour_family_raises_its_share(store):
    rec = Recommender(store, RecommendSettings())
    before, after, compatible = [], [], []
    for seed in range(9200, 9206):
        user, specs = wardrobe(store, seed)
        shown = rec.recommend(user).outfits
        before.append(np.mean([has_family(specs, o.garment_ids) for o in shown]))
        for _ in range(5):
            for outfit in rec.recommend(user).outfits:
                liked = has_family(specs, outfit.garment_ids)
                rec.feedback(user, "like" if liked else "skip", outfit_id=outfit.outfit_id)
        shown = rec.recommend(user).outfits
        after.append(np.mean([has_family(specs, o.garment_ids) for o in shown]))
        compatible += [is_compatible([specs[g] for g in o.garment_ids]) for o in shown]
    print("per user:", [f"{b:.1f}->{a:.1f}" for b, a in zip(before, after, strict=True)])
    print(
        f"{FAMILY} share in the top 10: before {np.mean(before):.2f}, after {np.mean(after):.2f}; "
        f"rule share after {np.mean(compatible):.2f}"
    )
    assert all(a >= b for a, b in zip(after, before, strict=True))
    assert np.mean(after) - np.mean(before) >= 0.25
    assert np.mean(compatible) >= 0.8
