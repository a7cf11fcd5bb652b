"""Stage 1-2: typed constraints, what they resolve to, and the wardrobe filter.

:class:`Constraints` is a pydantic model with bounded fields, so serving reuses it as its
request schema and absurd values (k = 10_000, 500 °C) are validation errors. Its derived
settings (occasion -> formality range, temperature -> seasons and layers, rain -> outerwear and
no sandals) are worked out once by :func:`resolve` into a :class:`Resolved`, which both the
filter and the templates read. A garment must pass every garment-level constraint; a garment
whose attribute is unknown does not pass a constraint on that attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wardrobe import taxonomy
from wardrobe.recommendation.index import SLOT_INDEX, WardrobeIndex, season_mask
from wardrobe.recommendation.settings import RecommendSettings
from wardrobe.store.schema import Id

Layer = Literal["auto", "required", "optional", "excluded"]
Choice = Literal["optional", "required", "excluded"]
Body = Literal["any", "separates", "one_piece"]


class Constraints(BaseModel):
    """What the user asks for. Every field is optional; ``None``/empty means no constraint.

    * ``occasion`` (one of ``taxonomy.OCCASIONS``) sets the formality range every garment must
      fall in; ``formality_min``/``formality_max`` narrow it further.
    * ``temperature_c`` picks the seasons (``seasons`` overrides) and the outerwear rule
      (required below the configured threshold or in ``rain``, left out when hot);
      ``outerwear`` other than ``auto`` overrides that rule.
    * ``include_ids`` are worn in every outfit ("build around this"); ``exclude_ids`` never.
    * ``not_worn_days``: no garment with a ``wear`` event in that many days.
    * ``accessories``/``body``: which slots the outfits have.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    occasion: str | None = None
    formality_min: float | None = Field(None, ge=0.0, le=1.0)
    formality_max: float | None = Field(None, ge=0.0, le=1.0)
    temperature_c: float | None = Field(None, ge=-50.0, le=60.0)
    rain: bool = False
    seasons: list[str] = Field(default_factory=list, max_length=len(taxonomy.SEASONS))
    include_ids: list[Id] = Field(default_factory=list, max_length=6)
    exclude_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    not_worn_days: int | None = Field(None, ge=1, le=365)
    outerwear: Layer = "auto"
    accessories: Choice = "optional"
    body: Body = "any"
    k: int | None = Field(None, ge=1, le=50)

    @field_validator("occasion")
    @classmethod
    def _occasion(cls, value: str | None) -> str | None:
        if value is not None and value not in taxonomy.OCCASIONS:
            raise ValueError(f"unknown occasion {value!r}; expected one of {taxonomy.OCCASIONS}")
        return value

    @field_validator("seasons")
    @classmethod
    def _seasons(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in taxonomy.SEASONS]
        if unknown:
            raise ValueError(f"unknown seasons {unknown}; expected some of {taxonomy.SEASONS}")
        return [s for s in taxonomy.SEASONS if s in value]

    @model_validator(mode="after")
    def _consistent(self) -> Constraints:
        lo, hi = self.formality_min, self.formality_max
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"formality_min {lo} is above formality_max {hi}")
        both = sorted(set(self.include_ids) & set(self.exclude_ids))
        if both:
            raise ValueError(f"garments {both} are both included and excluded")
        if len(set(self.include_ids)) != len(self.include_ids):
            raise ValueError("include_ids has duplicates")
        return self

    def merged_over(self, parsed: Constraints) -> Constraints:
        """These constraints, with the fields this request did not set taken from ``parsed``
        (e.g. what a free-text request says)."""
        values = parsed.model_dump()
        values.update({k: getattr(self, k) for k in self.model_fields_set})
        return Constraints.model_validate(values)


@dataclass(frozen=True)
class Resolved:
    """Constraints worked out against the settings: what the filter and templates apply."""

    formality: tuple[float, float] | None
    seasons: tuple[str, ...]  # empty: any season
    outerwear: Choice
    accessories: Choice
    bodies: tuple[str, ...]  # "separates" and/or "one_piece"
    excluded_categories: frozenset[str]
    include_ids: tuple[str, ...]
    exclude_ids: frozenset[str]
    worn_ids: frozenset[str] = frozenset()
    notes: tuple[str, ...] = field(default=())  # why a layer rule applies (for explanations)


def resolve(
    c: Constraints, settings: RecommendSettings, worn_ids: frozenset[str] = frozenset()
) -> Resolved:
    """Work out what ``c`` means under ``settings`` (``worn_ids``: worn within the window)."""
    weather = settings.weather
    formality = None
    if c.occasion is not None:
        formality = taxonomy.OCCASION_FORMALITY[c.occasion]
    if c.formality_min is not None or c.formality_max is not None:
        lo, hi = formality or (0.0, 1.0)
        formality = (max(lo, c.formality_min or 0.0), min(hi, c.formality_max or 1.0))
    seasons = tuple(c.seasons)
    if not seasons and c.temperature_c is not None:
        seasons = tuple(weather.seasons_for(c.temperature_c))
    outerwear, notes = c.outerwear, []
    if outerwear == "auto":
        cold = c.temperature_c is not None and c.temperature_c < weather.outerwear_below_c
        hot = c.temperature_c is not None and c.temperature_c >= weather.no_outerwear_above_c
        if cold or c.rain:
            outerwear = "required"
            notes.append(_weather_words(c) + ": a layer on top")
        elif hot:
            outerwear = "excluded"
            notes.append(_weather_words(c) + ": no layer needed")
        else:
            outerwear = "optional"
    excluded = frozenset(weather.rain_excluded_categories) if c.rain else frozenset()
    bodies = ("separates", "one_piece") if c.body == "any" else (c.body,)
    return Resolved(
        formality=formality,
        seasons=seasons,
        outerwear=outerwear,
        accessories=c.accessories,
        bodies=bodies,
        excluded_categories=excluded,
        include_ids=tuple(c.include_ids),
        exclude_ids=frozenset(c.exclude_ids),
        worn_ids=frozenset(worn_ids),
        notes=tuple(notes),
    )


def _weather_words(c: Constraints) -> str:
    parts = [] if c.temperature_c is None else [f"{c.temperature_c:g}°C"]
    if c.rain:
        parts.append("rain")
    return " with ".join(parts)


def garment_mask(index: WardrobeIndex, r: Resolved) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Which garments pass every garment-level constraint, and per constraint which fail."""
    n = len(index)
    failed: dict[str, np.ndarray] = {}
    if r.formality is not None:
        lo, hi = r.formality
        f = index.formality
        with np.errstate(invalid="ignore"):
            failed["formality"] = ~((f >= lo - 1e-9) & (f <= hi + 1e-9))  # NaN fails
    if r.seasons:
        failed["season"] = (index.seasons & season_mask(r.seasons)) == 0
    if r.excluded_categories:
        banned = [taxonomy.CATEGORY_INDEX[c] for c in r.excluded_categories]
        failed["weather"] = np.isin(index.category, banned)
    blocked = {
        "excluded": r.exclude_ids,
        "recently worn": r.worn_ids,
    }
    for name, ids in blocked.items():
        if ids:
            failed[name] = np.array([g in ids for g in index.ids], bool)
    slots_off = [SLOT_INDEX[s] for s in _slots_off(r)]
    if slots_off:
        failed["slot"] = np.isin(index.slot, slots_off)
    ok = np.ones(n, bool)
    for mask in failed.values():
        ok &= ~mask
    return ok, failed


def _slots_off(r: Resolved) -> list[str]:
    off = []
    if r.outerwear == "excluded":
        off.append("outerwear")
    if r.accessories == "excluded":
        off.append("accessory")
    if "separates" not in r.bodies:
        off += ["top", "bottom"]
    if "one_piece" not in r.bodies:
        off.append("one_piece")
    return off


def check_outfit(index: WardrobeIndex, rows: list[int], r: Resolved) -> list[str]:
    """Constraints an outfit breaks (empty = it respects every one): the filter's rules per
    garment, plus the outfit-level ones (includes present, layer required, slots)."""
    _, failed = garment_mask(index, r)
    broken = sorted({name for name, mask in failed.items() if mask[rows].any()})
    ids = {index.ids[i] for i in rows}
    if not set(r.include_ids) <= ids:
        broken.append("include")
    slots = [taxonomy.SLOTS[index.slot[i]] for i in rows]
    if r.outerwear == "required" and "outerwear" not in slots:
        broken.append("outerwear")
    if r.accessories == "required" and "accessory" not in slots:
        broken.append("accessory")
    return broken
