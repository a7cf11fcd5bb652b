"""Model bundles in ``model_artifacts/<name>/``: everything needed to rebuild a trained model.

A bundle holds ``weights.safetensors`` (no pickle), ``bundle.json`` (the network's config with
its ``_target_``, the labels, the preprocessing, a checksum of the weights, versions),
``config.yaml`` (the resolved training config) and ``metrics.json``. Loading rebuilds the plain
``nn.Module`` in ``eval()`` mode without any training code, and refuses a bundle whose weights,
config or labels don't match what the caller expects.

The preprocessing travels with the model: :attr:`Bundle.preprocessing_spec` is the typed block,
and :func:`load_model_and_transform` gives a bundle with its eval transform in one call (as
open_clip's ``create_model_and_transforms``); :meth:`Bundle.image_encoder` is the net's image
embedding (``encode_image``) as a module.

This layer knows the file format only: it imports no model code (a net is rebuilt from the
``_target_`` string its config records), so models below can read and write their bundles.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from safetensors.torch import load_file, save_file
from torch import nn
from torchvision.transforms import v2

import wardrobe
from wardrobe.preprocessing import ImagePreprocessing, Preprocessing

FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.safetensors"
META_FILE = "bundle.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
# Only classes of this package may be rebuilt from a bundle (a bundle is data, not code).
ALLOWED_TARGET_PREFIX = "wardrobe."


class BundleError(RuntimeError):
    """A bundle is missing, corrupt, or does not match what the caller expects."""


@dataclass
class Bundle:
    """A loaded bundle: the network in eval mode and what travels with it."""

    name: str
    net: torch.nn.Module
    labels: dict[str, list[str]]
    preprocessing: dict[str, Any]
    meta: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str:
        """A short id of this bundle's weights (first 12 hex digits of their sha256)."""
        return self.meta["weights_sha256"][:12]

    @property
    def preprocessing_spec(self) -> Preprocessing:
        """The typed :attr:`preprocessing` block (image, text, detection parts and the rest)."""
        try:
            return Preprocessing.from_dict(self.preprocessing)
        except (TypeError, ValueError) as err:
            raise BundleError(f"{self.path or self.name}: bad preprocessing: {err}") from err

    @property
    def image_preprocessing(self) -> ImagePreprocessing:
        """The typed image part of :attr:`preprocessing`; a bundle without one is refused."""
        image = self.preprocessing_spec.image
        if image is None:
            raise BundleError(f"{self.path or self.name}: the bundle takes no images")
        return image

    def eval_transform(self) -> v2.Compose:
        """PIL image / uint8 array -> the net's input tensor, exactly as validation prepared it."""
        return self.image_preprocessing.transform(train=False)

    def image_encoder(self) -> ImageEmbedding:
        """The net's image embedding as a module (batched inference, ONNX export)."""
        return ImageEmbedding(self.net, where=str(self.path or self.name))


class ImageEmbedding(nn.Module):
    """``forward(images [B, 3, H, W]) = net.encode_image(images)`` ``[B, D]`` of a net that embeds
    images (CLIP); any other net is refused when wrapped, never silently run as a classifier."""

    def __init__(self, net: nn.Module, where: str = "net") -> None:
        super().__init__()
        if not callable(getattr(net, "encode_image", None)):
            raise BundleError(
                f"{where}: {type(net).__name__} does not embed images (no encode_image)"
            )
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.net.encode_image(images)
        if not isinstance(out, torch.Tensor) or out.dim() != 2:
            raise TypeError("an image encoder must map images to a [B, D] tensor")
        return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _plain(cfg: Any) -> Any:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def save_bundle(
    out_dir: str | Path,
    *,
    name: str,
    net: torch.nn.Module,
    net_cfg: Mapping[str, Any] | DictConfig,
    labels: Mapping[str, list[str]],
    preprocessing: Mapping[str, Any],
    metrics: Mapping[str, float] | None = None,
    train_cfg: DictConfig | None = None,
    extra_files: Mapping[str, str | Path] | None = None,
    data_sets: Sequence[Mapping[str, Any]] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write a bundle atomically to ``out_dir`` (replacing an older one) and return its path.

    ``data_sets``: what the model learnt from (name, licence, image counts), kept in
    ``bundle.json`` so a bundle says whether it has seen real photos. ``extra_meta``: more
    top-level keys of ``bundle.json`` (a frozen trunk's ``shared_trunk`` fingerprint); they may
    not replace the ones written here."""
    out_dir = Path(out_dir)
    net_cfg = _plain(net_cfg)
    target = net_cfg.get("_target_", "")
    if not target.startswith(ALLOWED_TARGET_PREFIX):
        raise BundleError(f"net _target_ {target!r} is outside {ALLOWED_TARGET_PREFIX!r}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    state = {k: v.detach().cpu().contiguous() for k, v in _unwrap(net).state_dict().items()}
    save_file(state, staging / WEIGHTS_FILE)
    for dst, src in (extra_files or {}).items():
        shutil.copy2(src, staging / dst)
    meta = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wardrobe_version": wardrobe.__version__,
        "torch_version": torch.__version__,
        "net": net_cfg,
        "labels": {k: list(v) for k, v in labels.items()},
        "preprocessing": dict(_plain(preprocessing)),
        "weights_sha256": _sha256(staging / WEIGHTS_FILE),
        "extra_files": sorted(extra_files or {}),
        # the same checksum rule for the extra files (e.g. the detector's model.onnx)
        "extra_sha256": {dst: _sha256(staging / dst) for dst in sorted(extra_files or {})},
        "data_sets": [dict(_plain(d)) for d in data_sets or []],
    }
    clash = sorted(set(extra_meta or {}) & set(meta))
    if clash:
        raise BundleError(f"extra_meta may not replace {clash}")
    meta.update({k: _plain(v) for k, v in (extra_meta or {}).items()})
    (staging / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    (staging / METRICS_FILE).write_text(json.dumps(dict(metrics or {}), indent=2, sort_keys=True))
    if train_cfg is not None:
        (staging / CONFIG_FILE).write_text(OmegaConf.to_yaml(train_cfg, resolve=True))
    _replace_dir(staging, out_dir)
    return out_dir


def _unwrap(net: torch.nn.Module) -> torch.nn.Module:
    """The original module behind ``torch.compile`` (its state-dict keys have no prefix)."""
    return getattr(net, "_orig_mod", net)


def _replace_dir(staging: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_meta(path: str | Path) -> dict[str, Any]:
    """The ``bundle.json`` of a bundle directory, with a clear error when it is absent."""
    meta_path = Path(path) / META_FILE
    if not meta_path.is_file():
        raise BundleError(f"{path} is not a model bundle: {META_FILE} is missing")
    meta = json.loads(meta_path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format {meta.get('format_version')} is not {FORMAT_VERSION}"
        )
    return meta


def load_bundle(
    path: str | Path,
    *,
    expected_labels: Mapping[str, list[str]] | None = None,
    expected_net: Mapping[str, Any] | None = None,
    map_location: str | torch.device = "cpu",
) -> Bundle:
    """Rebuild a bundle's network in ``eval()`` mode.

    ``expected_labels`` / ``expected_net`` (key -> value subsets of the stored ones) make the
    load fail loudly when the bundle was trained for another vocabulary or architecture.
    """
    path = Path(path)
    meta = read_meta(path)
    _check_expected("labels", meta["labels"], expected_labels, path)
    _check_expected("net config", meta["net"], expected_net, path)
    weights = path / WEIGHTS_FILE
    if not weights.is_file() or _sha256(weights) != meta["weights_sha256"]:
        raise BundleError(f"{path}: {WEIGHTS_FILE} is missing or does not match its checksum")
    net = build_net(meta["net"])
    try:
        net.load_state_dict(load_file(weights, device=str(map_location)), strict=True)
    except RuntimeError as err:
        raise BundleError(f"{path}: weights do not fit the stored net config: {err}") from err
    net = net.to(map_location).eval()
    if torch.device(map_location).type == "cpu":
        # eager conv nets run 2x as fast channels-last on CPU (Lite0 at 224 px, batch 64: 37
        # against 18 images/s on 2 cores); saving makes every tensor contiguous again
        net = net.to(memory_format=torch.channels_last)
    metrics_path = path / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Bundle(
        name=meta["name"],
        net=net,
        labels=meta["labels"],
        preprocessing=meta["preprocessing"],
        meta=meta,
        metrics=metrics,
        path=path,
    )


def load_model_and_transform(path: str | Path, **load_kwargs: Any) -> tuple[Bundle, v2.Compose]:
    """A bundle ready for inference and the eval transform of its inputs (one call, as
    open_clip's ``create_model_and_transforms``): ``load_bundle(path, **load_kwargs)`` and
    :meth:`Bundle.eval_transform`."""
    bundle = load_bundle(path, **load_kwargs)
    return bundle, bundle.eval_transform()


def build_net(net_cfg: Mapping[str, Any]) -> torch.nn.Module:
    """Instantiate a network from a bundle's config, without loading pretrained weights."""
    target = str(net_cfg.get("_target_", ""))
    if not target.startswith(ALLOWED_TARGET_PREFIX):
        raise BundleError(f"refusing to build {target!r}: only {ALLOWED_TARGET_PREFIX}* classes")
    cfg = dict(net_cfg)
    if "weights" in cfg:  # the bundle's own weights replace any pretrained initialisation
        cfg["weights"] = "none"
    return instantiate(cfg)


def _check_expected(what: str, stored: Mapping, expected: Mapping | None, path: Path) -> None:
    for key, value in (expected or {}).items():
        have = stored.get(key)
        if json.loads(json.dumps(_plain(value))) != have:  # tuples compare as lists
            raise BundleError(
                f"{path}: bundle {what} differ at {key!r}: bundle has {have!r}, expected {value!r}"
            )


def bundle_file(path: str | Path, name: str) -> Path:
    """An extra file of a bundle (``save_bundle(extra_files=...)``), checked against its sha256."""
    path = Path(path)
    meta = read_meta(path)
    file = path / name
    expected = meta.get("extra_sha256", {}).get(name)
    if name not in meta.get("extra_files", []) or not file.is_file():
        raise BundleError(f"{path}: the bundle has no file {name!r}")
    if expected is None or _sha256(file) != expected:
        raise BundleError(f"{path}: {name} does not match its checksum")
    return file


def list_bundles(artifacts_dir: str | Path) -> dict[str, Path]:
    """Bundle name -> directory for every complete bundle under ``artifacts_dir``."""
    root = Path(artifacts_dir)
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and (p / META_FILE).is_file()}


def data_sets_of(data: Any) -> list[dict[str, Any]]:
    """What a datamodule says it trains on (``data_sets()``), else its folder."""
    describe = getattr(data, "data_sets", None)
    if callable(describe):
        return list(describe())
    folder = getattr(data, "data_dir", None) or getattr(data, "df2_root", None)
    return [{"name": str(folder)}] if folder else []
