"""``RealSynthClassificationDataModule``: synthetic crops + real coarse-labelled photos.

Every sample is ``(image, allowed, source, coarse)``:

* ``allowed``: a ``[num_classes]`` 0/1 vector of the fine categories the label allows: one-hot for
  a synthetic crop (its fine category is known), the coarse label's fine categories for a real
  photo (a "longsleeve" may be a t_shirt, henley, polo, sweater, hoodie or sweatshirt). The
  classifier learns it as a partial label (:mod:`wardrobe.models.partial_label`);
* ``source``: :data:`SYNTH` or :data:`REAL`;
* ``coarse``: the real photo's coarse label index in the mapping (``-1`` for synthetic crops).

Validation has two loaders: the synthetic ``val`` crops (loader 0) and the real data set's ``val``
split (loader 1), so one run reports synthetic top-1 and real group/strict accuracy side by side.
Real photos are augmented harder than the drawings (random resized crop from 35% of the photo,
flips, colour jitter): there are few of them, and a user's photo is framed anyhow. Without the
real data set (``real_root`` absent) the module trains on the synthetic crops alone and warns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import ConcatDataset, DataLoader, Dataset
from torchvision.transforms import v2

from wardrobe.data.classification_datamodule import GarmentClassificationDataModule
from wardrobe.data.formats.classfolder import (
    ClassMapping,
    label_counts,
    load_class_mapping,
    read_class_folder,
    split_dir,
)
from wardrobe.data.formats.imagefolder import scan_imagefolder
from wardrobe.data.image_datamodule import log_skip_report
from wardrobe.preprocessing import ImagePreprocessing

log = logging.getLogger(__name__)
SYNTH, REAL = 0, 1


def real_train_transform(preprocessing: ImagePreprocessing) -> v2.Compose:
    """Random resized crop (35-100% of the photo), flips, colour jitter, then ``preprocessing``'s
    scaling and normalisation (its :meth:`~ImagePreprocessing.pipeline`)."""
    return preprocessing.pipeline(
        [
            v2.RandomResizedCrop(
                preprocessing.image_size,
                scale=(0.35, 1.0),
                ratio=(3 / 4, 4 / 3),
                interpolation=preprocessing.interpolation_mode,
            ),
            v2.RandomHorizontalFlip(),
            v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.2, hue=0.02),
        ]
    )


class PartialLabelDataset(Dataset):
    """``(path, allowed indices, source, coarse)`` rows -> ``(image, allowed, source, coarse)``."""

    def __init__(
        self,
        rows: Sequence[tuple[Path, Sequence[int], int, int]],
        num_classes: int,
        transform: Callable,
    ) -> None:
        self.rows = list(rows)
        self.num_classes = int(num_classes)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rows)

    def allowed_vector(self, indices: Sequence[int]) -> torch.Tensor:
        allowed = torch.zeros(self.num_classes)
        allowed[list(indices)] = 1.0
        return allowed

    def __getitem__(self, index: int):
        path, indices, source, coarse = self.rows[index]
        with Image.open(path) as image:
            pixels = self.transform(image.convert("RGB"))
        return pixels, self.allowed_vector(indices), source, coarse


def real_rows(
    root: Path, mapping: ClassMapping, split: str, classes: Sequence[str]
) -> list[tuple[Path, tuple[int, ...], int, int]]:
    """The real photos of ``split`` as dataset rows (allowed indices into ``classes``)."""
    samples, report = read_class_folder(root, mapping, split)
    log_skip_report(report)
    position = {name: i for i, name in enumerate(classes)}
    rows = []
    for sample in samples:
        allowed = tuple(position[c] for c in mapping.labels[sample.label].fine if c in position)
        if allowed:
            rows.append((sample.path, allowed, REAL, sample.index))
    log.info("%s/%s: %s", mapping.name, split, label_counts(samples))
    return rows


class RealSynthClassificationDataModule(GarmentClassificationDataModule):
    """Synthetic crops (``data_dir``) + real coarse-labelled photos (``real_root``).

    Args:
        real_root: the class-folder data set; None or missing: synthetic only (a warning).
        real_mapping: its mapping file (None: clothing-dataset-small's).
        real_repeats: each real training photo is seen this many times an epoch (each time
            augmented anew), balancing a few thousand photos against the synthetic crops.
        **kwargs: :class:`GarmentClassificationDataModule`'s arguments.
    """

    def __init__(
        self,
        *args: Any,
        real_root: str | None = None,
        real_mapping: str | None = None,
        real_repeats: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.real_root = Path(real_root) if real_root else None
        self.mapping = load_class_mapping(real_mapping) if real_mapping else load_class_mapping()
        self.real_repeats = max(1, int(real_repeats))
        self.real_train_transform = real_train_transform(
            ImagePreprocessing.from_dict(self.preprocessing)
        )
        self.data_real_val: Dataset | None = None

    @property
    def has_real(self) -> bool:
        return (
            self.real_root is not None and split_dir(self.real_root, self.mapping, "train").is_dir()
        )

    @property
    def labels(self) -> dict[str, list[str]]:
        return {"classes": self.classes}

    def synthetic_rows(self, split: str) -> list[tuple[Path, tuple[int, ...], int, int]]:
        samples, report = scan_imagefolder(self.data_dir / split, self.classes)
        log_skip_report(report)
        if not samples:
            raise FileNotFoundError(
                f"no images of the configured classes in {self.data_dir / split}"
            )
        return [(path, (index,), SYNTH, -1) for path, index in samples]

    def load_split(self, split: str, train: bool) -> Dataset:
        synthetic = PartialLabelDataset(
            self.synthetic_rows(split),
            self.num_classes,
            self.train_transform if train else self.eval_transform,
        )
        if not (train and self.has_real):
            return synthetic
        real = PartialLabelDataset(
            real_rows(self.real_root, self.mapping, "train", self.classes),
            self.num_classes,
            self.real_train_transform,
        )
        return ConcatDataset([synthetic, *[real] * self.real_repeats])

    def setup(self, stage: str | None = None) -> None:
        if not self.has_real:
            log.warning(
                "real photos not found at %s (paths.real_data_dir, env WARDROBE_REAL_DATA): the "
                "classifier trains and validates on synthetic crops only",
                self.real_root,
            )
        super().setup(stage)
        if (
            self.has_real
            and self.data_real_val is None
            and stage in (None, "fit", "validate", "test")
        ):
            self.data_real_val = PartialLabelDataset(
                real_rows(self.real_root, self.mapping, "val", self.classes),
                self.num_classes,
                self.eval_transform,
            )

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        synthetic = self._loader(self.data_val, shuffle=False)
        if self.data_real_val is None:
            return synthetic
        return [synthetic, self._loader(self.data_real_val, shuffle=False)]

    def test_dataloader(self) -> DataLoader | list[DataLoader]:
        synthetic = self._loader(self.data_test, shuffle=False)
        if self.data_real_val is None:
            return synthetic
        return [synthetic, self._loader(self.data_real_val, shuffle=False)]

    def data_sets(self) -> list[dict[str, Any]]:
        """What the classifier learns from (names, counts, licences), for the bundle's record."""
        out: list[dict[str, Any]] = []
        if self.data_train is not None:
            sizes = [len(d) for d in getattr(self.data_train, "datasets", [self.data_train])]
            out.append({"name": "SynthWardrobe", "licence": "generated", "images": sizes[0]})
            if len(sizes) > 1:
                out.append(
                    {
                        "name": self.mapping.name,
                        "licence": self.mapping.licence,
                        "source": self.mapping.source,
                        "images": sizes[1],
                        "labels": "coarse (partial labels)",
                    }
                )
        return out
