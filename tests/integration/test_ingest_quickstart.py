"""Ingestion accuracy with the quickstart bundles (``make run`` trains them; ~1 h on 2 CPUs).

Skipped where ``model_artifacts/`` (or ``$WARDROBE_ARTIFACTS``) lacks the four ingestion bundles
(CI trains only tiny ones). A synthetic flat lay with three garments the detector knows goes
through the pipeline into real stores; each garment must be found (IoU >= 0.5) with the right
fine category, primary colour and pattern.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.photos import flat_lay
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


def test_flat_lay_garments_found_with_category_colour_and_pattern(tmp_path):
    photo, scene = flat_lay(7, ["jeans", "t_shirt", "midi_dress"], shape=(480, 640))
    pipeline = IngestionPipeline.from_artifacts(ARTIFACTS)
    records = RecordStore(f"sqlite:///{tmp_path / 'wardrobe.db'}")
    vectors = VectorStore.embedded(str(tmp_path / "chroma"), dim=pipeline.embedding_dim)
    pipeline.attach(GarmentRepository(records, vectors))
    result = pipeline.ingest("alice", [photo])[0]
    assert result.ok
    found = [gr.garment for gr in result.garments]
    for item in scene.items:
        best = max(found, key=lambda g: iou(g.box, item.box), default=None)
        assert best is not None and iou(best.box, item.box) >= 0.5, f"{item.spec.category} missed"
        assert best.category == item.spec.category
        assert best.attributes.primary_colour == item.spec.colour_primary
        assert best.attributes.pattern == item.spec.pattern
    assert records.count_garments("alice") == vectors.count("alice") == len(found)
