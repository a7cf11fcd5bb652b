"""Frozen-backbone features of image lists, computed once and cached on disk.

A linear head on frozen ImageNet features is the cheapest real-photo learner there is (the
anchor of issue 13), and the first epochs of the classifier's head need nothing else: the
backbone's pooled features of every training image are computed once (``torch.inference_mode``,
batches) and kept in ``<cache_dir>/<key>.npy``; ``key`` hashes the file list, the transform's
preprocessing and the backbone weights, so a changed input never reuses stale features.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from wardrobe.utils.progress import report as report_progress

log = logging.getLogger(__name__)


class _Images(Dataset):
    def __init__(self, items: Sequence[Any], transform: Callable, load: Callable) -> None:
        self.items, self.transform, self.load = list(items), transform, load

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(self.load(self.items[index]))


def load_rgb(path: str | Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def cache_key(items: Sequence[Any], preprocessing: Mapping[str, Any], tag: str) -> str:
    """A short hash of what the features depend on."""
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(preprocessing), sort_keys=True, default=str).encode())
    digest.update(tag.encode())
    for item in items:
        digest.update(str(item).encode())
    return digest.hexdigest()[:20]


@torch.inference_mode()
def encode(
    backbone: nn.Module,
    items: Sequence[Any],
    transform: Callable,
    load: Callable = load_rgb,
    batch_size: int = 64,
    num_workers: int = 0,
) -> np.ndarray:
    """Pooled features ``[N, F]`` (float32) of ``items`` through ``backbone`` in eval mode."""
    was_training = backbone.training
    backbone.eval()
    loader = DataLoader(
        _Images(items, transform, load), batch_size=batch_size, num_workers=num_workers
    )
    out = []
    for batch in loader:
        out.append(backbone(batch).float().cpu().numpy())
        # make run's live progress ($WARDROBE_PROGRESS_FILE; a no-op without it)
        report_progress("encoding features", done=sum(map(len, out)), total=len(items))
    backbone.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def cached_features(
    backbone: nn.Module,
    items: Sequence[Any],
    transform: Callable,
    preprocessing: Mapping[str, Any],
    cache_dir: str | Path | None,
    tag: str,
    load: Callable = load_rgb,
    batch_size: int = 64,
) -> np.ndarray:
    """:func:`encode`, read from / written to ``cache_dir`` (None: no cache)."""
    if cache_dir is None:
        return encode(backbone, items, transform, load, batch_size)
    path = Path(cache_dir) / f"{tag}-{cache_key(items, preprocessing, tag)}.npy"
    if path.is_file():
        features = np.load(path)
        if len(features) == len(items):
            return features
    log.info("encoding %d images (%s) for the feature cache", len(items), tag)
    features = encode(backbone, items, transform, load, batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.npy")
    np.save(partial, features)
    partial.replace(path)
    return features
