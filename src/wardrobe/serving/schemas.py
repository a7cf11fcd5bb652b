"""Pydantic schemas of the HTTP API (``/v1``): what clients send and what they get back.

Limits that protect the server (page size, ``k``, ``n``, text length) live here as constants so
that an absurd parameter (``k = 10**6``) is a 422 from validation, before any work is queued.
Stored objects reuse the store's typed records (:mod:`wardrobe.store.schema`), so the API speaks
the taxonomy's vocabulary with no second list of categories or colours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wardrobe import taxonomy
from wardrobe.recommendation import Constraints
from wardrobe.store.schema import (
    ID_PATTERN,
    Box,
    ColourShare,
    GarmentAttributes,
    GarmentCorrection,
    GarmentPrediction,
    Id,
    PhotoId,
)

MAX_PAGE = 100
MAX_K = 50
MAX_SEARCH_N = 100
MAX_TEXT_CHARS = 500

FeedbackSignal = Literal[taxonomy.FEEDBACK_SIGNALS]  # type: ignore[valid-type]
Category = Literal[taxonomy.FINE_CATEGORIES]  # type: ignore[valid-type]
Slot = Literal[taxonomy.SLOTS]  # type: ignore[valid-type]
Colour = Literal[taxonomy.COLOURS]  # type: ignore[valid-type]
Pattern = Literal[taxonomy.PATTERNS]  # type: ignore[valid-type]
Fit = Literal[taxonomy.FITS]  # type: ignore[valid-type]
Season = Literal[taxonomy.SEASONS]  # type: ignore[valid-type]
StyleTag = Literal[taxonomy.STYLE_TAGS]  # type: ignore[valid-type]


class _Request(BaseModel):
    # Unknown fields are refused: a typo (``"usr_id"``) must not silently mean "no user".
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -------------------------------------------------------------------------------- errors
class ErrorDetail(_Response):
    code: str = Field(description="machine-readable reason, e.g. `not_an_image`, `not_found`")
    message: str = Field(description="what went wrong and how to fix it, for a person")
    detail: Any | None = Field(default=None, description="validation errors, when any")


class ErrorResponse(_Response):
    """Every 4xx and 5xx answer has this body."""

    error: ErrorDetail


# -------------------------------------------------------------------------------- garments
class IngestJSON(_Request):
    """``POST /v1/garments`` with ``Content-Type: application/json`` (the photo in base64)."""

    user_id: Id | None = Field(
        default=None, description="the owner; optional with an API key (the key's user)"
    )
    image_base64: str = Field(
        min_length=1, description="the photo (JPEG, PNG or WebP), base64 or a data: URL"
    )
    photo_id: PhotoId | None = Field(
        default=None,
        description="client id of the photo (defaults to its sha256); its garments are "
        "<photo_id>-00, -01, ...",
    )


class CategoryScore(_Response):
    category: str
    score: float


class QualityWarning(_Response):
    code: str
    message: str
    value: float | None = None


class GarmentOut(_Response):
    """A stored garment of the caller."""

    id: str
    user_id: str
    category: str
    category_confidence: float
    slot: str
    box: Box | None = Field(default=None, description="x1, y1, x2, y2 in pixels of the photo")
    attributes: GarmentAttributes = Field(
        description="pattern, fit, formality, seasons, style tags and colours (largest first)"
    )
    quality_warnings: list[str] = Field(default_factory=list)
    image_sha256: str
    model_versions: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    correction: GarmentCorrection | None = Field(
        default=None, description="what the user corrected, by whom and when (null: nothing)"
    )
    prediction: GarmentPrediction | None = Field(
        default=None, description="the models' values that the correction replaced"
    )


class DetectedGarment(GarmentOut):
    """A garment found in an ingested photo, as stored, with what the detector saw."""

    detector_class: str | None = Field(
        description="the detector's class; null when the whole photo was taken as one garment"
    )
    detector_confidence: float
    top_k: list[CategoryScore] = Field(description="the classifier's best categories")


class IngestResponse(_Response):
    photo_id: str
    user_id: str
    image_sha256: str
    garments: list[DetectedGarment] = Field(description="every garment found, may be empty")
    warnings: list[QualityWarning] = Field(description="quality problems of the photo")
    batch_size: int = Field(description="photos processed together in the server-side batch")


class GarmentPageOut(_Response):
    items: list[GarmentOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class DeletedResponse(_Response):
    deleted: GarmentOut


class AttributesPatch(_Request):
    """Attribute corrections; a field left out is unchanged, ``null`` drops its correction."""

    pattern: Pattern | None = None  # type: ignore[valid-type]
    fit: Fit | None = None  # type: ignore[valid-type]
    formality: float | None = Field(default=None, ge=0.0, le=1.0)
    seasons: list[Season] | None = Field(default=None, max_length=len(taxonomy.SEASONS))  # type: ignore[valid-type]
    style_tags: list[StyleTag] | None = Field(  # type: ignore[valid-type]
        default=None, max_length=len(taxonomy.STYLE_TAGS)
    )
    colours: list[ColourShare] | None = Field(default=None, max_length=len(taxonomy.COLOURS))


class GarmentPatch(_Request):
    """``PATCH /v1/garments/{id}``: the user's corrections, as a JSON merge patch (RFC 7396).
    A value corrects the prediction; ``null`` goes back to the prediction for that field."""

    user_id: Id | None = None
    category: Category | None = Field(  # type: ignore[valid-type]
        default=None, description="a fine category of the taxonomy (the slot follows from it)"
    )
    attributes: AttributesPatch | None = None

    @model_validator(mode="after")
    def _something(self) -> GarmentPatch:
        if not self.model_fields_set - {"user_id"}:
            raise ValueError("nothing to correct: give category and/or attributes")
        return self

    def merge_patch(self) -> dict[str, Any]:
        """The fields the client sent (nulls included), without the user."""
        patch: dict[str, Any] = {}
        if "category" in self.model_fields_set:
            patch["category"] = self.category
        if "attributes" in self.model_fields_set:
            attrs = self.attributes
            patch["attributes"] = (
                {} if attrs is None else attrs.model_dump(mode="json", exclude_unset=True)
            )
        return patch


# -------------------------------------------------------------------------------- recommend
class RecommendRequest(_Request):
    """Constraints, a free-text request, or both (what the constraints leave unset, the text
    may fill in). ``constraints`` is the recommendation library's own schema."""

    user_id: Id | None = None
    constraints: Constraints | None = Field(
        default=None,
        description="occasion, temperature, rain, seasons, formality, garments to include or "
        "exclude, ...",
    )
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description='e.g. "something casual for a rainy day"',
    )
    k: int | None = Field(default=None, ge=1, le=MAX_K, description="how many outfits")


class OutfitOut(_Response):
    outfit_id: str = Field(description="send it back in /v1/feedback")
    garment_ids: list[str]
    score: float
    breakdown: dict[str, Any] = Field(description="score per component (rules, learned, ...)")
    explanation: Any = Field(description="why this outfit, for the user")


class RecommendResponse(_Response):
    outfits: list[OutfitOut]
    reason: str | None = Field(default=None, description="why the list is short or empty")
    constraints: Any | None = Field(default=None, description="the constraints applied")


# -------------------------------------------------------------------------------- feedback
class FeedbackRequest(_Request):
    """One signal on an outfit that was recommended, or on garments."""

    user_id: Id | None = None
    signal: FeedbackSignal  # type: ignore[valid-type]
    outfit_id: Id | None = None
    garment_ids: list[Id] | None = Field(default=None, min_length=1, max_length=MAX_PAGE)
    event_id: Id | None = Field(default=None, description="makes a retry idempotent")

    @model_validator(mode="after")
    def _one_target(self) -> FeedbackRequest:
        if (self.outfit_id is None) == (self.garment_ids is None):
            raise ValueError("give exactly one of outfit_id or garment_ids")
        return self


class FeedbackResponse(_Response):
    id: str
    user_id: str
    target_kind: str
    target_ids: list[str]
    garment_ids: list[str]
    signal: str
    weight: float
    created_at: datetime


# -------------------------------------------------------------------------------- search
class SearchJSON(_Request):
    """A text query or an image query (base64), not both."""

    user_id: Id | None = None
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    image_base64: str | None = Field(default=None, min_length=1)
    n: int = Field(default=10, ge=1, le=MAX_SEARCH_N)

    @model_validator(mode="after")
    def _one_query(self) -> SearchJSON:
        if (self.text is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of text or image_base64")
        if self.text is not None and not self.text.strip():
            raise ValueError("text must not be blank")
        return self


class SearchHit(_Response):
    garment: GarmentOut
    similarity: float


class SearchResponse(_Response):
    hits: list[SearchHit]


# -------------------------------------------------------------------------------- session
class MeResponse(_Response):
    user_id: str | None = Field(description="the caller (null: keys are off and none was named)")
    auth: bool = Field(description="whether the server requires an API key")
    max_upload_bytes: int = Field(description="the largest photo the server accepts")


class CategoryInfo(_Response):
    name: str
    slot: str


class VocabularyResponse(_Response):
    """The taxonomy, for clients that build forms (categories, colours with sRGB, ...)."""

    slots: list[str]
    categories: list[CategoryInfo]
    colours: dict[str, str] = Field(description="colour -> #rrggbb")
    patterns: list[str]
    fits: list[str]
    seasons: list[str]
    style_tags: list[str]
    occasions: list[str]
    feedback_signals: list[str]


# -------------------------------------------------------------------------------- service
class HealthResponse(_Response):
    """``GET /health`` when every worker is up (503 with an error body otherwise)."""

    status: Literal["ok"] = "ok"


# -------------------------------------------------------------------------------- info
class InfoResponse(_Response):
    model_versions: dict[str, str]
    embedding_dim: int
    learned_scorer: str | None = None
    store: dict[str, Any]
    batching: dict[str, Any]
    auth: bool
    worker_pid: int


ID_REGEX = ID_PATTERN
