"""Captions from attribute labels and Polyvore titles; the offline CLIP tokenizer."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
import torch

from wardrobe.preprocessing import text as tk
from wardrobe.data.captions import (
    caption_for,
    caption_for_item,
    caption_words,
    has_caption_attributes,
)
from wardrobe.data.formats.attributes import AttributeRow
from wardrobe.data.formats.polyvore import ItemMeta
from wardrobe.taxonomy import COLOURS, FINE_CATEGORIES, FITS, PATTERNS, STYLE_TAGS

SHIRT = AttributeRow(
    image="a.jpg",
    category="dress_shirt",
    colour_primary="navy",
    pattern="striped",
    fit="slim",
    formality=0.8,
    seasons=("fall",),
    style_tags=("formal",),
)


def test_caption_reads_like_the_design_example():
    assert caption_for(SHIRT) == "a navy striped dress shirt, slim fit, formal"


def test_caption_is_deterministic_and_ignores_tag_order_and_invisible_labels():
    two_tags = replace(SHIRT, style_tags=("preppy", "formal"))
    assert caption_for(two_tags) == caption_for(replace(two_tags, style_tags=("formal", "preppy")))
    assert caption_for(two_tags) == "a navy striped dress shirt, slim fit, formal, preppy"
    # seasons and formality are not in the photo: same caption, so captions are shared
    assert caption_for(replace(SHIRT, seasons=("summer",), formality=0.1)) == caption_for(SHIRT)
    assert caption_for(replace(SHIRT, image="b.jpg")) == caption_for(SHIRT)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"colour_primary": "orange"}, "an orange"),
        ({"colour_secondary": "white"}, "navy and white striped"),
        ({"pattern": "polka_dot"}, "polka dot dress shirt"),
        ({"category": "t_shirt"}, "striped t shirt"),
        ({"fit": "oversized"}, "oversized fit"),
    ],
)
def test_each_label_changes_the_caption(change, word):
    caption = caption_for(replace(SHIRT, **change))
    assert word in caption and caption != caption_for(SHIRT)


def test_missing_labels_are_left_out():
    row = AttributeRow(image="x.jpg", colour_primary="beige", style_tags=())
    assert caption_for(row) == "a beige garment"
    assert caption_for(AttributeRow(image="x.jpg", pattern="abstract")) == "an abstract garment"
    assert not has_caption_attributes(AttributeRow(image="x.jpg", formality=0.5, seasons=()))
    assert has_caption_attributes(row)


def test_every_caption_word_is_in_the_caption_vocabulary():
    vocabulary = set(caption_words())
    for colour in COLOURS:
        for category in FINE_CATEGORIES:
            row = AttributeRow(
                image="x.jpg",
                colour_primary=colour,
                colour_secondary=COLOURS[0],
                pattern=PATTERNS[len(category) % len(PATTERNS)],
                category=category,
                fit=FITS[len(colour) % len(FITS)],
                style_tags=STYLE_TAGS,
            )
            words = set(caption_for(row).replace(",", " ").split())
            assert words <= vocabulary, words - vocabulary


def test_polyvore_captions_fall_back_from_title_to_url_name_to_description():
    meta = ItemMeta(item_id="1", semantic_category="tops", category_id="1")
    assert caption_for_item(replace(meta, title="  Striped   tee ")) == "Striped tee"
    assert caption_for_item(replace(meta, url_name="blue-denim-jacket")) == "blue denim jacket"
    assert caption_for_item(replace(meta, description="Blue denim. Soft.")) == "Blue denim"
    assert caption_for_item(meta) == ""


def test_tokenizer_round_trip_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    tk.get_tokenizer.cache_clear()  # build it now, with the network off
    caption = caption_for(replace(SHIRT, pattern="polka_dot"))
    ids = tk.tokenize([caption, "Navy SHIRT"], context_length=32)
    assert ids.shape == (2, 32) and ids.dtype == torch.long
    tok = tk.get_tokenizer(tk.CLIP_BPE)
    assert ids[0, 0] == tok.sot_token_id and tok.eot_token_id in ids[0].tolist()
    assert int(ids.max()) < tk.vocab_size(tk.CLIP_BPE)
    assert tk.decode(ids[0]).replace(" ,", ",") == caption
    assert tk.decode(ids[1]) == "navy shirt"  # lower-cased


def test_long_text_is_cut_and_still_ends_with_end_of_text():
    ids = tk.tokenize(" ".join(["striped"] * 50), context_length=8)
    assert ids.shape == (1, 8)
    assert int(ids[0, -1]) == tk.get_tokenizer().eot_token_id


def test_preprocessing_splits_into_image_and_text_halves():
    block = {
        "image_size": 64,
        "resize": 72,
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
        "interpolation": "bilinear",
        "tokenizer": "clip_bpe",
        "context_length": "16",
    }
    image, text = tk.split_preprocessing(block)
    assert text == {"tokenizer": "clip_bpe", "context_length": 16}
    assert set(image) == {"image_size", "resize", "mean", "std", "interpolation"}
    with pytest.raises(ValueError, match="unknown tokenizer"):
        tk.split_preprocessing({**block, "tokenizer": "hf:bert"})
    with pytest.raises(ValueError, match="missing"):
        tk.split_preprocessing({k: v for k, v in block.items() if k != "context_length"})
