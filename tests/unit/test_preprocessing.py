"""Typed preprocessing: the flat blocks of existing bundle.json files round-trip, bad blocks fail
loudly, and a loaded bundle gives its eval transform and its image embedding in one call."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers.tiny_data import CLIP_PREPROCESSING, TINY_CLIP_NET, TINY_PREPROCESSING
from wardrobe.artifacts import BundleError, load_model_and_transform, save_bundle
from wardrobe.models.components.classifier_net import GarmentClassifierNet
from wardrobe.models.components.clip_net import GarmentClipNet
from wardrobe.preprocessing import (
    DetectionPreprocessing,
    ImagePreprocessing,
    Preprocessing,
    TextPreprocessing,
)

DETECTOR_BLOCK = {  # a detector bundle.json block, as YoloTrainer writes it
    "imgsz": 64,
    "pad_value": 114,
    "scaleup": True,
    "channels": "RGB",
    "scale": 1.0 / 255.0,
    "conf": 0.25,
    "iou": 0.7,
    "max_det": 300,
}
COMPATIBILITY_BLOCK = {
    "encoder": {"kind": "bundle", "path": "model_artifacts/clip"},
    "feature_dim": 32,
    "max_items": 8,
    "encoder_weights_sha256": "c" * 64,
}


@pytest.mark.parametrize(
    "block", [TINY_PREPROCESSING, CLIP_PREPROCESSING, DETECTOR_BLOCK, COMPATIBILITY_BLOCK]
)
def test_stored_blocks_round_trip_unchanged(block):
    assert Preprocessing.from_dict(block).to_dict() == block


def test_a_clip_block_has_an_image_and_a_text_part():
    spec = Preprocessing.from_dict(CLIP_PREPROCESSING)
    assert spec.image == ImagePreprocessing.from_dict(TINY_PREPROCESSING)
    assert spec.text == TextPreprocessing("clip_bpe", 16)
    assert spec.detection is None and not spec.extra
    assert spec.text.tokenize(["a red shirt"]).shape == (1, 16)


def test_typed_values_are_normalised():
    image = ImagePreprocessing(64, 72, [0.5] * 3, (0.5, 0.5, 0.5), "BILINEAR")
    assert image.mean == (0.5, 0.5, 0.5) and image.interpolation == "bilinear"
    assert image.to_dict() == TINY_PREPROCESSING


def test_every_transform_ends_in_the_same_normalisation_and_denormalise_undoes_it():
    image = ImagePreprocessing(8, 8, (0.1, 0.3, 0.5), (0.5, 0.25, 0.2), "bilinear")
    photo = Image.new("RGB", (8, 8), (51, 102, 153))
    pixels = torch.tensor([51, 102, 153]).view(3, 1, 1).expand(3, 8, 8) / 255
    # no steps of its own: just the block's scaling and normalisation
    x = image.pipeline([])(photo)
    assert not torch.allclose(x, pixels)
    torch.testing.assert_close(image.denormalise(x), pixels)
    torch.testing.assert_close(image.transform(train=False)(photo), x)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_a_prepared_batch_holds_exactly_the_eval_transform_of_each_image(interpolation):
    image = ImagePreprocessing(24, 28, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), interpolation)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(40, 30), (9, 70)]]
    crops.append(Image.fromarray(crops[0][::-1].copy()))  # a PIL image too
    transform = image.transform(train=False)
    expected = torch.stack([transform(crop) for crop in crops])
    batch = image.prepare_batch(crops)
    assert type(batch) is torch.Tensor and batch.shape == (3, 3, 24, 24)
    assert torch.equal(batch, expected)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({k: v for k, v in TINY_PREPROCESSING.items() if k != "std"}, "missing"),
        ({**TINY_PREPROCESSING, "resize": 32}, "smaller than image_size"),
        ({**TINY_PREPROCESSING, "interpolation": "sinc"}, "unknown interpolation"),
        ({**CLIP_PREPROCESSING, "tokenizer": "hf:bert"}, "unknown tokenizer"),
        ({**CLIP_PREPROCESSING, "context_length": 2}, "context_length"),
        ({"image_size": 64}, "preprocessing needs exactly"),
    ],
)
def test_bad_blocks_fail_loudly(block, message):
    with pytest.raises(ValueError, match=message):
        Preprocessing.from_dict(block)


def test_detection_defaults_and_unknown_keys():
    assert DetectionPreprocessing.from_dict({}).resolved(320).imgsz == 320
    assert DetectionPreprocessing.from_dict({"imgsz": 64}).resolved(320).imgsz == 64
    with pytest.raises(ValueError, match="unknown detector preprocessing keys"):
        DetectionPreprocessing.from_dict({"imgsz": 64, "mosaic": 1.0})


def _clip_bundle(path):
    net = GarmentClipNet(**TINY_CLIP_NET).eval()
    save_bundle(
        path, name="clip", net=net, net_cfg=net.config, labels={}, preprocessing=CLIP_PREPROCESSING
    )
    return net


def test_a_bundle_comes_with_its_eval_transform_and_image_embedding(tmp_path):
    net = _clip_bundle(tmp_path / "clip")
    bundle, transform = load_model_and_transform(tmp_path / "clip")
    photo = Image.new("RGB", (100, 80), (200, 30, 30))
    x = transform(photo).unsqueeze(0)
    assert x.shape == (1, 3, 64, 64)  # the bundle's image_size, not the photo's
    with torch.inference_mode():
        torch.testing.assert_close(bundle.image_encoder()(x), net.encode_image(x))
    assert bundle.preprocessing_spec.text.context_length == 16


def test_a_net_that_embeds_no_images_is_refused_as_an_image_encoder(tmp_path):
    net = GarmentClassifierNet(weights="none", num_classes=3)
    save_bundle(
        tmp_path / "classifier",
        name="classifier",
        net=net,
        net_cfg=net.config,
        labels={"classes": ["a", "b", "c"]},
        preprocessing=TINY_PREPROCESSING,
    )
    bundle, _ = load_model_and_transform(tmp_path / "classifier")
    with pytest.raises(BundleError, match="does not embed images"):
        bundle.image_encoder()
    save_bundle(tmp_path / "text", name="t", net=net, net_cfg=net.config, labels={},
                preprocessing={"tokenizer": "clip_bpe", "context_length": 8})  # fmt: skip
    with pytest.raises(BundleError, match="takes no images"):
        load_model_and_transform(tmp_path / "text")
