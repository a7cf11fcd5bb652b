"""Frozen-backbone features of image lists, computed once and cached on disk.

A linear head on frozen ImageNet features is the cheapest real-photo learner there is (the
anchor of issue 13), and the first epochs of the classifier's head need nothing else: the
backbone's pooled features of every training image are computed once (``torch.inference_mode``,
batches) and kept in ``<cache_dir>/<key>.npy``; ``key`` hashes the file list, the transform's
preprocessing and the backbone weights, so a changed input never reuses stale features.

:func:`image_features` is the per-image store the crop models share: the classifier, the tagger
and CLIP read the same SynthWardrobe crops through the same frozen trunk (one
:func:`~wardrobe.models.components.backbones.trunk_fingerprint`), so each file is encoded once
for all three, whichever trains first. Files are keyed by path, size and modification time.
:func:`fit_on_features` is the small loop that fits heads on such features.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn
from torch.utils.data import DataLoader, Dataset

from wardrobe.utils.onnx import CPU_CONV_BATCH, onnx_session
from wardrobe.utils.progress import report as report_progress
from wardrobe.utils.threads import loaded_on_one_thread, torch_threads

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


def load_rgb_mirrored(path: str | Path) -> Image.Image:
    """:func:`load_rgb`, flipped left to right (the cached stand-in for random flips)."""
    return ImageOps.mirror(load_rgb(path))


def cache_key(items: Sequence[Any], preprocessing: Mapping[str, Any], tag: str) -> str:
    """A short hash of what the features depend on."""
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(preprocessing), sort_keys=True, default=str).encode())
    digest.update(tag.encode())
    for item in items:
        digest.update(str(item).encode())
    return digest.hexdigest()[:20]


# ONNX Runtime at its best batch: 5x eager torch at batch 64 (see CPU_CONV_BATCH)
ENCODE_BATCH = CPU_CONV_BATCH


@torch.inference_mode()
def encode(
    backbone: nn.Module,
    items: Sequence[Any],
    transform: Callable,
    load: Callable = load_rgb,
    batch_size: int = ENCODE_BATCH,
    num_workers: int = 0,
) -> np.ndarray:
    """Pooled features ``[N, F]`` (float32) of ``items`` through ``backbone`` in eval mode, run
    in ONNX Runtime (exported once per call) or in torch when the export fails."""
    was_training = backbone.training
    backbone.eval()
    loader = DataLoader(
        _Images(items, transform, load), batch_size=batch_size, num_workers=num_workers
    )
    out: list[np.ndarray] = []
    with tempfile.TemporaryDirectory(prefix="wardrobe-encode-") as tmp:
        run = None
        for batch in loaded_on_one_thread(loader):
            run = run or _runner(backbone, batch, Path(tmp) / "backbone.onnx")
            out.append(run(batch))
            # make run's live progress ($WARDROBE_PROGRESS_FILE; a no-op without it)
            report_progress("encoding features", done=sum(map(len, out)), total=len(items))
    backbone.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _runner(backbone: nn.Module, example: torch.Tensor, path: Path) -> Callable:
    """The batch -> features function: ONNX Runtime for a CPU module whose export reproduces
    it (checked on an input the trace has not seen), else torch on the module's device."""
    device = next(backbone.parameters()).device
    eager = lambda batch: backbone(batch.to(device)).float().cpu().numpy()  # noqa: E731
    if device.type != "cpu":
        return eager
    try:
        session = onnx_session(backbone, path, example, "images")
        exported = lambda batch: session.run(None, {"images": batch.numpy()})[0]  # noqa: E731
        check = example.flip(-1)
        if not np.allclose(exported(check), eager(check), rtol=1e-3, atol=1e-4):
            raise ValueError("the exported graph computes something else")
    except Exception as error:  # any export failure: eager torch still works
        log.warning("ONNX export of the backbone failed (%s): encoding in torch", error)
        return eager
    return lambda batch: exported(batch).astype(np.float32)


def cached_features(
    backbone: nn.Module,
    items: Sequence[Any],
    transform: Callable,
    preprocessing: Mapping[str, Any],
    cache_dir: str | Path | None,
    tag: str,
    load: Callable = load_rgb,
    batch_size: int = ENCODE_BATCH,
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


# ------------------------------------------------------------------------ per-image store
def _file_key(path: str | Path) -> str:
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"


def _store_index(store: Path) -> dict[str, tuple[Path, int]]:
    """File key -> (shard, row) of every complete shard (its ``.json`` is written last)."""
    index: dict[str, tuple[Path, int]] = {}
    for keys_file in sorted(store.glob("*.json")):
        shard = keys_file.with_suffix(".npy")
        if shard.is_file():
            for row, key in enumerate(json.loads(keys_file.read_text())):
                index[key] = (shard, row)
    return index


def image_features(
    trunk: nn.Module,
    paths: Sequence[str | Path],
    transform: Callable,
    fingerprint: str,
    cache_dir: str | Path | None,
    batch_size: int = ENCODE_BATCH,
    mirrored: bool = False,
) -> np.ndarray:
    """``[N, F]`` features of image files through a frozen ``trunk``; each file is encoded once
    per ``fingerprint`` (trunk weights + preprocessing: ``transform`` must be the eval transform
    that fingerprint records) and kept under ``<cache_dir>/trunk-<fingerprint[:16]>/``
    (``mirrored``: of the files flipped left to right, in a store of their own)."""
    load = load_rgb_mirrored if mirrored else load_rgb
    if cache_dir is None:
        return encode(trunk, paths, transform, load, batch_size=batch_size)
    store = Path(cache_dir) / f"trunk-{fingerprint[:16]}{'-mirrored' if mirrored else ''}"
    keys = [_file_key(p) for p in paths]
    index = _store_index(store) if store.is_dir() else {}
    missing = list(dict.fromkeys(k for k in keys if k not in index))
    if missing:
        log.info("encoding %d of %d images for the shared feature store", len(missing), len(keys))
        first = {}
        for path, key in zip(paths, keys, strict=True):
            first.setdefault(key, path)
        features = encode(trunk, [first[k] for k in missing], transform, load, batch_size)
        store.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("\n".join(missing).encode()).hexdigest()[:20]
        tmp = store / f".{name}.{os.getpid()}.tmp.npy"
        np.save(tmp, features)
        tmp.replace(store / f"{name}.npy")
        (store / f".{name}.{os.getpid()}.json.tmp").write_text(json.dumps(missing))
        (store / f".{name}.{os.getpid()}.json.tmp").replace(store / f"{name}.json")
        index.update({k: (store / f"{name}.npy", i) for i, k in enumerate(missing)})
    shards: dict[Path, np.ndarray] = {}
    rows = []
    for key in keys:
        shard, row = index[key]
        if shard not in shards:
            shards[shard] = np.load(shard, mmap_mode="r")
        rows.append(shards[shard][row])
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)


def fit_on_features(
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    params: Iterable[nn.Parameter],
    n_rows: int,
    epochs: int,
    lr: float,
    batch_size: int = 256,
    weight_decay: float = 0.01,
    after_step: Callable[[], None] | None = None,
    fused: bool = False,
    threads: int | None = 1,
) -> list[float]:
    """AdamW (learning rate cosine-annealed to 0 over the run) over shuffled batches of row
    indices for ``epochs``; ``loss_of(index)`` gives a batch's loss. Returns the mean loss of
    each epoch (seeded: the same run twice is the same).

    ``threads``: torch threads while fitting (None: unchanged). Heads are small matrices: one
    thread skips the thread pool's synchronisation, which costs more than it saves (on this
    shared 2-core CPU, 75 ms against 1,060 ms a step of the tagger's heads)."""
    with torch_threads(threads):
        args = (n_rows, epochs, lr, batch_size, weight_decay, after_step, fused)
        return _fit(loss_of, params, *args)


def _fit(loss_of, params, n_rows, epochs, lr, batch_size, weight_decay, after_step, fused):
    optimizer = torch.optim.AdamW(list(params), lr=lr, weight_decay=weight_decay, fused=fused)
    steps = epochs * -(-n_rows // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    generator = torch.Generator().manual_seed(0)
    history = []
    with torch.enable_grad():
        for _ in range(epochs):
            total, batches = 0.0, 0
            for index in torch.randperm(n_rows, generator=generator).split(batch_size):
                loss = loss_of(index)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                if after_step is not None:
                    after_step()
                total, batches = total + float(loss.detach()), batches + 1
            history.append(total / max(batches, 1))
    return history
