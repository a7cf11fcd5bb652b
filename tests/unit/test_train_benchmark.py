"""``benchmarks/train.py``: the "before" configs are main's quickstarts at b0f44d1, and the time
to target is read from a run's evaluations with their wall times."""

from __future__ import annotations

import importlib.util

import pytest
from omegaconf import OmegaConf

from tests.helpers.config import REPO_ROOT

spec = importlib.util.spec_from_file_location("train_bench", REPO_ROOT / "benchmarks" / "train.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


# what each quickstart was on main at b0f44d1 (its README table's settings)
@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "tagger",
            {
                "trainer.max_epochs": 3,
                "model.preprocessing.image_size": 128,
                "model.freeze_backbone": False,
                "model.optimizer.lr": 0.002,
            },
        ),
        (
            "clip",
            {
                "trainer.max_epochs": 3,
                "model.preprocessing.image_size": 128,
                "model.freeze_backbone": False,
            },
        ),
        (
            "classifier",
            {
                "trainer.limit_train_batches": 0,
                "model.head_warmup_epochs": 60,
                "model.preprocessing.image_size": 224,
                "model.freeze_backbone": True,
                "objective.metric": "val/real/strict_acc",
            },
        ),
        (
            "detector",
            {
                "trainer.max_time": "00:00:55:00",
                "model.lr0": 0.002,
                "model.train_args.warmup_epochs": 1,
                "data.batch_size": 16,
            },
        ),
        (
            "compatibility",
            {
                "trainer.max_epochs": 25,
                "model.net.feature_dim": 256,
                "model.preprocessing.encoder.kind": "bundle",
            },
        ),
    ],
)
def test_the_before_overrides_compose_to_mains_quickstart(model, expected):
    cfg = bench.compose([*bench.BEFORE[model], "hardware=cpu"])
    assert cfg.model_name == model
    for key, value in expected.items():
        assert OmegaConf.select(cfg, key) == value, key


def test_after_is_what_make_run_runs_without_exporting():
    after = bench.configs("tagger", "cpu")["after"]
    assert after[0] == "experiment=quickstart/tagger" and "hardware=cpu" in after
    assert any(a.startswith("trainer.max_time=") for a in after)  # make run's cap
    assert after[-1] == "export=false"  # model_artifacts/ is never touched


def test_time_to_target_is_the_first_evaluation_past_it_from_the_process_start():
    run = {
        "start": 1000.0,
        "history": [
            {"stage": "val", "wall": 1060.0, "metrics": {"val/macro_f1": 0.55}},
            {"stage": "val", "wall": 1120.0, "metrics": {"val/macro_f1": 0.72}},
            {"stage": "val", "wall": 1180.0, "metrics": {"val/macro_f1": 0.75}},
        ],
    }
    assert bench.time_to_target(run, ("macro_f1", 0.70)) == "2.0 min (val 0.720)"
    assert bench.time_to_target(run, ("macro_f1", 0.80)) == "not reached (best 0.750)"
    assert bench.time_to_target(run, None) == "no target"
    tested = {
        "start": 0.0,
        "history": [{"stage": "test", "wall": 90.0, "metrics": {"test/acc": 0.93}}],
    }
    assert bench.time_to_target(tested, ("acc", 0.80)) == "1.5 min (test 0.930)"


def test_full_runs_get_a_fresh_feature_cache_each(tmp_path):
    classifier = bench.cold_cache_overrides(bench.BEFORE["classifier"], tmp_path)
    assert f"model.feature_cache_dir={tmp_path}" in classifier
    compat = bench.cold_cache_overrides(bench.BEFORE["compatibility"], tmp_path)
    assert compat == [f"data.feature_cache_dir={tmp_path}"]
    cfg = bench.compose([*bench.BEFORE["classifier"], *classifier])
    assert cfg.model.feature_cache_dir == str(tmp_path)
