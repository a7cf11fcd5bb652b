"""Backbones: the shipped ImageNet weights load by order and are the pretrained ones."""

from __future__ import annotations

import time
from collections import OrderedDict

import pytest
import torch

from wardrobe.models.components import backbones as bb


@pytest.fixture(scope="module")
def shipped_state() -> OrderedDict:
    return torch.load(bb.offline_weights_path(), map_location="cpu", weights_only=True)


def test_shipped_file_has_296_tensors_ending_with_the_imagenet_head(shipped_state):
    keys = list(shipped_state)
    assert len(keys) == 296
    assert tuple(keys[-2:]) == bb._OFFLINE_HEAD_KEYS
    assert shipped_state["_fc.weight"].shape == (1000, 1280)


def test_offline_backbone_holds_the_files_tensors_in_order(shipped_state):
    features, num_features = bb.build_backbone()
    assert num_features == 1280
    own = features.state_dict()
    assert len(own) == 294  # 296 minus the 1000-class head
    for (file_key, expected), (key, loaded) in zip(
        list(shipped_state.items())[:294], own.items(), strict=True
    ):
        assert torch.equal(loaded, expected), (file_key, key)


def test_full_model_also_takes_the_head(shipped_state):
    model = bb.build_imagenet_model()
    assert torch.equal(model.classifier.weight, shipped_state["_fc.weight"])
    assert torch.equal(model.classifier.bias, shipped_state["_fc.bias"])


def test_verify_offline_weights_names_sensible_classes_for_grace_hopper():
    top5 = bb.verify_offline_weights()
    indices = [i for i, _, _ in top5]
    assert bb.GRACE_HOPPER_CLASSES.intersection(indices)
    assert any("uniform" in name or "tie" in name or "gown" in name for _, name, _ in top5)


def test_random_init_is_not_sensible_on_the_same_photo():
    torch.manual_seed(0)
    random_top5 = bb.imagenet_top5(bb.build_imagenet_model("none"), bb.sample_photo_path())
    pretrained_top5 = bb.imagenet_top5(bb.build_imagenet_model(), bb.sample_photo_path())
    assert [i for i, _ in random_top5] != [i for i, _ in pretrained_top5]
    # the pretrained model is confident, a random one is near uniform over 1000 classes
    assert pretrained_top5[0][1] > 0.1 > random_top5[0][1]


def test_order_mapping_fails_loudly_on_a_shape_mismatch(shipped_state):
    features, _ = bb.build_backbone(weights="none")
    broken = OrderedDict(shipped_state)
    broken["_conv_stem.weight"] = torch.zeros(16, 3, 3, 3)
    with pytest.raises(ValueError, match=r"tensor #0: file _conv_stem.weight"):
        bb.map_by_order(broken, features.state_dict(), drop_source_tail=bb._OFFLINE_HEAD_KEYS)


def test_order_mapping_fails_on_swapped_same_shape_tensors(shipped_state):
    features, _ = bb.build_backbone(weights="none")
    items = list(shipped_state.items())
    items[1], items[2] = items[2], items[1]  # _bn0.weight <-> _bn0.bias: same shape, other kind
    with pytest.raises(ValueError, match="does not match"):
        bb.map_by_order(OrderedDict(items), features.state_dict(), bb._OFFLINE_HEAD_KEYS)


def test_local_weights_file_round_trips(tmp_path):
    from safetensors.torch import save_file

    features, _ = bb.build_backbone(weights="none")
    path = tmp_path / "backbone.safetensors"
    save_file({k: v.contiguous() for k, v in features.state_dict().items()}, str(path))
    again, _ = bb.build_backbone(weights=str(path))
    for key, value in features.state_dict().items():
        assert torch.equal(again.state_dict()[key], value)


def test_torchvision_default_offline_fails_fast_and_clearly(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # nothing cached

    def unreachable(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(bb.socket, "create_connection", unreachable)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="offline_imagenet"):
        bb.build_backbone("torchvision.efficientnet_b0", "torchvision_default")
    assert time.monotonic() - start < 10


def test_torchvision_backbone_random_init_gives_pooled_features():
    features, num_features = bb.build_backbone("torchvision.efficientnet_b0", "none")
    assert features.eval()(torch.rand(1, 3, 64, 64)).shape == (1, num_features)


@pytest.mark.parametrize(
    ("name", "weights", "match"),
    [
        ("tf_efficientnet_lite0", "torchvision_default", "torchvision backbone"),
        ("torchvision.efficientnet_b0", "offline_imagenet", "torchvision backbones"),
        ("tf_efficientnet_lite0", "/nonexistent/weights.pth", "not found"),
    ],
)
def test_wrong_weight_choices_fail_with_a_hint(name, weights, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        bb.build_backbone(name, weights)


def test_preprocessing_defaults_follow_the_weights():
    lite = bb.default_preprocessing("tf_efficientnet_lite0")
    assert (lite["resize"], lite["image_size"], lite["mean"]) == (256, 224, [0.5] * 3)
    tv = bb.default_preprocessing("torchvision.efficientnet_b0")
    assert tv["mean"] == list(bb.IMAGENET_MEAN) and tv["std"] == list(bb.IMAGENET_STD)
