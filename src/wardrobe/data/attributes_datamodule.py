"""``AttributeDataModule``: attribute rows in ``<data_dir>/{train,val[,test]}.jsonl``.

A batch is ``(images, targets, masks)`` with one entry per head of ``taxonomy.ATTRIBUTE_HEADS``:
``targets["colour"]`` (class index of ``colour_primary``), ``"pattern"``, ``"fit"`` (class
indices), ``"formality"`` (float), ``"seasons"``, ``"style_tags"`` (multi-hot floats); and
``masks[head]`` False where the row lacks that label (its target is then a placeholder 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from wardrobe.data.formats.attributes import AttributeRow, read_attribute_rows
from wardrobe.data.formats.report import SkipReport
from wardrobe.data.image_datamodule import ImageDataModule, log_skip_report
from wardrobe.preprocessing import ImagePreprocessing
from wardrobe.taxonomy import ATTRIBUTE_HEADS

# Row field holding each head's label (the tagger predicts the primary colour).
HEAD_FIELDS: Mapping[str, str] = {"colour": "colour_primary"}


def head_field(head: str) -> str:
    """The ``AttributeRow`` field a head learns from."""
    return HEAD_FIELDS.get(head, head)


def encode_row(row: AttributeRow) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(targets, masks)`` of one row, one entry per attribute head."""
    targets: dict[str, torch.Tensor] = {}
    masks: dict[str, torch.Tensor] = {}
    for head, (kind, vocabulary) in ATTRIBUTE_HEADS.items():
        value = getattr(row, head_field(head))
        masks[head] = torch.tensor(value is not None)
        if kind == "multiclass":
            targets[head] = torch.tensor(0 if value is None else vocabulary.index(value))
        elif kind == "multilabel":
            hot = torch.zeros(len(vocabulary))
            for tag in value or ():
                hot[vocabulary.index(tag)] = 1.0
            targets[head] = hot
        else:
            targets[head] = torch.tensor(0.0 if value is None else float(value))
    return targets, masks


class AttributeDataset(Dataset):
    """Attribute rows -> ``(image tensor, targets dict, masks dict)``."""

    def __init__(self, rows: Sequence[AttributeRow], root: Path, transform: Callable) -> None:
        self.rows = list(rows)
        self.root = Path(root)
        self.transform = transform
        self.encoded = [encode_row(row) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict, dict]:
        with Image.open(self.root / self.rows[index].image) as image:
            pixels = self.transform(image.convert("RGB"))
        targets, masks = self.encoded[index]
        return pixels, targets, masks

    def label_counts(self) -> dict[str, int]:
        """Number of rows labelled, per head."""
        return {h: sum(int(m[h]) for _, m in self.encoded) for h in ATTRIBUTE_HEADS}


class AttributeDataModule(ImageDataModule):
    """Garment images with attribute labels (SynthWardrobe, or rows mapped from iMaterialist).

    Args: as :class:`~wardrobe.data.classification_datamodule.GarmentClassificationDataModule`
    without ``classes``; ``data_dir`` holds ``train.jsonl`` and ``val.jsonl`` (``test.jsonl``
    optional), image paths relative to it.
    """

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        preprocessing: ImagePreprocessing | Mapping[str, Any] | None = None,
        augment: bool = True,
        generate_if_missing: bool = False,
        generator: Mapping[str, Any] | None = None,
    ) -> None:
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
        )

    @property
    def labels(self) -> dict[str, list[str]]:
        """``{head: vocabulary}`` (empty for the regression): what the bundle stores."""
        return {head: list(vocabulary) for head, (_, vocabulary) in ATTRIBUTE_HEADS.items()}

    def split_file(self, split: str) -> Path:
        return self.data_dir / f"{split}.jsonl"

    def split_exists(self, split: str) -> bool:
        return self.split_file(split).is_file()

    def load_split(self, split: str, train: bool) -> AttributeDataset:
        path = self.split_file(split)
        rows, report = read_attribute_rows(path)
        missing = SkipReport(name=f"attributes {path.name}: image files")
        kept = []
        for row in rows:
            if (path.parent / row.image).is_file():
                kept.append(row)
            else:
                missing.add("missing_image_file", row.image)
        log_skip_report(report.merge(missing))
        if not kept:
            raise FileNotFoundError(f"no usable rows in {path}")
        transform = self.train_transform if train else self.eval_transform
        return AttributeDataset(kept, path.parent, transform)
