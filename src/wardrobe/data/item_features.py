"""Item features from a frozen image encoder, computed once and cached on disk.

The outfit-compatibility model does not look at pixels: it reads one feature vector per item,
made by a frozen image encoder. An *encoder spec* (a plain dict, recorded in the bundle's
``preprocessing`` so serving makes the same features) names that encoder:

* ``{"kind": "backbone", "name": "tf_efficientnet_lite0", "weights": "offline_imagenet",
  "image": {image_size, resize, mean, std, interpolation}}``: a pooled image backbone (default:
  the offline ImageNet EfficientNet-Lite0 at 128 px, the size of the generated item images, no
  crop).
* ``{"kind": "bundle", "path": "model_artifacts/clip"}``: the image tower of a trained bundle
  (e.g. our CLIP model): its net's ``encode_image`` on images prepared with the bundle's own
  preprocessing.
* ``{"kind": "garments", "path": "model_artifacts", "parts": [...]}``: what serving knows of a
  stored garment, made from the item image by the ingestion models (classifier, tagger, colour
  extractor, CLIP image and text towers) and turned into a vector by
  :func:`wardrobe.data.garment_features.garment_features` (``parts`` = the feature set).

This module owns the spec, the cache file and the batched encoding; it builds no encoder. The
caller hands one in: :func:`wardrobe.models.feature_encoder.build_feature_encoder` (the
datamodule's ``build_encoder``), so the data layer never imports model code.

The cache is ``<cache_dir>/<encoder name>-<encoder id>.safetensors``: one float32 matrix
``features [N, D]`` whose rows are labelled by the item ids stored in the file's metadata (with
each image's size and modification time, so a rewritten image is encoded again), plus a
``.json`` beside it with the resolved spec. The *encoder id* is a hash of the resolved spec
(and, for a bundle, of its weights), so a changed encoder gets a new file and never reads
features made by another one; items added later are encoded and appended, the rest reused.

No Lightning here: serving embeds garments with the same spec.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import DataLoader, Dataset

from wardrobe.artifacts import read_meta
from wardrobe.data.formats.report import SkipReport
from wardrobe.data.garment_features import DEFAULT_PARTS, check_parts
from wardrobe.hparams import plain
from wardrobe.preprocessing import check_preprocessing

log = logging.getLogger(__name__)

BACKBONE, BUNDLE, GARMENTS = "backbone", "bundle", "garments"
# the bundles whose outputs make a garment's record and embeddings (kind ``garments``)
GARMENT_MODELS = ("classifier", "tagger", "clip")
# The default encoder: offline ImageNet EfficientNet-Lite0 on the whole 128 px item image
# ([-1, 1] inputs, as its TF weights expect; no crop, the garment fills the image).
DEFAULT_ENCODER: Mapping[str, Any] = {
    "kind": BACKBONE,
    "name": "tf_efficientnet_lite0",
    "weights": "offline_imagenet",
    "image": {
        "image_size": 128,
        "resize": 128,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
        "interpolation": "bicubic",
    },
}
FEATURES_KEY = "features"


def resolve_encoder_spec(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """A complete, validated, plain encoder spec (``None`` -> :data:`DEFAULT_ENCODER`)."""
    spec = plain(copy.deepcopy(dict(spec if spec is not None else DEFAULT_ENCODER)), "encoder")
    kind = spec.get("kind", BACKBONE)
    if kind == BACKBONE:
        unknown = set(spec) - {"kind", "name", "weights", "image"}
        if unknown:
            raise ValueError(f"encoder: unknown keys {sorted(unknown)} for kind={BACKBONE!r}")
        image = spec.get("image") or DEFAULT_ENCODER["image"]
        return {
            "kind": BACKBONE,
            "name": str(spec.get("name", DEFAULT_ENCODER["name"])),
            "weights": str(spec.get("weights", DEFAULT_ENCODER["weights"])),
            "image": check_preprocessing(image),
        }
    if kind == BUNDLE:
        if not spec.get("path"):
            raise ValueError("encoder kind='bundle' needs `path` (a model_artifacts/ bundle)")
        unknown = set(spec) - {"kind", "path"}
        if unknown:
            raise ValueError(f"encoder: unknown keys {sorted(unknown)} for kind={BUNDLE!r}")
        return {"kind": BUNDLE, "path": str(spec["path"])}
    if kind == GARMENTS:
        if not spec.get("path"):
            raise ValueError("encoder kind='garments' needs `path` (the model_artifacts/ folder)")
        unknown = set(spec) - {"kind", "path", "parts"}
        if unknown:
            raise ValueError(f"encoder: unknown keys {sorted(unknown)} for kind={GARMENTS!r}")
        parts = check_parts(spec.get("parts") or DEFAULT_PARTS)
        return {"kind": GARMENTS, "path": str(spec["path"]), "parts": list(parts)}
    raise ValueError(f"encoder kind must be {BACKBONE!r}, {BUNDLE!r} or {GARMENTS!r}, got {kind!r}")


def garment_model_shas(spec: Mapping[str, Any]) -> dict[str, str]:
    """``weights_sha256`` of each bundle a ``garments`` encoder spec reads (classifier, tagger,
    clip under its ``path``)."""
    root = Path(resolve_encoder_spec(spec)["path"])
    return {name: read_meta(root / name)["weights_sha256"] for name in GARMENT_MODELS}


def encoder_id(spec: Mapping[str, Any] | None) -> str:
    """A short hash identifying the features an encoder spec produces."""
    resolved = resolve_encoder_spec(spec)
    identity: dict[str, Any] = dict(resolved)
    if resolved["kind"] == BUNDLE:
        # The bundle's weights, not its path, decide the features.
        identity = {"kind": BUNDLE, "weights_sha256": read_meta(resolved["path"])["weights_sha256"]}
    elif resolved["kind"] == GARMENTS:
        identity = {
            "kind": GARMENTS,
            "parts": resolved["parts"],
            "weights_sha256": garment_model_shas(resolved),
        }
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encoder_label(spec: Mapping[str, Any] | None) -> str:
    """A readable file-name part: the backbone name or the bundle folder name."""
    resolved = resolve_encoder_spec(spec)
    if resolved["kind"] == GARMENTS:
        return GARMENTS
    name = resolved["name"] if resolved["kind"] == BACKBONE else Path(resolved["path"]).name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "encoder"


@dataclass
class FeatureEncoder:
    """A frozen image encoder: ``module`` maps ``transform``-ed images ``[B, 3, H, W]`` to
    ``[B, dim]`` (built by :func:`wardrobe.models.feature_encoder.build_feature_encoder`).

    ``encode_paths`` (image paths -> ``(features [N, dim], unreadable indices)``), when given,
    encodes instead (an encoder that is more than one module, such as the ingestion models of
    kind ``garments``)."""

    module: nn.Module | None
    transform: Callable[[Image.Image], torch.Tensor] | None
    dim: int
    encode_paths: Callable[[Sequence[Path]], tuple[torch.Tensor, list[int]]] | None = None


# spec (resolved) -> the frozen encoder it names
EncoderBuilder = Callable[[Mapping[str, Any]], FeatureEncoder]


class _ImageFiles(Dataset):
    """``(index, image tensor)`` for readable images, ``(index, None)`` for the others."""

    def __init__(self, paths: Sequence[Path], transform: Callable) -> None:
        self.paths, self.transform = list(paths), transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None]:
        try:
            with Image.open(self.paths[i]) as image:
                return i, self.transform(image.convert("RGB"))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return i, None


def _collate_images(batch):
    good = [(i, x) for i, x in batch if x is not None]
    bad = [i for i, x in batch if x is None]
    images = torch.stack([x for _, x in good]) if good else None
    return [i for i, _ in good], images, bad


def encode_images(
    encoder: FeatureEncoder,
    paths: Sequence[Path],
    batch_size: int = 64,
    num_workers: int = 0,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, list[int]]:
    """Encode ``paths`` in batches under ``inference_mode``.

    Returns ``(features [len(paths), dim] float32, indices of unreadable images)``; the rows of
    unreadable images are NaN.
    """
    if encoder.encode_paths is not None:
        return encoder.encode_paths(list(paths))
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    module = encoder.module.to(device).eval()
    out = torch.full((len(paths), encoder.dim), float("nan"))
    unreadable: list[int] = []
    loader = DataLoader(
        _ImageFiles(paths, encoder.transform),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=_collate_images,
    )
    with torch.inference_mode():
        for indices, images, bad in loader:
            unreadable.extend(bad)
            if images is not None:
                feats = module(images.to(device)).float().cpu()
                out[torch.as_tensor(indices)] = feats
    return out, unreadable


# --------------------------------------------------------------------------------- the cache


def read_feature_file(path: str | os.PathLike) -> tuple[list[str], torch.Tensor, dict[str, str]]:
    """``(item_ids, features [N, D], metadata)`` of a cache file."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata() or {})
        features = handle.get_tensor(FEATURES_KEY)
    item_ids = json.loads(metadata.get("item_ids", "[]"))
    if len(item_ids) != features.shape[0]:
        raise ValueError(f"{path}: {len(item_ids)} item ids for {features.shape[0]} rows")
    return item_ids, features, metadata


def write_feature_file(
    path: str | os.PathLike,
    item_ids: Sequence[str],
    features: torch.Tensor,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write ``features [N, D]`` with its row labels ``item_ids`` atomically (safetensors)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**dict(metadata or {}), "item_ids": json.dumps(list(item_ids))}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file({FEATURES_KEY: features.float().contiguous()}, tmp, metadata=meta)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is shared like any data file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def image_fingerprint(path: str | os.PathLike) -> str:
    """``"<size>:<mtime_ns>"`` of a file: a rewritten image gets a new fingerprint."""
    stat = Path(path).stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


class FeatureCache:
    """Features of one encoder spec under ``cache_dir``, keyed by item id.

    :meth:`ensure` encodes only the items the file lacks, or whose image changed since (size or
    modification time): nothing the second time, when the encoder is not even built. A
    different spec has a different id, hence a different file. ``build_encoder(spec)`` makes
    the encoder when one is needed.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike,
        spec: Mapping[str, Any] | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        build_encoder: EncoderBuilder | None = None,
    ) -> None:
        self.spec = resolve_encoder_spec(spec)
        self.build_encoder = build_encoder
        self.id = encoder_id(self.spec)
        stem = f"{encoder_label(self.spec)}-{self.id}"
        self.path = Path(cache_dir) / f"{stem}.safetensors"
        self.info_path = Path(cache_dir) / f"{stem}.json"
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)

    def load(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """``({item_id: feature}, {item_id: image fingerprint})`` from the file (empty when
        absent or made by another encoder)."""
        if not self.path.is_file():
            return {}, {}
        item_ids, features, metadata = read_feature_file(self.path)
        if metadata.get("encoder_id") != self.id:
            log.warning("%s was not made by encoder %s: ignored", self.path, self.id)
            return {}, {}
        prints = json.loads(metadata.get("fingerprints", "[]")) or [""] * len(item_ids)
        return (
            dict(zip(item_ids, features, strict=True)),
            dict(zip(item_ids, prints, strict=True)),
        )

    def ensure(
        self,
        images: Mapping[str, str | os.PathLike],
        report: SkipReport | None = None,
        encoder: FeatureEncoder | None = None,
    ) -> dict[str, torch.Tensor]:
        """Features of every item in ``images`` (``{item_id: image path}``) that can be read.

        Missing or unreadable images are counted in ``report`` (``missing_image``,
        ``unreadable_image``) and left out.
        """
        report = report if report is not None else SkipReport(name="item features")
        cached, prints = self.load()
        current: dict[str, str] = {}
        for item_id in sorted(images):
            try:
                current[item_id] = image_fingerprint(images[item_id])
            except OSError:
                report.add("missing_image", item_id)
        todo = [i for i in current if i not in cached or prints.get(i) != current[i]]
        if todo:
            log.info("encoding %d item images with encoder %s %s", len(todo), self.id, self.spec)
            encoder = encoder or self._encoder()
            feats, unreadable = encode_images(
                encoder, [Path(images[i]) for i in todo], self.batch_size, self.num_workers
            )
            bad = set(unreadable)
            for k in sorted(bad):
                report.add("unreadable_image", todo[k])
            for k, item_id in enumerate(todo):
                cached.pop(item_id, None)
                if k not in bad:
                    cached[item_id], prints[item_id] = feats[k], current[item_id]
            self._save(cached, prints, encoder.dim)
        return {i: cached[i] for i in current if i in cached}

    def _encoder(self) -> FeatureEncoder:
        if self.build_encoder is None:
            raise ValueError(
                f"{self.path.name} lacks features and no encoder builder was given: pass "
                "build_encoder=wardrobe.models.feature_encoder.build_feature_encoder (the "
                "polyvore data config does), or ready features"
            )
        return self.build_encoder(self.spec)

    def _save(
        self, features: Mapping[str, torch.Tensor], prints: Mapping[str, str], dim: int
    ) -> None:
        ids = sorted(features)
        if not ids:
            return
        matrix = torch.stack([features[i] for i in ids])
        meta = {"encoder_id": self.id, "fingerprints": json.dumps([prints.get(i, "") for i in ids])}
        write_feature_file(self.path, ids, matrix, meta)
        info = {"encoder_id": self.id, "encoder": self.spec, "feature_dim": dim, "items": len(ids)}
        self.info_path.write_text(json.dumps(info, indent=2, sort_keys=True))


def stack_features(
    features: Mapping[str, Any], item_ids: Iterable[str] | None = None
) -> tuple[torch.Tensor, dict[str, int]]:
    """``{item_id: vector}`` -> ``(matrix [N, D] float32, {item_id: row})``."""
    ids = list(item_ids) if item_ids is not None else sorted(features)
    if not ids:
        raise ValueError("no item features")
    rows = [torch.as_tensor(features[i], dtype=torch.float32).reshape(-1) for i in ids]
    dims = {r.numel() for r in rows}
    if len(dims) != 1:
        raise ValueError(f"item features have different sizes: {sorted(dims)}")
    return torch.stack(rows), {item_id: k for k, item_id in enumerate(ids)}
