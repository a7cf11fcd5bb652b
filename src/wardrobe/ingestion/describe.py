"""Garment records of ready crops (catalogue items): what ingestion would store for each.

A catalogue item image (a Polyvore product shot, a SynthWardrobe item) is one garment that fills
the image, so there is nothing to detect: :func:`describe_crops` runs the rest of ingestion on it
(classifier with the coarse-class rule's top-1, tagger attributes with their confidences,
background-aware colours with the tagger's evidence, CLIP image embedding), through the same
functions as :class:`~wardrobe.ingestion.pipeline.IngestionPipeline`, so the records the
compatibility model trains on are the records the store holds for a user's garments.

:func:`build_item_encoder` is the polyvore datamodule's ``build_encoder``: kind ``garments``
gives an encoder of these records as feature vectors
(:func:`wardrobe.data.garment_features.garment_features`); other kinds go to
:func:`wardrobe.models.feature_encoder.build_feature_encoder`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from wardrobe.artifacts import read_meta
from wardrobe.data.garment_features import feature_dim, garment_caption, garment_features
from wardrobe.data.item_features import (
    GARMENTS,
    FeatureEncoder,
    garment_model_shas,
    image_fingerprint,
    resolve_encoder_spec,
)
from wardrobe.ingestion import garments as g
from wardrobe.ingestion.models import IngestionModels
from wardrobe.ingestion.pipeline import IngestSettings
from wardrobe.models.feature_encoder import build_feature_encoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Described:
    """Records (``GarmentIn``-shaped dicts) and L2-normalised CLIP embeddings of crops."""

    records: list[dict[str, Any]]
    image_embeddings: np.ndarray  # [N, D]
    text_embeddings: np.ndarray  # [N, D]: of each record's caption


def describe_crops(
    models: IngestionModels, crops: Sequence[np.ndarray], settings: IngestSettings | None = None
) -> Described:
    """The garment record of each RGB crop, as ingestion makes it (no detector: whole crop)."""
    s = settings or IngestSettings()
    probs, heads, embeddings, lengths = models.analyse_crops(list(crops), s.batch_size)
    records = []
    for k, crop in enumerate(crops):
        choice = g.choose_category(probs[k], None, s.top_k, s.min_coarse_mass)
        attrs = g.attributes(heads, k, s.multilabel_threshold)
        length = g.length_answer(None if lengths is None else lengths[k])
        g.add_length(attrs, choice.category, length)
        extracted = g.colours(crop, s.colour_clusters, s.colour_min_share, s.colour_foreground)
        tagger_colour = heads["colour"][k] if "colour" in heads else None
        decision = g.decide_colours(extracted, tagger_colour, s.tagger_colour_confident)
        attrs["colours"] = decision.colours
        records.append(
            {
                "category": choice.category,
                "category_confidence": min(max(choice.confidence, 0.0), 1.0),
                "attributes": attrs,
            }
        )
    captions = [garment_caption(r) for r in records]
    text = models.embed_text(captions) if captions else np.zeros_like(embeddings)
    return Described(records, embeddings, np.asarray(text, np.float32))


def read_rgb(path: str | Path) -> np.ndarray | None:
    """An image file as RGB uint8, or None when it cannot be read."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def describe_images(
    models: IngestionModels,
    paths: Sequence[str | Path],
    settings: IngestSettings | None = None,
    chunk: int = 256,
) -> tuple[Described, list[int]]:
    """:func:`describe_crops` of image files; also the indices of unreadable ones (left out)."""
    records, images, texts, unreadable = [], [], [], []
    for start in range(0, len(paths), chunk):
        crops, kept = [], []
        for i in range(start, min(start + chunk, len(paths))):
            rgb = read_rgb(paths[i])
            if rgb is None:
                unreadable.append(i)
            else:
                crops.append(rgb)
                kept.append(i)
        if crops:
            d = describe_crops(models, crops, settings)
            records += d.records
            images.append(d.image_embeddings)
            texts.append(d.text_embeddings)
    dim = models.embedding_dim
    stack = lambda xs: np.concatenate(xs) if xs else np.zeros((0, dim), np.float32)  # noqa: E731
    return Described(records, stack(images), stack(texts)), unreadable


def garment_encoder(
    spec: Mapping[str, Any], settings: IngestSettings | None = None
) -> FeatureEncoder:
    """The ``garments`` encoder of ``spec``: item images -> feature vectors of their records."""
    resolved = resolve_encoder_spec(spec)
    settings = settings or IngestSettings()  # onnx: the faster backend (benchmarks/ingest.py)
    parts = resolved["parts"]
    clip = read_meta(Path(resolved["path"]) / "clip")
    dim = feature_dim(parts, int(clip["net"]["embed_dim"]))
    loaded: list[IngestionModels] = []

    def _models() -> IngestionModels:  # loaded only when something is not cached
        if not loaded:
            loaded.append(
                IngestionModels.load(resolved["path"], backend=settings.backend, detector=False)
            )
        return loaded[0]

    def encode(paths: Sequence[Path]) -> tuple[torch.Tensor, list[int]]:
        folders = {Path(p).parent for p in paths}
        if len(folders) == 1:  # a catalogue folder: its records are cached for any feature set
            ids, every = describe_catalogue(folders.pop(), resolved["path"], settings=settings)
            where = {item: k for k, item in enumerate(ids)}
            unreadable = [i for i, p in enumerate(paths) if Path(p).stem not in where]
            take = [where[Path(p).stem] for p in paths if Path(p).stem in where]
            described = Described(
                [every.records[k] for k in take], every.image_embeddings[take],
                every.text_embeddings[take],
            )  # fmt: skip
        else:
            described, unreadable = describe_images(_models(), paths, settings)
        rows = garment_features(
            described.records, parts, described.image_embeddings, described.text_embeddings
        )
        out = torch.full((len(paths), dim), float("nan"))
        kept = [i for i in range(len(paths)) if i not in set(unreadable)]
        if kept:
            out[torch.as_tensor(kept)] = torch.from_numpy(rows)
        log.info("described %d item images (%d unreadable)", len(kept), len(unreadable))
        return out, unreadable

    return FeatureEncoder(module=None, transform=None, dim=dim, encode_paths=encode)


def build_item_encoder(spec: Mapping[str, Any] | None) -> FeatureEncoder:
    """The encoder of any item-feature spec (the polyvore datamodule's ``build_encoder``)."""
    if resolve_encoder_spec(spec)["kind"] == GARMENTS:
        return garment_encoder(spec)  # type: ignore[arg-type]
    return build_feature_encoder(spec)


def describe_catalogue(
    images_dir: str | Path,
    artifacts_dir: str | Path,
    cache_dir: str | Path | None = None,
    settings: IngestSettings | None = None,
) -> tuple[list[str], Described]:
    """Item ids (the ``*.jpg`` stems of ``images_dir``, sorted; unreadable images left out and
    logged) and their :class:`Described`, cached in ``cache_dir`` (default
    ``<images_dir>/../features``) under the models' weights and the images' sizes and times: a
    second call reads the file."""
    images_dir = Path(images_dir)
    paths = sorted(images_dir.glob("*.jpg"))
    ids = [p.stem for p in paths]
    shas = garment_model_shas({"kind": GARMENTS, "path": str(artifacts_dir)})
    prints = [image_fingerprint(p) for p in paths]
    key = hashlib.sha256(json.dumps([shas, ids, prints]).encode()).hexdigest()[:16]
    cache = Path(cache_dir or images_dir.parent / "features") / f"records-{key}.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        ids = [str(i) for i in z["ids"]] if "ids" in z else ids
        return ids, Described(json.loads(str(z["records"])), z["image"], z["text"])
    settings = settings or IngestSettings()  # onnx: the faster backend (benchmarks/ingest.py)
    models = IngestionModels.load(artifacts_dir, backend=settings.backend, detector=False)
    described, bad = describe_images(models, paths, settings)
    if bad:
        log.warning("%d unreadable item images in %s left out", len(bad), images_dir)
    ids = [item for k, item in enumerate(ids) if k not in set(bad)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        ids=np.array(ids),
        records=json.dumps(described.records),
        image=described.image_embeddings,
        text=described.text_embeddings,
    )
    tmp.replace(cache)
    return ids, described
