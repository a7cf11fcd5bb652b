"""The compatibility model's item features: what serving knows of every stored garment, as a vector.

A stored garment is its predicted (or user-corrected) record, the CLIP image embedding of its crop
and, derived from the record, a caption (:func:`garment_caption`) that the CLIP text tower embeds
(OutfitTransformer combines image and text the same way). :func:`garment_features` turns records
+ embeddings into one row per garment; the same function runs on the training catalogue (records
made by the ingestion models from each item image) and in the recommender (records read from the
store), so training and serving build identical inputs. Which parts make the vector is a *feature
set* (``parts``), recorded in the compatibility bundle's ``preprocessing.encoder``.

Parts (sizes; ``D`` = the CLIP embedding size):

* ``image`` (D): the L2-normalised CLIP image embedding;
* ``text`` (D): the L2-normalised CLIP text embedding of the caption;
* ``category`` (47): one-hot of the category times its confidence;
* ``slot`` (6): one-hot of the outfit slot;
* ``colour`` (14 + hue families): colour weights relative to the primary colour, and the
  maximum weight per hue family of ``taxonomy.COLOUR_HUE_FAMILY`` (neutral colours: none);
* ``formality`` (2): the value and whether it is known;
* ``season`` (4): one bit per season;
* ``pattern`` / ``fit`` (one-hot times the tagger's confidence); ``style`` (multi-hot).

A record is a mapping shaped like :class:`wardrobe.store.schema.GarmentIn` (``category``,
``category_confidence``, optional ``slot``, ``attributes`` with ``pattern``, ``fit``,
``formality``, ``seasons``, ``style_tags``, ``colours`` [{colour, share}], ``confidence``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wardrobe import taxonomy
from wardrobe.data.captions import caption_for
from wardrobe.data.formats.attributes import AttributeRow

EMBEDDING_PARTS = ("image", "text")
ATTRIBUTE_PARTS = ("category", "slot", "colour", "formality", "season", "pattern", "fit", "style")
FEATURE_PARTS = EMBEDDING_PARTS + ATTRIBUTE_PARTS
# the default feature set: everything serving has
DEFAULT_PARTS = FEATURE_PARTS

FAMILIES: tuple[str, ...] = tuple(sorted(set(taxonomy.COLOUR_HUE_FAMILY.values())))
_COLOUR = {c: i for i, c in enumerate(taxonomy.COLOURS)}
_FAMILY_OF = np.zeros((len(taxonomy.COLOURS), len(FAMILIES)), np.float32)
for _colour, _family in taxonomy.COLOUR_HUE_FAMILY.items():
    _FAMILY_OF[_COLOUR[_colour], FAMILIES.index(_family)] = 1.0

_ATTRIBUTE_SIZES = {
    "category": len(taxonomy.FINE_CATEGORIES),
    "slot": len(taxonomy.SLOTS),
    "colour": len(taxonomy.COLOURS) + len(FAMILIES),
    "formality": 2,
    "season": len(taxonomy.SEASONS),
    "pattern": len(taxonomy.PATTERNS),
    "fit": len(taxonomy.FITS),
    "style": len(taxonomy.STYLE_TAGS),
}


def check_parts(parts: Sequence[str]) -> tuple[str, ...]:
    """``parts`` as a tuple in :data:`FEATURE_PARTS` order; unknown, repeated or none: error."""
    parts = tuple(parts)
    unknown = sorted(set(parts) - set(FEATURE_PARTS))
    if unknown or not parts or len(set(parts)) != len(parts):
        raise ValueError(
            f"feature parts must be distinct names among {FEATURE_PARTS}, got {list(parts)}"
        )
    return tuple(p for p in FEATURE_PARTS if p in parts)


def feature_dim(parts: Sequence[str], embed_dim: int) -> int:
    """Size of a garment's feature vector for ``parts`` with ``embed_dim``-d CLIP embeddings."""
    return sum(
        int(embed_dim) if p in EMBEDDING_PARTS else _ATTRIBUTE_SIZES[p] for p in check_parts(parts)
    )


def _attributes(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record.get("attributes") or {}


def _colours(record: Mapping[str, Any]) -> list[tuple[str, float]]:
    out = []
    for c in _attributes(record).get("colours") or ():
        colour, share = (c["colour"], c["share"]) if isinstance(c, Mapping) else c
        out.append((str(colour), float(share)))
    return sorted(out, key=lambda cs: -cs[1])


def garment_caption(record: Mapping[str, Any]) -> str:
    """The caption of a garment record, in the words the CLIP model was trained on
    (:func:`wardrobe.data.captions.caption_for`)."""
    attrs = _attributes(record)
    colours = [c for c, _ in _colours(record)]
    row = AttributeRow(
        image="",
        category=record.get("category"),
        colour_primary=colours[0] if colours else None,
        colour_secondary=colours[1] if len(colours) > 1 else None,
        pattern=attrs.get("pattern"),
        fit=attrs.get("fit"),
        style_tags=tuple(attrs.get("style_tags") or ()),
    )
    return caption_for(row)


def _one_hot(vocab: Sequence[str], value: str | None, weight: float = 1.0) -> np.ndarray:
    out = np.zeros(len(vocab), np.float32)
    if value is not None:
        out[list(vocab).index(value)] = weight
    return out


def attribute_vector(record: Mapping[str, Any], part: str) -> np.ndarray:
    """One attribute part (``ATTRIBUTE_PARTS``) of a garment record."""
    attrs = _attributes(record)
    confidence = attrs.get("confidence") or {}
    category = record["category"]
    if part == "category":
        weight = float(record.get("category_confidence", 1.0))
        return _one_hot(taxonomy.FINE_CATEGORIES, category, weight)
    if part == "slot":
        slot = record.get("slot") or taxonomy.CATEGORY_BY_NAME[category].slot
        return _one_hot(taxonomy.SLOTS, slot)
    if part == "colour":
        weights = np.zeros(len(taxonomy.COLOURS), np.float32)
        colours = _colours(record)
        top = colours[0][1] if colours else 0.0
        for colour, share in colours:
            # a share of 0 (unknown) counts as a full colour rather than vanishing
            weights[_COLOUR[colour]] = share / top if top > 0 else 1.0
        return np.concatenate([weights, (weights[:, None] * _FAMILY_OF).max(axis=0)])
    if part == "formality":
        value = attrs.get("formality")
        return np.array([0.0 if value is None else value, value is not None], np.float32)
    if part == "season":
        seasons = set(attrs.get("seasons") or ())
        return np.array([s in seasons for s in taxonomy.SEASONS], np.float32)
    if part in ("pattern", "fit"):
        vocab = taxonomy.PATTERNS if part == "pattern" else taxonomy.FITS
        value = attrs.get(part)
        return _one_hot(vocab, value, float(confidence.get(part, 1.0)) if value else 1.0)
    if part == "style":
        tags = set(attrs.get("style_tags") or ())
        return np.array([t in tags for t in taxonomy.STYLE_TAGS], np.float32)
    raise ValueError(f"not an attribute part: {part!r}")


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def garment_features(
    records: Sequence[Mapping[str, Any]],
    parts: Sequence[str],
    image_embeddings: np.ndarray | None = None,
    text_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """Feature rows ``[N, feature_dim(parts, D)]`` of ``N`` garment records.

    ``image_embeddings`` / ``text_embeddings`` (``[N, D]``, normalised here) are required when
    ``parts`` name ``image`` / ``text``.
    """
    parts = check_parts(parts)
    given = {"image": image_embeddings, "text": text_embeddings}
    columns = []
    for part in parts:
        if part in EMBEDDING_PARTS:
            emb = given[part]
            if emb is None:
                raise ValueError(f"feature part {part!r} needs the garments' {part} embeddings")
            if len(emb) != len(records):
                raise ValueError(f"{len(emb)} {part} embeddings for {len(records)} garments")
            columns.append(_unit(emb))
        else:
            width = _ATTRIBUTE_SIZES[part]
            rows = [attribute_vector(r, part) for r in records]
            columns.append(np.stack(rows) if rows else np.zeros((0, width), np.float32))
    return np.concatenate(columns, axis=1).astype(np.float32)
