"""Corrections are training data: ``python -m wardrobe.export corrections`` writes the users'
corrected garments in the formats train.py reads, and a fine-tune on them runs."""

from __future__ import annotations

import hashlib

import pytest
import torch

from tests.helpers.config import tiny_train_overrides
from wardrobe import export, tasks
from wardrobe.data.formats.attributes import read_attribute_rows
from wardrobe.data.formats.imagefolder import scan_imagefolder
from wardrobe.store.images import ImageStore
from wardrobe.store.records import RecordStore
from wardrobe.store.schema import GarmentIn
from wardrobe.taxonomy import FINE_CATEGORIES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# what the users said each photo's garment is
CORRECTED = ["t_shirt", "jeans", "t_shirt", "jeans", "t_shirt", "jeans"]


@pytest.fixture
def served_root(tmp_path, tiny_synth):
    """A serve.py root with stores as the service leaves them: photos kept, garments recorded,
    six categories corrected, one garment with only an attribute corrected, one untouched."""
    root = tmp_path / "served"
    records = RecordStore(f"sqlite:///{root}/store/wardrobe.db")
    images = ImageStore(root / "store" / "images")
    photos = sorted((tiny_synth / "deepfashion2").glob("*/image/*.jpg"))[:8]
    for i, path in enumerate(photos):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        images.put_photo("alice", sha, data)
        garment = GarmentIn(
            id=f"g{i}",
            image_sha256=sha,
            box=(10.0, 10.0, 150.0, 200.0),
            category="hoodie",  # the models' (wrong) guess
            category_confidence=0.4,
            attributes={"pattern": "solid", "colours": [{"colour": "grey", "share": 0.9}]},
        )
        records.upsert_garments("alice", [garment])
    for i, category in enumerate(CORRECTED):
        records.correct_garment("alice", f"g{i}", {"category": category}, "alice")
    records.correct_garment("alice", "g6", {"attributes": {"pattern": "striped"}}, "alice")
    records.close()
    return root


def test_export_writes_what_people_said_in_the_training_formats(served_root, tmp_path, capsys):
    out = tmp_path / "export"
    status = export.main(["corrections", "--out", str(out), f"paths.root_dir={served_root}"])
    assert status == 0 and "exported 7 corrected garments" in capsys.readouterr().out
    crops = {s: scan_imagefolder(out / "classification" / s)[0] for s in export.SPLITS}
    assert all(crops[s] for s in export.SPLITS)  # both splits hold crops
    labels = [FINE_CATEGORIES[i] for s in crops.values() for _, i in s]
    assert sorted(labels) == sorted(CORRECTED)  # never the models' guess "hoodie"
    rows = {s: read_attribute_rows(out / "attributes" / f"{s}.jsonl")[0] for s in export.SPLITS}
    every = [r for s in rows.values() for r in s]
    assert len(every) == 7
    by_pattern = [r for r in every if r.pattern is not None]
    assert [(r.pattern, r.category) for r in by_pattern] == [("striped", None)]  # only labels
    assert {r.category for r in every} - {None} == {"t_shirt", "jeans"}
    for r in every:
        assert (out / "attributes" / r.image).is_file(), r.image


def test_a_fine_tune_runs_on_the_export(served_root, tmp_path, tiny_synth, make_cfg):
    out = tmp_path / "export"
    assert export.main(["corrections", "--out", str(out), f"paths.root_dir={served_root}"]) == 0
    for model, data in (("classifier", "classification"), ("tagger", "attributes")):
        tiny = [o for o in tiny_train_overrides(model, tiny_synth) if "data_dir" not in o]
        overrides = [
            *tiny,
            f"data.data_dir={out / data}",
            "trainer.fast_dev_run=true",
            "test=false",
        ]
        cfg = make_cfg("train", overrides)
        assert cfg.data.data_dir == str(out / data)  # the export, not the synthetic set
        metrics, objects = tasks.train(cfg)
        assert torch.isfinite(torch.tensor(metrics["train/loss"])), model
        assert (objects["bundle"] / "weights.safetensors").is_file(), model
