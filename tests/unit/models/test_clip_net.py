"""GarmentClipNet: shapes, normalised embeddings, gradients, the offline image weights, config
rebuilds, and a clear offline error for downloadable open_clip weights."""

from __future__ import annotations

import socket
import time

import pytest
import torch
from open_clip.loss import ClipLoss
from PIL import Image

from tests.helpers.tiny_data import TINY_CLIP_NET as TINY
from wardrobe.models.components import backbones as bb
from wardrobe.models.components.clip_net import GarmentClipNet
from wardrobe.preprocessing.image import build_transforms

CAPTIONS = [
    "a navy striped dress shirt, slim fit, formal",
    "a red solid t shirt, regular fit, casual",
    "a black leather jacket",
    "a beige plaid skirt, relaxed fit",
]


def tiny_net(**kwargs) -> GarmentClipNet:
    torch.manual_seed(0)
    return GarmentClipNet(**{**TINY, **kwargs})


def test_embeddings_have_the_joint_size_unit_norm_and_no_nan():
    net = tiny_net().eval()
    images, tokens = torch.rand(4, 3, 64, 64), net.tokenize(CAPTIONS)
    with torch.no_grad():
        out = net(images, tokens)
    assert out["image"].shape == out["text"].shape == (4, 32)
    for key in ("image", "text"):
        assert torch.isfinite(out[key]).all()
        torch.testing.assert_close(out[key].norm(dim=-1), torch.ones(4))
    assert out["logit_scale"] == pytest.approx(1 / 0.07, rel=1e-5)
    assert net.embed_text(CAPTIONS[0]).shape == (1, 32)
    assert set(net(images=images)) == {"image", "logit_scale"}
    with pytest.raises(ValueError, match="length"):
        net.encode_text(tokens[:, :8])


def test_the_text_tower_on_trimmed_tokens_matches_open_clip_on_the_whole_context():
    """The net runs its text tower only up to the batch's last end-of-text token; under the
    causal mask that is open_clip's ``encode_text`` exactly (fails if the pinned open_clip
    changes how its CLIP encodes text)."""
    net = tiny_net().eval()
    tokens = net.tokenize([*CAPTIONS, "a very long caption " * 3])
    assert int(tokens.argmax(-1).max()) + 1 < net.context_length  # something is trimmed
    with torch.no_grad():
        whole = torch.nn.functional.normalize(net.clip.encode_text(tokens), dim=-1)
        torch.testing.assert_close(net.encode_text(tokens), whole, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(net.encode_text(tokens[:2]), whole[:2], rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_trainable_parameter():
    net = tiny_net().train()
    out = net(torch.rand(4, 3, 64, 64), net.tokenize(CAPTIONS))
    ClipLoss()(out["image"], out["text"], out["logit_scale"]).backward()
    missing = [
        name
        for name, p in net.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert not missing, missing


def test_frozen_backbone_gets_no_gradient_and_keeps_its_statistics():
    net = tiny_net()
    net.freeze_backbone(True)
    net.train()
    assert not net.backbone.training
    trunk_params = {id(p) for p in net.backbone.parameters()}
    trainable = [p for p in net.parameters() if p.requires_grad]
    assert trainable and not trunk_params & {id(p) for p in trainable}
    assert net.clip.visual.head.proj.weight.requires_grad  # the projection still learns


def test_image_trunk_holds_the_offline_imagenet_weights():
    net = GarmentClipNet(**{**TINY, "weights": "offline_imagenet"}).eval()
    reference, _ = bb.build_backbone("tf_efficientnet_lite0", "offline_imagenet")
    random_init = tiny_net().backbone.state_dict()
    own = net.backbone.state_dict()
    assert own.keys() == reference.state_dict().keys()
    for key, tensor in reference.state_dict().items():
        assert torch.equal(own[key], tensor), key
    assert not torch.equal(own["conv_stem.weight"], random_init["conv_stem.weight"])
    # and they are the pretrained ones: the trunk + the file's ImageNet head recognise the photo
    head = bb.build_imagenet_model().classifier
    transform = build_transforms(bb.default_preprocessing(), train=False)
    with Image.open(bb.sample_photo_path()) as img:
        x = transform(img.convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        top5 = head(net.backbone(x)).topk(5).indices[0].tolist()
    assert bb.GRACE_HOPPER_CLASSES.intersection(top5), top5


def test_config_rebuilds_the_same_network():
    net = tiny_net().eval()
    config = net.config
    assert config["_target_"] == "wardrobe.models.components.clip_net.GarmentClipNet"
    kwargs = {k: v for k, v in config.items() if k != "_target_"}
    rebuilt = GarmentClipNet(**kwargs).eval()
    rebuilt.load_state_dict(net.state_dict(), strict=True)
    images, tokens = torch.rand(2, 3, 64, 64), net.tokenize(CAPTIONS[:2])
    with torch.no_grad():
        a, b = net(images, tokens), rebuilt(images, tokens)
    for key in ("image", "text"):
        assert torch.equal(a[key], b[key])


def test_bad_configs_fail_loudly():
    with pytest.raises(ValueError, match="divisible"):
        tiny_net(text_width=30, text_heads=4)
    with pytest.raises(ValueError, match="unknown tokenizer"):
        tiny_net(tokenizer="bert")
    with pytest.raises(ValueError, match="context_length 77"):
        tiny_net(open_clip_model="ViT-B-32")  # its text tower has 77 positions, not 16


def test_downloadable_open_clip_weights_fail_fast_offline(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"cannot reach huggingface\.co.*model\.net\.weights"):
        GarmentClipNet(open_clip_model="ViT-B-32", weights="openai", context_length=77)
    assert time.perf_counter() - start < 10
    with pytest.raises(ValueError, match="pretrained tag"):
        GarmentClipNet(open_clip_model="ViT-B-32", weights="no_such_tag", context_length=77)
