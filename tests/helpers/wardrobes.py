"""Hand-made and synthetic wardrobes for the recommendation tests, and the stores they go in."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from wardrobe.artifacts import Bundle
from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet
from wardrobe.recommendation.index import WardrobeIndex
from wardrobe.recommendation.synthetic import random_embeddings, sample_wardrobe
from wardrobe.store import Garment, GarmentIn, GarmentRepository, RecordStore, VectorStore

DIM = 16
CLIP_SHA = "c" * 64


def garment(
    garment_id: str,
    category: str,
    colour: str = "navy",
    formality: float | None = 0.5,
    seasons: tuple[str, ...] = ("spring", "summer", "fall", "winter"),
    secondary: str | None = None,
    pattern: str = "solid",
    style_tags: tuple[str, ...] = ("casual",),
) -> GarmentIn:
    """A garment with the attributes a test cares about."""
    colours = [{"colour": colour, "share": 0.7}]
    if secondary:
        colours.append({"colour": secondary, "share": 0.25})
    return GarmentIn(
        id=garment_id,
        image_sha256=hashlib.sha256(garment_id.encode()).hexdigest(),
        category=category,
        category_confidence=1.0,
        attributes={
            "pattern": pattern,
            "formality": formality,
            "seasons": list(seasons),
            "style_tags": list(style_tags),
            "colours": colours,
        },
    )


def put(repo: GarmentRepository, user_id: str, garments: list[GarmentIn], seed: int = 0):
    """Write garments with deterministic random embeddings."""
    rng = np.random.default_rng(seed)
    return repo.put(user_id, garments, random_embeddings(rng, len(garments), DIM))


def put_synthetic(repo: GarmentRepository, user_id: str, n: int, seed: int):
    """A synthetic wardrobe of ``n`` garments; returns ``{garment_id: GarmentSpec}``."""
    rng = np.random.default_rng(seed)
    items = sample_wardrobe(rng, n, prefix=f"{user_id}-")
    put(repo, user_id, [g for g, _ in items], seed)
    return {g.id: spec for g, spec in items}


def random_bundle(sha: str | None = CLIP_SHA, kind: str = "bundle") -> Bundle:
    """An untrained compatibility net wrapped as a bundle trained on CLIP ``sha``."""
    torch.manual_seed(0)
    net = OutfitCompatibilityNet(DIM, d_model=16, nhead=2, num_layers=1, dim_feedforward=32)
    pre = {"encoder": {"kind": kind, "path": "clip"}, "feature_dim": DIM, "max_items": 8}
    if sha:
        pre["encoder_weights_sha256"] = sha
    meta = {"weights_sha256": "f" * 64}
    return Bundle(name="compatibility", net=net.eval(), labels={}, preprocessing=pre, meta=meta)


def index_of(*garments) -> WardrobeIndex:
    """The index of user ``u`` over ``garments`` (stored copies with fixed timestamps)."""
    stored = [
        Garment(
            **g.model_dump(),
            user_id="u",
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )
        for g in garments
    ]
    return WardrobeIndex.build("u", stored)


def open_repo(root) -> GarmentRepository:
    """A real SQLite file and a real embedded Chroma under ``root``."""
    records = RecordStore(f"sqlite:///{root / 'wardrobe.db'}", sqlite_synchronous="NORMAL")
    return GarmentRepository(records, VectorStore.embedded(str(root / "chroma"), dim=DIM))
