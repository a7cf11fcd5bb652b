"""``make run``'s plan, live progress and failure message (wardrobe.quickstart, utils.progress)."""

from __future__ import annotations

import json
import shutil
import textwrap
from types import SimpleNamespace

import pytest

from tests.helpers.config import CONF_DIR
from wardrobe import quickstart
from wardrobe.allocator import MALLOC_ENV
from wardrobe.utils import progress


def test_the_progress_file_is_always_whole_and_written_at_most_once_a_second(tmp_path):
    path = tmp_path / "p.json"
    writer = progress.ProgressFile(path, interval=60.0)
    writer.update(force=True, phase="training", step=1)
    writer.update(step=2)  # within the interval: kept in memory, not written
    assert progress.read_progress(path)["step"] == 1
    writer.add_evaluation("val", 1, 3.456, {"val/acc": 0.5, "val/f1": 0.25}, "val/acc")  # at once
    state = progress.read_progress(path)
    assert state["step"] == 2 and state["metric"] == "val/acc" and state["metric_value"] == 0.5
    (entry,) = state["history"]
    assert entry["stage"] == "val" and entry["epoch"] == 1 and entry["elapsed_s"] == 3.46
    assert entry["metrics"] == {"val/acc": 0.5, "val/f1": 0.25} and entry["wall"] > 0
    assert not list(tmp_path.glob("*.part"))
    assert progress.read_progress(tmp_path / "absent.json") is None


def test_report_writes_only_when_the_variable_names_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.PROGRESS_FILE_ENV, raising=False)
    progress.report("encoding features", done=1, total=10)  # no-op, no error
    path = tmp_path / "p.json"
    monkeypatch.setenv(progress.PROGRESS_FILE_ENV, str(path))
    progress.report("encoding features", done=64, total=100)
    assert progress.read_progress(path) | {"done": 64} == progress.read_progress(path)
    assert progress.read_progress(path)["phase"] == "encoding features"


def test_a_detector_epoch_that_did_not_validate_shows_no_metric(tmp_path, monkeypatch):
    """ultralytics with ``val=False`` holds zeros until its last epoch validates: they are no
    mAP of 0.000 on the live line."""
    path = tmp_path / "p.json"
    monkeypatch.setenv(progress.PROGRESS_FILE_ENV, str(path))
    callbacks = progress.ultralytics_callbacks({"metrics/mAP50(B)": "val/map50"})
    trainer = SimpleNamespace(args=SimpleNamespace(val=False), epochs=3, train_time_start=0.0)
    trainer.train_loader, trainer.batch_size, trainer.start_epoch, trainer.stop = (
        [0, 1],
        8,
        0,
        False,
    )
    for epoch, value in ((0, 0.0), (1, 0.0), (2, 0.61)):
        trainer.epoch, trainer.metrics = epoch, {"metrics/mAP50(B)": value}
        callbacks["on_train_batch_end"](trainer)
        callbacks["on_fit_epoch_end"](trainer)
    (validation,) = progress.read_progress(path)["history"]
    assert validation["epoch"] == 3 and validation["metrics"] == {"val/map50": 0.61}


def test_samples_per_second_leave_out_the_first_batches(tmp_path):
    writer = progress.ProgressFile(tmp_path / "p.json")
    for _ in range(2):
        writer.count_samples(1000)  # warm-up batches: not counted
    assert "samples_per_s" not in writer.state
    writer.count_samples(32)
    writer.count_samples(32)
    assert writer.state["train_samples"] == 64 and writer.state["samples_per_s"] > 0


def test_time_left_follows_the_rate_and_never_passes_the_budget():
    assert progress.remaining_seconds(elapsed=60, done=10, total=40) == 180
    assert progress.remaining_seconds(elapsed=60, done=10, total=40, budget=100) == 40
    assert progress.remaining_seconds(elapsed=5, done=0, total=40, budget=100) == 95
    assert progress.remaining_seconds(elapsed=5, done=0, total=40) is None


@pytest.mark.parametrize(
    ("state", "elapsed", "expected"),
    [
        (None, 12, "starting  0:12 elapsed  ~4:48 left"),
        (
            {
                "phase": "training",
                "epoch": 2,
                "epochs": 3,
                "step": 5,
                "steps": 9,
                "fit_eta_s": 70,
                "metric": "val/acc",
                "metric_value": 0.8123,
            },
            100,
            "training  epoch 2/3  step 5/9  val/acc 0.812  1:40 elapsed  ~1:10 left",
        ),
        (
            {"phase": "encoding features", "done": 128, "total": 5465},
            30,
            "encoding features  128/5465  0:30 elapsed  ~4:30 left",
        ),
        ({"phase": "testing", "total": 5}, 200, "testing  3:20 elapsed  fit done"),
        ({"phase": "preparing"}, 400, "preparing  6:40 elapsed  over its 5 min budget"),
    ],
)
def test_the_live_line_says_what_runs_and_what_is_left(state, elapsed, expected):
    assert quickstart.describe(state, elapsed, budget=300) == expected


def test_a_gpu_profile_without_a_measured_budget_says_not_measured(capsys, tmp_path):
    step = quickstart.training_step("tagger", "a100", [], CONF_DIR, first_use_data=False)
    assert step.budget_s is None
    assert not any(a.startswith("trainer.max_time=") for a in step.args)  # nothing to cap with
    quickstart.print_plan([step], [], "a100", tmp_path)
    assert "not measured" in capsys.readouterr().out


def test_the_cpu_plan_caps_a_fit_past_its_budget_unless_the_config_has_its_own_max_time(tmp_path):
    tagger = quickstart.training_step("tagger", "cpu", ["seed=1"], CONF_DIR, False)
    minutes, max_time = quickstart.quickstart_budget("tagger", "cpu", CONF_DIR)
    assert tagger.budget_s == minutes * 60 and max_time is None
    # the plan is the budget; the cap is a safety net past it (a busy machine overruns the
    # estimate instead of training fewer epochs than the budget was measured with)
    cap = quickstart.CAP_FACTOR * minutes * 60
    assert quickstart.CAP_FACTOR > 1
    assert f"trainer.max_time={quickstart.max_time_string(cap)}" in tagger.args
    assert "trainer.min_epochs=0" in tagger.args  # else Lightning cannot stop inside epoch 1
    assert tagger.args[-1] == "seed=1"  # the user's overrides come last and win
    # a quickstart with its own max_time, longer than its budget (ultralytics fills it whole)
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    (conf / "experiment/quickstart/timed.yaml").write_text(
        textwrap.dedent("""\
            # @package _global_
            defaults:
              - override /model: detector
            time_budget_min:
              cpu: 10
            trainer:
              max_time: "00:00:20:00"
            """)
    )
    timed = quickstart.training_step("timed", "cpu", [], conf, first_use_data=True)
    own, max_time = quickstart.quickstart_budget("timed", "cpu", conf)
    assert own == 10 and quickstart.max_time_minutes(max_time) == 20
    assert not any(a.startswith("trainer.max_time=") for a in timed.args)
    assert timed.budget_s == (20 + quickstart.DATA_BUDGET_MIN["cpu"]) * 60
    assert "its trainer.max_time" in " ".join(timed.notes)


def test_every_quickstart_has_a_cpu_budget_and_they_sum_to_30_minutes_at_most(tmp_path):
    args = quickstart.parse_args([])
    steps = quickstart.plan_steps(args, present=[], root=tmp_path)  # no data yet: first use
    assert [s.name for s in steps] == [*quickstart.default_models(), "evaluation"]
    assert all(s.budget_s is not None for s in steps)
    budgets = [quickstart.quickstart_budget(s.name, "cpu", CONF_DIR)[0] for s in steps[:-1]]
    flow = quickstart.DATA_BUDGET_MIN["cpu"] + quickstart.EVALUATION_BUDGET_MIN["cpu"]
    assert sum(budgets) + flow <= 30


def test_bundles_present_are_not_trained_again(tmp_path):
    args = quickstart.parse_args([])
    steps = quickstart.plan_steps(args, present=["detector", "clip"], root=tmp_path)
    assert "detector" not in [s.name for s in steps] and "clip" not in [s.name for s in steps]
    assert quickstart.plan_steps(args, quickstart.default_models(), tmp_path) == []
    forced = quickstart.plan_steps(quickstart.parse_args(["--force"]), ["clip"], tmp_path)
    assert "clip" in [s.name for s in forced]


def test_a_subset_of_models_trains_in_the_quickstart_order_and_unknown_names_fail(tmp_path):
    args = quickstart.parse_args(["--models", "compatibility", "clip", "--no-evaluate"])
    assert [s.name for s in quickstart.plan_steps(args, [], tmp_path)] == ["clip", "compatibility"]
    with pytest.raises(SystemExit):
        quickstart.parse_args(["--models", "tagr"])


def _child(code: str) -> list[str]:
    return ["-c", textwrap.dedent(code)]


@pytest.mark.timeout(120)
def test_a_failing_step_stops_the_run_naming_it_with_the_end_of_its_log(tmp_path, capsys):
    marker = tmp_path / "later-step-ran"
    failing = _child(
        """
        import json, os, sys, time
        state = {"phase": "training", "epoch": 2, "epochs": 3, "step": 5, "steps": 9,
                 "fit_eta_s": 40}
        open(os.environ["WARDROBE_PROGRESS_FILE"], "w").write(json.dumps(state))
        print("epoch 2 going well", flush=True)
        time.sleep(2.5)
        sys.exit("RuntimeError: the data went missing")
        """
    )
    steps = [
        quickstart.Step("tagger", failing, budget_s=120),
        quickstart.Step("evaluation", _child(f"open({str(marker)!r}, 'w')"), budget_s=60),
    ]
    code = quickstart.run_steps(steps, tmp_path)  # not a terminal: one line per change
    shown = capsys.readouterr().out
    assert code == 1 and not marker.exists()
    assert "[1/2] tagger: training  epoch 2/3  step 5/9" in shown  # the live line
    assert "overall 0 of ~" in shown
    assert "make run FAILED: tagger exited with code 1" in shown
    assert "RuntimeError: the data went missing" in shown  # the end of its log
    assert f"Full log: {tmp_path / 'tagger.log'}" in shown
    assert "Not run: evaluation" in shown and "goes on from tagger" in shown
    assert "the data went missing" in (tmp_path / "tagger.log").read_text()


@pytest.mark.timeout(120)
def test_steps_that_succeed_report_their_time_budget_and_metric(tmp_path, capsys):
    ok = _child(
        """
        import json, os
        state = {"phase": "testing", "metric": "val/map50", "metric_value": 0.75, "history": []}
        open(os.environ["WARDROBE_PROGRESS_FILE"], "w").write(json.dumps(state))
        """
    )
    code = quickstart.run_steps([quickstart.Step("detector", ok, 600)], tmp_path)
    shown = capsys.readouterr().out
    assert code == 0
    assert "[1/1] detector done in 0:0" in shown
    assert "(budget 10 min); last val/map50 0.750" in shown
    assert json.loads((tmp_path / "detector.progress.json").read_text())["metric_value"] == 0.75


@pytest.mark.timeout(120)
def test_steps_run_with_the_malloc_settings_and_a_users_own_value_wins(tmp_path, monkeypatch):
    seen = tmp_path / "env.json"
    monkeypatch.setenv("MALLOC_TOP_PAD_", "12345")
    names = sorted(MALLOC_ENV)
    child = _child(
        f"""
        import json, os
        open({str(seen)!r}, "w").write(json.dumps({{k: os.environ.get(k) for k in {names!r}}}))
        """
    )
    assert quickstart.run_steps([quickstart.Step("tagger", child, 60)], tmp_path) == 0
    assert json.loads(seen.read_text()) == MALLOC_ENV | {"MALLOC_TOP_PAD_": "12345"}
