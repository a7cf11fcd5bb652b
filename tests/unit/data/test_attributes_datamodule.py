"""AttributeDataModule: targets and masks per head from attribute rows."""

from __future__ import annotations

import logging

import pytest
import torch

from tests.helpers.tiny_data import TINY_GENERATOR, TINY_PREPROCESSING, attribute_rows
from wardrobe.data.attributes_datamodule import AttributeDataModule, encode_row
from wardrobe.data.formats.attributes import AttributeRow, write_attribute_rows
from wardrobe.taxonomy import ATTRIBUTE_HEADS, COLOURS, SEASONS, STYLE_TAGS


def make(root, **kwargs) -> AttributeDataModule:
    return AttributeDataModule(
        data_dir=str(root), batch_size=4, preprocessing=TINY_PREPROCESSING, **kwargs
    )


def test_batch_is_images_targets_and_masks(tiny_attributes):
    dm = make(tiny_attributes)
    dm.prepare_data()
    dm.setup("fit")
    images, targets, masks = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 3, 64, 64)
    assert set(targets) == set(masks) == set(ATTRIBUTE_HEADS)
    assert targets["colour"].dtype == torch.long and targets["colour"].shape == (4,)
    assert targets["seasons"].shape == (4, len(SEASONS))
    assert targets["style_tags"].shape == (4, len(STYLE_TAGS))
    assert targets["formality"].dtype == torch.float32 and targets["formality"].shape == (4,)
    assert all(m.dtype == torch.bool and m.shape == (4,) for m in masks.values())


def test_rows_encode_to_vocabulary_indices_and_masks():
    row = AttributeRow(
        image="x.jpg",
        colour_primary="navy",
        pattern=None,
        fit="slim",
        formality=0.25,
        seasons=("winter", "fall"),
        style_tags=(),
    )
    targets, masks = encode_row(row)
    assert targets["colour"] == COLOURS.index("navy") and masks["colour"]
    assert not masks["pattern"]  # missing label: masked
    assert targets["formality"] == pytest.approx(0.25) and masks["formality"]
    assert targets["seasons"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert masks["style_tags"] and not targets["style_tags"].any()  # labelled: no tags


def test_label_counts_reflect_missing_labels(tiny_attributes):
    dm = make(tiny_attributes)
    dm.setup("fit")
    counts = dm.data_train.label_counts()
    expected = attribute_rows(12, 0)
    assert counts["pattern"] == sum(r.pattern is not None for r in expected) < 12
    assert counts["colour"] == 12


def test_rows_whose_image_is_missing_are_skipped_and_reported(tiny_attributes, caplog):
    rows = [*attribute_rows(12, 0), AttributeRow(image="images/gone.jpg", fit="slim")]
    write_attribute_rows(tiny_attributes / "train.jsonl", rows)
    with (tiny_attributes / "train.jsonl").open("a") as f:
        f.write('{"image": "x.jpg", "fit": "baggy"}\n')
    dm = make(tiny_attributes)
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert len(dm.data_train) == 12
    assert "missing_image_file" in caplog.text and "unknown_fit" in caplog.text


def test_missing_jsonl_fails_with_the_generator_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"wardrobe\.data\.synthetic"):
        make(tmp_path).prepare_data()


def test_labels_give_each_heads_vocabulary(tiny_attributes):
    labels = make(tiny_attributes).labels
    assert labels["colour"] == list(COLOURS) and labels["formality"] == []


def test_generated_synthwardrobe_loads_with_every_head_labelled(tmp_path):
    generator = {**TINY_GENERATOR, "root": str(tmp_path / "sw")}
    dm = make(tmp_path / "sw" / "attributes", generate_if_missing=True, generator=generator)
    dm.prepare_data()
    dm.setup("fit")
    counts = dm.data_val.label_counts()
    assert counts["colour"] == len(dm.data_val) > 0
    images, targets, masks = next(iter(dm.val_dataloader()))
    assert images.shape == (4, 3, 64, 64) and set(targets) == set(ATTRIBUTE_HEADS)
    assert bool(masks["colour"].all())  # SynthWardrobe labels every garment's colour
