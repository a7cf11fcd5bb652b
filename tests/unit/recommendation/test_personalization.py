"""Stage 5: preference state - the design's rates, per user, decaying, persisted, idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tests.helpers.wardrobes import garment, index_of, put
from wardrobe.recommendation import RecommendSettings
from wardrobe.recommendation.personalization import PreferenceState, load, sync
from wardrobe.store import Garment

SETTINGS = RecommendSettings().personal


def stored(g) -> Garment:
    return Garment(
        **g.model_dump(),
        user_id="u",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )


def test_updates_follow_the_design_rates_on_every_colour_and_tag():
    state = PreferenceState.from_json({})
    shirt = stored(
        garment("a", "t_shirt", "red", secondary="white", style_tags=("casual", "trendy"))
    )
    state.apply([shirt], [None], 2.0, SETTINGS)  # a "wear"
    assert state.weights["category"] == {"t_shirt": pytest.approx(0.2)}
    assert state.weights["colour"]["red"] == pytest.approx(0.2)
    assert state.weights["colour"]["white"] == pytest.approx(0.2 * 0.25 / 0.7)
    assert state.weights["style"] == {"casual": pytest.approx(0.2), "trendy": pytest.approx(0.2)}
    assert state.weights["pattern"] == {"solid": pytest.approx(0.2)}


def test_weights_halve_every_half_life():
    state = PreferenceState(
        {"category": {"t_shirt": 1.0}, "colour": {}, "pattern": {}, "style": {}},
        embedding=[2.0, 0.0],
        events=3,
        at=0.0,
    )
    later = state.decayed(SETTINGS.half_life_days * 86_400, SETTINGS.half_life_days)
    assert later.weights["category"]["t_shirt"] == pytest.approx(0.5)
    assert later.embedding == pytest.approx([1.0, 0.0]) and later.events == 3


def test_no_adjustment_before_the_cold_start_threshold():
    idx = index_of(
        garment("a", "t_shirt", "red"),
        garment("b", "jeans", "blue", pattern="striped", style_tags=("formal",)),
    )
    state = PreferenceState.from_json({})
    for _ in range(SETTINGS.cold_start_events - 1):
        state.apply([idx.garments[0]], [None], 1.0, SETTINGS)
    assert not state.garment_scores(idx, SETTINGS).any()
    state.apply([idx.garments[0]], [None], 1.0, SETTINGS)
    scores = state.garment_scores(idx, SETTINGS)
    assert scores[0] > 0 > scores[1]
    assert abs(scores).max() <= SETTINGS.clamp  # standardised: half the clamp per deviation


def test_sync_persists_applies_each_event_once_and_survives_a_restart(repo, tmp_path):
    from tests.helpers.wardrobes import open_repo

    put(repo, "u", [garment("a", "t_shirt", "red"), garment("b", "jeans", "blue")])
    records = repo.records
    lookup = lambda ids: (repo.by_ids("u", ids), [None] * len(ids))  # noqa: E731
    records.add_feedback("u", "garment", ["a"], "like", 1.0, event_id="e1")
    first = sync(records, "u", lookup, SETTINGS)
    assert first.events == 1 and first.weights["colour"]["red"] == pytest.approx(0.1)
    records.add_feedback("u", "garment", ["a"], "like", 1.0, event_id="e1")  # a retry
    assert sync(records, "u", lookup, SETTINGS).events == 1
    # an event stored without its update (a crash in between) is applied by the next sync
    records.add_feedback("u", "garment", ["b"], "dislike", -1.0, event_id="e2")
    records.add_feedback("u", "garment", ["b"], "skip", -0.3, event_id="e3")
    assert sync(records, "u", lookup, SETTINGS).events == 3
    records.close()
    reopened = open_repo(tmp_path)  # a new process: a new RecordStore on the same file
    state = load(reopened.records, "u", SETTINGS)
    assert state.events == 3
    assert state.weights["colour"]["blue"] == pytest.approx(-0.13, abs=1e-3)
    reopened.records.close()


def test_old_events_count_less(repo):
    put(repo, "u", [garment("a", "t_shirt", "red"), garment("b", "jeans", "blue")])
    records = repo.records
    old = datetime.now(timezone.utc) - timedelta(days=SETTINGS.half_life_days)
    records.add_feedback("u", "garment", ["a"], "like", 1.0, created_at=old)
    records.add_feedback("u", "garment", ["b"], "like", 1.0)
    lookup = lambda ids: (repo.by_ids("u", ids), [None] * len(ids))  # noqa: E731
    state = sync(records, "u", lookup, SETTINGS)
    assert state.weights["colour"]["red"] == pytest.approx(0.05, rel=0.01)
    assert state.weights["colour"]["blue"] == pytest.approx(0.1, rel=0.01)


def test_embedding_direction_moves_toward_liked_garments():
    idx = index_of(garment("a", "t_shirt"), garment("b", "jeans"))
    from wardrobe.recommendation.index import WardrobeIndex

    idx = WardrobeIndex("u", idx.garments, np.array([[1.0, 0.0], [0.0, 1.0]]))
    state = PreferenceState.from_json({})
    for _ in range(SETTINGS.cold_start_events):
        state.apply([idx.garments[0]], [idx.embeddings[0]], 1.0, SETTINGS)
    state.weights = {k: {} for k in state.weights}  # only the embedding term left
    scores = state.garment_scores(idx, SETTINGS)
    assert scores[0] > 0 > scores[1]
