"""Stage 6: diverse top K and explanations built from the breakdown."""

from __future__ import annotations

import numpy as np

from wardrobe.recommendation.ranking import diverse_top_k, explain


def test_no_two_picks_share_more_than_the_limit_and_mmr_prefers_new_garments():
    outfits = [[1, 2, 3], [1, 2, 4], [1, 5, 6], [7, 8, 9], [7, 8, 10]]
    scores = np.array([1.0, 0.99, 0.9, 0.5, 0.49])
    assert diverse_top_k(outfits, scores, 5, max_shared=1, mmr_lambda=1.0) == [0, 2, 3]
    # with lambda < 1 an outfit sharing nothing beats a slightly better one sharing a garment
    assert diverse_top_k(outfits, scores, 2, max_shared=1, mmr_lambda=0.2) == [0, 3]
    assert diverse_top_k(outfits, scores, 2, max_shared=3, mmr_lambda=1.0) == [0, 1]
    assert diverse_top_k([], np.array([]), 3, 1, 0.8) == []


def test_explanations_name_the_facts_behind_the_scores():
    text = explain(
        {"colour": ("classic", "navy + white"), "occasion": "business", "combo": None},
        {"formality": 0.95},
    )
    assert text == "navy + white: classic contrast; formality matches a business occasion"
    text = explain(
        {
            "colour": ("complementary", "blue + orange"),
            "combo": ("t_shirt", "jeans"),
            "notes": ("10°C with rain: a layer on top",),
            "liked": "blue",
        },
        {"formality": 0.5, "personal": 0.2, "learned": 0.9},
    )
    assert text.startswith("blue + orange: complementary colours; t shirt with jeans")
    assert "10°C with rain: a layer on top" in text
    assert explain({}, {}) == "a balanced outfit"
