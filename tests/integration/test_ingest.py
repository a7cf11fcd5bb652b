"""The ingestion pipeline end to end on bundles from a tiny training run and real stores.

The tiny models are barely trained: these tests check the wiring (every garment found is
analysed and stored in both stores, idempotency, deletes, bad input, backends agree), not
accuracy; ``test_ingest_quickstart.py`` checks accuracy with the quickstart bundles.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.helpers.package_photos import package_photo_path
from tests.helpers.photos import flat_lay
from wardrobe.ingestion.pipeline import IngestionPipeline, IngestSettings
from wardrobe.store import GarmentRepository, NotFound, RecordStore, VectorStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# conf=0: every candidate box of the untrained detector is a "garment", up to max_garments,
# so photos yield several garments and the multi-garment path is exercised.
MANY = {"conf": 0.0, "max_garments": 3, "min_box_side": 4, "backend": "torch"}


@pytest.fixture(scope="module")
def pipeline(tiny_bundles):
    return IngestionPipeline.from_artifacts(tiny_bundles, settings=IngestSettings(**MANY))


@pytest.fixture
def repo(tmp_path, pipeline):
    records = RecordStore(f"sqlite:///{tmp_path / 'wardrobe.db'}")
    vectors = VectorStore.embedded(str(tmp_path / "chroma"), dim=pipeline.embedding_dim)
    pipeline.attach(GarmentRepository(records, vectors))
    yield pipeline.repository
    records.close()


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def photos():
    return [flat_lay(1, ["jeans", "t_shirt"])[0], flat_lay(2, ["midi_dress", "blazer"])[0]]


def test_every_garment_is_analysed_and_stored_in_both_stores(pipeline, repo, photos):
    bus = package_photo_path("bus")
    results = pipeline.ingest("alice", [*photos, bus, b"not an image", _png(1, 1)])
    assert [r.ok for r in results] == [True, True, True, False, False]
    assert results[3].error.code == "not_an_image"
    assert results[4].error.code == "too_small" and "224" in results[4].error.message
    stored = [gr.garment for r in results[:3] for gr in r.garments]
    assert len(stored) == 3 * MANY["max_garments"]  # every detection up to the cap
    assert repo.records.count_garments("alice") == repo.vectors.count("alice") == len(stored)
    assert results[2].garments[0].garment.image_path == str(bus)
    for result in results[:3]:
        assert result.image_sha256 and result.size[0] >= 224
        for j, gr in enumerate(result.garments):
            row = gr.garment
            assert row.id == f"{result.photo_id}-{j:02d}" and row.user_id == "alice"
            assert repo.get("alice", row.id) == row
            assert row.category == gr.top_k[0][0] and row.attributes.colours
            evidence = row.attributes.colour_evidence  # the tagger's colour, kept beside them
            assert evidence is not None and evidence.agrees == (
                evidence.tagger == row.attributes.primary_colour
            )
            assert set(row.model_versions) == {"classifier", "clip", "detector", "tagger"}
            vector = repo.vectors.get_one("alice", row.id)
            assert vector.metadata["category"] == row.category
            assert np.linalg.norm(vector.embedding) == pytest.approx(1.0, abs=1e-4)
            x1, y1, x2, y2 = row.box
            assert 0 <= x1 < x2 <= result.size[0] and 0 <= y1 < y2 <= result.size[1]


def test_reingesting_a_photo_is_idempotent_and_users_are_separate(pipeline, repo, photos):
    first = pipeline.ingest("alice", photos[:1])[0]
    again = pipeline.ingest("alice", photos[:1])[0]
    assert [g.garment.id for g in again.garments] == [g.garment.id for g in first.garments]
    assert repo.records.count_garments("alice") == repo.vectors.count("alice") == 3
    pipeline.ingest("bob", photos[:1])
    assert repo.records.count_garments("bob") == 3
    assert repo.records.count_garments("alice") == 3


def test_reingest_finding_fewer_garments_drops_the_rest(pipeline, repo, photos, tiny_bundles):
    pipeline.ingest("alice", photos[:1])
    fewer = IngestionPipeline(pipeline.models, repo, IngestSettings(**{**MANY, "max_garments": 1}))
    result = fewer.ingest("alice", photos[:1])[0]
    assert len(result.garments) == 1
    assert repo.records.count_garments("alice") == repo.vectors.count("alice") == 1


def test_delete_removes_the_garment_from_both_stores(pipeline, repo, photos):
    garment = pipeline.ingest("alice", photos[:1])[0].garments[0].garment
    repo.delete("alice", garment.id)
    with pytest.raises(NotFound):
        repo.get("alice", garment.id)
    assert repo.vectors.get("alice", [garment.id]) == {}


def test_search_by_photo_finds_that_photo_first_and_only_for_its_user(pipeline, repo, photos):
    pipeline.ingest("alice", photos)
    pipeline.ingest("bob", photos[:1])
    hits = pipeline.search("alice", image=photos[1], n=3)
    assert hits[0].garment.image_sha256 == pipeline.ingest("carol", photos[1:])[0].image_sha256
    assert hits[0].similarity > 0.99
    text_hits = pipeline.search("bob", text="blue jeans", n=10)
    assert text_hits and all(h.garment.user_id == "bob" for h in text_hits)
    with pytest.raises(ValueError, match="exactly one"):
        pipeline.search("alice", text="x", image=photos[0])


def test_onnx_backend_gives_the_same_garments(pipeline, photos, tiny_bundles):
    onnx = IngestionPipeline.from_artifacts(
        tiny_bundles, settings=IngestSettings(**{**MANY, "backend": "onnx"})
    )
    a, b = pipeline.analyse(photos), onnx.analyse(photos)
    for ra, rb in zip(a, b, strict=True):
        assert [g.detector_class for g in ra.garments] == [g.detector_class for g in rb.garments]
        for ga, gb in zip(ra.garments, rb.garments, strict=True):
            assert ga.garment.category == gb.garment.category
            np.testing.assert_allclose(ga.garment.box, gb.garment.box, atol=0.5)
            assert ga.top_k[0][1] == pytest.approx(gb.top_k[0][1], abs=1e-3)


def test_a_photo_with_no_sure_box_gets_its_best_low_box_as_its_one_garment(pipeline, photos):
    """The untrained detector scores nothing near 1: at conf 0.999 only main_garment_conf
    decides between its best box and the whole photo."""
    settings = {**MANY, "conf": 0.999, "max_garments": 12}
    low = IngestionPipeline(
        pipeline.models, None, IngestSettings(**settings, main_garment_conf=0.0)
    )
    whole = IngestionPipeline(
        pipeline.models, None, IngestSettings(**settings, main_garment_conf=None)
    )
    for boxed, fallback in zip(low.analyse(photos), whole.analyse(photos), strict=True):
        assert len(boxed.garments) == 1 and boxed.garments[0].detector_class is not None
        assert [g.detector_class for g in fallback.garments] == [None]


def test_a_batch_of_only_bad_photos_returns_errors_and_stores_nothing(pipeline, repo):
    results = pipeline.ingest("alice", [b"", b"\xff\xd8\xff\xe0 truncated"])
    assert [r.error.code for r in results] == ["empty", "truncated"]
    assert repo.records.count_garments("alice") == 0


def test_bulk_command_ingests_a_folder_and_lists_refused_photos(tiny_bundles, tmp_path, photos):
    from wardrobe.ingestion import bulk

    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(photos[0])
    (folder / "sub" / "b.JPG").write_bytes(photos[1])
    (folder / "broken.png").write_bytes(b"oops")
    (folder / "notes.txt").write_text("not a photo, not listed")
    overrides = [f"paths.root_dir={tmp_path}", f"paths.artifacts_dir={tiny_bundles}"]
    overrides += ["pipeline.ingest.backend=torch"]
    status = bulk.main([str(folder), "--user", "alice", "--workers", "0", *overrides])
    assert status == 1  # broken.png was refused
    pipeline = bulk.build(overrides)
    assert pipeline.repository.records.count_garments("alice") == 2  # one garment per photo
    assert bulk.main([str(folder), "--user", "alice", "--workers", "0", *overrides]) == 1
    assert pipeline.repository.records.count_garments("alice") == 2  # re-run: no duplicates


def test_a_classifier_length_answer_is_the_length_of_tops_and_bottoms_of_either_length(
    tiny_bundles, photos, tmp_path
):
    """A length head sure of "long": every T-shirt or pair of jeans says so; a sweater or shorts
    keep their category's length; a dress, a skirt or shoes get none."""
    import shutil

    import torch

    from tests.helpers.crop_bundles import IMAGE, TRUNK, crop_labels
    from wardrobe.artifacts import save_bundle
    from wardrobe.models.components.classifier_net import GarmentClassifierNet
    from wardrobe.taxonomy import (
        CATEGORY_BY_NAME,
        DF2_LENGTH_PAIRS,
        FINE_CATEGORIES,
        LENGTH_PART,
        length_of_classes,
    )

    root = tmp_path / "artifacts"
    shutil.copytree(tiny_bundles, root, ignore=shutil.ignore_patterns("classifier", ".onnx_cache"))
    torch.manual_seed(0)
    net = GarmentClassifierNet(
        backbone=TRUNK, weights="none", num_classes=len(FINE_CATEGORIES), length_head=True
    )
    with torch.no_grad():
        net.lengths.weight.zero_()
        net.lengths.bias.copy_(torch.tensor([-5.0, 5.0]))  # short, long
        net.head.bias.zero_()
        net.head.bias[list(FINE_CATEGORIES).index("t_shirt")] = 3.0  # mostly T-shirts
    save_bundle(root / "classifier", name="classifier", net=net, net_cfg=net.config,
                labels=crop_labels("classifier"), preprocessing=IMAGE)  # fmt: skip
    pipeline = IngestionPipeline.from_artifacts(root, settings=IngestSettings(**MANY))
    garments = [g.garment for r in pipeline.analyse(photos) for g in r.garments]
    assert any(g.category == "t_shirt" for g in garments)
    for garment in garments:
        known = CATEGORY_BY_NAME[garment.category]
        part = LENGTH_PART.get(known.group)
        paired = any(c in pair for c in known.df2_classes for pair in DF2_LENGTH_PAIRS)
        attrs = garment.attributes
        if part is None or not paired:
            assert attrs.sleeves is None and attrs.legs is None
        elif length_of_classes(known.df2_classes):
            assert getattr(attrs, part) == length_of_classes(known.df2_classes)
        else:
            assert getattr(attrs, part) == "long" and attrs.confidence[part] > 0.99
