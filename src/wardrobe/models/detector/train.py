"""``YoloTrainer``: ultralytics YOLO on the project's rails (``python train.py model=detector``).

``tasks.train`` instantiates :class:`YoloTrainer` (not a LightningModule: ultralytics has its own
training loop) and calls :meth:`YoloTrainer.run` with the run's Lightning loggers. It prepares
the data config (generate SynthWardrobe if missing, DeepFashion2 -> YOLO, resumable), trains
with ultralytics' own trainer driven by the Hydra config, and exports a bundle to
``model_artifacts/<model_name>/``:

* ``weights.safetensors`` + ``bundle.json``: the network as :class:`YoloNet` (the architecture
  dict of the checkpoint and ``nc``), rebuilt without unpickling anything; labels =
  ``taxonomy.DF2_CLASSES``; preprocessing = letterbox size, pad value, NMS defaults.
* ``model.onnx``: the same network exported by ultralytics (dynamic batch/height/width).
* ``best.pt``: ultralytics' checkpoint, for ultralytics tools (``yolo val``, fine-tuning via
  ``model.architecture=<path>/best.pt``). Our loader never opens it (it is a pickle).
* ``metrics.json``, ``config.yaml`` as for every bundle.

How the Hydra config drives ultralytics (:meth:`YoloTrainer.train_arguments`):

* ``trainer.max_epochs`` -> ``epochs``; ``trainer.max_time`` -> ``time``: ultralytics fits the
  epochs (and its LR schedule) into it, and :func:`epoch_cap` keeps them at most ``max_epochs``,
  so, as in Lightning, whichever comes first ends the run (ultralytics' ``time`` alone would
  train as many epochs as fit); ``trainer.fast_dev_run`` (True = 1 or n batches) -> 1 epoch
  on n batches of train and val; ``limit_{train,val}_batches`` -> ``fraction=[train, val]``;
  ``limit_val_batches=0`` -> ``val=False`` (only the last epoch is validated).
* ``model.imgsz`` (or, when null, ``hardware.detector_imgsz``) -> ``imgsz``;
  ``hardware.detector_batch`` (x devices) -> ``batch``;
  ``data.batch_size`` (the effective batch) -> ``nbs``: ultralytics accumulates gradients up to
  it, so every profile keeps the same effective batch (a per-step batch above it is capped).
* ``trainer.accelerator``/``devices`` -> ``device`` (``cpu``, ``0``, ``0,1,2,3``: ultralytics
  runs DDP itself); AMP only on a CUDA GPU with a 16/bf16 ``trainer.precision`` (ultralytics
  AMP is fp16); ``hardware.num_workers`` -> ``workers`` (ultralytics uses 0 on CPU);
  ``seed`` -> ``seed``; ``trainer.deterministic`` -> ``deterministic``; the run writes to
  ``<paths.output_dir>/yolo``. ``model.compile`` is accepted and ignored.
* Logging: each epoch's losses and metrics go to the run's Lightning loggers (``logger=csv``:
  ``<output>/csv/version_*/metrics.csv``; ``logger=wandb``: Lightning's ``WandbLogger``, offline
  without credentials), under ``val/map50``, ``val/map50_95``, ``val/precision``, ``val/recall``,
  ``train/box_loss``, ... ``train()`` returns the final validation of ``best.pt`` under those
  four keys (the objective is ``val/map50``).

Offline: ``YOLO_OFFLINE=1`` is the default (set before ultralytics is imported; export
``YOLO_OFFLINE=0`` on a connected machine to let ultralytics download ``yolov8s.pt``). During
training the font download of ultralytics' dataset check (``check_font``, a HTTP HEAD even when
offline) is replaced by a local lookup.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from wardrobe.artifacts import BundleError, data_sets_of, save_bundle
from wardrobe.hparams import max_time_seconds, plain
from wardrobe.models.detector.inference import ONNX_FILE
from wardrobe.models.detector.net import YoloNet
from wardrobe.models.detector_start import resolve_architecture
from wardrobe.preprocessing import DetectionPreprocessing
from wardrobe.taxonomy import DF2_CLASSES
from wardrobe.utils import progress
from wardrobe.utils.threads import torch_threads, usable_cores

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "best.pt"
RUN_NAME = "yolo"  # ultralytics' run folder inside the Hydra output dir

# ultralytics metric names -> the project's keys
METRIC_KEYS: dict[str, str] = {
    "metrics/precision(B)": "val/precision",
    "metrics/recall(B)": "val/recall",
    "metrics/mAP50(B)": "val/map50",
    "metrics/mAP50-95(B)": "val/map50_95",
}


class YoloTrainer:
    """Ultralytics YOLO on the project's rails (``model=detector``); see the module docstring.

    Args:
        architecture: ``yolov8n.yaml`` / ``yolov8s.yaml`` (from scratch, offline), or a ``.pt``:
            ``yolov8s.pt`` (downloads: needs ``YOLO_OFFLINE=0`` and internet) or a local path.
        preprocessing: what inference needs (:class:`~wardrobe.preprocessing.DetectionPreprocessing`
            keys; the absent ones take its defaults).
        compile: set by the hardware profiles for the LightningModules; accepted and ignored
            (ultralytics' own ``compile`` can be given through ``train_args``).
        optimizer, lr0, patience, close_mosaic, cos_lr, cache, plots: ultralytics train args.
        train_args: any other ultralytics train argument (e.g. ``{mosaic: 0.5, degrees: 5}``).
        opset: ONNX opset of the export (None: ultralytics' choice).
        imgsz: the training letterbox side (the bundle's inference size too); None: the
            hardware profile's ``detector_imgsz``.
        cpu_threads: torch threads of a CPU fit; None: every core this process may use
            (ultralytics alone takes one fewer: 1 of 2 cores, 1.3-1.4x slower steps here).
    """

    def __init__(
        self,
        architecture: str = "yolov8n.yaml",
        preprocessing: Mapping[str, Any] | None = None,
        compile: bool = False,
        optimizer: str = "auto",
        lr0: float = 0.01,
        patience: int = 100,
        close_mosaic: int = 10,
        cos_lr: bool = False,
        cache: bool | str = False,
        plots: bool = True,
        train_args: Mapping[str, Any] | None = None,
        opset: int | None = None,
        imgsz: int | None = None,
        cpu_threads: int | None = None,
    ) -> None:
        self.architecture = str(architecture)
        self.preprocessing = DetectionPreprocessing.from_dict(plain(preprocessing or {}))
        self.compile = bool(compile)  # not used: see the docstring
        self.optimizer = optimizer
        self.lr0 = float(lr0)
        self.patience = int(patience)
        self.close_mosaic = int(close_mosaic)
        self.cos_lr = bool(cos_lr)
        self.cache = cache
        self.plots = bool(plots)
        self.train_args = dict(plain(train_args or {}))
        self.opset = opset
        self.imgsz = None if imgsz is None else int(imgsz)
        self.cpu_threads = None if cpu_threads is None else int(cpu_threads)

    # ---------------------------------------------------------------------------- run
    def run(
        self, cfg: Any, runtime: Mapping[str, Any], loggers: Sequence[Any] = ()
    ) -> tuple[dict[str, float], dict]:
        """Prepare the data, train, validate the best weights, export the bundle.

        ``loggers``: the run's Lightning loggers (``tasks.train`` builds them from ``logger=``);
        each epoch's metrics go to them.
        """
        from hydra.utils import instantiate

        if cfg.get("ckpt_path"):
            raise ValueError(
                "ckpt_path is not supported by the detector: start from earlier weights with "
                "model.architecture=<run dir>/yolo/weights/last.pt"
            )
        data = instantiate(cfg.data, num_workers=runtime["num_workers"])
        data_yaml = data.prepare_data()
        args = self.train_arguments(cfg, runtime, data_yaml, data)
        log.info("ultralytics train arguments: %s", args)

        bridge = _LoggerBridge(loggers)
        bridge.log_hyperparams({"cfg": run_config(cfg), **runtime})
        self.architecture = resolve_architecture(
            self.architecture, Path(cfg.paths.data_dir) / "weights"
        )
        yolo = self._build_model()
        if "time" in args:  # max_time caps max_epochs (ultralytics alone would fill the time)
            yolo.add_callback("on_fit_epoch_end", epoch_cap(int(args["epochs"])))
        yolo.add_callback("on_fit_epoch_end", bridge.on_fit_epoch_end)
        for event, callback in progress.ultralytics_callbacks(METRIC_KEYS).items():
            yolo.add_callback(event, callback)  # make run's live progress (else none)
        with offline_checks(), cpu_threads(self.cpu_threads or usable_cores()):
            yolo.train(**args)
        trainer = yolo.trainer
        save_dir = Path(trainer.save_dir)
        metrics = project_metrics(trainer.metrics or {})
        if not metrics:  # DDP: the run happened in a subprocess; read its results.csv
            metrics = best_epoch_metrics(save_dir / "results.csv")
        bridge.replay_if_silent(save_dir / "results.csv")
        bridge.finish(metrics)

        objects: dict[str, Any] = {"cfg": cfg, "model": self, "data": data, "save_dir": save_dir}
        weights = save_dir / "weights" / "best.pt"
        if not weights.is_file():
            weights = save_dir / "weights" / "last.pt"
        objects["weights"] = weights
        if cfg.get("export"):
            progress.report(phase="exporting")
            self.data_sets = data_sets_of(data)
            objects["bundle"] = self.export_bundle(cfg, weights, metrics, int(args["imgsz"]))
        return metrics, objects

    def train_arguments(
        self, cfg: Any, runtime: Mapping[str, Any], data_yaml: Path, data: Any
    ) -> dict[str, Any]:
        """The ultralytics ``train()`` keyword arguments this config resolves to."""
        trainer_cfg = cfg.trainer
        devices = int(runtime["devices"])
        batch = int(cfg.hardware.detector_batch) * devices  # ultralytics: total over devices
        if batch > data.batch_size:  # keep the effective batch (ultralytics never shrinks it)
            log.warning(
                "per-step batch %d > data.batch_size=%d: using %d",
                batch,
                data.batch_size,
                data.batch_size,
            )
            batch = int(data.batch_size)
        epochs, fraction, val = lightning_limits(
            trainer_cfg,
            batch=batch,
            num_train=data.num_images("train"),
            num_val=data.num_images("val"),
        )
        on_gpu = (
            str(runtime["accelerator"]) in ("gpu", "cuda", "auto") and torch.cuda.is_available()
        )
        amp = on_gpu and str(runtime["precision"]) in ("16-mixed", "bf16-mixed", "16", "bf16")
        args: dict[str, Any] = {
            "data": str(data_yaml),
            "epochs": epochs,
            "imgsz": self.imgsz or int(cfg.hardware.detector_imgsz),
            "batch": batch,
            "nbs": int(data.batch_size),  # the effective batch: ultralytics accumulates to it
            "workers": int(runtime["num_workers"]),
            "device": ultralytics_device(str(runtime["accelerator"]), trainer_cfg.get("devices")),
            "amp": amp,
            "seed": int(cfg.get("seed") or 0),
            "deterministic": bool(trainer_cfg.get("deterministic") or False),
            "project": str(Path(cfg.paths.output_dir).resolve()),
            "name": RUN_NAME,
            "exist_ok": True,
            "fraction": fraction,
            "val": val,
            "optimizer": self.optimizer,
            "lr0": self.lr0,
            "patience": self.patience,
            "close_mosaic": self.close_mosaic,
            "cos_lr": self.cos_lr,
            "cache": self.cache,
            "plots": self.plots and not trainer_cfg.get("fast_dev_run"),
            "verbose": True,
        }
        hours = max_time_hours(trainer_cfg.get("max_time"))
        if hours and not trainer_cfg.get("fast_dev_run"):
            args["time"] = hours  # ultralytics re-estimates the epochs that fit after epoch 1
        args.update(self.train_args)
        return args

    def _build_model(self) -> Any:
        from ultralytics import YOLO
        from ultralytics.utils import ONLINE, WEIGHTS_DIR

        arch = self.architecture
        local = Path(arch).is_file() or (WEIGHTS_DIR / Path(arch).name).is_file()
        if arch.endswith(".pt") and not local and not ONLINE:
            raise FileNotFoundError(
                f"model.architecture={arch}: no such local file, and ultralytics is offline "
                "(YOLO_OFFLINE=1, the default). Train from yolov8n.yaml/yolov8s.yaml, give a "
                "local .pt path, or set YOLO_OFFLINE=0 on a machine with internet."
            )
        return YOLO(arch, task="detect")

    # ---------------------------------------------------------------------------- export
    def export_bundle(
        self, cfg: Any, weights: Path, metrics: Mapping[str, float], imgsz: int
    ) -> Path:
        """Write ``model_artifacts/<model_name>/``: safetensors + ONNX + best.pt + metadata."""
        from ultralytics import YOLO

        yolo = YOLO(str(weights), task="detect")  # our own training output
        names = [yolo.model.names[i] for i in range(len(yolo.model.names))]
        if names != list(DF2_CLASSES):
            raise BundleError(f"{weights} was trained on classes {names}, not DF2_CLASSES")
        net = YoloNet.from_ultralytics(yolo.model)
        with offline_checks():
            onnx_path = yolo.export(
                format="onnx",
                imgsz=imgsz,
                dynamic=True,
                simplify=False,  # onnxslim is not installed; simplifying is optional
                opset=self.opset,
                device="cpu",
            )
        preprocessing = self.preprocessing.resolved(imgsz).to_dict()
        out = save_bundle(
            Path(cfg.paths.artifacts_dir) / cfg.model_name,
            name=cfg.model_name,
            net=net,
            net_cfg=net.config,
            labels={"classes": list(DF2_CLASSES)},
            preprocessing=preprocessing,
            metrics=metrics,
            train_cfg=OmegaConf.create(run_config(cfg)),
            extra_files={CHECKPOINT_FILE: weights, ONNX_FILE: onnx_path},
            data_sets=getattr(self, "data_sets", None),
        )
        log.info("exported bundle %s", out)
        return out


# ============================================================================================
# Config -> ultralytics helpers
# ============================================================================================
def ultralytics_device(accelerator: str, devices: Any) -> str | None:
    """Lightning ``accelerator``/``devices`` -> ultralytics ``device`` (``cpu``, ``0``, ``0,1``)."""
    if accelerator == "cpu":
        return "cpu"
    if accelerator == "mps":
        return "mps"
    if accelerator in ("gpu", "cuda"):
        if isinstance(devices, int) or (isinstance(devices, str) and devices.isdigit()):
            return ",".join(str(i) for i in range(max(int(devices), 1)))
        if isinstance(devices, Sequence) and not isinstance(devices, str):
            return ",".join(str(int(i)) for i in devices)
        return "0"  # "auto" / -1: ultralytics takes one GPU unless told the indices
    return None  # auto: ultralytics picks


def lightning_limits(
    trainer_cfg: Any, batch: int, num_train: int, num_val: int
) -> tuple[int, float | int | list, bool]:
    """``(epochs, fraction, val)`` for ultralytics from Lightning's trainer settings.

    ``fast_dev_run`` (True = 1, or n batches) -> 1 epoch on n batches of train and of val;
    ``limit_train_batches`` / ``limit_val_batches`` -> ultralytics ``fraction=[train, val]``
    (a float is a ratio, an int a number of batches); ``limit_val_batches=0`` -> ``val=False``
    (ultralytics then validates the final epoch only).
    """
    epochs = int(trainer_cfg.get("max_epochs") or 1)
    fast = trainer_cfg.get("fast_dev_run") or 0
    limit_train = trainer_cfg.get("limit_train_batches")
    limit_val = trainer_cfg.get("limit_val_batches")
    if fast:
        batches = 1 if fast is True else int(fast)
        epochs, limit_train, limit_val = 1, batches, batches
    val = limit_val is None or limit_val != 0
    fractions = [
        _fraction(limit_train, batch, num_train),
        _fraction(limit_val if val else None, batch * 2, num_val),  # ultralytics val: 2x batch
    ]
    fraction: float | int | list = fractions if fractions[1] != 1.0 else fractions[0]
    return epochs, fraction, val


def max_time_hours(max_time: Any) -> float | None:
    """Lightning ``max_time`` (``"DD:HH:MM:SS"`` or a days/hours/minutes/seconds dict) in hours."""
    seconds = max_time_seconds(max_time)
    return None if seconds is None else seconds / 3600


def epoch_cap(max_epochs: int) -> Callable[[Any], None]:
    """An ultralytics ``on_fit_epoch_end`` callback for time mode: after each epoch ultralytics
    re-estimates how many epochs fit in ``time`` (and refits its LR schedule to them); this keeps
    that number at most ``max_epochs`` and refits the schedule the same way."""

    def cap(trainer: Any) -> None:
        if trainer.epochs <= max_epochs:
            return
        trainer.epochs = trainer.args.epochs = max_epochs
        trainer._setup_scheduler()
        trainer.scheduler.last_epoch = trainer.epoch  # as ultralytics does after its estimate

    return cap


def _fraction(limit: Any, batch: int, total: int) -> float | int:
    """A Lightning ``limit_*_batches`` as ultralytics' ratio (float) or image count (int)."""
    if limit is None or (isinstance(limit, float) and limit >= 1.0):
        return 1.0
    if isinstance(limit, float):
        return max(limit, 1.0 / max(total, 1))
    count = int(limit) * batch
    if count >= total or count < 1:
        return 1.0
    return count if count > 1 else 1.0 / total  # ultralytics reads the int 1 as "all"


def project_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """ultralytics metric names -> ``val/map50``, ``val/map50_95``, ``val/precision``, ..."""
    out = {}
    for key, value in metrics.items():
        name = METRIC_KEYS.get(key)
        if name is not None and value is not None:
            out[name] = float(value)
    return out


def _epoch_row_metrics(row: Mapping[str, str]) -> dict[str, float]:
    out = {}
    for key, value in row.items():
        key = key.strip()
        with contextlib.suppress(TypeError, ValueError):
            out[METRIC_KEYS.get(key, key)] = float(value)
    return out


def best_epoch_metrics(results_csv: Path) -> dict[str, float]:
    """The val metrics of the best epoch of ``results.csv`` (ultralytics' fitness)."""
    if not results_csv.is_file():
        return {}
    with results_csv.open() as fh:
        rows = [_epoch_row_metrics(r) for r in csv.DictReader(fh)]
    if not rows:
        return {}
    best = max(rows, key=lambda r: 0.1 * r.get("val/map50", 0) + 0.9 * r.get("val/map50_95", 0))
    return {k: v for k, v in best.items() if k in METRIC_KEYS.values()}


class _LoggerBridge:
    """Writes ultralytics' per-epoch metrics to the run's Lightning loggers (CSV, W&B).

    One logging path for every model: ``logger=csv`` writes ``<output>/csv/.../metrics.csv``,
    ``logger=wandb`` logs to W&B through Lightning's ``WandbLogger`` (offline unless
    credentials are present, as for the LightningModules). Ultralytics' own W&B integration is
    left to its settings (off by default).
    """

    def __init__(self, loggers: Sequence[Any]) -> None:
        self.loggers = list(loggers)
        self.epochs_logged = 0

    def log_hyperparams(self, params: Mapping[str, Any]) -> None:
        for lg in self.loggers:
            lg.log_hyperparams(dict(params))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for lg in self.loggers:
            lg.log_metrics(dict(metrics), step=step)
            with contextlib.suppress(AttributeError):
                lg.save()

    def on_fit_epoch_end(self, trainer: Any) -> None:
        """ultralytics callback: the epoch's train losses, val metrics and learning rates."""
        metrics = {
            **trainer.label_loss_items(trainer.tloss, prefix="train"),
            **trainer.metrics,
            **trainer.lr,
        }
        row = {METRIC_KEYS.get(k, k): float(v) for k, v in metrics.items() if _is_number(v)}
        row["epoch"] = float(trainer.epoch)
        self.log(row, step=int(trainer.epoch))
        self.epochs_logged += 1

    def replay_if_silent(self, results_csv: Path) -> None:
        """DDP runs train in a subprocess without our callback: log its ``results.csv``."""
        if self.epochs_logged or not results_csv.is_file():
            return
        with results_csv.open() as fh:
            for row in csv.DictReader(fh):
                values = _epoch_row_metrics(row)
                step = int(values.pop("epoch", self.epochs_logged + 1)) - 1
                self.log(values, step=step)
                self.epochs_logged += 1

    def finish(self, metrics: Mapping[str, float]) -> None:
        for lg in self.loggers:
            if metrics:
                lg.log_metrics(
                    {f"{k}_best": v for k, v in metrics.items()}, step=self.epochs_logged
                )
            lg.finalize("success")


def run_config(cfg: Any) -> dict[str, Any]:
    """The resolved run config as plain data, without Hydra's own ``hydra`` node (present when
    a test composes with ``return_hydra_config``; its sweep keys only resolve inside a job)."""
    return {
        str(k): OmegaConf.to_container(v, resolve=True)
        if isinstance(v, DictConfig | ListConfig)
        else v
        for k, v in cfg.items_ex(resolve=True)
        if k != "hydra"
    }


def _is_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def offline_checks() -> Iterator[None]:
    """While offline, ultralytics' ``check_font`` looks locally instead of a HTTP HEAD request.

    ``check_det_dataset`` calls it for every training run; the font only labels plots, and
    ultralytics falls back to PIL's default font when it is missing.
    """
    import ultralytics.data.utils as data_utils
    import ultralytics.utils.plotting as plotting
    from ultralytics.utils import ONLINE, USER_CONFIG_DIR

    if ONLINE:
        yield
        return

    def local_font(font: str = "Arial.ttf") -> Path | None:
        file = USER_CONFIG_DIR / Path(font).name
        return file if file.is_file() else None

    saved = data_utils.check_font, plotting.check_font
    data_utils.check_font = plotting.check_font = local_font
    try:
        yield
    finally:
        data_utils.check_font, plotting.check_font = saved


@contextlib.contextmanager
def cpu_threads(threads: int) -> Iterator[None]:
    """ultralytics' ``select_device`` sets ``threads`` torch threads for a CPU fit, not its own.

    It resets torch to ``NUM_THREADS`` (cores - 1) for every CPU run; the torch thread count
    of the process is restored afterwards.
    """
    import ultralytics.utils.torch_utils as torch_utils

    saved = torch_utils.NUM_THREADS
    torch_utils.NUM_THREADS = max(1, int(threads))
    try:
        with torch_threads(None):  # restores the count select_device changes
            yield
    finally:
        torch_utils.NUM_THREADS = saved
