"""Ingestion accuracy with the quickstart bundles (``make run`` trains them; 18-26 min on 2 CPUs).

Skipped where ``model_artifacts/`` (or ``$WARDROBE_ARTIFACTS``) lacks the four ingestion bundles
(CI trains only tiny ones). Synthetic flat lays with garments the detector knows go
through the pipeline into real stores; the garments must be found (IoU >= 0.5) with the right
fine category, primary colour and pattern at the design's target rates.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.config import REPO_ROOT
from tests.helpers.photos import flat_lay
from wardrobe.ingestion.models import BUNDLES
from wardrobe.ingestion.pipeline import IngestionPipeline
from wardrobe.store import GarmentRepository, RecordStore, VectorStore

ARTIFACTS = Path(os.environ.get("WARDROBE_ARTIFACTS", REPO_ROOT / "model_artifacts"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not all((ARTIFACTS / b / "bundle.json").is_file() for b in BUNDLES),
        reason=f"quickstart bundles {BUNDLES} not in {ARTIFACTS} (run `make run`)",
    ),
]


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


PHOTOS = 48
OUTFITS = (["jeans", "t_shirt"], ["midi_dress", "blazer"], ["shorts", "blouse", "cardigan"])


@pytest.fixture(scope="module")
def flat_lay_rates(tmp_path_factory) -> dict[str, float]:
    """48 flat lays (112 garments the detector knows), end to end into real stores: the share
    of annotated garments found (IoU >= 0.5) and named right. (A linear classifier head named
    0.82 of the first 12 lays' garments and 0.70 of these 48: 12 were too few.)"""
    tmp_path = tmp_path_factory.mktemp("ingest")
    pipeline = IngestionPipeline.from_artifacts(ARTIFACTS)
    records = RecordStore(f"sqlite:///{tmp_path / 'wardrobe.db'}")
    vectors = VectorStore.embedded(str(tmp_path / "chroma"), dim=pipeline.embedding_dim)
    pipeline.attach(GarmentRepository(records, vectors))
    photos = [flat_lay(100 + i, OUTFITS[i % 3], shape=(480, 640)) for i in range(PHOTOS)]
    results = pipeline.ingest("alice", [photo for photo, _ in photos])
    hits = {"found": 0, "category": 0, "colour": 0, "pattern": 0}
    total = 0
    for (_, scene), result in zip(photos, results, strict=True):
        assert result.ok
        found = [gr.garment for gr in result.garments]
        for item in scene.items:
            total += 1
            best = max(found, key=lambda g, box=item.box: iou(g.box, box))
            if iou(best.box, item.box) < 0.5:
                continue
            hits["found"] += 1
            hits["category"] += best.category == item.spec.category
            hits["colour"] += best.attributes.primary_colour == item.spec.colour_primary
            hits["pattern"] += best.attributes.pattern == item.spec.pattern
    assert records.count_garments("alice") == vectors.count("alice")
    rates = {k: v / total for k, v in hits.items()}
    print(f"{total} garments: {rates}")
    return rates


def test_flat_lay_garments_found_with_colour_and_pattern(flat_lay_rates):
    """At the rates the design's targets ask of the models (colour > 0.85, attributes > 0.70)."""
    assert flat_lay_rates["found"] >= 0.85
    assert flat_lay_rates["colour"] >= 0.85 and flat_lay_rates["pattern"] >= 0.70


def test_flat_lay_garments_named_with_the_right_category(flat_lay_rates):
    """0.89 with the quickstart classifier's own last stages (0.74 with the frozen ones)."""
    assert flat_lay_rates["category"] >= 0.80
