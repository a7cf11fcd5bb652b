"""GarmentClassificationDataModule on a tiny ImageFolder; the shared transforms."""

from __future__ import annotations

import logging

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from tests.helpers.tiny_data import TINY_CLASSES, TINY_GENERATOR, TINY_PREPROCESSING, write_image
from wardrobe.data.classification_datamodule import GarmentClassificationDataModule
from wardrobe.preprocessing.image import build_transforms


def make(root, **kwargs) -> GarmentClassificationDataModule:
    args = {"data_dir": str(root), "classes": TINY_CLASSES, "batch_size": 4}
    return GarmentClassificationDataModule(
        **{**args, "preprocessing": TINY_PREPROCESSING, **kwargs}
    )


def test_batches_have_the_configured_size_and_class_indices(tiny_imagefolder):
    dm = make(tiny_imagefolder)
    dm.prepare_data()
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 3, 64, 64) and images.dtype == torch.float32
    assert labels.dtype == torch.long
    assert len(dm.data_train) == 4 * len(TINY_CLASSES) and len(dm.data_val) == 12
    # the index of a sample is its folder's position in `classes`, not alphabetical order
    path, index = dm.data_val.samples[0]
    assert TINY_CLASSES[index] == path.parent.name
    assert dm.labels == {"classes": TINY_CLASSES} and dm.num_classes == len(TINY_CLASSES)


def test_eval_batches_are_normalised_with_the_preprocessing(tiny_imagefolder):
    dm = make(tiny_imagefolder)
    dm.setup("fit")
    images, _ = next(iter(dm.val_dataloader()))
    assert images.min() >= -1.0 and images.max() <= 1.0  # mean = std = 0.5
    assert dm.preprocessing == TINY_PREPROCESSING


def test_unknown_class_folders_are_skipped_and_reported(tiny_imagefolder, caplog):
    write_image(tiny_imagefolder / "train" / "spacesuit" / "0.jpg", (1, 2, 3))
    dm = make(tiny_imagefolder)
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert len(dm.data_train) == 4 * len(TINY_CLASSES)
    assert "unknown_class_folder" in caplog.text and "spacesuit" in caplog.text


def test_missing_data_names_the_path_and_the_generator(tmp_path):
    dm = make(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"nowhere.*wardrobe\.data\.synthetic --out"):
        dm.prepare_data()


def test_generate_if_missing_runs_the_generator_once(tmp_path):
    generator = {**TINY_GENERATOR, "root": str(tmp_path / "sw")}
    dm = make(tmp_path / "sw" / "classification", generate_if_missing=True, generator=generator)
    dm.prepare_data()
    manifest = tmp_path / "sw" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    dm.prepare_data()  # data present: nothing regenerated
    assert manifest.stat().st_mtime_ns == stamp
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 3, 64, 64) and int(labels.max()) < len(TINY_CLASSES)
    # the synthetic crops of classes outside `classes` are skipped, not mislabelled
    assert {TINY_CLASSES[i] for _, i in dm.data_train.samples} == set(TINY_CLASSES)


def test_generator_config_that_misses_data_dir_fails_clearly(tmp_path):
    generator = {**TINY_GENERATOR, "root": str(tmp_path / "elsewhere")}
    dm = make(tmp_path / "sw" / "classification", generate_if_missing=True, generator=generator)
    with pytest.raises(FileNotFoundError, match="disagree"):
        dm.prepare_data()


def test_test_split_falls_back_to_val(tiny_imagefolder):
    dm = make(tiny_imagefolder)
    dm.setup("test")
    assert dm.data_test is dm.data_val


def test_hydra_containers_become_plain_hparams(tiny_imagefolder, tmp_path):
    dm = make(
        tiny_imagefolder,
        classes=OmegaConf.create(TINY_CLASSES),
        preprocessing=OmegaConf.create(TINY_PREPROCESSING),
    )
    path = tmp_path / "hp.pt"
    torch.save(dict(dm.hparams), path)
    assert torch.load(path, weights_only=True)["classes"] == TINY_CLASSES


@pytest.mark.parametrize(
    "bad",
    [{**TINY_PREPROCESSING, "size": 3}, {**TINY_PREPROCESSING, "resize": 32}],
)
def test_bad_preprocessing_fails_at_construction(tiny_imagefolder, bad):
    with pytest.raises(ValueError):
        make(tiny_imagefolder, preprocessing=bad)


def test_train_augmentation_never_changes_colours():
    """Flip and crop only: a solid garment keeps its exact colour (the colour head's label)."""
    train = build_transforms(TINY_PREPROCESSING, train=True, augment=True)
    rgb = (200, 30, 90)
    image = Image.new("RGB", (80, 64), rgb)
    expected = (torch.tensor(rgb) / 255.0 - 0.5) / 0.5
    torch.manual_seed(0)
    for _ in range(20):
        out = train(image)
        assert out.shape == (3, 64, 64)
        assert torch.allclose(out, expected[:, None, None].expand_as(out), atol=1e-5)


def test_train_augmentation_is_random_and_eval_is_not():
    image = Image.effect_noise((96, 96), 60).convert("RGB")
    train = build_transforms(TINY_PREPROCESSING, train=True)
    evaluate = build_transforms(TINY_PREPROCESSING, train=False)
    torch.manual_seed(0)
    assert not torch.equal(train(image), train(image))
    assert torch.equal(evaluate(image), evaluate(image))
