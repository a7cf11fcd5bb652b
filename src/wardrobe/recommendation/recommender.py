"""``Recommender``: constraints -> filter -> candidates -> scores -> personalisation -> top K.

The one object serving builds (per worker) and calls. It reads garments and embeddings through
the :class:`~wardrobe.store.GarmentRepository`, only ever the requesting user's, keeps each
user's wardrobe as a :class:`WardrobeIndex` in a small cache keyed by the records' fingerprint
(any garment written or deleted invalidates it), records every outfit it returns (so feedback
can name it), and stores feedback with the preference update.

The learned compatibility net reads the garments' stored CLIP embeddings. It is used only when
its bundle says it was trained on exactly those features: encoder kind ``bundle`` and an
``encoder_weights_sha256`` equal to the served CLIP bundle's ``weights_sha256``. Otherwise the
recommender ranks with the rules alone and ``learned_scorer_status`` says why.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from wardrobe import taxonomy
from wardrobe.artifacts import Bundle, load_bundle
from wardrobe.data.item_features import BUNDLE, GARMENTS
from wardrobe.recommendation import personalization
from wardrobe.recommendation.candidates import NoCandidates, beam_search, exhaustive, plan
from wardrobe.recommendation.constraints import Constraints, Resolved, garment_mask, resolve
from wardrobe.recommendation.index import WardrobeIndex
from wardrobe.recommendation.ranking import diverse_top_k, explain, liked_feature
from wardrobe.recommendation.scoring import LearnedScorer, OutfitState, RuleScorer
from wardrobe.recommendation.settings import RecommendSettings
from wardrobe.recommendation.text import parse_request
from wardrobe.store.errors import NotFound, some_ids
from wardrobe.store.garments import GarmentRepository
from wardrobe.store.schema import FeedbackEvent, Garment, check_id

log = logging.getLogger(__name__)

TextEmbedder = Callable[[Sequence[str]], np.ndarray]
SLOT_ORDER = {slot: i for i, slot in enumerate(taxonomy.SLOTS)}  # garments listed in slot order


class RecommendedOutfit(BaseModel):
    """One recommended outfit, recorded under ``outfit_id`` for feedback."""

    model_config = ConfigDict(frozen=True)

    outfit_id: str
    garment_ids: list[str]
    score: float
    breakdown: dict[str, float]
    explanation: str


class Recommendation(BaseModel):
    """Up to K outfits, best first; an empty list comes with the ``reason``."""

    model_config = ConfigDict(frozen=True)

    outfits: list[RecommendedOutfit]
    reason: str | None = None
    constraints: Constraints


class Recommender:
    """Outfit recommendations; one per worker process (threads may share it: the wardrobe
    cache is locked, and ``last_stats`` describes the latest request of any thread).

    Args:
        repository: the garment stores (records + vectors).
        settings: :class:`RecommendSettings` (``conf/pipeline/recommend.yaml``).
        compatibility: a loaded compatibility bundle, or None for rules only.
        text_embedder: L2-normalised CLIP text embeddings ``[N, D]`` of strings, or None.
        clip_weights_sha256: ``weights_sha256`` of the served CLIP bundle (what made the stored
            embeddings); the learned scorer is enabled only when the bundle matches it.
    """

    def __init__(
        self,
        repository: GarmentRepository,
        settings: RecommendSettings | None = None,
        compatibility: Bundle | None = None,
        text_embedder: TextEmbedder | None = None,
        clip_weights_sha256: str | None = None,
    ) -> None:
        self.repository = repository
        self.settings = settings or RecommendSettings()
        self.text_embedder = text_embedder
        self.learned, self.learned_scorer_status = _learned_scorer(
            compatibility, clip_weights_sha256, self.settings, text_embedder
        )
        store_dim = getattr(getattr(repository, "vectors", None), "dim", None)
        learned_dim = None if self.learned is None else self.learned.embedding_dim
        if self.learned is not None and store_dim not in (None, learned_dim):
            self.learned_scorer_status = (
                f"off: the vector store holds {store_dim}-d embeddings, the compatibility net "
                f"was trained on {learned_dim}-d CLIP embeddings"
            )
            self.learned = None
        self._cache: OrderedDict[str, WardrobeIndex] = OrderedDict()
        self._lock = threading.Lock()
        self.last_stats: dict[str, int] = {}

    @classmethod
    def from_config(
        cls,
        cfg_recommend: Mapping[str, Any] | None,
        repository: GarmentRepository,
        *,
        artifacts_dir: str | Path,
        text_embedder: TextEmbedder | None = None,
        clip_weights_sha256: str | None = None,
    ) -> Recommender:
        """Settings from ``pipeline.recommend``; ``<artifacts_dir>/compatibility`` if present."""
        path = Path(artifacts_dir) / "compatibility"
        bundle = load_bundle(path) if (path / "bundle.json").is_file() else None
        return cls(
            repository,
            RecommendSettings.from_config(cfg_recommend),
            compatibility=bundle,
            text_embedder=text_embedder,
            clip_weights_sha256=clip_weights_sha256,
        )

    # ------------------------------------------------------------------ wardrobe
    def wardrobe(self, user_id: str) -> WardrobeIndex:
        """The user's garments and embeddings as an index (cached per wardrobe version)."""
        records = self.repository.records
        version = records.garments_fingerprint(user_id)
        with self._lock:
            cached = self._cache.get(user_id)
            if cached is not None and cached.version == version:
                self._cache.move_to_end(user_id)
                return cached
        garments = records.all_garments(user_id)
        embeddings = _embeddings(self.repository, user_id, [g.id for g in garments])
        index = WardrobeIndex.build(user_id, garments, embeddings, version)
        if self.settings.cache_users:
            with self._lock:
                self._cache[user_id] = index
                while len(self._cache) > self.settings.cache_users:
                    self._cache.popitem(last=False)
        return index

    # ------------------------------------------------------------------ recommend
    def recommend(
        self,
        user_id: str,
        constraints: Constraints | None = None,
        text: str | None = None,
        k: int | None = None,
    ) -> Recommendation:
        """Up to ``k`` diverse outfits from the user's wardrobe that respect ``constraints``
        (and what ``text`` asks for, where ``constraints`` leaves a field unset).

        An empty or impossible wardrobe gives no outfits and a ``reason``. Garment ids in the
        constraints that the user does not own raise :class:`NotFound`.
        """
        search = self._prepare(user_id, constraints, text, k)
        if isinstance(search, Recommendation):
            return search
        outfits, parts = self._candidates(search.scorer, search.plans)
        total = self._learned_total(search, outfits, parts)
        self.last_stats["scored"] = search.scorer.evaluated
        ranking = self.settings.ranking
        picks = diverse_top_k(
            outfits, total, search.k, ranking.max_shared_garments, ranking.mmr_lambda
        )
        result = self._finish(
            search,
            [outfits[i] for i in picks],
            {n: v[picks] for n, v in parts.items()},
            total[picks],
        )
        return Recommendation(outfits=result, reason=None, constraints=search.constraints)

    def exhaustive_best(
        self, user_id: str, constraints: Constraints | None = None, text: str | None = None
    ) -> tuple[list[str], float, int]:
        """The baseline: score EVERY outfit the templates allow with the same blend, return the
        best one's garment ids (in :meth:`recommend`'s order), its score and how many outfits
        were scored. Its cost is the product of the slots: small wardrobes only."""
        search = self._prepare(user_id, constraints, text, 1)
        if isinstance(search, Recommendation):
            return [], float("nan"), 0
        best: tuple[float, list[int]] = (-np.inf, [])
        count = 0
        for chunk, parts in exhaustive(search.scorer, search.plans):
            outfits = chunk.tolist()
            total = self._learned_total(search, outfits, parts)
            j = int(np.argmax(total))
            count += len(outfits)
            if total[j] > best[0]:
                best = (float(total[j]), outfits[j])
        rows = sorted(best[1], key=lambda r: (SLOT_ORDER[_slot(search.index, r)], r))
        return [search.index.ids[r] for r in rows], best[0], count

    def _prepare(self, user_id, constraints, text, k) -> _Search | Recommendation:
        """Stages 1-2 and the scorer: a :class:`_Search`, or the empty answer with its reason."""
        check_id(user_id, "user id")
        constraints = constraints or Constraints()
        if text:
            constraints = constraints.merged_over(parse_request(text).constraints)
        k = k if k is not None else constraints.k or self.settings.ranking.default_k
        if not 1 <= int(k) <= 50:
            raise ValueError(f"k must be in 1..50, got {k}")
        self.last_stats = {"scored": 0, "learned": 0, "garments": 0, "eligible": 0}
        index = self.wardrobe(user_id)
        self.last_stats["garments"] = len(index)

        def empty(reason: str) -> Recommendation:
            return Recommendation(outfits=[], reason=reason, constraints=constraints)

        if not len(index):
            return empty("the wardrobe is empty")
        named = [*constraints.include_ids, *constraints.exclude_ids]
        unknown = [g for g in named if g not in index.row]
        if unknown:
            raise NotFound(f"unknown garments {some_ids(unknown)} for user {user_id!r}")
        resolved = resolve(constraints, self.settings, self._worn(user_id, constraints))
        ok, failed = garment_mask(index, resolved)
        self.last_stats["eligible"] = int(ok.sum())
        reason = _include_reason(index, resolved, failed)
        if reason is None and not ok.any():
            reason = "no garment satisfies the constraints"
        if reason is not None:
            return empty(reason)
        try:
            plans = plan(index, ok, resolved, self.settings.search)
        except NoCandidates as err:
            return empty(str(err))
        prefs = personalization.load(self.repository.records, user_id, self.settings.personal)
        scorer = RuleScorer(
            index,
            self.settings,
            personal=prefs.garment_scores(index, self.settings.personal),
            text=self._text_scores(index, text),
        )
        if self._learned_usable(index) and self.settings.search.learned_in_beam:
            scorer.learned = self.learned
        before = 0 if self.learned is None else self.learned.evaluated
        return _Search(
            user_id, index, constraints, resolved, plans, scorer, prefs, text, int(k), before
        )

    def _learned_total(
        self, search: _Search, outfits: list[list[int]], parts: dict[str, np.ndarray]
    ) -> np.ndarray:
        """The blend; with the learned net's probability (added to ``parts``) when it runs
        (already there when the search ran it)."""
        if "learned" not in parts and self._learned_usable(search.index):
            parts["learned"] = self.learned.score(search.index, outfits)
        if self.learned is not None:  # outfits the net scored, in the beam and after it
            self.last_stats["learned"] = self.learned.evaluated - search.learned_before
        return self._objective(parts)

    def _learned_usable(self, index: WardrobeIndex) -> bool:
        """Whether the learned net can score this wardrobe (it has embeddings of its size)."""
        if self.learned is None or index.embeddings is None:
            return False
        if index.embeddings.shape[1] != self.learned.embedding_dim:
            log.warning(
                "stored embeddings have %d dims, the compatibility net %d: rules only",
                index.embeddings.shape[1],
                self.learned.embedding_dim,
            )
            return False
        return True

    def _objective(self, parts: Mapping[str, np.ndarray]) -> np.ndarray:
        """The blend the search ranks by: rules, the learned net (when it ran), request
        similarity, clamped preference. The rules weigh ``rules_alone`` when the net did not run."""
        blend, clamp = self.settings.blend, self.settings.personal.clamp
        rules_weight = blend.rules if "learned" in parts else blend.rules_alone
        total = (
            rules_weight * parts["rules"]
            + blend.text * parts["text"]
            + np.clip(parts["personal"], -clamp, clamp)
        )
        if "learned" in parts:
            total = total + blend.learned * parts["learned"]
        return total

    def _candidates(
        self, scorer: RuleScorer, plans: list
    ) -> tuple[list[list[int]], dict[str, np.ndarray]]:
        """The best distinct complete outfits of every template, with their score parts."""
        groups: list[OutfitState] = []
        for steps in plans:
            groups += beam_search(scorer, steps, self._objective, self.settings.search)
        best: dict[frozenset[int], tuple[float, int, int]] = {}
        parts_of = [scorer.parts(g) for g in groups]
        for gi, (group, parts) in enumerate(zip(groups, parts_of, strict=True)):
            for j, value in enumerate(self._objective(parts)):
                key = frozenset(group.items[j].tolist())
                if key not in best or value > best[key][0]:
                    best[key] = (float(value), gi, j)
        ranked = _diverse_pool(sorted(best.values(), key=lambda t: -t[0]), groups, self.settings)
        outfits = [groups[gi].items[j].tolist() for _, gi, j in ranked]
        names = parts_of[0].keys() if parts_of else ()
        parts = {n: np.array([parts_of[gi][n][j] for _, gi, j in ranked]) for n in names}
        return outfits, parts

    def _text_scores(self, index: WardrobeIndex, text: str | None) -> np.ndarray | None:
        if not text or self.text_embedder is None or index.embeddings is None:
            return None
        query = np.asarray(self.text_embedder([text]), np.float32).reshape(-1)
        if query.shape[0] != index.embeddings.shape[1]:
            log.warning(
                "text embeddings have %d dims, garment embeddings %d: text signal off",
                query.shape[0],
                index.embeddings.shape[1],
            )
            return None
        return index.embeddings @ (query / max(float(np.linalg.norm(query)), 1e-12))

    def _worn(self, user_id: str, c: Constraints) -> frozenset[str]:
        if not c.not_worn_days:
            return frozenset()
        since = datetime.now(timezone.utc) - timedelta(days=c.not_worn_days)
        events = self.repository.records.list_feedback(user_id, since=since, limit=100_000)
        return frozenset(g for e in events if e.signal == "wear" for g in e.garment_ids)

    def _finish(
        self,
        search: _Search,
        outfits: list[list[int]],
        parts: dict[str, np.ndarray],
        totals: np.ndarray,
    ) -> list[RecommendedOutfit]:
        """Order garments by slot, explain, record the outfits; the response items."""
        index, scorer, text = search.index, search.scorer, search.text
        prefs = search.prefs
        summary = prefs.summary() if prefs.active(self.settings.personal) else {}
        items, records = [], []
        for i, rows in enumerate(outfits):
            rows = sorted(rows, key=lambda r: (SLOT_ORDER[_slot(index, r)], r))
            ids = [index.ids[r] for r in rows]
            breakdown = {n: round(float(v[i]), 4) for n, v in parts.items()}
            breakdown["total"] = round(float(totals[i]), 4)
            facts = {
                "colour": scorer.explain_colours(rows),
                "combo": scorer.best_combo(rows),
                "occasion": search.constraints.occasion,
                "notes": search.resolved.notes,
                "liked": liked_feature(summary, _features(index.garments, rows)),
                "request": text if text and self.text_embedder is not None else None,
            }
            outfit_id = "o" + hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:31]
            items.append((outfit_id, ids, breakdown, explain(facts, breakdown)))
            records.append((outfit_id, ids, {"request": text or "", "score": breakdown["total"]}))
        self.repository.records.record_outfits(search.user_id, records)
        return [
            RecommendedOutfit(
                outfit_id=o, garment_ids=ids, score=b["total"], breakdown=b, explanation=e
            )
            for o, ids, b, e in items
        ]

    # ------------------------------------------------------------------ feedback
    def feedback(
        self,
        user_id: str,
        signal: str,
        *,
        outfit_id: str | None = None,
        garment_ids: Sequence[str] | None = None,
        event_id: str | None = None,
    ) -> FeedbackEvent:
        """Store a feedback event (weight from the config) on an outfit this recommender
        returned or on garments, and update the user's preferences. :class:`NotFound` for an
        unknown outfit or garment; ``ValueError`` for an unknown signal or a bad target."""
        weights = self.settings.feedback_weights
        if signal not in weights:
            raise ValueError(f"unknown signal {signal!r}; expected one of {sorted(weights)}")
        if (outfit_id is None) == (not garment_ids):
            raise ValueError("give exactly one of outfit_id or garment_ids")
        kind, targets = (
            ("outfit", [outfit_id])
            if outfit_id is not None
            else ("garment", list(garment_ids or []))
        )
        records = self.repository.records
        event = records.add_feedback(
            user_id, kind, targets, signal, weights[signal], event_id=event_id
        )
        personalization.sync(records, user_id, self._lookup(user_id), self.settings.personal)
        return event

    def _lookup(self, user_id: str) -> personalization.GarmentLookup:
        def lookup(ids: Sequence[str]) -> tuple[list[Garment], list[np.ndarray | None]]:
            index = self.wardrobe(user_id)
            rows = [index.row[g] for g in ids if g in index.row]
            embs = [None if index.embeddings is None else index.embeddings[r] for r in rows]
            return [index.garments[r] for r in rows], embs

        return lookup


# ---------------------------------------------------------------------------- helpers
@dataclass
class _Search:
    """One request after stages 1-2: what the search, scoring and explanations need."""

    user_id: str
    index: WardrobeIndex
    constraints: Constraints
    resolved: Resolved
    plans: list
    scorer: RuleScorer
    prefs: personalization.PreferenceState
    text: str | None
    k: int
    learned_before: int = 0  # the learned scorer's count of scored outfits before this request


def _diverse_pool(ranked: list, groups: list[OutfitState], settings: RecommendSettings) -> list:
    """``candidate_pool`` outfits for the learned net: the best half as ranked, then the best
    of the rest whose garments are in fewer than ``pool_item_repeats`` pool outfits so far (the
    top of a ranking repeats its best garments; the final top K must share few)."""
    search, uses, pool = settings.search, Counter(), []
    exact = search.candidate_pool // 2
    for position, entry in enumerate(ranked):
        rows = groups[entry[1]].items[entry[2]].tolist()
        if position < exact or all(uses[r] < search.pool_item_repeats for r in rows):
            pool.append(entry)
            uses.update(rows)
            if len(pool) == search.candidate_pool:
                break
    return pool


def _slot(index: WardrobeIndex, row: int) -> str:
    return taxonomy.SLOTS[index.slot[row]]


def _features(garments: Sequence[Garment], rows: Sequence[int]) -> set[str]:
    out: set[str] = set()
    for r in rows:
        g = garments[r]
        out |= {g.category, *(c.colour for c in g.attributes.colours), *g.attributes.style_tags}
        out |= {g.attributes.pattern} if g.attributes.pattern else set()
    return out


def _include_reason(index: WardrobeIndex, r: Resolved, failed: dict[str, np.ndarray]) -> str | None:
    """Why a garment to include cannot be used, if one cannot."""
    for garment_id in r.include_ids:
        row = index.row[garment_id]
        broken = [name for name, mask in failed.items() if mask[row]]
        if broken:
            return f"garment {garment_id!r} to include breaks the constraints: {', '.join(broken)}"
    return None


def _embeddings(
    repository: GarmentRepository, user_id: str, ids: list[str]
) -> dict[str, np.ndarray]:
    """``garment_id -> embedding`` of the user's garments ``ids`` (ready rows, read already)."""
    found = repository.vectors.get(user_id, ids, include_embeddings=True)
    return {g: item.embedding for g, item in found.items()}


def _learned_scorer(
    bundle: Bundle | None,
    clip_sha: str | None,
    settings: RecommendSettings,
    text_embedder: TextEmbedder | None = None,
) -> tuple[LearnedScorer | None, str]:
    """The learned scorer and a status line, or None and why it is off."""
    if bundle is None:
        return None, "off: no compatibility bundle"
    if not settings.use_learned:
        return None, "off: use_learned is false in the recommend config"
    pre = bundle.preprocessing or {}
    encoder = pre.get("encoder") or {}
    kind = encoder.get("kind")
    if kind not in (BUNDLE, GARMENTS):
        return None, (
            f"off: the compatibility bundle was trained on {encoder.get('kind', 'unknown')!r} "
            "features, not on the served CLIP embeddings (retrain it with the CLIP encoder)"
        )
    trained_on = pre.get("encoder_weights_sha256")
    if not trained_on:
        return None, "off: the compatibility bundle does not record encoder_weights_sha256"
    if not clip_sha:
        return None, "off: the served CLIP bundle's weights_sha256 was not given"
    if trained_on != clip_sha:
        return None, (
            f"off: the compatibility bundle was trained on CLIP weights {trained_on[:12]}, "
            f"the served CLIP bundle is {clip_sha[:12]}"
        )
    # kind bundle: the net reads the CLIP image embedding alone
    parts = tuple(encoder.get("parts") or ()) if kind == GARMENTS else ("image",)
    if "text" in parts and text_embedder is None:
        return None, "off: the compatibility net reads caption embeddings but no text embedder"
    dim = int(pre.get("feature_dim") or getattr(bundle.net, "feature_dim", 0))
    embedding_dim = int(pre.get("embedding_dim") or dim)  # kind bundle: the embedding is all
    return LearnedScorer(bundle.net, dim, parts, text_embedder, embedding_dim), (
        f"on: compatibility {bundle.version} on CLIP {clip_sha[:12]} ({', '.join(parts)})"
    )
