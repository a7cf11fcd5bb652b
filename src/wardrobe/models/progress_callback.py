"""``TrainingProgress``: a Lightning run's live progress in ``$WARDROBE_PROGRESS_FILE``.

The file format, its reader and the writers outside Lightning are in :mod:`wardrobe.utils.progress`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities.data import extract_batch_size

from wardrobe.utils.progress import ProgressFile, from_env, remaining_seconds


def max_time_seconds(trainer: L.Trainer) -> float | None:
    """The ``max_time`` budget of a Lightning trainer (its Timer callback), in seconds."""
    from lightning.pytorch.callbacks import Timer

    for callback in trainer.callbacks:
        if isinstance(callback, Timer) and callback._duration is not None:
            return float(callback._duration)
    return None


class TrainingProgress(L.Callback):
    """Writes a Lightning run's progress to ``path`` (default: ``$WARDROBE_PROGRESS_FILE``).

    Args:
        monitor: the validation metric shown live (the run's objective); every ``val/*`` and
            ``test/*`` metric goes to the history with its wall time.
        path: the progress file; None reads the environment variable.
    """

    def __init__(self, monitor: str | None = None, path: str | Path | None = None) -> None:
        self.monitor = monitor
        self.progress = ProgressFile(path) if path is not None else from_env()
        self._fit_start: float | None = None

    def _update(self, force: bool = False, **fields: Any) -> None:
        if self.progress is not None:
            self.progress.update(force=force, **fields)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # the module's own on_fit_start (e.g. features cached, a head fitted) runs after this
        self._update(force=True, phase="preparing")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._fit_start = time.monotonic()
        steps = trainer.estimated_stepping_batches
        self._update(
            force=True,
            phase="training",
            epoch=trainer.current_epoch + 1,
            epochs=trainer.max_epochs,
            step=trainer.global_step,
            steps=steps if math.isfinite(steps) else None,
            max_time_s=max_time_seconds(trainer),
            fit_elapsed_s=0.0,
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.progress is None:
            return
        elapsed, state = self._elapsed(), self.progress.state
        self.progress.count_samples(extract_batch_size(batch))
        self._update(
            epoch=trainer.current_epoch + 1,
            step=trainer.global_step,
            fit_elapsed_s=round(elapsed, 1),
            fit_eta_s=remaining_seconds(
                elapsed, trainer.global_step, state.get("steps") or 0, state.get("max_time_s")
            ),
        )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._record("val", trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._update(force=True, fit_elapsed_s=round(self._elapsed(), 1), fit_eta_s=0.0)

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._update(force=True, phase="testing")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record("test", trainer)

    def _record(self, stage: str, trainer: L.Trainer) -> None:
        if self.progress is None:
            return
        metrics = {
            key: float(value)
            for key, value in trainer.callback_metrics.items()
            if key.startswith(f"{stage}/") and getattr(value, "numel", lambda: 1)() == 1
        }
        if metrics:
            monitor = (self.monitor or "").replace("val/", f"{stage}/", 1)
            self.progress.add_evaluation(
                stage, trainer.current_epoch + 1, self._elapsed(), metrics, monitor
            )

    def _elapsed(self) -> float:
        return time.monotonic() - self._fit_start if self._fit_start is not None else 0.0


def lightning_callbacks(monitor: str | None) -> list[L.Callback]:
    """``[TrainingProgress]`` when the run reports progress (the variable is set), else ``[]``."""
    return [TrainingProgress(monitor)] if from_env() is not None else []
