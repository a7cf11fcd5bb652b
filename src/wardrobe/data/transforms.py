"""Image transforms built from a ``preprocessing`` dict, shared by training and serving.

``preprocessing`` = ``{image_size, resize, mean, std, interpolation}``: the bundle records it, so
the eval transform at serving time is the one validation used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torchvision.transforms import v2

PREPROCESSING_KEYS = frozenset({"image_size", "resize", "mean", "std", "interpolation"})


def check_preprocessing(preprocessing: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a preprocessing dict (exactly the five keys); return it as plain Python."""
    keys = set(preprocessing)
    if keys != PREPROCESSING_KEYS:
        raise ValueError(
            f"preprocessing needs exactly {sorted(PREPROCESSING_KEYS)}; missing "
            f"{sorted(PREPROCESSING_KEYS - keys)}, unknown {sorted(keys - PREPROCESSING_KEYS)}"
        )
    out = {
        "image_size": int(preprocessing["image_size"]),
        "resize": int(preprocessing["resize"]),
        "mean": [float(m) for m in preprocessing["mean"]],
        "std": [float(s) for s in preprocessing["std"]],
        "interpolation": str(preprocessing["interpolation"]).lower(),
    }
    if out["resize"] < out["image_size"]:
        raise ValueError(f"resize {out['resize']} is smaller than image_size {out['image_size']}")
    if len(out["mean"]) != 3 or len(out["std"]) != 3:
        raise ValueError("mean and std need 3 values (RGB)")
    interpolation_mode(out["interpolation"])
    return out


def interpolation_mode(name: str) -> v2.InterpolationMode:
    """``"bilinear"`` / ``"bicubic"`` / ``"nearest"`` -> torchvision's enum."""
    try:
        return v2.InterpolationMode(name.lower())
    except ValueError as err:
        raise ValueError(f"unknown interpolation {name!r}") from err


def build_transforms(
    preprocessing: Mapping[str, Any], train: bool = False, augment: bool = True
) -> v2.Compose:
    """PIL image / uint8 tensor -> normalised float tensor ``[3, image_size, image_size]``.

    Eval: resize the shorter side to ``resize``, centre crop ``image_size``. Train with
    ``augment``: a mild random resized crop and a horizontal flip. No colour, hue or brightness
    jitter: the tagger learns colour from the pixels, and a flip or crop changes no label.
    """
    p = check_preprocessing(preprocessing)
    interp = interpolation_mode(p["interpolation"])
    if train and augment:
        spatial = [
            v2.RandomResizedCrop(
                p["image_size"], scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3), interpolation=interp
            ),
            v2.RandomHorizontalFlip(),
        ]
    else:
        spatial = [
            v2.Resize(p["resize"], interpolation=interp, antialias=True),
            v2.CenterCrop(p["image_size"]),
        ]
    return v2.Compose(
        [
            v2.ToImage(),
            *spatial,
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(p["mean"], p["std"]),
        ]
    )
