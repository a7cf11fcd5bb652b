"""``WardrobeModule``: the one LightningModule pattern of the project's four models.

* any net with a ``config`` (its rebuild kwargs and ``_target_``), built from an instance or
  from that config (as checkpoints store it); :class:`BackboneModule` adds what image nets
  need (a validated image preprocessing block, a freezable backbone);
* one metric idiom: a torchmetrics ``MetricCollection`` per stage (``train_metrics``,
  ``val_metrics``, ``test_metrics``, keys ``{stage}/{metric}``) updated in the steps, computed,
  logged with ``log_dict`` and reset at the end of each epoch; the best value of
  :attr:`WardrobeModule.best_metric` is logged as ``val/<metric>_best``; the validation ones
  are reset in ``on_train_start`` (the sanity check must not leak into epoch 0);
* optimizer and scheduler as ``_partial_`` configs, completed in ``configure_optimizers``.

Hyperparameters are stored as plain configs (``net`` as its rebuild kwargs with ``_target_``,
optimizer/scheduler partials as ``_target_`` + ``_partial_`` configs), never as pickled objects.
So ``Module.load_from_checkpoint(path)`` works with no extra arguments and with
``torch.load(weights_only=True)`` (the torch default), which rejects pickled modules and
``functools.partial``: the failure that ``save_hyperparameters(ignore=["net"])`` causes in the
lightning-hydra-template is avoided without dropping anything from the checkpoint.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import hydra
import torch
from lightning import LightningModule
from omegaconf import DictConfig
from torch import nn
from torchmetrics import MaxMetric, MetricCollection

from wardrobe.hparams import plain
from wardrobe.models.components.backbones import (
    NO_WEIGHTS,
    SHARED_TRUNK,
    BackboneNet,
    trunk_fingerprint,
)
from wardrobe.models.feature_cache import fit_on_features, image_features
from wardrobe.models.metrics import STAGES
from wardrobe.preprocessing import ImagePreprocessing, check_preprocessing
from wardrobe.preprocessing.image import PREPROCESSING_KEYS

log = logging.getLogger(__name__)

# True while ``load_from_checkpoint`` builds a module: the state dict that follows replaces
# every weight, so the net is built without loading (or downloading) pretrained weights.
_LOADING_CHECKPOINT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "wardrobe_loading_checkpoint", default=False
)
# What a checkpoint's hparams may name as ``_target_``: instantiating any import path read from
# a file would run arbitrary code, which ``weights_only`` loading exists to prevent.
NET_TARGET_PREFIX = "wardrobe.models.components."
CHECKPOINT_CALLABLE_PREFIXES = ("torch.optim.", "timm.optim.", "wardrobe.")


def _check_checkpoint_target(config: Mapping[str, Any], where: str) -> None:
    target = str(config.get("_target_", ""))
    if _LOADING_CHECKPOINT.get() and not target.startswith(CHECKPOINT_CALLABLE_PREFIXES):
        raise ValueError(
            f"checkpoint {where} names {target!r}; loading accepts "
            f"{CHECKPOINT_CALLABLE_PREFIXES} only (pass {where}=... to override)"
        )


def callable_config(factory: Any, where: str) -> dict[str, Any] | None:
    """An optimizer/scheduler partial (or its config) as a ``_partial_`` config dict."""
    if factory is None:
        return None
    if isinstance(factory, functools.partial):
        func = factory.func
        target = f"{func.__module__}.{func.__qualname__}"
        if factory.args or "<" in target:
            raise TypeError(
                f"{where} must be a partial of an importable callable with keyword arguments "
                f"only (Hydra `_partial_: true`), got {factory!r}"
            )
        return {"_target_": target, "_partial_": True, **plain(factory.keywords, where)}
    if isinstance(factory, Mapping | DictConfig):
        config = plain(factory, where)
        if "_target_" not in config or not config.get("_partial_", False):
            raise ValueError(f"{where} config needs `_target_` and `_partial_: true`: {config}")
        return config
    raise TypeError(f"{where} must be a functools.partial or a `_partial_` config, got {factory!r}")


def instantiate_partial(config: dict[str, Any] | None, where: str) -> Callable[..., Any] | None:
    """Inverse of :func:`callable_config`."""
    if config is None:
        return None
    _check_checkpoint_target(config, where)
    return hydra.utils.instantiate(config)


def build_net(
    net: nn.Module | Mapping[str, Any], net_type: type[nn.Module] = nn.Module
) -> nn.Module:
    """A net instance, from an instance or from its ``config`` (as checkpoints store it).

    While ``load_from_checkpoint`` builds it, a net that takes ``weights`` is built without
    them (the state dict that follows replaces every weight) and keeps the record of how
    training initialised it.
    """
    if isinstance(net, Mapping | DictConfig):
        config = plain(net, "net")
        if not str(config.get("_target_", "")).startswith(NET_TARGET_PREFIX):
            raise ValueError(f"net config needs a `_target_` in {NET_TARGET_PREFIX}*: {config}")
        if _LOADING_CHECKPOINT.get() and "weights" in config:
            recorded, config["weights"] = config["weights"], NO_WEIGHTS
            net = hydra.utils.instantiate(config, _convert_="all")
            net.weights = recorded
        else:
            net = hydra.utils.instantiate(config, _convert_="all")
    if not isinstance(net, net_type):
        raise TypeError(f"net must be a {net_type.__name__}, got {type(net).__name__}")
    if not isinstance(getattr(net, "config", None), Mapping):
        raise TypeError(f"{type(net).__name__} has no `config` to rebuild it from a checkpoint")
    return net


def _t_max_missing(factory: Any) -> bool:
    """Whether a scheduler partial takes ``T_max`` (a cosine) and was given none."""
    func = factory.func if isinstance(factory, functools.partial) else factory
    given = factory.keywords if isinstance(factory, functools.partial) else {}
    if given.get("T_max") is not None:
        return False
    try:
        return "T_max" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


class WardrobeModule(LightningModule):
    """Shared plumbing: plain-config hparams, ``compile``, optimizers, the metric idiom.

    Subclasses give :meth:`stage_metrics` (and may filter :meth:`epoch_values`) and set
    :attr:`best_metric`. ``preprocessing`` (the model config's block) is recorded in the
    hparams, so a checkpoint says which inputs its weights expect.
    """

    #: the validation metric (higher is better) logged as ``val/<best_metric>_best`` too
    best_metric: ClassVar[str | None] = None
    #: metric names (the last part of the key) shown in the progress bar
    progress_bar: ClassVar[frozenset[str]] = frozenset({"loss"})
    #: a cosine scheduler without ``T_max`` spans the run: per ``step`` (over
    #: ``trainer.estimated_stepping_batches``) or per ``epoch`` (over ``trainer.max_epochs``)
    scheduler_interval: ClassVar[str] = "step"
    #: what the net must be
    net_type: ClassVar[type[nn.Module]] = nn.Module

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        compile: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
        **extra_hparams: Any,
    ) -> None:
        super().__init__()
        self.net = build_net(net, self.net_type)
        optimizer_config = callable_config(optimizer, "optimizer")
        if optimizer_config is None:
            raise ValueError("optimizer is required (a `_partial_: true` config)")
        scheduler_config = callable_config(scheduler, "scheduler")
        self._optimizer_factory = instantiate_partial(optimizer_config, "optimizer")
        self._scheduler_factory = instantiate_partial(scheduler_config, "scheduler")
        # One plain dict whose keys are the __init__ arguments: load_from_checkpoint passes it
        # back to __init__ as keyword arguments.
        self.save_hyperparameters(
            {
                "net": dict(self.net.config),
                "optimizer": optimizer_config,
                "scheduler": scheduler_config,
                "compile": bool(compile),
                "preprocessing": plain(preprocessing, "preprocessing"),
                **plain(extra_hparams),
            },
            logger=False,
        )
        self.train_metrics, self.val_metrics, self.test_metrics = (
            self.stage_metrics(stage) for stage in STAGES
        )
        self.val_best = MaxMetric()

    @classmethod
    def load_from_checkpoint(cls, *args: Any, **kwargs: Any) -> WardrobeModule:  # type: ignore[override]
        """Lightning's ``load_from_checkpoint`` (no arguments needed); the net is rebuilt without
        pretrained weights (the checkpoint holds them all), so loading never reads or downloads
        backbone files, and optimizer or scheduler targets outside the allowed packages are
        refused."""
        token = _LOADING_CHECKPOINT.set(True)
        try:
            return super().load_from_checkpoint(*args, **kwargs)
        finally:
            _LOADING_CHECKPOINT.reset(token)

    def forward(self, x):
        return self.net(x)

    def setup(self, stage: str) -> None:
        """Compile the net in place (state-dict keys unchanged) when ``compile=True``."""
        if self.hparams.compile and stage == "fit":
            self.net.compile()

    # ------------------------------------------------------------------------- metrics
    def stage_metrics(self, stage: str) -> MetricCollection:
        """The ``MetricCollection`` of ``stage`` (prefix ``"{stage}/"``)."""
        raise NotImplementedError

    def epoch_values(self, stage: str, metrics: MetricCollection) -> dict[str, torch.Tensor]:
        """What the epoch of ``stage`` logs: every metric of the collection by default."""
        return metrics.compute()

    def log_epoch(self, stage: str) -> dict[str, torch.Tensor]:
        """Compute, log (``log_dict``) and reset the metrics of ``stage``; return the values."""
        metrics = getattr(self, f"{stage}_metrics")
        values = self.epoch_values(stage, metrics)
        shown = {k: v for k, v in values.items() if k.rsplit("/", 1)[-1] in self.progress_bar}
        self.log_dict(shown, prog_bar=True)
        self.log_dict({k: v for k, v in values.items() if k not in shown})
        metrics.reset()
        return values

    def on_train_start(self) -> None:
        self.val_metrics.reset()
        self.val_best.reset()

    def on_train_epoch_end(self) -> None:
        self.log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        values = self.log_epoch("val")
        key = f"val/{self.best_metric}"
        if self.best_metric is not None and key in values:
            self.val_best.update(torch.as_tensor(values[key], device=self.device))
            self.log(f"{key}_best", self.val_best.compute(), prog_bar=True)

    def on_test_epoch_end(self) -> None:
        self.log_epoch("test")

    # ---------------------------------------------------------------------- optimizers
    def configure_optimizers(self) -> dict[str, Any]:
        """Complete the optimizer partial with the trainable parameters, then the scheduler.

        A scheduler that takes ``T_max`` (cosine) and was not given one anneals over the whole
        run: ``T_max = trainer.estimated_stepping_batches`` stepped every batch, or
        ``trainer.max_epochs`` stepped every epoch (:attr:`scheduler_interval`).
        """
        params = [p for p in self.net.parameters() if p.requires_grad]
        optimizer = self._optimizer_factory(params=params)
        if self._scheduler_factory is None:
            return {"optimizer": optimizer}
        factory, interval = self._scheduler_factory, "epoch"
        if _t_max_missing(factory):
            interval = self.scheduler_interval
            if interval == "step":
                steps = self.trainer.estimated_stepping_batches
                if not math.isfinite(steps):
                    raise ValueError("set trainer.max_epochs/max_steps, or the scheduler's T_max")
            else:
                steps = self.trainer.max_epochs or 1
            factory = functools.partial(factory, T_max=max(1, int(steps)))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": factory(optimizer=optimizer),
                "monitor": "val/loss",
                "interval": interval,
                "frequency": 1,
            },
        }


class BackboneModule(WardrobeModule):
    """A :class:`WardrobeModule` over an image :class:`BackboneNet` (classifier, tagger, CLIP):
    ``preprocessing`` is a validated image block, and ``freeze_backbone`` trains the rest only
    (the backbone keeps its weights and BatchNorm statistics)."""

    net_type = BackboneNet

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        freeze_backbone: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """``kwargs``: the :class:`WardrobeModule` arguments (``scheduler``, ``compile``) and the
        subclass's own hyperparameters."""
        if preprocessing is not None:
            preprocessing = check_preprocessing(preprocessing)
        super().__init__(
            net,
            optimizer,
            freeze_backbone=bool(freeze_backbone),
            preprocessing=preprocessing,
            **kwargs,
        )
        self.net.freeze_backbone(freeze_backbone)

    def on_test_start(self) -> None:
        """Channels-last conv weights for the test pass on CPU: eager Lite0 at 224 px runs 2x as
        fast (37 against 18 images/s, batch 64, 2 cores). Training keeps its layout (and its
        optimiser state's); bundles save contiguous copies."""
        if self.device.type == "cpu":
            self.net.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ the frozen trunk
    def trunk_record(self, frozen_only: bool = True) -> dict[str, Any] | None:
        """The trunk's fingerprint (:func:`trunk_fingerprint`) as its weights are now, or None
        when the net has no separate trunk or (``frozen_only``) the backbone trains."""
        pre = self.hparams.preprocessing or {}
        image = {k: v for k, v in pre.items() if k in PREPROCESSING_KEYS}
        if not self.net.shares_trunk or not image:
            return None
        if frozen_only and not self.net.backbone_frozen:
            return None
        return trunk_fingerprint(self.net.trunk, self.net.trunk_name, image, self.net.trunk_output)

    @property
    def bundle_meta(self) -> dict[str, Any] | None:
        """What the bundle records beside its config: ``shared_trunk``, the frozen trunk's
        fingerprint, so that serving runs one trunk pass for every bundle sharing it."""
        record = self.trunk_record()
        return None if record is None else {SHARED_TRUNK: record}

    def trunk_features(
        self, paths: list, cache_dir: str | None, mirrored: bool = False
    ) -> torch.Tensor:
        """Pooled features ``[N, F]`` of image files through the frozen trunk, from the shared
        per-image store (:func:`image_features`): the crop models read the same files once
        (``mirrored``: of the files flipped left to right)."""
        record = self.trunk_record(frozen_only=False)  # a warm-up before a fine-tune too
        if record is None:
            raise ValueError(f"{type(self.net).__name__} has no trunk to cache features of")
        transform = ImagePreprocessing.from_dict(record["image"]).transform(train=False)
        fingerprint = record["fingerprint"]
        x = image_features(
            self.net.trunk, paths, transform, fingerprint, cache_dir, mirrored=mirrored
        )
        return torch.from_numpy(x).to(self.device)

    def fit_heads_on_features(
        self, loss_of: Callable, n_rows: int, started: float, what: str, **fit: Any
    ) -> None:
        """:func:`fit_on_features` of :meth:`head_parameters` for ``head_warmup_epochs`` at
        ``head_warmup_lr`` / ``head_warmup_batch_size``, logged with the time since ``started``
        (``what``: the rows' name; ``fit``: the loop's other options)."""
        self.net.train()  # dropout on; a frozen trunk stays in eval mode
        epochs = self.hparams.head_warmup_epochs
        lr, batch = self.hparams.head_warmup_lr, self.hparams.head_warmup_batch_size
        history = fit_on_features(loss_of, self.head_parameters(), n_rows, epochs, lr, batch, **fit)
        seconds = time.perf_counter() - started
        log.info(
            "head warm-up: %d epochs on %d %s in %.0f s (loss %.3f -> %.3f)",
            *(epochs, n_rows, what, seconds, history[0], history[-1]),
        )

    def head_parameters(self) -> list[nn.Parameter]:
        """Every parameter outside the trunk (what head fitting trains)."""
        trunk = {id(p) for p in self.net.trunk.parameters()}
        return [p for p in self.net.parameters() if id(p) not in trunk]
