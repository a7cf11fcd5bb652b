"""The frozen image encoders of item features (:mod:`wardrobe.data.item_features` specs).

The data layer caches features but builds no encoder (it imports no model code); the polyvore
data config hands it :func:`build_feature_encoder` as ``build_encoder``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from wardrobe.artifacts import load_model_and_transform
from wardrobe.data.item_features import BACKBONE, FeatureEncoder, resolve_encoder_spec
from wardrobe.models.components.backbones import build_backbone
from wardrobe.preprocessing import build_transforms


def build_feature_encoder(spec: Mapping[str, Any] | None) -> FeatureEncoder:
    """Build the frozen encoder of ``spec`` in eval mode (loads weights; no download).

    ``kind: backbone``: the pooled backbone on the spec's ``image`` preprocessing;
    ``kind: bundle``: the bundle net's ``encode_image`` on the bundle's own preprocessing.
    """
    resolved = resolve_encoder_spec(spec)
    if resolved["kind"] == BACKBONE:
        module, dim = build_backbone(resolved["name"], resolved["weights"])
        transform = build_transforms(resolved["image"], train=False)
    else:
        bundle, transform = load_model_and_transform(resolved["path"])
        module = bundle.image_encoder()
        size = bundle.preprocessing_spec.image.image_size
        with torch.inference_mode():
            dim = int(module.eval()(torch.zeros(1, 3, size, size)).shape[-1])
    module.eval().requires_grad_(False)
    return FeatureEncoder(module=module, transform=transform, dim=int(dim))
