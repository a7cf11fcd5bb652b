"""Stage 5: per-user preferences learnt from feedback, persisted in the records store.

The design's ``PreferenceLearner`` (category, colour and style weights moved by
``learning_rate x signal weight``; no effect before ``cold_start_events`` events; the
adjustment clamped to +-``clamp``), corrected: every signal of the config (``click`` too), one
state per user stored as JSON through :meth:`RecordStore.put_preferences` (optimistic
concurrency, retried), weights that halve every ``half_life_days``, every colour of a garment
(by share), patterns, and a direction in the CLIP embedding space (the decayed, signed sum of
the embeddings of the garments the user reacted to). A garment's adjustment is its summed
weights standardised over the wardrobe (one standard deviation = half the clamp): the raw sums
grow with every event and lift whatever all liked outfits share, and would otherwise sit at the
clamp for every outfit (measured: the design's sums saturate after a few dozen events).

The state is a fold over the user's feedback events in time order. :func:`sync` applies the
events the state has not seen yet (it remembers the ids it applied and the time it reached), so
a retry of the same event is not counted twice and an event stored just before a crash is
applied by the next call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from wardrobe import taxonomy
from wardrobe.recommendation.index import WardrobeIndex
from wardrobe.recommendation.settings import PersonalSettings
from wardrobe.store.errors import Conflict
from wardrobe.store.records import RecordStore
from wardrobe.store.schema import FeedbackEvent, Garment

SCHEMA = 1
KINDS = ("category", "colour", "pattern", "style")
_DAY_S = 86_400.0


@dataclass
class PreferenceState:
    """A user's preferences at time ``at`` (seconds since the epoch)."""

    weights: dict[str, dict[str, float]]
    embedding: list[float] | None = None
    events: int = 0
    at: float = 0.0
    applied: list[str] | None = None

    @classmethod
    def from_json(cls, state: Mapping[str, Any]) -> PreferenceState:
        if not state:
            return cls({k: {} for k in KINDS}, applied=[])
        if state.get("schema") != SCHEMA:
            raise ValueError(f"preference state schema {state.get('schema')} is not {SCHEMA}")
        return cls(
            weights={k: dict(state["weights"].get(k, {})) for k in KINDS},
            embedding=state.get("embedding"),
            events=int(state["events"]),
            at=float(state["at"]),
            applied=list(state.get("applied", [])),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "weights": self.weights,
            "embedding": self.embedding,
            "events": self.events,
            "at": self.at,
            "applied": self.applied or [],
        }

    def decayed(self, now: float, half_life_days: float) -> PreferenceState:
        """The state as of ``now``: every weight halved per half-life elapsed."""
        factor = 0.5 ** (max(now - self.at, 0.0) / (half_life_days * _DAY_S))
        weights = {k: {n: v * factor for n, v in w.items()} for k, w in self.weights.items()}
        emb = None if self.embedding is None else [v * factor for v in self.embedding]
        return PreferenceState(weights, emb, self.events, max(now, self.at), self.applied)

    def apply(
        self,
        garments: Sequence[Garment],
        embeddings: Sequence[np.ndarray | None],
        signal_weight: float,
        settings: PersonalSettings,
    ) -> None:
        """Add one event: ``learning_rate x signal_weight`` to every feature of its garments."""
        step = settings.learning_rate * signal_weight
        for garment in garments:
            for kind, name, share in _features(garment):
                bucket = self.weights[kind]
                bucket[name] = bucket.get(name, 0.0) + step * share
        vectors = [e for e in embeddings if e is not None]
        if vectors:
            mean = np.mean([_unit(e) for e in vectors], axis=0)
            base = np.zeros_like(mean) if self.embedding is None else np.asarray(self.embedding)
            if base.shape == mean.shape:
                self.embedding = (base + step * mean).tolist()
        self.events += 1

    def active(self, settings: PersonalSettings) -> bool:
        """Past the cold start (the design: 10 events)."""
        return self.events >= settings.cold_start_events

    def garment_scores(self, index: WardrobeIndex, settings: PersonalSettings) -> np.ndarray:
        """Per-garment adjustment, standardised over the wardrobe (the outfit mean of these is
        clamped to +-clamp); 0 in the cold start."""
        n = len(index)
        if not self.active(settings) or not n:
            return np.zeros(n)
        w = self.weights
        cat = _vector(w["category"], taxonomy.FINE_CATEGORIES)[index.category]
        pal = index.palette
        colour = pal @ _vector(w["colour"], taxonomy.COLOURS) / np.maximum(pal.sum(1), 1e-9)
        pattern_w = np.append(_vector(w["pattern"], taxonomy.PATTERNS), 0.0)
        pattern = pattern_w[index.pattern]  # -1 (unknown) reads the appended 0
        tags = index.styles.sum(1)
        style = index.styles @ _vector(w["style"], taxonomy.STYLE_TAGS) / np.maximum(tags, 1)
        out = cat + colour + pattern + style
        if self.embedding is not None and index.embeddings is not None:
            pref = np.asarray(self.embedding, np.float32)
            if pref.shape[0] == index.embeddings.shape[1]:
                out = out + settings.embedding_weight * (index.embeddings @ pref)
        # Standardised over this wardrobe: what every liked outfit shares (a common style tag,
        # "solid") lifts every garment alike, and the raw sums grow with every event; one
        # standard deviation is worth half the clamp, so the outfit mean spans the clamp range
        # without sitting at its bounds.
        spread = float(out.std())
        if spread < 1e-9:
            return np.zeros(n)
        return (out - out.mean()) / spread * (settings.clamp / 2)

    def summary(self, top: int = 3) -> dict[str, list[str]]:
        """The most liked names per kind (for explanations)."""
        return {
            k: [n for n, v in sorted(w.items(), key=lambda kv: -kv[1])[:top] if v > 0]
            for k, w in self.weights.items()
        }


def _vector(weights: Mapping[str, float], vocabulary: tuple[str, ...]) -> np.ndarray:
    return np.array([weights.get(name, 0.0) for name in vocabulary])


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _features(garment: Garment) -> list[tuple[str, str, float]]:
    attrs = garment.attributes
    out = [("category", garment.category, 1.0)]
    top = max((c.share for c in attrs.colours), default=0.0)
    out += [("colour", c.colour, c.share / top if top > 0 else 1.0) for c in attrs.colours]
    if attrs.pattern:
        out.append(("pattern", attrs.pattern, 1.0))
    out += [("style", t, 1.0) for t in attrs.style_tags]
    return out


def _ts(at: datetime) -> float:
    return at.astimezone(timezone.utc).timestamp()


def load(records: RecordStore, user_id: str, settings: PersonalSettings) -> PreferenceState:
    """The user's state, decayed to now."""
    stored = records.get_preferences(user_id)
    state = PreferenceState.from_json(stored.state)
    return state.decayed(datetime.now(timezone.utc).timestamp(), settings.half_life_days)


GarmentLookup = Callable[[Sequence[str]], tuple[list[Garment], list[np.ndarray | None]]]


def sync(
    records: RecordStore,
    user_id: str,
    lookup: GarmentLookup,
    settings: PersonalSettings,
    attempts: int = 5,
) -> PreferenceState:
    """Apply the user's feedback events the stored state has not seen, and store it.

    ``lookup(garment_ids)`` returns the garments still in the wardrobe and their embeddings.
    Retries on a concurrent update (another worker's write wins, then we re-apply on top).
    """
    for _ in range(attempts):
        stored = records.get_preferences(user_id)
        state = PreferenceState.from_json(stored.state)
        since = None
        if state.at > 0:  # 1 s of overlap: events of the same instant are told apart by id
            since = datetime.fromtimestamp(state.at, timezone.utc) - timedelta(seconds=1)
        events = records.list_feedback(user_id, since=since, limit=100_000)
        seen = set(state.applied or [])
        new = [e for e in events if e.id not in seen]
        if not new:
            return state
        for event in new:
            _apply_event(state, event, lookup, settings)
        state.applied = (list(state.applied or []) + [e.id for e in new])[
            -settings.remember_events :
        ]
        try:
            records.put_preferences(user_id, state.to_json(), expected_version=stored.version)
        except Conflict:
            continue
        return state
    raise Conflict(f"preferences of {user_id!r} kept changing during {attempts} attempts")


def _apply_event(
    state: PreferenceState,
    event: FeedbackEvent,
    lookup: GarmentLookup,
    settings: PersonalSettings,
) -> None:
    at = _ts(event.created_at)
    decayed = state.decayed(at, settings.half_life_days) if at > state.at else state
    state.weights, state.embedding, state.at = decayed.weights, decayed.embedding, decayed.at
    garments, embeddings = lookup(event.garment_ids)
    state.apply(garments, embeddings, event.weight, settings)  # the weight stored with it
