"""Typed records of the persistence layer (pydantic models), spoken in the taxonomy's vocabulary.

``GarmentIn`` is what ingestion writes; ``Garment`` is what reads return (with the owner, the
slot, the status and the timestamps). Every vocabulary value is checked against
:mod:`wardrobe.taxonomy`, so a typo fails at the write, not in a recommendation months later.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from wardrobe import taxonomy

# Ids of users, garments, outfits and feedback events: letters, digits and ``_ . : @ + -``, 1..128
# characters (UUIDs, hex digests and e-mail-like ids fit). ``/`` is excluded: the vector store
# joins ``user_id/garment_id`` into one Chroma id.
# ``$`` is the end of the text for JSON Schema and pydantic; Python's ``re`` also lets it match
# before a final newline, so :func:`check_id` uses ``fullmatch`` ("p1\n" is refused everywhere).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,127}$"
_ID_RE = re.compile(ID_PATTERN)
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
# A photo's garments are ``<photo_id>-00`` .. ``-99``: a photo id leaves room for that suffix.
GARMENT_SUFFIX_CHARS = 3
PHOTO_ID_MAX = 128 - GARMENT_SUFFIX_CHARS
PHOTO_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{{0,{PHOTO_ID_MAX - 1}}}$"
_PHOTO_ID_RE = re.compile(PHOTO_ID_PATTERN)
PhotoId = Annotated[str, StringConstraints(pattern=PHOTO_ID_PATTERN)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

GarmentStatus = Literal["pending", "ready"]
TargetKind = Literal["outfit", "garment"]


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a valid id, else raise ``ValueError`` naming ``what``."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise ValueError(
            f"invalid {what} {_shown(value)}: expected 1-128 characters from [A-Za-z0-9_.:@+-], "
            "starting with a letter or digit"
        )
    return value


def check_photo_id(value: str) -> str:
    """Return ``value`` if it is a valid photo id (an id with room for the garment suffix)."""
    if not isinstance(value, str) or not _PHOTO_ID_RE.fullmatch(value):
        raise ValueError(
            f"invalid photo id {_shown(value)}: expected 1-{PHOTO_ID_MAX} characters from "
            "[A-Za-z0-9_.:@+-], starting with a letter or digit (its garments are <photo_id>-NN)"
        )
    return value


def _shown(value: object, limit: int = 80) -> str:
    """``value`` for an error message, cut so that a huge bad id gives a short answer."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _in_vocabulary(value: str, vocabulary: tuple[str, ...], what: str) -> str:
    if value not in vocabulary:
        raise ValueError(f"unknown {what} {value!r}; expected one of {list(vocabulary)}")
    return value


def _ordered_subset(values: list[str], vocabulary: tuple[str, ...], what: str) -> list[str]:
    for value in values:
        _in_vocabulary(value, vocabulary, what)
    chosen = set(values)
    return [v for v in vocabulary if v in chosen]  # deduplicated, in vocabulary order


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColourShare(_Model):
    """One palette colour and the share of the garment's pixels it covers."""

    colour: str
    share: float = Field(ge=0.0, le=1.0)

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str) -> str:
        return _in_vocabulary(value, taxonomy.COLOURS, "colour")


class ColourEvidence(_Model):
    """The tagger's colour head beside the extractor's answer: its colour, its probability, and
    whether it is the garment's primary colour (``ingestion.garments.decide_colours``)."""

    tagger: str
    confidence: float = Field(ge=0.0, le=1.0)
    agrees: bool

    @field_validator("tagger")
    @classmethod
    def _tagger(cls, value: str) -> str:
        return _in_vocabulary(value, taxonomy.COLOURS, "colour")


_SCORED_ATTRIBUTES = ("pattern", "fit", "seasons", "style_tags", "sleeves", "legs")


class GarmentAttributes(_Model):
    """Predicted attributes of one garment. Lists are stored deduplicated in vocabulary order;
    colours sorted by share, largest first (``colours[0]`` is the primary colour)."""

    pattern: str | None = None
    fit: str | None = None
    formality: float | None = Field(default=None, ge=0.0, le=1.0)
    seasons: list[str] = Field(default_factory=list)
    style_tags: list[str] = Field(default_factory=list)
    colours: list[ColourShare] = Field(default_factory=list)
    colour_evidence: ColourEvidence | None = None
    # short / long (taxonomy.LENGTHS): sleeves of a top, legs of bottoms (ingestion.garments;
    # absent: a category without one, or of either length and no length head)
    sleeves: str | None = None
    legs: str | None = None
    # the tagger's probability of each decision (attribute -> 0..1); 1.0 for a user's correction
    confidence: dict[str, float] = Field(default_factory=dict)

    @field_validator("confidence")
    @classmethod
    def _confidence(cls, value: dict[str, float]) -> dict[str, float]:
        for name, p in value.items():
            if name not in _SCORED_ATTRIBUTES or not 0.0 <= p <= 1.0:
                raise ValueError(f"confidence of {name!r} must be in 0..1 for a tagged attribute")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return None if value is None else _in_vocabulary(value, taxonomy.PATTERNS, "pattern")

    @field_validator("fit")
    @classmethod
    def _fit(cls, value: str | None) -> str | None:
        return None if value is None else _in_vocabulary(value, taxonomy.FITS, "fit")

    @field_validator("sleeves", "legs")
    @classmethod
    def _length(cls, value: str | None) -> str | None:
        return None if value is None else _in_vocabulary(value, taxonomy.LENGTHS, "length")

    @field_validator("seasons")
    @classmethod
    def _seasons(cls, value: list[str]) -> list[str]:
        return _ordered_subset(value, taxonomy.SEASONS, "season")

    @field_validator("style_tags")
    @classmethod
    def _style_tags(cls, value: list[str]) -> list[str]:
        return _ordered_subset(value, taxonomy.STYLE_TAGS, "style tag")

    @field_validator("colours")
    @classmethod
    def _colours(cls, value: list[ColourShare]) -> list[ColourShare]:
        names = [c.colour for c in value]
        if len(set(names)) != len(names):
            raise ValueError(f"colours must be distinct, got {names}")
        if sum(c.share for c in value) > 1.0 + 1e-6:
            raise ValueError("colour shares add up to more than 1")
        return sorted(value, key=lambda c: -c.share)

    @property
    def primary_colour(self) -> str | None:
        return self.colours[0].colour if self.colours else None


Box = tuple[float, float, float, float]


class GarmentIn(_Model):
    """A garment as ingestion writes it. ``id`` is chosen by the caller (e.g. derived from the
    photo's sha256 and the detection index), so re-ingesting the same photo is an upsert."""

    id: Id
    image_sha256: Sha256
    image_path: str | None = None
    box: Box | None = None  # x1, y1, x2, y2 in pixels of the photo
    category: str
    category_confidence: float = Field(ge=0.0, le=1.0)
    slot: str | None = None  # derived from the category when omitted
    attributes: GarmentAttributes = Field(default_factory=GarmentAttributes)
    quality_warnings: list[str] = Field(default_factory=list)
    model_versions: dict[str, str] = Field(default_factory=dict)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _in_vocabulary(value, taxonomy.FINE_CATEGORIES, "category")

    @field_validator("box")
    @classmethod
    def _box(cls, value: Box | None) -> Box | None:
        if value is None:
            return None
        x1, y1, x2, y2 = value
        if not all(math.isfinite(v) for v in value) or min(x1, y1) < 0 or x2 <= x1 or y2 <= y1:
            raise ValueError(
                f"box must be finite x1, y1, x2, y2 with 0 <= x1 < x2, y1 < y2: {value}"
            )
        return value

    @model_validator(mode="after")
    def _slot(self) -> GarmentIn:
        expected = taxonomy.CATEGORY_BY_NAME[self.category].slot
        if self.slot is None:
            object.__setattr__(self, "slot", expected)
        elif self.slot != expected:
            raise ValueError(
                f"slot {self.slot!r} contradicts category {self.category!r} ({expected})"
            )
        return self


CORRECTABLE_ATTRIBUTES: tuple[str, ...] = tuple(
    name for name in GarmentAttributes.model_fields if name != "confidence"
)


class GarmentCorrection(_Model):
    """What a user corrected of a garment's predictions: kept apart from the prediction (a
    re-ingest of the photo rewrites the prediction, never this), with who and when.

    ``attributes`` holds only the corrected attribute fields (a subset of
    :class:`GarmentAttributes`), each checked against the taxonomy."""

    category: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    corrected_by: Id
    corrected_at: datetime

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _in_vocabulary(value, taxonomy.FINE_CATEGORIES, "category")

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(CORRECTABLE_ATTRIBUTES))
        if unknown:
            raise ValueError(
                f"unknown attributes {unknown}; expected some of {list(CORRECTABLE_ATTRIBUTES)}"
            )
        checked = GarmentAttributes.model_validate(value).model_dump(mode="json")
        return {k: checked[k] for k in value}

    @property
    def empty(self) -> bool:
        return self.category is None and not self.attributes


class GarmentPrediction(_Model):
    """The models' own values of a corrected garment (what the correction replaced)."""

    category: str
    category_confidence: float
    attributes: GarmentAttributes


class Garment(GarmentIn):
    """A stored garment, as reads return it: the prediction with the user's correction applied
    (``correction`` and ``prediction`` are set when there is one)."""

    user_id: Id
    slot: str
    status: GarmentStatus = "ready"
    write_token: str | None = None  # the write that produced this version (matches the vector)
    created_at: datetime
    updated_at: datetime
    correction: GarmentCorrection | None = None
    prediction: GarmentPrediction | None = None

    def corrected(self, correction: GarmentCorrection | None) -> Garment:
        """This garment as the user sees it with ``correction`` applied (itself when None)."""
        if correction is None or correction.empty:
            return self
        changes: dict[str, Any] = {
            "correction": correction,
            "prediction": GarmentPrediction(
                category=self.category,
                category_confidence=self.category_confidence,
                attributes=self.attributes,
            ),
        }
        if correction.category is not None:
            changes["category"] = correction.category
            changes["slot"] = taxonomy.CATEGORY_BY_NAME[correction.category].slot
            changes["category_confidence"] = 1.0  # the user said so
        if correction.attributes:
            merged = self.attributes.model_dump(mode="json") | correction.attributes
            sure = {k: 1.0 for k in correction.attributes if k in _SCORED_ATTRIBUTES}
            merged["confidence"] = merged["confidence"] | sure
            changes["attributes"] = GarmentAttributes.model_validate(merged)
        return self.model_copy(update=changes)


class GarmentPage(_Model):
    """One page of a user's garments, newest first, with the total count."""

    items: list[Garment]
    total: int
    limit: int
    offset: int


class PendingWrite(_Model):
    """A garment write staged in the records but not (yet) committed: status ``pending``."""

    user_id: Id
    garment_id: Id
    token: str
    created_at: datetime


class Outfit(_Model):
    """An outfit shown to a user, so that feedback on it can be validated."""

    id: Id
    user_id: Id
    garment_ids: list[Id]
    context: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class FeedbackEvent(_Model):
    """One feedback signal on an outfit or on garments.

    ``target_ids`` is ``[outfit_id]`` for an outfit and the garment ids for garments;
    ``garment_ids`` is what the feedback touches, resolved when it was recorded."""

    id: Id
    user_id: Id
    target_kind: TargetKind
    target_ids: list[Id]
    garment_ids: list[Id]
    signal: str
    weight: float
    created_at: datetime

    @field_validator("signal")
    @classmethod
    def _signal(cls, value: str) -> str:
        return _in_vocabulary(value, taxonomy.FEEDBACK_SIGNALS, "feedback signal")


class Preferences(_Model):
    """A user's preference state: an opaque JSON object owned by the personalisation code, with
    a version for optimistic concurrency (0 = never written)."""

    user_id: Id
    state: dict[str, Any] = Field(default_factory=dict)
    version: int = 0
    updated_at: datetime | None = None


def check_json_object(value: Any, what: str) -> dict[str, Any]:
    """``value`` must be a JSON object of finite numbers; returned as a plain dict."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object (dict), got {type(value).__name__}")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} is not JSON-serialisable: {err}") from err
