"""Training speed per model, before and after: samples/s and the time to the design target.

    python benchmarks/train.py [--models tagger clip] [--steps 8]        # short: samples/s only
    python benchmarks/train.py --full [--models ...]                     # whole runs (hours)

For each model, two configs run as real ``train.py`` processes, one after the other, in one
benchmark run:

* **before**: the quickstart as it was on main at commit b0f44d1, written out below as override
  lists (e.g. the tagger fine-tuned 3 epochs at 128 px);
* **after**: ``experiment=quickstart/<model>`` with exactly the arguments ``make run`` gives it
  (:func:`wardrobe.quickstart.training_step`: its fit capped at its time budget).

Each run writes its progress file (:mod:`wardrobe.utils.progress`): the training samples/s of
its fit loop (after two warm-up batches) and every validation and test with its wall time. The
**time to target** is the wall time from the process's start (imports, data, feature caches
included) to the first evaluation whose design metric passes the target (ARCHITECTURE.md); the
test of the final weights counts as the last evaluation. ``--full`` runs the configs whole, each
with a fresh feature cache as a fresh clone has (nothing is exported: model_artifacts/ is
untouched; the compatibility model reads the CLIP bundle there); the short mode runs
``--steps`` optimiser steps per config (head warm-ups on cached features skipped, no test,
caches shared: a first run's wall time includes encoding that later runs reuse) and reports
samples/s only. Logs: ``logs/benchmarks/train/<time>/``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from wardrobe import quickstart
from wardrobe.utils.progress import PROGRESS_FILE_ENV, read_progress

REPO = Path(__file__).resolve().parents[1]

# The quickstart configs on main at commit b0f44d1 (conf/experiment/quickstart/*.yaml there)
BEFORE: dict[str, list[str]] = {
    "detector": [
        "model=detector",
        "data.batch_size=16",
        "trainer.max_epochs=100",
        "trainer.max_time=00:00:55:00",
        "model.optimizer=AdamW",
        "model.lr0=0.002",
        "model.cache=ram",
        "model.plots=false",
        "+model.train_args.warmup_epochs=1",
    ],
    "classifier": [
        "model=classifier",
        "data=classification_real",
        "model/preprocessing=lite0_224",
        "objective.metric=val/real/strict_acc",
        "objective.mode=max",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=0",
        "model._target_=wardrobe.models.partial_label.PartialLabelClassifierModule",
        "+model.real_mapping=null",
        "+model.head_warmup_epochs=60",
        "+model.head_warmup_lr=0.001",
        "+model.feature_cache_dir=${paths.data_dir}/cache/features",
        "model.freeze_backbone=true",
        "model.optimizer.lr=0.0003",
    ],
    "tagger": [
        "model=tagger",
        "model/preprocessing=lite0_128",
        "model.freeze_backbone=false",
        "trainer.max_epochs=3",
        "model.optimizer.lr=0.002",
    ],
    "clip": [
        "model=clip",
        "model/preprocessing=lite0_128",
        "model.freeze_backbone=false",
        "trainer.max_epochs=3",
        "model.optimizer.lr=0.001",
    ],
    "compatibility": [
        "model=compatibility",
        "trainer.max_epochs=25",
        "callbacks.early_stopping.patience=8",
        "model.net.feature_dim=256",
        "~model.preprocessing.encoder",
        "+model.preprocessing.encoder={kind: bundle, path: '${paths.artifacts_dir}/clip'}",
        "+model.preprocessing.encoder_weights_sha256=null",
    ],
}
# The design's targets (ARCHITECTURE.md) as each run logs them; CLIP has none (reported only)
TARGETS: dict[str, tuple[str, float] | None] = {
    "detector": ("map50", 0.70),
    "classifier": ("acc", 0.80),  # top-1 on the synthetic crops (val/acc, test/acc)
    "tagger": ("macro_f1", 0.70),
    "compatibility": ("acc", 0.65),
    "clip": None,
}


def compose(overrides: list[str]) -> Any:
    """The config ``train.py`` would run with ``overrides``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import wardrobe.config  # noqa: F401  (resolvers)

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = hydra_compose("train", overrides)
    GlobalHydra.instance().clear()
    return cfg


def short_overrides(model: str, overrides: list[str], steps: int) -> list[str]:
    """A few optimiser steps of the same config: samples/s only."""
    if model == "detector":  # ultralytics: one epoch on `steps` batches of train and val
        return [f"trainer.fast_dev_run={steps}", "export=false"]
    extra = [
        "trainer.max_epochs=1",
        f"trainer.limit_train_batches={steps}",
        "trainer.limit_val_batches=1",
        "trainer.max_time=null",
        "test=false",
        "export=false",
    ]
    cfg = compose(overrides)
    if cfg.model.get("head_warmup_epochs"):  # a head fitted on cached features: skipped here
        extra.append("model.head_warmup_epochs=0")
    return extra


def cold_cache_overrides(overrides: list[str], cache_dir: Path) -> list[str]:
    """A fresh feature cache for one run, as a fresh clone has: otherwise the *after* run would
    reuse the features the *before* run cached (the same frozen encoder), hiding their cost."""
    cfg = compose(overrides)
    keys = [
        key
        for key in ("model.feature_cache_dir", "data.feature_cache_dir")
        if OmegaConf.select(cfg, key, default="absent") != "absent"
    ]
    return [f"{key}={cache_dir}" for key in keys]


def run_config(name: str, args: list[str], log_dir: Path) -> dict[str, Any]:
    """One ``train.py`` run; returns its last progress state, wall time and exit code."""
    progress_path = log_dir / f"{name}.progress.json"
    progress_path.unlink(missing_ok=True)
    with open(log_dir / f"{name}.log", "wb") as log:
        start_wall, start = time.time(), time.monotonic()
        code = subprocess.call(
            [sys.executable, "train.py", *args],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ | {PROGRESS_FILE_ENV: str(progress_path)},
        )
    state = read_progress(progress_path) or {}
    return {"code": code, "wall_s": time.monotonic() - start, "start": start_wall, **state}


def time_to_target(run: dict[str, Any], target: tuple[str, float] | None) -> str:
    """Wall time from the process's start to the first evaluation past the target."""
    if target is None:
        return "no target"
    metric, threshold = target
    for entry in run.get("history", []):
        value = entry["metrics"].get(f"{entry['stage']}/{metric}")
        if value is not None and value > threshold:
            return f"{(entry['wall'] - run['start']) / 60:.1f} min ({entry['stage']} {value:.3f})"
    best = best_value(run, metric)
    return "not reached" + (f" (best {best:.3f})" if best is not None else "")


def best_value(run: dict[str, Any], metric: str) -> float | None:
    values = [
        e["metrics"][f"{e['stage']}/{metric}"]
        for e in run.get("history", [])
        if f"{e['stage']}/{metric}" in e["metrics"]
    ]
    return max(values) if values else None


def configs(model: str, hardware: str) -> dict[str, list[str]]:
    """``before`` and ``after`` train.py arguments of one model."""
    after = quickstart.training_step(model, hardware, [], quickstart.CONF_DIR, False)
    return {
        "before": [*BEFORE[model], f"hardware={hardware}"],
        "after": [*after.args[1:], "export=false"],
    }


def print_row(model: str, label: str, run: dict[str, Any], full: bool) -> None:
    rate = run.get("samples_per_s")
    rate_text = f"{rate:.1f}" if rate is not None else "-"
    if run["code"] != 0:
        target = f"FAILED (exit {run['code']})"
    elif full:
        target = time_to_target(run, TARGETS[model])
    else:
        target = "- (short mode)"
    print(f"{model:<14}{label:<8}{rate_text:>11}{run['wall_s'] / 60:>9.1f}  {target}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=quickstart.default_models())
    parser.add_argument("--hardware", default="cpu")
    parser.add_argument("--full", action="store_true", help="whole runs: the time to target")
    parser.add_argument("--steps", type=int, default=8, help="short mode: optimiser steps")
    args = parser.parse_args()
    os.chdir(REPO)  # quickstart's config paths are relative to the checkout
    log_dir = REPO / "logs" / "benchmarks" / "train" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    mode = "full runs" if args.full else f"short mode: {args.steps} steps per config"
    print(f"hardware={args.hardware}, {mode}; logs: {log_dir}")
    print(f"{'model':<14}{'config':<8}{'samples/s':>11}{'wall min':>9}  time to design target")
    for model in args.models:
        for label, overrides in configs(model, args.hardware).items():
            if args.full:
                cache = log_dir / "cache" / f"{model}-{label}"
                run_args = [*overrides, *cold_cache_overrides(overrides, cache)]
            else:
                run_args = [*overrides, *short_overrides(model, overrides, args.steps)]
            run = run_config(f"{model}-{label}", run_args, log_dir)
            print_row(model, label, run, args.full)


if __name__ == "__main__":
    main()
