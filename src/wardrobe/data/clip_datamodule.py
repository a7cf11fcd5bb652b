"""``ImageTextDataModule``: (garment image, caption token ids) pairs for CLIP training.

Sources (``source=``):

* ``attributes`` (default): attribute rows in ``<data_dir>/{train,val[,test]}.jsonl`` (image
  paths relative to ``data_dir``; SynthWardrobe's by default), captioned from their labels by
  :func:`wardrobe.data.captions.caption_for`. Rows without any captioned label are skipped.
* ``polyvore``: a Polyvore Outfits root (``<data_dir>/<variant>/{train,valid,test}.json``,
  ``images/``, ``polyvore_item_metadata.json``): every item of a split's outfits, captioned with
  its title (:func:`~wardrobe.data.captions.caption_for_item`). In the ``nondisjoint`` variant
  an item can appear in several splits; val/test keep only items absent from train, so the
  retrieval metrics are on unseen images.

A batch is ``(images [B, 3, H, W], tokens [B, context_length])``. ``preprocessing`` is the
model's CLIP block: the image keys plus ``tokenizer`` and ``context_length``
(:mod:`wardrobe.preprocessing.text`); captions are tokenized once, when a split is loaded.
Training augmentation is spatial only (crop, flip; no colour jitter): captions name colours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from wardrobe.data.captions import (
    CAPTION_TEMPLATE,
    caption_for,
    caption_for_item,
    caption_words,
    has_caption_attributes,
)
from wardrobe.data.formats.attributes import read_attribute_rows
from wardrobe.data.formats.polyvore import read_item_metadata, read_outfits
from wardrobe.data.formats.report import SkipReport
from wardrobe.data.image_datamodule import ImageDataModule, log_skip_report
from wardrobe.preprocessing.text import split_preprocessing, tokenize

SOURCES: tuple[str, ...] = ("attributes", "polyvore")
POLYVORE_SPLIT_FILES = {"train": "train", "val": "valid", "test": "test"}


class ImageTextDataset(Dataset):
    """Image files and their captions -> ``(image tensor, token ids)``."""

    def __init__(
        self,
        images: Sequence[Path],
        captions: Sequence[str],
        transform: Callable,
        tokenizer: str,
        context_length: int,
    ) -> None:
        if len(images) != len(captions):
            raise ValueError(f"{len(images)} images but {len(captions)} captions")
        self.images = [Path(p) for p in images]
        self.captions = list(captions)
        self.transform = transform
        self.tokens = tokenize(self.captions, context_length, tokenizer)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        with Image.open(self.images[index]) as image:
            pixels = self.transform(image.convert("RGB"))
        return pixels, self.tokens[index]


class ImageTextDataModule(ImageDataModule):
    """Garment images with captions, for :class:`~wardrobe.models.clip_module.ClipFinetuneModule`.

    Args: as :class:`~wardrobe.data.attributes_datamodule.AttributeDataModule`, plus
        source: ``attributes`` (rows captioned from their labels) or ``polyvore`` (item titles).
        variant: the Polyvore variant (``nondisjoint``/``disjoint``); ``polyvore`` only.

    ``preprocessing`` must hold ``tokenizer`` and ``context_length`` besides the image keys.
    """

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
        augment: bool = True,
        generate_if_missing: bool = False,
        generator: Mapping[str, Any] | None = None,
        source: str = "attributes",
        variant: str = "nondisjoint",
    ) -> None:
        if preprocessing is None:
            raise ValueError("preprocessing is required (the model config's `preprocessing`)")
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
        image, text = split_preprocessing(preprocessing)
        super().__init__(
            data_dir=data_dir,
            batch_size=batch_size,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=persistent_workers,
            preprocessing=image,
            augment=augment,
            generate_if_missing=generate_if_missing,
            generator=generator,
            source=source,
            variant=str(variant),
        )
        # The stored block is the whole one (image + text keys), as __init__ takes it.
        self.hparams["preprocessing"] = {**image, **text}
        self.tokenizer, self.context_length = text["tokenizer"], text["context_length"]

    @property
    def image_preprocessing(self) -> dict[str, Any]:
        """The image keys of ``preprocessing`` (what ``build_transforms`` takes)."""
        return split_preprocessing(self.hparams.preprocessing)[0]

    @property
    def labels(self) -> dict[str, list[str]]:
        """What the bundle stores: the tokenizer, how captions were made, their words."""
        labels = {"tokenizer": [self.tokenizer]}
        if self.hparams.source == "attributes":
            labels["captions"] = [f"attributes: {CAPTION_TEMPLATE}"]
            labels["caption_words"] = caption_words()
        else:
            labels["captions"] = ["polyvore: item titles"]
        return labels

    # ------------------------------------------------------------------------- splits
    def split_file(self, split: str) -> Path:
        """The file listing ``split``'s pairs."""
        if self.hparams.source == "polyvore":
            return self.data_dir / self.hparams.variant / f"{POLYVORE_SPLIT_FILES[split]}.json"
        return self.data_dir / f"{split}.jsonl"

    def split_exists(self, split: str) -> bool:
        return self.split_file(split).is_file()

    def load_split(self, split: str, train: bool) -> ImageTextDataset:
        if self.hparams.source == "polyvore":
            images, captions, report = self._polyvore_pairs(split)
        else:
            images, captions, report = self._attribute_pairs(split)
        log_skip_report(report)
        if not images:
            raise FileNotFoundError(f"no usable image-caption pairs in {self.split_file(split)}")
        transform = self.train_transform if train else self.eval_transform
        return ImageTextDataset(images, captions, transform, self.tokenizer, self.context_length)

    def _attribute_pairs(self, split: str) -> tuple[list[Path], list[str], SkipReport]:
        path = self.split_file(split)
        rows, report = read_attribute_rows(path)
        images, captions = [], []
        for row in rows:
            image = path.parent / row.image
            if not has_caption_attributes(row):
                report.add("no_caption_attributes", row.image)
            elif not image.is_file():
                report.add("missing_image_file", row.image)
            else:
                images.append(image)
                captions.append(caption_for(row))
        return images, captions, report

    def _item_ids(self, split: str) -> list[str]:
        outfits = read_outfits(self.split_file(split))
        return list(dict.fromkeys(item.item_id for o in outfits for item in o.items))

    def _polyvore_pairs(self, split: str) -> tuple[list[Path], list[str], SkipReport]:
        path = self.split_file(split)
        report = SkipReport(name=f"polyvore {self.hparams.variant}/{path.name}: captions")
        metadata = read_item_metadata(self.data_dir / "polyvore_item_metadata.json")
        seen = set() if split == "train" else set(self._item_ids("train"))
        images, captions = [], []
        for item_id in self._item_ids(split):
            image = self.data_dir / "images" / f"{item_id}.jpg"
            meta = metadata.get(item_id)
            caption = caption_for_item(meta) if meta is not None else ""
            if item_id in seen:
                report.add("item_in_train_split", item_id)
            elif meta is None:
                report.add("no_metadata", item_id)
            elif not caption:
                report.add("no_title", item_id)
            elif not image.is_file():
                report.add("missing_image_file", item_id)
            else:
                images.append(image)
                captions.append(caption)
        return images, captions, report
