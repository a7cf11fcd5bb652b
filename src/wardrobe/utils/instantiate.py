"""Instantiating a Hydra config group (callbacks, loggers) entry by entry."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig


def instantiate_group(group: DictConfig | None, what: str) -> list[Any]:
    """Instantiate every entry of a callbacks/logger group; an entry without _target_ fails."""
    objects: list[Any] = []
    for key, conf in (group or {}).items():
        if conf is None:
            continue
        if not isinstance(conf, DictConfig) or "_target_" not in conf:
            raise ValueError(f"{what} entry {key!r} has no _target_: {conf}")
        objects.append(instantiate(conf))
    return objects
