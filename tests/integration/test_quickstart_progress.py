"""The progress every training run writes for ``make run``, and ``make run`` itself on tiny runs:
live lines, a re-run that skips the bundles present, a failing model named with its log."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers.bundles import tiny_detector_overrides
from tests.helpers.config import REPO_ROOT, tiny_train_overrides
from wardrobe import tasks
from wardrobe.utils import progress

pytestmark = [pytest.mark.slow]


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    monkeypatch.setenv(progress.PROGRESS_FILE_ENV, str(path))
    return path


@pytest.mark.timeout(600)
def test_a_lightning_run_reports_steps_validations_and_stops_at_its_max_time(
    make_cfg, tiny_synth, progress_file
):
    overrides = [
        *tiny_train_overrides("tagger", tiny_synth),  # callbacks=none: progress comes anyway
        "trainer.max_epochs=200",
        "trainer.max_time=00:00:00:10",
        "trainer.min_epochs=0",
        "export=false",
    ]
    tasks.train(make_cfg("train", overrides))
    state = progress.read_progress(progress_file)
    assert state["phase"] == "testing" and state["max_time_s"] == 10
    assert state["steps"] == 400  # 200 epochs x 2 batches: what was planned ...
    assert 0 < state["step"] < 400 and state["epoch"] < 200  # ... and max_time stopped it
    assert state["batches_seen"] == state["step"]  # samples/s counts every batch after two
    assert state["metric"] == "test/macro_f1"
    *validations, test = state["history"]
    assert validations and all("val/macro_f1" in h["metrics"] for h in validations)
    assert [h["epoch"] for h in validations] == list(range(1, len(validations) + 1))
    walls = [h["wall"] for h in state["history"]]
    assert walls == sorted(walls)  # what the benchmark's time to target reads
    assert test["stage"] == "test" and "test/macro_f1" in test["metrics"]


@pytest.mark.timeout(600)
def test_the_detector_run_reports_through_ultralytics_callbacks(
    make_cfg, tiny_synth, progress_file
):
    tasks.train(make_cfg("train", [*tiny_detector_overrides(tiny_synth), "export=false"]))
    state = progress.read_progress(progress_file)
    assert state["phase"] == "testing"  # ultralytics' final validation of best.pt
    assert state["epochs"] == 1 and state["step"] == state["steps"] >= 1
    val, test = state["history"]  # epoch 1, then ultralytics' final validation of best.pt
    assert val["stage"] == "val" and set(val["metrics"]) >= {"val/map50", "val/map50_95"}
    assert test["stage"] == "test" and "test/map50" in test["metrics"]
    assert state["metric"] == "test/map50"


def _make_run(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wardrobe.quickstart", "--no-serve", "--no-evaluate", *args],
        cwd=REPO_ROOT,
        env=os.environ | {"WARDROBE_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.timeout(1200)
def test_make_run_shows_progress_skips_bundles_present_and_names_a_failing_model(
    tiny_synth, tmp_path
):
    tiny = [
        f"data.data_dir={tiny_synth / 'attributes'}",
        "data.generate_if_missing=false",
        "data.batch_size=8",
        "hardware.num_workers=0",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
    ]
    first = _make_run(tmp_path, "--models", "tagger", *(f"--override={o}" for o in tiny))
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "plan:" in out and "1. tagger" in out and "total" in out
    assert "[1/1] tagger: " in out and "elapsed" in out and "overall" in out
    assert "[1/1] tagger done in" in out and "last test/macro_f1" in out
    assert (tmp_path / "model_artifacts" / "tagger" / "bundle.json").is_file()

    again = _make_run(tmp_path, "--models", "tagger")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "bundles present: tagger" in again.stdout and "nothing to train" in again.stdout

    missing = tmp_path / "no-such-data"
    failed = _make_run(
        tmp_path,
        "--models",
        "classifier",
        "tagger",
        f"--override=data.data_dir={missing}",
        "--override=data.generate_if_missing=false",
    )
    assert failed.returncode == 1
    out = failed.stdout
    assert "make run FAILED: classifier exited with code" in out
    log = next((tmp_path / "logs" / "quickstart").glob("*/classifier.log"))
    assert f"Full log: {log}" in out and str(missing) in log.read_text()
    assert "goes on from classifier" in out
    assert (tmp_path / "model_artifacts" / "tagger" / "bundle.json").is_file()  # kept
