"""Deterministic garments and embeddings for the store tests."""

from __future__ import annotations

import hashlib

import numpy as np

from wardrobe.store import GarmentIn

DIM = 8


def make_garment(garment_id: str = "g1", category: str = "t_shirt", **overrides) -> GarmentIn:
    """A valid garment; ``overrides`` replace fields (``attributes`` as a dict)."""
    data = {
        "id": garment_id,
        "image_sha256": hashlib.sha256(garment_id.encode()).hexdigest(),
        "image_path": f"photos/{garment_id}.jpg",
        "box": (10.0, 20.0, 110.0, 220.0),
        "category": category,
        "category_confidence": 0.9,
        "attributes": {
            "pattern": "solid",
            "fit": "regular",
            "formality": 0.3,
            "seasons": ["winter", "fall"],
            "style_tags": ["casual"],
            "colours": [{"colour": "white", "share": 0.2}, {"colour": "navy", "share": 0.7}],
        },
        "quality_warnings": ["blurry"],
        "model_versions": {"classifier": "v1", "embedder": "e1"},
    }
    data.update(overrides)
    return GarmentIn.model_validate(data)


def embedding(seed: int | str, dim: int = DIM) -> np.ndarray:
    """A deterministic non-zero embedding."""
    digest = hashlib.sha256(str(seed).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return rng.normal(size=dim).astype(np.float32)
