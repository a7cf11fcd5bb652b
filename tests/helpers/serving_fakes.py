"""Small stand-ins for the ingestion pipeline and the recommender that honour their APIs.

The store is real (SQLite + embedded Chroma under tmp_path, 8-d vectors), so user scoping and
NotFound come from the real store; the pipeline decodes with the real ``decode_image`` (so every
bad-image code is the real one) and finds one garment per photo; the recommender pairs a top with
a bottom and ranks by recorded feedback.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from wardrobe.ingestion.decode import ImageDecodeError, decode_image
from wardrobe.ingestion.pipeline import GarmentResult, IngestError, PhotoResult
from wardrobe.store import GarmentIn, NotFound, open_repository

DIM = 8
# garment colour -> category, so a test picks what the fake "detects" by the photo's colour
CATEGORY_BY_RED = {0: "t_shirt", 255: "jeans"}

KEYS = {"key-of-alice-123": "alice", "key-of-bob-4567": "bob"}


def photo(red: int = 0, size: int = 64, fmt: str = "JPEG") -> bytes:
    """A solid-colour photo; red 0 -> the fake finds a t-shirt, 255 -> jeans."""
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (red, 40, 90)).save(buf, fmt)
    return buf.getvalue()


def _embedding(seed: bytes) -> np.ndarray:
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed).digest()[:8], "little"))
    v = rng.normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


class FakePipeline:
    """``ingest``/``search``/``embed_text`` as in wardrobe.ingestion.pipeline."""

    model_versions: ClassVar[dict[str, str]] = {"detector": "fake-det", "clip": "fake-clip"}
    embedding_dim = DIM
    clip_weights_sha256 = "0" * 64

    def __init__(self, repository) -> None:
        self.repository = repository
        self.calls: list[tuple[str, int]] = []  # (user_id, photos) per ingest call
        self.fail_store = False

    def ingest(self, user_id, uploads, photo_ids=None):
        self.calls.append((user_id, len(uploads)))
        if self.fail_store:
            from wardrobe.store import StoreUnavailable

            raise StoreUnavailable("records database is down")
        ids = list(photo_ids or [None] * len(uploads))
        results = []
        for upload, photo_id in zip(uploads, ids, strict=True):
            try:
                image = decode_image(upload, max_pixels=50_000_000)
            except ImageDecodeError as err:
                results.append(
                    PhotoResult(photo_id, None, False, IngestError(err.code, err.message))
                )
                continue
            if min(image.width, image.height) < 32:
                msg = f"The photo is {image.width}x{image.height} pixels; at least 32 needed."
                results.append(PhotoResult(photo_id, None, False, IngestError("too_small", msg)))
                continue
            sha = hashlib.sha256(upload).hexdigest()
            photo_id = photo_id or sha[:16]
            red = int(image.rgb[0, 0, 0])
            category = CATEGORY_BY_RED.get(red, "sneakers")
            garment = GarmentIn(
                id=f"{photo_id}-00",
                image_sha256=sha,
                box=(0.0, 0.0, float(image.width), float(image.height)),
                category=category,
                category_confidence=0.9,
                attributes={"colours": [{"colour": "red" if red else "black", "share": 0.8}]},
            )
            stored = self.repository.put(user_id, [garment], [_embedding(category.encode())])
            results.append(
                PhotoResult(
                    photo_id,
                    sha,
                    True,
                    warnings=[{"code": "blurry", "message": "a bit blurry", "value": 3.0}],
                    garments=[GarmentResult(stored[0], None, 0.0, [(category, 0.9)])],
                )
            )
        return results

    def embed_text(self, texts):
        return np.stack([_embedding(t.split()[-1].encode()) for t in texts])

    def search(self, user_id, *, text=None, image=None, n=10):
        if (text is None) == (image is None):
            raise ValueError("search needs exactly one of text or image")
        if image is not None:
            decode_image(image)
            query = _embedding(b"t_shirt")
        else:
            query = self.embed_text([text])[0]
        return self.repository.similar(user_id, query, n=n)


@dataclass
class RecommendedOutfit:
    outfit_id: str
    garment_ids: list[str]
    score: float
    breakdown: dict[str, float]
    explanation: str


@dataclass
class Recommendation:
    outfits: list[RecommendedOutfit]
    reason: str | None
    constraints: Any


class FakeRecommender:
    """Every (top, bottom) pair of the user, ranked by the feedback on its garments."""

    learned_scorer_status = "fake"
    weights: ClassVar[dict[str, float]] = {
        "like": 1.0,
        "dislike": -1.0,
        "wear": 0.5,
        "skip": -0.2,
        "click": 0.1,
    }

    def __init__(self, repository) -> None:
        self.repository = repository

    def recommend(self, user_id, constraints=None, text=None, k=None):
        garments = self.repository.list_garments(user_id, limit=100).items
        tops = [g for g in garments if g.slot == "top"]
        bottoms = [g for g in garments if g.slot == "bottom"]
        bonus: dict[str, float] = {}
        for event in self.repository.records.list_feedback(user_id):
            for gid in event.garment_ids:
                bonus[gid] = bonus.get(gid, 0.0) + event.weight
        outfits = []
        for top, bottom in itertools.product(tops, bottoms):
            ids = [top.id, bottom.id]
            score = 0.5 + 0.1 * sum(bonus.get(g, 0.0) for g in ids)
            outfit = self.repository.records.record_outfit(user_id, ids, outfit_id=uuid.uuid4().hex)
            outfits.append(
                RecommendedOutfit(outfit.id, ids, score, {"rules": 0.5}, "top with bottom")
            )
        outfits.sort(key=lambda o: -o.score)
        reason = None if outfits else "no top and bottom to combine"
        return Recommendation(outfits[: k or 5], reason, constraints)

    def feedback(self, user_id, signal, *, outfit_id=None, garment_ids=None, event_id=None):
        kind, targets = ("outfit", [outfit_id]) if outfit_id else ("garment", list(garment_ids))
        return self.repository.records.add_feedback(
            user_id, kind, targets, signal, self.weights[signal], event_id=event_id
        )


def fake_repository(root):
    """The real stores (SQLite file + embedded Chroma) under ``root``, 8-d vectors."""
    return open_repository(
        {"url": f"sqlite:///{root}/wardrobe.db"},
        {"mode": "embedded", "path": str(root / "chroma"), "dim": DIM},
    )


def must_not_find(repository, user_id, garment_id) -> bool:
    try:
        repository.get(user_id, garment_id)
    except NotFound:
        return True
    return False
