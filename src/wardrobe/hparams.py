"""Hyperparameters as plain Python: what ``weights_only`` checkpoints can store.

Hydra hands OmegaConf containers to constructors; ``torch.load(weights_only=True)`` (the torch
default) refuses to unpickle them, so a checkpoint holding one cannot be loaded back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

_PRIMITIVES = (str, int, float, bool, type(None))


def plain(value: Any, where: str = "hparams") -> Any:
    """``value`` as nested dict/list/primitives; a TypeError names any other object."""
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, _PRIMITIVES):
        return value
    raise TypeError(f"{where}: cannot store a {type(value).__name__} as a hyperparameter")


def max_time_seconds(max_time: Any) -> float | None:
    """Lightning ``max_time`` (``"DD:HH:MM:SS"`` or a days/hours/minutes/seconds dict) in
    seconds; None when unset."""
    if not max_time:
        return None
    if isinstance(max_time, str):
        days, hours, minutes, seconds = (float(v) for v in max_time.split(":"))
    else:
        spec = dict(plain(max_time))
        days, hours = float(spec.get("days", 0)), float(spec.get("hours", 0))
        minutes, seconds = float(spec.get("minutes", 0)), float(spec.get("seconds", 0))
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
