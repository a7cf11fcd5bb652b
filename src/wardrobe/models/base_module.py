"""``WardrobeModule``: what the classifier and tagger LightningModules share.

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
import math
from collections.abc import Callable, Mapping
from typing import Any

import hydra
from lightning import LightningModule
from omegaconf import DictConfig
from torch import nn

from wardrobe.hparams import plain
from wardrobe.models.components.backbones import NO_WEIGHTS, BackboneNet
from wardrobe.preprocessing.image import check_preprocessing

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


def build_net(net: nn.Module | Mapping[str, Any]) -> BackboneNet:
    """A net instance, from an instance or from its ``config`` (as checkpoints store it)."""
    if isinstance(net, Mapping | DictConfig):
        config = plain(net, "net")
        if not str(config.get("_target_", "")).startswith(NET_TARGET_PREFIX):
            raise ValueError(f"net config needs a `_target_` in {NET_TARGET_PREFIX}*: {config}")
        if _LOADING_CHECKPOINT.get():
            recorded, config["weights"] = config.get("weights"), NO_WEIGHTS
            net = hydra.utils.instantiate(config, _convert_="all")
            net.weights = recorded  # keep the record of how training initialised it
        else:
            net = hydra.utils.instantiate(config, _convert_="all")
    if not isinstance(net, BackboneNet):
        raise TypeError(f"net must be a wardrobe BackboneNet, got {type(net).__name__}")
    return net


class WardrobeModule(LightningModule):
    """Shared plumbing: plain-config hparams, frozen backbone, ``compile``, optimizers.

    ``preprocessing`` (the model config's block) is only recorded in the hparams, so a
    checkpoint says which input transform its weights expect.
    """

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        compile: bool = False,
        freeze_backbone: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
        **extra_hparams: Any,
    ) -> None:
        super().__init__()
        if preprocessing is not None:
            preprocessing = check_preprocessing(preprocessing)
        self.net = build_net(net)
        self.net.freeze_backbone(freeze_backbone)
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
                "net": self.net.config,
                "optimizer": optimizer_config,
                "scheduler": scheduler_config,
                "compile": bool(compile),
                "freeze_backbone": bool(freeze_backbone),
                "preprocessing": preprocessing,
                **plain(extra_hparams),
            },
            logger=False,
        )

    @classmethod
    def load_from_checkpoint(cls, *args: Any, **kwargs: Any) -> WardrobeModule:  # type: ignore[override]
        """Lightning's ``load_from_checkpoint``; the net is rebuilt without pretrained weights
        (the checkpoint holds them all), so loading never reads or downloads backbone files."""
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

    def configure_optimizers(self) -> dict[str, Any]:
        """Complete the optimizer partial with the trainable parameters, then the scheduler.

        A scheduler that takes ``T_max`` (cosine) and was not given one anneals over the whole
        run, stepping every batch: ``T_max = trainer.estimated_stepping_batches``.
        """
        params = [p for p in self.net.parameters() if p.requires_grad]
        optimizer = self._optimizer_factory(params=params)
        if self._scheduler_factory is None:
            return {"optimizer": optimizer}
        factory, interval = self._scheduler_factory, "epoch"
        func = factory.func if isinstance(factory, functools.partial) else factory
        given = factory.keywords if isinstance(factory, functools.partial) else {}
        if "T_max" in inspect.signature(func).parameters and "T_max" not in given:
            steps = self.trainer.estimated_stepping_batches
            if not math.isfinite(steps):
                raise ValueError("set trainer.max_epochs/max_steps, or the scheduler's T_max")
            factory, interval = functools.partial(factory, T_max=max(1, int(steps))), "step"
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": factory(optimizer=optimizer),
                "monitor": "val/loss",
                "interval": interval,
                "frequency": 1,
            },
        }
