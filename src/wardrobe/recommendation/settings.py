"""``RecommendSettings``: every tunable of the recommender, loaded from ``conf/pipeline/recommend``.

A pydantic model with ``extra="forbid"``: a misspelt key in the config fails at start, not as a
silently ignored setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wardrobe import taxonomy


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleWeights(_Settings):
    """Weights of the rule scorer's parts (normalised to sum to 1)."""

    colour: float = Field(0.3, ge=0)
    formality: float = Field(0.3, ge=0)
    combo: float = Field(0.2, ge=0)
    season: float = Field(0.2, ge=0)


class BlendWeights(_Settings):
    """How the signals add up to an outfit's score (personal is added after, clamped)."""

    # measured on held-out synthetic wardrobes (evaluate.py, compatibility hit10_*): the learned
    # weight 0.7 gave the best top-10 stylist-rule hit rate of 0, 0.4, 0.7 and 1
    rules: float = Field(0.3, ge=0)
    learned: float = Field(0.7, ge=0)
    # the rules' weight when the net does not run (no compatibility bundle, or one whose
    # features the store cannot give): the weight the rules had before the net's blend was
    # tuned, against which text and preference were balanced
    rules_alone: float = Field(0.6, ge=0)
    text: float = Field(0.5, ge=0)  # times the mean CLIP cosine to the request


class PersonalSettings(_Settings):
    """Preference learning: the design's rates, made per user, persistent and decaying."""

    learning_rate: float = Field(0.1, gt=0)
    half_life_days: float = Field(30.0, gt=0)
    cold_start_events: int = Field(10, ge=0)  # the design: no adjustment before 10 events
    clamp: float = Field(0.3, ge=0)  # the design's +-0.3
    embedding_weight: float = Field(0.2, ge=0)  # times the cosine to the liked-garments centroid
    remember_events: int = Field(256, ge=1)  # applied event ids kept (a retry is not re-applied)


class WeatherSettings(_Settings):
    """Temperature -> seasons and layers."""

    outerwear_below_c: float = 15.0  # outerwear required below this (and in rain)
    no_outerwear_above_c: float = 25.0  # outerwear left out at and above this
    # (lowest temperature, seasons) bands, coldest first: the first band whose floor is <= t
    # counting from the warmest wins
    season_bands: list[tuple[float, list[str]]] = Field(
        default_factory=lambda: [
            (-100.0, ["winter"]),
            (3.0, ["fall", "winter"]),
            (10.0, ["spring", "fall"]),
            (18.0, ["spring", "summer"]),
            (25.0, ["summer"]),
        ]
    )
    rain_excluded_categories: list[str] = Field(default_factory=lambda: ["sandals"])

    @field_validator("season_bands")
    @classmethod
    def _bands(cls, bands: list[tuple[float, list[str]]]) -> list[tuple[float, list[str]]]:
        floors = [floor for floor, _ in bands]
        if not bands or floors != sorted(floors):
            raise ValueError("season_bands must be non-empty, coldest floor first")
        for _, seasons in bands:
            if not seasons or set(seasons) - set(taxonomy.SEASONS):
                raise ValueError(f"season_bands: seasons must be among {taxonomy.SEASONS}")
        return bands

    @field_validator("rain_excluded_categories")
    @classmethod
    def _categories(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in taxonomy.CATEGORY_BY_NAME]
        if unknown:
            raise ValueError(f"rain_excluded_categories: unknown categories {unknown}")
        return names

    def seasons_for(self, temperature_c: float) -> list[str]:
        """The seasons whose clothes suit ``temperature_c``."""
        chosen = self.season_bands[0][1]
        for floor, seasons in self.season_bands:
            if temperature_c >= floor:
                chosen = seasons
        return list(chosen)


class SearchSettings(_Settings):
    """Candidate generation (beam search over outfit templates)."""

    beam_width: int = Field(32, ge=1, le=4096)
    children_per_parent: int = Field(12, ge=1)  # a partial outfit's best extensions kept
    max_item_repeats: int = Field(12, ge=1)  # times one garment may appear in a beam
    max_first_pairs: int = Field(10_000, ge=100)  # first two slots: pairs scored at most
    max_step_candidates: int = Field(256, ge=1)  # later slots: garments tried per step at most
    max_accessories: int = Field(1, ge=0, le=2)
    candidate_pool: int = Field(96, ge=1)  # complete outfits re-scored with the learned net
    # the learned net also scores every partial outfit the beam grows (complementary-item
    # retrieval at each step), not only the final pool: better outfits for the net (held-out
    # hit rate, README) but ~60k net calls a request at 1,000 garments (p95 seconds on CPU)
    learned_in_beam: bool = False
    pool_item_repeats: int = Field(12, ge=1)  # times one garment may appear in that pool


class RankingSettings(_Settings):
    """Top-K selection."""

    default_k: int = Field(10, ge=1, le=50)
    max_shared_garments: int = Field(1, ge=0)  # no two results share more garments than this
    mmr_lambda: float = Field(0.8, ge=0, le=1)  # 1 = score only, lower = more diverse


class RecommendSettings(_Settings):
    """Everything the :class:`~wardrobe.recommendation.Recommender` can be tuned with."""

    rule_weights: RuleWeights = Field(default_factory=RuleWeights)
    blend: BlendWeights = Field(default_factory=BlendWeights)
    feedback_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "like": 1.0,
            "dislike": -1.0,
            "wear": 2.0,
            "skip": -0.3,
            "click": 0.2,
        }
    )
    personal: PersonalSettings = Field(default_factory=PersonalSettings)
    weather: WeatherSettings = Field(default_factory=WeatherSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    ranking: RankingSettings = Field(default_factory=RankingSettings)
    formality_spread_scale: float = Field(0.45, gt=0)  # formality score 0 at this max-min spread
    use_learned: bool = True  # the learned scorer, when a matching bundle is given
    cache_users: int = Field(32, ge=0)  # wardrobes kept in memory (0 = reload every request)

    @field_validator("feedback_weights")
    @classmethod
    def _feedback(cls, weights: dict[str, float]) -> dict[str, float]:
        if set(weights) != set(taxonomy.FEEDBACK_SIGNALS):
            raise ValueError(
                f"feedback_weights must give exactly {taxonomy.FEEDBACK_SIGNALS}, got "
                f"{sorted(weights)}"
            )
        return weights

    @model_validator(mode="after")
    def _weights(self) -> RecommendSettings:
        if sum(self.rule_weights.model_dump().values()) <= 0:
            raise ValueError("rule_weights must not all be 0")
        return self

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | DictConfig | None) -> RecommendSettings:
        """Settings from the Hydra node ``pipeline.recommend`` (or a plain mapping)."""
        if cfg is None:
            return cls()
        if isinstance(cfg, DictConfig):
            cfg = OmegaConf.to_container(cfg, resolve=True)
        return cls.model_validate(dict(cfg))
