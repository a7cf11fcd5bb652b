"""The Recommender end to end on real stores: reasons instead of exceptions, recorded outfits,
feedback errors, the learned-scorer gate, user isolation, restarts, and a property test that
every returned outfit respects every constraint."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers.wardrobes import (
    CLIP_SHA,
    DIM,
    garment,
    open_repo,
    put,
    put_synthetic,
    random_bundle,
)
from wardrobe import taxonomy
from wardrobe.artifacts import save_bundle
from wardrobe.recommendation import Constraints, Recommender, RecommendSettings
from wardrobe.store import NotFound

BASIC = [
    garment("tee", "t_shirt", "white", 0.2),
    garment("shirt", "dress_shirt", "white", 0.85),
    garment("jeans", "jeans", "blue", 0.3),
    garment("trousers", "dress_pants", "navy", 0.85),
    garment("sneakers", "sneakers", "white", 0.15),
    garment("oxfords", "dress_shoes", "black", 0.9),
    garment("coat", "coat", "grey", 0.75),
    garment("watch", "watch", "black", 0.6),
]


def test_a_basic_wardrobe_gives_explained_recorded_outfits(repo):
    put(repo, "u", BASIC)
    rec = Recommender(repo, RecommendSettings())
    result = rec.recommend("u", Constraints(occasion="business"), k=3)
    assert result.reason is None and result.outfits
    best = result.outfits[0]
    assert best.garment_ids[:2] == ["shirt", "trousers"] and "oxfords" in best.garment_ids
    assert "formality matches a business occasion" in best.explanation
    assert {"colour", "formality", "combo", "season", "rules", "total"} <= set(best.breakdown)
    assert best.score == best.breakdown["total"]
    for outfit in result.outfits:  # recorded: feedback can name them
        assert repo.records.get_outfit("u", outfit.outfit_id).garment_ids == outfit.garment_ids


def test_empty_and_impossible_wardrobes_give_a_reason_not_an_exception(repo):
    rec = Recommender(repo, RecommendSettings())
    empty = rec.recommend("nobody")
    assert empty.outfits == [] and "empty" in empty.reason
    put(repo, "u", [g for g in BASIC if g.category != "sneakers" and g.category != "dress_shoes"])
    for constraints, words in [
        (Constraints(), "no footwear"),
        (Constraints(occasion="athletic", formality_max=0.05), "no garment"),
        (Constraints(include_ids=["coat"], temperature_c=35), "coat"),
    ]:
        result = rec.recommend("u", constraints)
        assert result.outfits == [] and words in result.reason


def test_unknown_and_foreign_garments_are_not_found(repo):
    put(repo, "alice", BASIC)
    put(repo, "bob", [garment("bobs-tee", "t_shirt")])
    rec = Recommender(repo, RecommendSettings())
    with pytest.raises(NotFound):
        rec.recommend("alice", Constraints(include_ids=["bobs-tee"]))
    with pytest.raises(NotFound):
        rec.feedback("alice", "like", garment_ids=["bobs-tee"])
    with pytest.raises(NotFound):
        rec.feedback("alice", "like", outfit_id="never-shown")
    with pytest.raises(ValueError, match="signal"):
        rec.feedback("alice", "love", garment_ids=["tee"])
    with pytest.raises(ValueError, match="exactly one"):
        rec.feedback("alice", "like")
    assert rec.recommend("bob").outfits == []  # bob's one tee is no outfit: alice's never join


def test_feedback_uses_the_configured_weights_and_persists_preferences(repo, tmp_path):
    put(repo, "u", BASIC)
    settings = RecommendSettings()
    rec = Recommender(repo, settings)
    shown = rec.recommend("u", k=2).outfits[0]
    event = rec.feedback("u", "wear", outfit_id=shown.outfit_id, event_id="ev-1")
    assert event.weight == settings.feedback_weights["wear"] == 2.0
    assert event.garment_ids == shown.garment_ids
    again = rec.feedback("u", "wear", outfit_id=shown.outfit_id, event_id="ev-1")  # a retry
    assert again.id == "ev-1"
    for _ in range(settings.personal.cold_start_events):
        rec.feedback("u", "like", garment_ids=["jeans"])
    repo.records.close()
    reopened = open_repo(tmp_path)  # the process restarted: a new RecordStore on the file
    state = reopened.records.get_preferences("u").state
    assert state["events"] == 1 + settings.personal.cold_start_events
    assert state["weights"]["category"]["jeans"] > 0
    after = Recommender(reopened, settings).recommend("u", k=1).outfits[0]
    assert after.breakdown["personal"] != 0  # past the cold start, in the new process too
    reopened.records.close()


def test_recently_worn_garments_are_left_out(repo):
    put(repo, "u", [*BASIC, garment("jeans2", "jeans", "black", 0.3)])
    rec = Recommender(repo, RecommendSettings())
    old = datetime.now(timezone.utc) - timedelta(days=30)
    repo.records.add_feedback("u", "garment", ["jeans2"], "wear", 2.0, created_at=old)
    rec.feedback("u", "wear", garment_ids=["jeans"])
    worn = rec.recommend("u", Constraints(not_worn_days=7, occasion="casual"))
    used = {g for o in worn.outfits for g in o.garment_ids}
    assert "jeans" not in used and "jeans2" in used


def test_new_garments_invalidate_the_cached_wardrobe(repo):
    put(repo, "u", BASIC)
    rec = Recommender(repo, RecommendSettings())
    before = rec.wardrobe("u")
    assert rec.wardrobe("u") is before  # cached
    put(repo, "u", [garment("loafers", "loafers", "brown", 0.7)], seed=1)
    assert "loafers" in rec.wardrobe("u").row
    repo.delete("u", "loafers")
    assert "loafers" not in rec.wardrobe("u").row


@pytest.mark.parametrize(
    ("bundle", "sha", "status"),
    [
        (None, CLIP_SHA, "off: no compatibility bundle"),
        ("backbone", CLIP_SHA, "features, not on the served CLIP"),
        ("no-sha", CLIP_SHA, "does not record encoder_weights_sha256"),
        ("ok", None, "weights_sha256 was not given"),
        ("ok", "d" * 64, "trained on CLIP weights cccccccccccc"),
        ("ok", CLIP_SHA, "on: compatibility"),
    ],
)
def test_learned_scorer_runs_only_on_the_served_clip_features(repo, bundle, sha, status):
    put(repo, "u", BASIC)
    compat = {
        None: None,
        "backbone": random_bundle(kind="backbone"),
        "no-sha": random_bundle(sha=None),
        "ok": random_bundle(),
    }[bundle]
    rec = Recommender(repo, RecommendSettings(), compatibility=compat, clip_weights_sha256=sha)
    assert status in rec.learned_scorer_status
    outfits = rec.recommend("u", k=2).outfits
    assert ("learned" in outfits[0].breakdown) == rec.learned_scorer_status.startswith("on")
    if "learned" in outfits[0].breakdown:
        assert 0 < outfits[0].breakdown["learned"] < 1


def test_from_config_loads_the_compatibility_bundle(repo, tmp_path):
    put(repo, "u", BASIC)
    cfg = {"blend": {"rules": 0.5, "learned": 0.5, "text": 0.5}}
    rec = Recommender.from_config(cfg, repo, artifacts_dir=tmp_path / "none")
    assert rec.learned_scorer_status == "off: no compatibility bundle"
    bundle = random_bundle()
    save_bundle(
        tmp_path / "artifacts" / "compatibility",
        name="compatibility",
        net=bundle.net,
        net_cfg=bundle.net.config,
        labels={},
        preprocessing=bundle.preprocessing,
    )
    rec = Recommender.from_config(
        cfg, repo, artifacts_dir=tmp_path / "artifacts", clip_weights_sha256=CLIP_SHA
    )
    assert rec.learned_scorer_status.startswith("on") and rec.settings.blend.learned == 0.5
    with pytest.raises(ValueError):
        Recommender.from_config({"blend": {"rulez": 1}}, repo, artifacts_dir=tmp_path)


def test_text_requests_parse_and_rank_by_clip_similarity(repo):
    put(repo, "u", BASIC)
    target = repo.embeddings("u", ["jeans"])["jeans"]

    def embed(texts):  # a stand-in CLIP text tower that "sees" the jeans in every request
        return np.tile(target / np.linalg.norm(target), (len(texts), 1))

    rec = Recommender(repo, RecommendSettings(), text_embedder=embed)
    result = rec.recommend("u", text="a zorblax look for a rainy 10°C day")
    assert result.constraints.occasion is None and result.constraints.rain
    assert result.constraints.temperature_c == 10
    best = result.outfits[0]
    assert "jeans" in best.garment_ids and "coat" in best.garment_ids  # rain: a layer
    assert best.breakdown["text"] > 0


def test_results_are_diverse(repo):
    put_synthetic(repo, "u", 120, seed=7)
    rec = Recommender(repo, RecommendSettings())
    outfits = rec.recommend("u", k=10).outfits
    assert len(outfits) == 10
    limit = rec.settings.ranking.max_shared_garments
    for i, a in enumerate(outfits):
        for b in outfits[i + 1 :]:
            assert len(set(a.garment_ids) & set(b.garment_ids)) <= limit


# ------------------------------------------------------------------------------ property test
WARDROBES = 5


@pytest.fixture(scope="module")
def wardrobes(shared_repo):
    """A few synthetic wardrobes (some garments worn today, some 40 days ago)."""
    out = {}
    for seed in range(WARDROBES):
        user = f"w{seed}"
        specs = put_synthetic(shared_repo, user, 25 + 15 * seed, seed)
        ids = sorted(specs)
        old = datetime.now(timezone.utc) - timedelta(days=40)
        shared_repo.records.add_feedback(user, "garment", ids[:3], "wear", 2.0)
        shared_repo.records.add_feedback(user, "garment", ids[3:6], "wear", 2.0, created_at=old)
        out[user] = ids
    rec = Recommender(
        shared_repo,
        RecommendSettings(),
        compatibility=random_bundle(),
        clip_weights_sha256=CLIP_SHA,
    )
    return shared_repo, rec, out


@st.composite
def requests(draw):
    user = f"w{draw(st.integers(0, WARDROBES - 1))}"
    return user, {
        "occasion": draw(st.none() | st.sampled_from(taxonomy.OCCASIONS)),
        "temperature_c": draw(st.none() | st.floats(-50, 60)),
        "rain": draw(st.booleans()),
        "seasons": draw(st.lists(st.sampled_from(taxonomy.SEASONS), max_size=2, unique=True)),
        "not_worn_days": draw(st.none() | st.integers(1, 60)),
        "outerwear": draw(st.sampled_from(["auto", "required", "optional", "excluded"])),
        "accessories": draw(st.sampled_from(["optional", "required", "excluded"])),
        "body": draw(st.sampled_from(["any", "separates", "one_piece"])),
        "k": draw(st.integers(1, 12)),
        "picks": draw(st.lists(st.integers(0, 200), max_size=3)),
        "include": draw(st.integers(0, 2)),
    }


def expected_seasons(c: Constraints, settings: RecommendSettings) -> set[str]:
    if c.seasons:
        return set(c.seasons)
    if c.temperature_c is None:
        return set()
    return set(settings.weather.seasons_for(c.temperature_c))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=requests())
def test_every_returned_outfit_respects_every_constraint(wardrobes, request):
    repo, rec, ids_of = wardrobes
    user, r = request
    ids = ids_of[user]
    picked = sorted({ids[p % len(ids)] for p in r.pop("picks")})
    include = picked[: r.pop("include")]
    c = Constraints(**r, include_ids=include, exclude_ids=picked[len(include) :])
    result = rec.recommend(user, c)
    assert len(result.outfits) <= c.k
    event("outfits" if result.outfits else "no outfit: " + result.reason.split(":")[0])
    if not result.outfits:
        assert result.reason  # never an exception, always a reason
        return
    worn = set()
    if c.not_worn_days:
        since = datetime.now(timezone.utc) - timedelta(days=c.not_worn_days)
        worn = {g for e in repo.records.list_feedback(user, since=since) for g in e.garment_ids}
    lo, hi = taxonomy.OCCASION_FORMALITY.get(c.occasion, (0.0, 1.0))
    seasons = expected_seasons(c, rec.settings)
    weather = rec.settings.weather
    cold = c.temperature_c is not None and c.temperature_c < weather.outerwear_below_c
    hot = c.temperature_c is not None and c.temperature_c >= weather.no_outerwear_above_c
    for outfit in result.outfits:
        garments = repo.by_ids(user, outfit.garment_ids, missing="raise")  # the user's own
        slots = [g.slot for g in garments]
        assert set(include) <= set(outfit.garment_ids)
        assert not set(outfit.garment_ids) & (set(c.exclude_ids) | worn)
        for g in garments:
            assert lo - 1e-9 <= g.attributes.formality <= hi + 1e-9
            assert not seasons or seasons & set(g.attributes.seasons)
            assert not (c.rain and g.category in weather.rain_excluded_categories)
        separates = slots.count("top") == slots.count("bottom") == 1 and "one_piece" not in slots
        one_piece = slots.count("one_piece") == 1 and "top" not in slots and "bottom" not in slots
        assert separates or one_piece
        assert {"any": True, "separates": separates, "one_piece": one_piece}[c.body]
        assert slots.count("footwear") == 1 and slots.count("outerwear") <= 1
        layer = (
            c.outerwear
            if c.outerwear != "auto"
            else ("required" if cold or c.rain else "excluded" if hot else "optional")
        )
        assert {
            "required": "outerwear" in slots,
            "excluded": "outerwear" not in slots,
            "optional": True,
        }[layer]
        assert {
            "required": "accessory" in slots,
            "excluded": "accessory" not in slots,
            "optional": True,
        }[c.accessories]
    for i, a in enumerate(result.outfits):
        for b in result.outfits[i + 1 :]:
            assert len(set(a.garment_ids) & set(b.garment_ids)) <= (
                rec.settings.ranking.max_shared_garments
            )
    assert DIM  # the wardrobes carry DIM-dimensional stand-in embeddings


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_top1_equals_the_exhaustive_baseline_with_the_learned_scorer_on(repo, seed):
    put_synthetic(repo, "u", 30, seed)
    rec = Recommender(
        repo, RecommendSettings(), compatibility=random_bundle(), clip_weights_sha256=CLIP_SHA
    )
    best, score, scored = rec.exhaustive_best("u")
    top = rec.recommend("u", k=1).outfits[0]
    assert top.garment_ids == best and top.score == pytest.approx(score, abs=1e-4)
    assert rec.last_stats["scored"] < scored


def test_learned_scorer_is_off_when_the_store_holds_other_embeddings(tmp_path):
    from wardrobe.store import GarmentRepository, RecordStore, VectorStore

    records = RecordStore(f"sqlite:///{tmp_path / 'w.db'}")
    repo = GarmentRepository(records, VectorStore.embedded(str(tmp_path / "v"), dim=DIM + 1))
    rec = Recommender(repo, compatibility=random_bundle(), clip_weights_sha256=CLIP_SHA)
    assert rec.learned_scorer_status.startswith("off: the vector store holds 17-d")
    records.close()


@pytest.mark.parametrize("seed", [11, 13])
def test_learned_only_search_is_steered_by_the_net(repo, seed):
    """With rules weighted 0, the net scores the partial outfits the beam grows; a beam steered
    by the rules alone (the net re-scoring only its final pool) finds worse outfits for it."""
    put_synthetic(repo, "u", 40, seed)
    blend = {"rules": 0.0, "learned": 1.0, "text": 0.5}
    search = {"learned_in_beam": True}
    settings = RecommendSettings.model_validate({"blend": blend, "search": search})
    rec = Recommender(repo, settings, compatibility=random_bundle(), clip_weights_sha256=CLIP_SHA)
    top = rec.recommend("u", k=1).outfits[0]
    assert rec.last_stats["learned"] > settings.search.candidate_pool
    _, best, _ = rec.exhaustive_best("u")
    blind = settings.model_copy(
        update={"search": settings.search.model_copy(update={"learned_in_beam": False})}
    )
    rules_beam = Recommender(repo, blind, random_bundle(), clip_weights_sha256=CLIP_SHA)
    other = rules_beam.recommend("u", k=1).outfits[0].score
    assert other <= top.score <= best + 1e-4  # scores are rounded to 4 decimals


def test_a_garment_feature_bundle_that_reads_captions_needs_a_text_embedder(repo):
    bundle = random_bundle(kind="garments")
    bundle.preprocessing["encoder"]["parts"] = ["image", "text", "colour"]
    rec = Recommender(repo, compatibility=bundle, clip_weights_sha256=CLIP_SHA)
    assert rec.learned_scorer_status == (
        "off: the compatibility net reads caption embeddings but no text embedder"
    )


def test_without_the_learned_net_the_rules_weigh_rules_alone(repo):
    settings = RecommendSettings.model_validate({"blend": {"rules": 0.3, "rules_alone": 0.6}})
    rec = Recommender(repo, settings)
    parts = {"rules": np.array([1.0]), "text": np.array([0.0]), "personal": np.array([0.0])}
    assert rec._objective(parts)[0] == pytest.approx(0.6)
    with_net = {**parts, "learned": np.array([1.0])}
    assert rec._objective(with_net)[0] == pytest.approx(0.3 + settings.blend.learned)
