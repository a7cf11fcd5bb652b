"""Live progress of one training run, as a small JSON file that another process reads.

``make run`` (:mod:`wardrobe.quickstart`) starts each ``train.py`` with ``$WARDROBE_PROGRESS_FILE``
set and shows what the run writes there: its phase, epoch and optimiser step, the fit loop's
elapsed time and estimated time left, and each validation's objective with its wall time. Three
writers share one file per run:

* :class:`wardrobe.models.progress_callback.TrainingProgress`, a Lightning callback
  (``tasks.train`` adds it when the variable is set, whatever ``callbacks=`` says);
* :func:`ultralytics_callbacks`, the same for the detector's ultralytics loop;
* :func:`report`, for a module's own loops outside Lightning's (data generation, feature caching).

Writes are atomic (temporary file + rename) and at most one a second, so a reader never sees half
a file and a fast loop pays nothing. Without the variable every writer is a no-op. This module
imports nothing heavy: the data generator's worker processes import it too.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROGRESS_FILE_ENV = "WARDROBE_PROGRESS_FILE"
WRITE_INTERVAL_S = 1.0


class ProgressFile:
    """The state of one run, merged field by field and rewritten at most every ``interval`` s."""

    def __init__(self, path: str | Path, interval: float = WRITE_INTERVAL_S) -> None:
        self.path = Path(path)
        self.interval = interval
        self.state: dict[str, Any] = {"pid": os.getpid(), "history": []}
        self._written = 0.0
        self._rate_start = 0.0

    def update(self, force: bool = False, **fields: Any) -> None:
        """Merge ``fields``; write now when ``force`` (a phase change), else when due."""
        self.state.update(fields)
        now = time.monotonic()
        if force or now - self._written >= self.interval:
            self.write()
            self._written = now

    def add_evaluation(
        self, stage: str, epoch: int, elapsed_s: float, metrics: dict[str, float], monitor: str
    ) -> None:
        """Record one validation (``stage="val"``) or test: every metric with the epoch, the fit
        loop's elapsed time and the wall clock (``history``: what ``benchmarks/train.py`` reads
        for the time to a target). The ``monitor`` metric is also shown as the live value."""
        self.state["history"].append(
            {
                "stage": stage,
                "epoch": epoch,
                "elapsed_s": round(elapsed_s, 2),
                "wall": time.time(),
                "metrics": metrics,
            }
        )
        fields = {"metric": monitor, "metric_value": metrics[monitor]} if monitor in metrics else {}
        self.update(force=True, **fields)

    def count_samples(self, samples: int, skip_steps: int = 2) -> None:
        """Training throughput: samples per second after the first ``skip_steps`` batches
        (allocation, compile, the loaders' first fill)."""
        state, now = self.state, time.monotonic()
        seen = state.get("batches_seen", 0) + 1
        state["batches_seen"] = seen
        if seen == skip_steps:
            self._rate_start, state["train_samples"] = now, 0
        elif seen > skip_steps:
            state["train_samples"] += samples
            state["samples_per_s"] = round(state["train_samples"] / (now - self._rate_start), 2)

    def write(self) -> None:
        self.state["updated"] = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".part")
        partial.write_text(json.dumps(self.state))
        partial.replace(self.path)


def read_progress(path: str | Path) -> dict[str, Any] | None:
    """The last state a run wrote to ``path`` (None: nothing written yet)."""
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


_FROM_ENV: dict[str, ProgressFile] = {}


def from_env() -> ProgressFile | None:
    """The run's :class:`ProgressFile` when ``$WARDROBE_PROGRESS_FILE`` is set (one per path, so
    every writer of a process merges into the same state)."""
    path = os.environ.get(PROGRESS_FILE_ENV)
    if not path:
        return None
    if path not in _FROM_ENV:
        _FROM_ENV[path] = ProgressFile(path)
    return _FROM_ENV[path]


def report(phase: str | None = None, force: bool = False, **fields: Any) -> None:
    """Progress of a module's own loop, e.g. ``report(phase="encoding features", done=128,
    total=5465, unit="images")``; a new ``phase`` is written at once. No-op without the variable.
    """
    progress = from_env()
    if progress is None:
        return
    if phase is not None:
        force = force or phase != progress.state.get("phase")
        fields["phase"] = phase
    progress.update(force=force, **fields)


def remaining_seconds(
    elapsed: float, done: float, total: float, budget: float | None = None
) -> float | None:
    """Time left at the rate so far; never past ``budget`` (the loop stops there). None: no
    step done yet and no budget."""
    estimates = []
    if done > 0 and total > 0 and math.isfinite(total):
        estimates.append(elapsed * max(total - done, 0) / done)
    if budget:
        estimates.append(max(budget - elapsed, 0.0))
    return min(estimates) if estimates else None


def ultralytics_callbacks(
    metric_keys: dict[str, str], monitor: str = "val/map50"
) -> dict[str, Callable[[Any], None]]:
    """ultralytics trainer callbacks (event -> function) writing the same progress file.

    ``metric_keys`` maps ultralytics' metric names to the project's (``metrics/mAP50(B)`` ->
    ``val/map50``); ``monitor`` is the one recorded per epoch. Empty without the variable.
    """
    progress = from_env()
    if progress is None:
        return {}
    seen = {"batches": 0, "epoch": -1}  # batches of this epoch, the last epoch trained

    def elapsed(trainer: Any) -> float:
        return time.time() - trainer.train_time_start

    def on_train_start(trainer: Any) -> None:
        budget = getattr(trainer.args, "time", None)
        progress.update(
            force=True,
            phase="training",
            epoch=trainer.start_epoch + 1,
            epochs=trainer.epochs,
            step=0,
            steps=trainer.epochs * len(trainer.train_loader),
            max_time_s=float(budget) * 3600 if budget else None,
            fit_elapsed_s=0.0,
        )

    def on_train_epoch_start(trainer: Any) -> None:
        seen["batches"] = 0

    def on_train_batch_end(trainer: Any) -> None:
        seen["batches"] += 1
        seen["epoch"] = trainer.epoch
        progress.count_samples(int(trainer.batch_size))
        per_epoch = len(trainer.train_loader)
        # epochs can change after the first one: ultralytics fits them into its time budget
        step = (trainer.epoch - trainer.start_epoch) * per_epoch + seen["batches"]
        steps = (trainer.epochs - trainer.start_epoch) * per_epoch
        seconds = elapsed(trainer)
        progress.update(
            epoch=trainer.epoch + 1,
            epochs=trainer.epochs,
            step=step,
            steps=steps,
            fit_elapsed_s=round(seconds, 1),
            fit_eta_s=remaining_seconds(seconds, step, steps, progress.state.get("max_time_s")),
        )

    def on_fit_epoch_end(trainer: Any) -> None:
        metrics = {
            metric_keys[key]: float(value)
            for key, value in (trainer.metrics or {}).items()
            if key in metric_keys and value is not None
        }
        # with val=False ultralytics validates only the last epoch (or one it stops after);
        # before that its metrics are the zeros it starts with, not a validation
        last = trainer.stop or trainer.epoch + 1 >= trainer.epochs
        validated = getattr(trainer.args, "val", True) or last
        if not metrics or not validated:
            return
        # ultralytics' final_eval validates best.pt after the loop as epoch + 1: a test
        if trainer.epoch > seen["epoch"]:
            metrics = {key.replace("val/", "test/", 1): v for key, v in metrics.items()}
            stage, shown = "test", monitor.replace("val/", "test/", 1)
        else:
            stage, shown = "val", monitor
        progress.add_evaluation(stage, trainer.epoch + 1, elapsed(trainer), metrics, shown)
        if stage == "val" and (trainer.stop or trainer.epoch + 1 >= trainer.epochs):
            progress.update(force=True, phase="testing", fit_eta_s=0.0)  # final_eval is next

    def on_train_end(trainer: Any) -> None:
        progress.update(force=True, phase="testing", fit_eta_s=0.0)

    return {
        "on_train_start": on_train_start,
        "on_train_epoch_start": on_train_epoch_start,
        "on_train_batch_end": on_train_batch_end,
        "on_fit_epoch_end": on_fit_epoch_end,
        "on_train_end": on_train_end,
    }
