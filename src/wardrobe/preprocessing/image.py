"""How an image becomes a network input: :class:`ImagePreprocessing`, and its transforms.

A bundle records the five keys ``{image_size, resize, mean, std, interpolation}``, so the eval
transform at serving time is the one validation used (timm's ``pretrained_cfg`` idea).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torchvision.transforms import v2

PREPROCESSING_KEYS = frozenset({"image_size", "resize", "mean", "std", "interpolation"})


def interpolation_mode(name: str) -> v2.InterpolationMode:
    """``"bilinear"`` / ``"bicubic"`` / ``"nearest"`` -> torchvision's enum."""
    try:
        return v2.InterpolationMode(name.lower())
    except ValueError as err:
        raise ValueError(f"unknown interpolation {name!r}") from err


@dataclass(frozen=True)
class ImagePreprocessing:
    """Resize the shorter side to ``resize``, centre-crop ``image_size``, normalise by
    ``mean``/``std`` (RGB, on 0..1 values) after ``interpolation`` resampling."""

    image_size: int
    resize: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the types once, here
        set_(self, "image_size", int(self.image_size))
        set_(self, "resize", int(self.resize))
        set_(self, "mean", tuple(float(m) for m in self.mean))
        set_(self, "std", tuple(float(s) for s in self.std))
        set_(self, "interpolation", str(self.interpolation).lower())
        if self.resize < self.image_size:
            raise ValueError(f"resize {self.resize} is smaller than image_size {self.image_size}")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std need 3 values (RGB)")
        interpolation_mode(self.interpolation)

    @classmethod
    def from_dict(cls, preprocessing: Mapping[str, Any]) -> ImagePreprocessing:
        """From a config or ``bundle.json`` block holding exactly the five keys."""
        keys = set(preprocessing)
        if keys != PREPROCESSING_KEYS:
            raise ValueError(
                f"preprocessing needs exactly {sorted(PREPROCESSING_KEYS)}; missing "
                f"{sorted(PREPROCESSING_KEYS - keys)}, unknown {sorted(keys - PREPROCESSING_KEYS)}"
            )
        return cls(**{k: preprocessing[k] for k in PREPROCESSING_KEYS})

    def to_dict(self) -> dict[str, Any]:
        """The plain block a config, a checkpoint or ``bundle.json`` stores."""
        return {
            "image_size": self.image_size,
            "resize": self.resize,
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
        }

    def transform(self, train: bool = False, augment: bool = True) -> v2.Compose:
        """PIL image / uint8 tensor -> normalised float tensor ``[3, image_size, image_size]``.

        Eval: resize the shorter side to ``resize``, centre crop ``image_size``. Train with
        ``augment``: a mild random resized crop and a horizontal flip. No colour, hue or
        brightness jitter: the tagger learns colour from the pixels, and a flip or crop changes
        no label.
        """
        interp = self.interpolation_mode
        if train and augment:
            spatial = [
                v2.RandomResizedCrop(
                    self.image_size, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3), interpolation=interp
                ),
                v2.RandomHorizontalFlip(),
            ]
        else:
            spatial = self._eval_spatial()
        return self.pipeline(spatial)

    def _eval_spatial(self) -> list[Callable]:
        return [
            v2.Resize(self.resize, interpolation=self.interpolation_mode, antialias=True),
            v2.CenterCrop(self.image_size),
        ]

    def prepare_batch(self, images: Sequence[Any]) -> torch.Tensor:
        """The eval network inputs ``[B, 3, image_size, image_size]`` of RGB images (uint8
        ``H x W x 3`` arrays or PIL images): exactly ``transform()``'s values, with only the
        resize and crop done per image (in uint8) and the scaling and normalisation once for
        the batch. Per image, those four small float ops cost more than the resize: each goes
        through torch's thread pool (12 ms a crop on this 2-core CPU against 1.4 ms on one
        thread, 40 ms while another job runs)."""
        spatial = v2.Compose([v2.ToImage(), *self._eval_spatial()])
        crops = torch.stack([spatial(image).as_subclass(torch.Tensor) for image in images])
        return self._scale_and_normalise(crops)

    def _scale_and_normalise(self, images: torch.Tensor) -> torch.Tensor:
        return v2.Normalize(list(self.mean), list(self.std))(
            v2.ToDtype(torch.float32, scale=True)(images)
        )

    @property
    def interpolation_mode(self) -> v2.InterpolationMode:
        """:attr:`interpolation` as torchvision's enum."""
        return interpolation_mode(self.interpolation)

    def pipeline(self, steps: Sequence[Callable]) -> v2.Compose:
        """``steps`` (on the image, e.g. an augmentation of one data source) between the
        conversion to a tensor and this block's scaling and normalisation, so every transform of
        a model ends in the same network input."""
        return v2.Compose([v2.ToImage(), *steps, self._scale_and_normalise])

    def denormalise(self, image: torch.Tensor) -> torch.Tensor:
        """A normalised ``[3, H, W]`` network input -> its 0..1 RGB values (for a picture)."""
        mean = torch.tensor(self.mean).view(3, 1, 1)
        std = torch.tensor(self.std).view(3, 1, 1)
        return (image * std + mean).clamp(0, 1)


def as_image_preprocessing(
    preprocessing: ImagePreprocessing | Mapping[str, Any],
) -> ImagePreprocessing:
    """An :class:`ImagePreprocessing` from itself or from its plain block."""
    if isinstance(preprocessing, ImagePreprocessing):
        return preprocessing
    return ImagePreprocessing.from_dict(preprocessing)


def check_preprocessing(preprocessing: ImagePreprocessing | Mapping[str, Any]) -> dict[str, Any]:
    """Validate an image preprocessing block (exactly the five keys); return it as plain Python."""
    return as_image_preprocessing(preprocessing).to_dict()


def build_transforms(
    preprocessing: ImagePreprocessing | Mapping[str, Any], train: bool = False, augment: bool = True
) -> v2.Compose:
    """:meth:`ImagePreprocessing.transform` of a typed or plain block."""
    return as_image_preprocessing(preprocessing).transform(train=train, augment=augment)
