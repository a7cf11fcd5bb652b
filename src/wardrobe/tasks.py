"""``train(cfg)`` and ``evaluate(cfg)``: what the entry points and the tests call.

``train`` follows the lightning-hydra-template: instantiate datamodule, model, callbacks,
loggers and trainer from the config, fit, test the best checkpoint, then export a bundle to
``model_artifacts/<model_name>/``. A wrapper logs failures and always closes the W&B run, so one
failed job does not break a multirun, and the entry point returns the optimised metric.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from wardrobe import config as _config  # noqa: F401  (registers the resolvers)
from wardrobe.artifacts import data_sets_of, save_bundle
from wardrobe.models.detector.train import YoloTrainer
from wardrobe.models.progress_callback import lightning_callbacks as progress_callbacks
from wardrobe.utils import finish_wandb, instantiate_group, progress, wandb_offline_default

log = logging.getLogger(__name__)


class HardwareError(RuntimeError):
    """The chosen hardware profile cannot run on this machine."""


def task_wrapper(fn: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Log a failing task with its output dir, and always close the W&B run."""

    @functools.wraps(fn)
    def wrapped(cfg: DictConfig) -> Any:
        try:
            return fn(cfg)
        except Exception:
            log.exception("task %s failed (output dir: %s)", fn.__name__, _output_dir(cfg))
            raise
        finally:
            finish_wandb()

    return wrapped


def _output_dir(cfg: DictConfig) -> str:
    return str(OmegaConf.select(cfg, "paths.output_dir", default="?", throw_on_missing=False))


# --------------------------------------------------------------------------------------------
# Hardware and batching
# --------------------------------------------------------------------------------------------
def check_hardware(cfg: DictConfig) -> None:
    """Fail at once, with the fix in the message, when a GPU profile meets a machine without."""
    accelerator = str(cfg.trainer.get("accelerator", "cpu"))
    name = cfg.hardware.name
    if accelerator not in ("gpu", "cuda"):
        return
    if not torch.cuda.is_available():
        raise HardwareError(
            f"hardware={name} needs a CUDA GPU, and none is available on this machine. "
            "Run with hardware=cpu (or override trainer.accelerator=cpu)."
        )
    devices = cfg.trainer.get("devices", 1)
    if isinstance(devices, int) and devices > torch.cuda.device_count():
        raise HardwareError(
            f"hardware={name} asks for {devices} GPUs but this machine has "
            f"{torch.cuda.device_count()}; pick a profile that fits or override trainer.devices."
        )


def _device_count(cfg: DictConfig) -> int:
    devices = cfg.trainer.get("devices", 1)
    if isinstance(devices, int) and devices > 0:
        return devices
    if isinstance(devices, list | tuple):
        return len(devices)
    return max(torch.cuda.device_count(), 1) if cfg.trainer.accelerator != "cpu" else 1


def resolve_batching(effective: int, per_device_cap: int, devices: int) -> tuple[int, int]:
    """(per-device batch, gradient accumulation) giving exactly ``effective`` samples a step."""
    if effective % devices:
        raise ValueError(f"data.batch_size={effective} is not divisible by {devices} devices")
    per_step = effective // devices
    for accumulate in range(max(1, math.ceil(per_step / per_device_cap)), per_step + 1):
        if per_step % accumulate == 0:
            return per_step // accumulate, accumulate
    raise AssertionError("unreachable: accumulate = per_step always divides")


def runtime_settings(cfg: DictConfig) -> dict[str, Any]:
    """What the hardware profile resolves to for this config (logged, and shown by tests)."""
    devices = _device_count(cfg)
    per_device, accumulate = resolve_batching(
        int(cfg.data.batch_size), int(cfg.hardware.per_device_batch_size), devices
    )
    return {
        "hardware": cfg.hardware.name,
        "accelerator": cfg.trainer.accelerator,
        "devices": devices,
        "precision": str(cfg.trainer.precision),
        "strategy": str(cfg.trainer.get("strategy", "auto")),
        "per_device_batch_size": per_device,
        "accumulate_grad_batches": accumulate,
        "effective_batch_size": per_device * accumulate * devices,
        "num_workers": int(cfg.hardware.num_workers),
        "compile": bool(cfg.model.get("compile", False)),
    }


def _resolve_ckpt_path(cfg: DictConfig) -> str | None:
    """``ckpt_path=last``: the newest ``last.ckpt`` of an earlier run of the same model."""
    ckpt = cfg.get("ckpt_path")
    if ckpt != "last":
        return ckpt
    runs = Path(cfg.paths.log_dir) / cfg.task_name
    candidates = [
        p
        for p in runs.glob("**/checkpoints/last.ckpt")
        if (p.parents[1] / ".model_name").is_file()
        and (p.parents[1] / ".model_name").read_text().strip() == cfg.model_name
    ]
    if not candidates:
        raise FileNotFoundError(
            f"ckpt_path=last: no last.ckpt of model {cfg.model_name!r} under {runs}"
        )
    newest = max(candidates, key=lambda p: p.stat().st_mtime)
    log.info("resuming from %s", newest)
    return str(newest)


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------
@task_wrapper
def train(cfg: DictConfig) -> tuple[dict[str, float], dict[str, Any]]:
    """Train the configured model; return (metrics, objects)."""
    check_hardware(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    runtime = runtime_settings(cfg)
    log.info("runtime settings: %s", runtime)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / ".model_name").write_text(cfg.model_name)
    wandb_offline_default(cfg)

    model = instantiate(cfg.model)
    if isinstance(model, YoloTrainer):  # ultralytics trains the detector with its own loop
        return model.run(cfg, runtime, loggers=instantiate_group(cfg.get("logger"), "logger"))
    if not isinstance(model, L.LightningModule):
        raise TypeError(
            f"model._target_ {cfg.model.get('_target_')!r} built a {type(model).__name__}: "
            "train needs a LightningModule or a YoloTrainer"
        )
    return _fit_lightning(cfg, model, runtime)


def _fit_lightning(
    cfg: DictConfig, model: L.LightningModule, runtime: dict[str, Any]
) -> tuple[dict[str, float], dict[str, Any]]:
    """Fit, test the best checkpoint and export: the lightning-hydra-template's train()."""
    datamodule = instantiate(
        cfg.data,
        batch_size=runtime["per_device_batch_size"],
        num_workers=runtime["num_workers"],
    )
    callbacks = instantiate_group(cfg.get("callbacks"), "callbacks")
    # $WARDROBE_PROGRESS_FILE (set by `make run`): the run's progress, whatever callbacks= says
    callbacks += progress_callbacks(OmegaConf.select(cfg, "objective.metric"))
    loggers = instantiate_group(cfg.get("logger"), "logger")
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        accumulate_grad_batches=runtime["accumulate_grad_batches"],
    )
    for lg in loggers:
        lg.log_hyperparams({"cfg": OmegaConf.to_container(cfg, resolve=True), **runtime})

    if cfg.get("train"):
        trainer.fit(model=model, datamodule=datamodule, ckpt_path=_resolve_ckpt_path(cfg))
    metrics = _to_floats(trainer.callback_metrics)
    if cfg.get("test"):
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        if best is None:
            log.warning("no best checkpoint (fast_dev_run or no val metric): testing last weights")
        trainer.test(model=model, datamodule=datamodule, ckpt_path=best)
        metrics.update(_to_floats(trainer.callback_metrics))
        _log_test_plots(metrics, model, datamodule, loggers, Path(cfg.paths.output_dir))

    objects = {"cfg": cfg, "datamodule": datamodule, "model": model, "trainer": trainer}
    if cfg.get("export") and trainer.is_global_zero:
        progress.report(phase="exporting")
        objects["bundle"] = export_bundle(cfg, model, datamodule, metrics)
    return metrics, objects


def _log_test_plots(metrics, model, datamodule, loggers, output_dir: Path) -> None:
    """Save the test plots in the run directory and send them to image-capable loggers."""
    from wardrobe.evaluation.plots import plots_after_test

    labels = getattr(datamodule, "labels", None) or {}
    for path in plots_after_test(metrics, model, labels, output_dir / "plots"):
        for lg in loggers:
            if hasattr(lg, "log_image"):
                lg.log_image(key=f"test/{path.stem}", images=[str(path)])


def export_bundle(
    cfg: DictConfig, model: L.LightningModule, datamodule: Any, metrics: dict[str, float]
) -> Path:
    """Write ``model_artifacts/<model_name>/`` from a trained LightningModule."""
    labels = getattr(datamodule, "labels", None) or {"classes": list(cfg.data.classes)}
    out = save_bundle(
        Path(cfg.paths.artifacts_dir) / cfg.model_name,
        name=cfg.model_name,
        net=model.net,
        net_cfg=getattr(model.net, "config", None) or cfg.model.net,
        labels=labels,
        # a module may resolve more than its config says (the compatibility model records the
        # sha256 of the CLIP bundle whose features it learnt on)
        preprocessing=getattr(model, "export_preprocessing", None) or cfg.model.preprocessing,
        metrics=metrics,
        train_cfg=cfg,
        data_sets=data_sets_of(datamodule),
        # e.g. a frozen trunk's fingerprint, so serving shares one pass among the crop models
        extra_meta=getattr(model, "bundle_meta", None),
    )
    log.info("exported bundle %s", out)
    return out


def _to_floats(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        scalar = isinstance(value, torch.Tensor) and value.numel() == 1
        if scalar or isinstance(value, int | float):
            out[key] = float(value)
    return out


def metric_value(metrics: dict[str, float], name: str | None) -> float | None:
    """The optimised metric for a sweeper; a clear error when the run did not log it."""
    if not name:
        return None
    if name not in metrics:
        raise KeyError(f"optimized metric {name!r} was not logged; logged: {sorted(metrics)}")
    return metrics[name]


@task_wrapper
def evaluate(cfg: DictConfig) -> dict[str, dict[str, float]]:
    """Evaluate every bundle present on held-out data and write the report."""
    from wardrobe.evaluation.runner import evaluate_bundles

    return evaluate_bundles(cfg)


def serve(cfg: DictConfig) -> None:
    """Serve the bundles of ``cfg.artifacts_dir`` over LitServe until interrupted (the routes,
    workers and stores are described in :mod:`wardrobe.serving`)."""
    from wardrobe.serving.app import ConfigError, run_server

    try:
        run_server(cfg)
    except ConfigError as err:
        # a config that cannot serve safely: its reason, without a traceback
        log.error("serve refused to start: %s", err)
        raise SystemExit(2) from None
    except Exception:
        log.exception("serve failed (output dir: %s)", _output_dir(cfg))
        raise
