"""ImageTextDataModule: (image, caption tokens) batches from attribute rows and Polyvore titles."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from tests.helpers.tiny_data import CLIP_PREPROCESSING, TINY_PREPROCESSING, attribute_rows
from wardrobe.data.captions import caption_for, caption_words
from wardrobe.data.clip_datamodule import ImageTextDataModule
from wardrobe.data.formats.polyvore import (
    ItemMeta,
    Outfit,
    OutfitItem,
    write_item_metadata,
    write_outfits,
)
from wardrobe.preprocessing.text import decode

def make(root, **kwargs) -> ImageTextDataModule:
    return ImageTextDataModule(
        data_dir=str(root), batch_size=4, preprocessing=CLIP_PREPROCESSING, **kwargs
    )


def test_batches_pair_images_with_their_caption_tokens(tiny_attributes):
    dm = make(tiny_attributes)
    dm.setup("fit")
    images, tokens = next(iter(dm.val_dataloader()))
    assert images.shape == (4, 3, 64, 64)
    assert tokens.shape == (4, 16) and tokens.dtype == torch.long
    rows = attribute_rows(6, 1)  # what the fixture wrote to val.jsonl, in order
    for row, ids in zip(rows, tokens, strict=False):
        assert decode(ids).replace(" ,", ",") == caption_for(row)


def test_labels_and_hparams_record_the_tokenizer(tiny_attributes):
    dm = make(tiny_attributes)
    assert dm.labels["tokenizer"] == ["clip_bpe"]
    assert dm.labels["caption_words"] == caption_words()
    assert dm.hparams.preprocessing == {**CLIP_PREPROCESSING, "context_length": 16}
    assert "tokenizer" not in dm.image_preprocessing
    with pytest.raises(ValueError, match="tokenizer"):
        ImageTextDataModule(str(tiny_attributes), preprocessing=TINY_PREPROCESSING)


def test_missing_split_names_the_generator(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"wardrobe\.data\.synthetic"):
        make(tmp_path / "nothing").prepare_data()


def _write_polyvore(root):
    """Train items 1-3, valid items 3 (also in train), 4, 5 (no title), 6 (no image)."""
    metas = [
        ItemMeta("1", "tops", "1", title="Striped tee"),
        ItemMeta("2", "bottoms", "2", url_name="blue-denim-jeans"),
        ItemMeta("3", "shoes", "3", title="White sneakers"),
        ItemMeta("4", "tops", "1", title="Red silk blouse"),
        ItemMeta("5", "bags", "4"),
        ItemMeta("6", "tops", "1", title="Green hoodie"),
    ]
    write_item_metadata(root / "polyvore_item_metadata.json", metas)
    splits = {"train": ("1", "2", "3"), "valid": ("3", "4", "5", "6")}
    for split, ids in splits.items():
        items = tuple(OutfitItem(i, k) for k, i in enumerate(ids, start=1))
        write_outfits(root / "nondisjoint" / f"{split}.json", [Outfit(f"{split}1", items)])
    for item_id in "12345":
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), (40 * int(item_id), 0, 0)).save(
            root / "images" / f"{item_id}.jpg"
        )
    return root


def test_polyvore_titles_are_captions_and_val_keeps_unseen_items(tmp_path):
    dm = make(_write_polyvore(tmp_path / "polyvore"), source="polyvore")
    dm.setup("fit")
    assert dm.data_train.captions == ["Striped tee", "blue denim jeans", "White sneakers"]
    # item 3 is also in train, 5 has no title, 6 no image: val holds item 4 only
    assert dm.data_val.captions == ["Red silk blouse"]
    assert dm.labels["captions"] == ["polyvore: item titles"]
    _, tokens = dm.data_val[0]
    assert decode(tokens) == "red silk blouse"
