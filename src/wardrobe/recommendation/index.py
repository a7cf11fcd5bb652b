"""``WardrobeIndex``: one user's ready garments as arrays, the form every stage computes on.

Built once per wardrobe version (the recommender caches it): categories, slots, formality,
season bitmasks, colour weights over the palette and over hue families, and the L2-normalised
CLIP embeddings when the vector store has them. Colour weights are shares relative to the
garment's primary colour (primary = 1, a motif covering a third of that area = 1/3), so every
colour of a garment counts, in proportion to how much of it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from wardrobe import taxonomy
from wardrobe.store.schema import Garment

FAMILIES: tuple[str, ...] = tuple(sorted(set(taxonomy.COLOUR_HUE_FAMILY.values())))
FAMILY_INDEX = {name: i for i, name in enumerate(FAMILIES)}
COLOUR_INDEX = {name: i for i, name in enumerate(taxonomy.COLOURS)}
SLOT_INDEX = {name: i for i, name in enumerate(taxonomy.SLOTS)}
PATTERN_INDEX = {name: i for i, name in enumerate(taxonomy.PATTERNS)}
STYLE_INDEX = {name: i for i, name in enumerate(taxonomy.STYLE_TAGS)}
ALL_SEASONS = (1 << len(taxonomy.SEASONS)) - 1


def season_mask(seasons: Sequence[str]) -> int:
    """Bitmask of seasons (bit i = ``taxonomy.SEASONS[i]``)."""
    return sum(1 << taxonomy.SEASONS.index(s) for s in set(seasons))


def _colour_weights(garment: Garment) -> np.ndarray:
    weights = np.zeros(len(taxonomy.COLOURS), np.float32)
    colours = garment.attributes.colours
    if not colours:
        return weights
    top = max(c.share for c in colours)
    for c in colours:
        # shares of 0 (unknown) count as a full colour rather than vanishing
        weights[COLOUR_INDEX[c.colour]] = c.share / top if top > 0 else 1.0
    return weights


# palette colour -> hue family (neutral colours map to no family)
_PALETTE_TO_FAMILY = np.zeros((len(taxonomy.COLOURS), len(FAMILIES)), np.float32)
for _colour, _family in taxonomy.COLOUR_HUE_FAMILY.items():
    _PALETTE_TO_FAMILY[COLOUR_INDEX[_colour], FAMILY_INDEX[_family]] = 1.0


@dataclass
class WardrobeIndex:
    """A user's garments as parallel arrays (row ``i`` is ``garments[i]``)."""

    user_id: str
    garments: list[Garment]
    embeddings: np.ndarray | None = None  # [n, D] L2-normalised, or None
    version: object = None  # the store's fingerprint this index was built from
    ids: list[str] = field(init=False)
    row: dict[str, int] = field(init=False)
    slot: np.ndarray = field(init=False)  # int codes into taxonomy.SLOTS
    category: np.ndarray = field(init=False)  # int codes into taxonomy.FINE_CATEGORIES
    formality: np.ndarray = field(init=False)  # float, NaN when unknown
    seasons: np.ndarray = field(init=False)  # bitmask, 0 when unknown
    palette: np.ndarray = field(init=False)  # [n, 14] relative colour weights
    family: np.ndarray = field(init=False)  # [n, F] hue-family weights (max over colours)
    pattern: np.ndarray = field(init=False)  # int codes, -1 when unknown
    styles: np.ndarray = field(init=False)  # [n, S] 0/1
    # derived per-garment arrays of later stages (the learned scorer's feature rows), built once
    # per index, i.e. per wardrobe version
    cache: dict = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        gs = self.garments
        self.ids = [g.id for g in gs]
        self.row = {g: i for i, g in enumerate(self.ids)}
        self.slot = np.array([SLOT_INDEX[g.slot] for g in gs], np.int64)
        self.category = np.array([taxonomy.CATEGORY_INDEX[g.category] for g in gs], np.int64)
        self.formality = np.array(
            [np.nan if g.attributes.formality is None else g.attributes.formality for g in gs],
            np.float64,
        )
        self.seasons = np.array([season_mask(g.attributes.seasons) for g in gs], np.int64)
        self.palette = (
            np.stack([_colour_weights(g) for g in gs])
            if gs
            else np.zeros((0, len(taxonomy.COLOURS)), np.float32)
        )
        self.family = (self.palette[:, :, None] * _PALETTE_TO_FAMILY[None]).max(axis=1)
        self.pattern = np.array(
            [PATTERN_INDEX.get(g.attributes.pattern or "", -1) for g in gs], np.int64
        )
        self.styles = np.zeros((len(gs), len(taxonomy.STYLE_TAGS)), np.float32)
        for i, g in enumerate(gs):
            for tag in g.attributes.style_tags:
                self.styles[i, STYLE_INDEX[tag]] = 1.0
        if self.embeddings is not None:
            emb = np.asarray(self.embeddings, np.float32)
            if emb.shape[0] != len(gs):
                raise ValueError(f"{emb.shape[0]} embeddings for {len(gs)} garments")
            norm = np.linalg.norm(emb, axis=1, keepdims=True)
            self.embeddings = emb / np.where(norm > 0, norm, 1.0)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(
        cls,
        user_id: str,
        garments: Sequence[Garment],
        embeddings: Mapping[str, np.ndarray] | None = None,
        version: object = None,
    ) -> WardrobeIndex:
        """An index of ``garments`` (only the user's own: others are a programming error).

        ``embeddings`` (garment id -> vector) is used only when every garment has one: the
        learned scorer needs a feature for every item of an outfit.
        """
        foreign = [g.id for g in garments if g.user_id != user_id]
        if foreign:
            raise ValueError(f"garments {foreign[:5]} do not belong to user {user_id!r}")
        garments = sorted(garments, key=lambda g: g.id)  # a stable order: stable ties
        matrix = None
        if embeddings and all(g.id in embeddings for g in garments) and garments:
            matrix = np.stack([np.asarray(embeddings[g.id], np.float32) for g in garments])
        return cls(user_id, list(garments), matrix, version)

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Row numbers of garment ids (KeyError for an unknown id)."""
        return np.array([self.row[g] for g in ids], np.int64)
