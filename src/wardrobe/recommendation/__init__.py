"""Recommendation pipeline: constraints, candidates, scoring, personalisation, ranking.

``Recommender(repository, settings, compatibility, text_embedder, clip_weights_sha256)`` is the
entry point; ``recommend(user_id, constraints, text, k)`` returns a :class:`Recommendation` and
``feedback(user_id, signal, outfit_id=... | garment_ids=...)`` learns from the user. A plain
library: no Lightning, no LitServe.
"""

from wardrobe.recommendation.constraints import Constraints
from wardrobe.recommendation.recommender import (
    Recommendation,
    RecommendedOutfit,
    Recommender,
)
from wardrobe.recommendation.settings import RecommendSettings
from wardrobe.recommendation.text import parse_request

__all__ = [
    "Constraints",
    "RecommendSettings",
    "Recommendation",
    "RecommendedOutfit",
    "Recommender",
    "parse_request",
]
