"""Garment feature rows: sizes, what each part encodes, and serving building the training rows."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tests.helpers.wardrobes import index_of
from wardrobe import taxonomy
from wardrobe.data.garment_features import (
    ATTRIBUTE_PARTS,
    FAMILIES,
    FEATURE_PARTS,
    attribute_vector,
    feature_dim,
    garment_caption,
    garment_features,
)
from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet
from wardrobe.recommendation.scoring import LearnedScorer
from wardrobe.store import GarmentIn

D = 8


def record(category="dress_shirt", colours=(("red", 0.6), ("navy", 0.3)), formality=0.8):
    """A record shaped as ingestion writes it (confidences, colour evidence)."""
    return {
        "category": category,
        "category_confidence": 0.9,
        "attributes": {
            "pattern": "striped",
            "fit": "slim",
            "formality": formality,
            "seasons": ["spring", "fall"],
            "style_tags": ["formal", "preppy"],
            "colours": [{"colour": c, "share": s} for c, s in colours],
            "colour_evidence": {"tagger": "red", "confidence": 0.7, "agrees": True},
            "confidence": {"pattern": 0.6, "fit": 0.5},
        },
    }


def text_embedder(texts):
    """Deterministic stand-in for the CLIP text tower: a vector per distinct caption."""
    out = []
    for t in texts:
        rng = np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16))
        out.append(rng.normal(size=D))
    return np.array(out, np.float32)


def test_every_part_set_has_the_size_feature_dim_says():
    rows = garment_features([record(), record("jeans")], FEATURE_PARTS, np.ones((2, D)),
                            np.ones((2, D)))  # fmt: skip
    assert rows.shape == (2, feature_dim(FEATURE_PARTS, D))
    assert feature_dim(["image"], D) == D
    assert garment_features([record()], ATTRIBUTE_PARTS).shape[1] == feature_dim(ATTRIBUTE_PARTS, D)


@pytest.mark.parametrize("parts", [[], ["image", "image"], ["colour", "price"]])
def test_bad_feature_sets_fail_loudly(parts):
    with pytest.raises(ValueError, match="feature parts"):
        feature_dim(parts, D)


def test_an_embedding_part_without_embeddings_is_an_error():
    with pytest.raises(ValueError, match="text embeddings"):
        garment_features([record()], ["image", "text"], np.ones((1, D)))


def test_attribute_parts_encode_what_the_stylist_rule_reads():
    r = record()
    colour = attribute_vector(r, "colour")
    palette, families = colour[: len(taxonomy.COLOURS)], colour[len(taxonomy.COLOURS) :]
    assert palette[taxonomy.COLOURS.index("red")] == 1.0  # the primary colour = 1
    assert palette[taxonomy.COLOURS.index("navy")] == pytest.approx(0.5)  # relative share
    red_family = taxonomy.COLOUR_HUE_FAMILY["red"]
    assert families[FAMILIES.index(red_family)] == 1.0
    assert attribute_vector(r, "slot")[taxonomy.SLOTS.index("top")] == 1.0
    assert attribute_vector(r, "category")[taxonomy.CATEGORY_INDEX["dress_shirt"]] == 0.9
    assert attribute_vector(r, "formality").tolist() == pytest.approx([0.8, 1.0])
    assert attribute_vector(record(formality=None), "formality").tolist() == [0.0, 0.0]
    assert attribute_vector(r, "season").tolist() == [1.0, 0.0, 1.0, 0.0]
    assert attribute_vector(r, "pattern")[taxonomy.PATTERNS.index("striped")] == 0.6


def test_caption_uses_the_clip_training_words():
    assert (
        garment_caption(record()) == "a red and navy striped dress shirt, slim fit, formal, preppy"
    )


def test_the_recommender_builds_exactly_the_training_rows_from_stored_garments():
    records = [record(), record("chinos", (("tan", 1.0),), 0.5), record("loafers", (), None)]
    image = np.random.default_rng(0).normal(size=(3, D)).astype(np.float32)
    captions = [garment_caption(r) for r in records]
    training = garment_features(records, FEATURE_PARTS, image, text_embedder(captions))
    stored = [
        GarmentIn(id=f"g{i}", image_sha256=hashlib.sha256(b"%d" % i).hexdigest(), **r)
        for i, r in enumerate(records)
    ]
    index = index_of(*stored)
    index = type(index)("u", index.garments, image)  # the store's embeddings, same rows
    net = OutfitCompatibilityNet(training.shape[1], d_model=16, nhead=2, num_layers=1).eval()
    scorer = LearnedScorer(net, training.shape[1], FEATURE_PARTS, text_embedder, D)
    np.testing.assert_allclose(scorer.item_features(index), training, rtol=1e-6, atol=1e-6)
    assert scorer.score(index, [[0, 1, 2], [0, 1]]).shape == (2,)


def test_a_text_feature_set_without_a_text_embedder_is_refused():
    net = OutfitCompatibilityNet(feature_dim(FEATURE_PARTS, D), d_model=16, nhead=2)
    with pytest.raises(ValueError, match="text_embedder"):
        LearnedScorer(net, feature_dim(FEATURE_PARTS, D), FEATURE_PARTS)
