"""evaluate(cfg): a report row per evaluated bundle, plots on disk, no row for absent models."""

import json

import pytest

from tests.helpers.config import tiny_train_overrides
from wardrobe import tasks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_report_has_rows_only_for_bundles_present(make_cfg, tiny_synth, tmp_path):
    tasks.train(make_cfg("train", [*tiny_train_overrides("classifier", tiny_synth), "test=false"]))
    report_dir = tmp_path / "report"
    cfg = make_cfg("eval", [f"heldout.data_dir={tiny_synth}", f"report_dir={report_dir}"])
    results = tasks.evaluate(cfg)
    assert set(results) == {"classifier", "colour_rules"}
    assert 0.0 <= results["classifier"]["top1"] <= results["classifier"]["top5"] <= 1.0
    assert results["classifier"]["samples"] == 47 * 4  # every held-out crop was scored

    report = (report_dir / "report.md").read_text()
    assert "| classifier | top-1 accuracy | > 0.80 |" in report
    assert "| tagger |" not in report and "| detector |" not in report
    for png in ("classifier_confusion.png", "classifier_samples.png"):
        assert (report_dir / png).stat().st_size > 10_000
    rows = json.loads((report_dir / "metrics.json").read_text())
    assert {r["verdict"] for r in rows} <= {"pass", "fail", "reported"}


def test_tagger_rows_and_unknown_model_fails_clearly(make_cfg, tiny_synth, tmp_path):
    tasks.train(make_cfg("train", [*tiny_train_overrides("tagger", tiny_synth), "test=false"]))
    cfg = make_cfg("eval", [f"heldout.data_dir={tiny_synth}", "models=[tagger]"])
    results = tasks.evaluate(cfg)
    assert {"macro_f1", "colour_acc", "pattern_f1", "formality_mae"} <= set(results["tagger"])
    with pytest.raises(FileNotFoundError, match="no bundle for \\['detector'\\]"):
        tasks.evaluate(make_cfg("eval", [f"heldout.data_dir={tiny_synth}", "models=[detector]"]))


def test_compatibility_rows_in_polyvore_protocol(make_cfg, tiny_synth, tmp_path):
    overrides = [*tiny_train_overrides("compatibility", tiny_synth), "test=false"]
    tasks.train(make_cfg("train", overrides))
    report_dir = tmp_path / "report"
    cfg = make_cfg("eval", [f"heldout.data_dir={tiny_synth}", f"report_dir={report_dir}"])
    metrics = tasks.evaluate(cfg)["compatibility"]
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["auc"] <= 1.0
    assert 0.0 <= metrics["fitb_acc"] <= 1.0
    questions = (tiny_synth / "polyvore" / "nondisjoint" / "compatibility_test.txt").read_text()
    assert metrics["questions"] == len(questions.splitlines())
    assert (
        "| compatibility | compatibility accuracy | > 0.65 |"
        in (report_dir / "report.md").read_text()
    )


def test_heldout_set_is_generated_with_its_own_seed(make_cfg, tmp_path):
    from wardrobe.evaluation.runner import ensure_heldout

    overrides = [
        f"heldout.data_dir={tmp_path / 'heldout'}",
        "heldout.generator.scenes=2",
        "heldout.generator.crops_per_class=2",
        "heldout.generator.outfits=10",
        "+heldout.generator.workers=1",
        "+heldout.generator.progress=false",
    ]
    root = ensure_heldout(make_cfg("eval", overrides))
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["seed"] == 1
    assert (root / "classification").is_dir() and (root / "polyvore").is_dir()
    # a set of this generator version is reused, even with other settings; an older one is remade
    made = (root / "manifest.json").stat().st_mtime_ns
    assert ensure_heldout(make_cfg("eval", [*overrides, "heldout.generator.outfits=12"])) == root
    assert (root / "manifest.json").stat().st_mtime_ns == made
    (root / "manifest.json").write_text(json.dumps({**manifest, "version": "1.0.0"}))
    (root / "polyvore" / "catalogue_attributes.jsonl").unlink()
    ensure_heldout(make_cfg("eval", overrides))
    assert json.loads((root / "manifest.json").read_text())["version"] == manifest["version"]
    assert (root / "polyvore" / "catalogue_attributes.jsonl").is_file()
