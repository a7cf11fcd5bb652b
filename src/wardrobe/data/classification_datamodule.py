"""``GarmentClassificationDataModule``: crops in ``<data_dir>/{train,val[,test]}/<class>/``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from wardrobe.data.formats.imagefolder import scan_imagefolder
from wardrobe.data.image_datamodule import ImageDataModule, log_skip_report
from wardrobe.preprocessing import ImagePreprocessing


class ImageListDataset(Dataset):
    """``(path, class index)`` samples -> ``(image tensor, class index)``."""

    def __init__(self, samples: Sequence[tuple[Path, int]], transform: Callable) -> None:
        self.samples = list(samples)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, target = self.samples[index]
        with Image.open(path) as image:
            return self.transform(image.convert("RGB")), target


class GarmentClassificationDataModule(ImageDataModule):
    """Fine-category crops in the ImageFolder layout, classes in the config's order.

    Args:
        data_dir: folder holding ``train/`` and ``val/`` (``test/`` optional).
        classes: class names; index ``i`` is ``classes[i]`` (folders not listed are skipped and
            reported, so indices never depend on which folders exist).
        batch_size: per-device batch size.
        num_workers, pin_memory, persistent_workers: DataLoader settings.
        preprocessing: the model's :class:`~wardrobe.preprocessing.ImagePreprocessing`, or its
            plain ``{image_size, resize, mean, std, interpolation}`` block.
        augment: random resized crop + horizontal flip on ``train``.
        generate_if_missing: run the SynthWardrobe generator when ``train``/``val`` is missing.
        generator: keyword arguments of ``wardrobe.data.synthetic.generate``.
    """

    def __init__(
        self,
        data_dir: str,
        classes: Sequence[str],
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        preprocessing: ImagePreprocessing | Mapping[str, Any] | None = None,
        augment: bool = True,
        generate_if_missing: bool = False,
        generator: Mapping[str, Any] | None = None,
    ) -> None:
        classes = [str(c) for c in classes]
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"classes must be >= 2 distinct names, got {classes}")
        super().__init__(
            data_dir=data_dir,
            batch_size=batch_size,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=persistent_workers,
            preprocessing=preprocessing,
            augment=augment,
            generate_if_missing=generate_if_missing,
            generator=generator,
            classes=classes,
        )

    @property
    def classes(self) -> list[str]:
        """Class names in label order."""
        return list(self.hparams.classes)

    @property
    def num_classes(self) -> int:
        return len(self.hparams.classes)

    @property
    def labels(self) -> dict[str, list[str]]:
        """``{"classes": [...]}``: what the bundle stores to decode predictions."""
        return {"classes": self.classes}

    def split_exists(self, split: str) -> bool:
        return (self.data_dir / split).is_dir()

    def load_split(self, split: str, train: bool) -> ImageListDataset:
        samples, report = scan_imagefolder(self.data_dir / split, self.classes)
        log_skip_report(report)
        if not samples:
            raise FileNotFoundError(
                f"no images of the configured classes in {self.data_dir / split}"
            )
        transform = self.train_transform if train else self.eval_transform
        return ImageListDataset(samples, transform)
