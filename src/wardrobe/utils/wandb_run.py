"""W&B runs: offline unless credentials are present, and always closed at the end of a task."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)


def wandb_offline_default(cfg: DictConfig) -> None:
    """``logger.wandb.offline: null`` means offline unless W&B credentials are present."""
    wandb_cfg = OmegaConf.select(cfg, "logger.wandb")
    if wandb_cfg is None or wandb_cfg.get("offline") is not None:
        return
    has_key = bool(os.environ.get("WANDB_API_KEY")) or _netrc_has_wandb()
    with open_dict(cfg):
        cfg.logger.wandb.offline = not has_key
    if not has_key:
        log.info("W&B: no credentials found, logging offline (sync later with `wandb sync`)")


def _netrc_has_wandb() -> bool:
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "wandb" in netrc.read_text(errors="ignore")


def finish_wandb() -> None:
    """Close the process's W&B run, if one is open (a failed job must not leak it into the next
    job of a multirun)."""
    try:
        import wandb
    except ImportError:  # pragma: no cover - wandb is a dependency
        return
    if wandb.run is not None:
        wandb.finish()
