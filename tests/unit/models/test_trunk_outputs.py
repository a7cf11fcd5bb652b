"""Trunk outputs: ``pooled``, ``pooled+centres`` (pooled features + early blocks' centres) and
``pooled+centres+maps`` (+ the last centre block's maps, for a classifier's own last stages).

The crop models must agree on the trunk output to share one pass; ``pooled`` nets compute what
they computed before (old bundles load and answer the same); the state dict keeps one copy of
each weight (only the heads reading the trunk widen)."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.crop_bundles import IMAGE, TRUNK, tiny_crop_nets
from wardrobe.models.components.backbones import (
    CENTRE_BLOCKS,
    POOLED,
    POOLED_CENTRES,
    POOLED_CENTRES_MAPS,
    CentresTrunk,
    TrunkTail,
    build_backbone,
    centre_mean,
    maps_of,
    trunk_fingerprint,
    trunk_of,
)
from wardrobe.models.components.classifier_net import GarmentClassifierNet
from wardrobe.models.components.tagger_net import AttributeTaggerNet

# what reads the trunk output (the tagger: every heads.<name>.weight)
HEAD_WEIGHTS = {"classifier": {"head.weight"}, "clip": {"clip.visual.head.proj.weight"}}
_nets = tiny_crop_nets


def test_centre_mean_averages_the_central_half_of_each_side():
    maps = torch.zeros(1, 2, 8, 8)
    maps[:, :, 2:6, 2:6] = 1.0
    maps[:, 1, 0, 0] = 100.0  # a border value: outside the centre
    assert centre_mean(maps).tolist() == [[1.0, 1.0]]


def test_the_centres_trunk_starts_with_exactly_the_pooled_features():
    backbone, width = build_backbone(TRUNK, "none")
    trunk = CentresTrunk(backbone.eval())
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        out = trunk(x)
    assert out.shape == (3, trunk.out_features) and trunk.out_features > width
    assert torch.equal(out[:, :width], backbone(x))


@pytest.mark.parametrize("name", ["classifier", "tagger", "clip"])
def test_forward_is_the_heads_on_the_trunk_output_and_the_state_dict_keeps_its_entries(name):
    pooled, centres = _nets(POOLED)[name].eval(), _nets(POOLED_CENTRES)[name].eval()
    shapes = {k: tuple(v.shape) for k, v in centres.state_dict().items()}
    before = {k: tuple(v.shape) for k, v in pooled.state_dict().items()}
    assert shapes.keys() == before.keys()  # no second copy of the trunk
    widened = {k for k in shapes if shapes[k] != before[k]}
    reads = {k for k in shapes if k.startswith("heads.") and k.endswith(".weight")}
    assert widened == (reads if name == "tagger" else HEAD_WEIGHTS[name])
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = centres.trunk(x)
        assert features.shape == (2, centres.trunk_width)
        whole = centres.encode_image(x) if name == "clip" else centres(x)
        heads = centres.forward_features(features)
    whole, heads = (list(o.values()) if isinstance(o, dict) else [o] for o in (whole, heads))
    for a, b in zip(whole, heads, strict=True):
        torch.testing.assert_close(a, b)


def test_pooled_nets_compute_what_they_computed_before_trunk_outputs():
    nets = _nets(POOLED)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        classifier = nets["classifier"].eval()
        torch.testing.assert_close(classifier(x), classifier.head(classifier.backbone(x)))
        clip = nets["clip"].eval()  # open_clip's own image tower: trunk, pool, projection
        expected = torch.nn.functional.normalize(clip.clip.encode_image(x), dim=-1)
        torch.testing.assert_close(clip.encode_image(x), expected)


def test_the_trunk_output_is_part_of_the_fingerprint_and_of_the_config():
    nets = _nets(POOLED_CENTRES)
    prints = {
        trunk_fingerprint(n.trunk, TRUNK, IMAGE, n.trunk_output)["fingerprint"]
        for n in nets.values()
    }
    assert len(prints) == 1  # the three share one pass
    pooled = _nets(POOLED)["tagger"]
    assert trunk_fingerprint(pooled.trunk, TRUNK, IMAGE)["fingerprint"] not in prints
    for net in nets.values():
        assert net.config["trunk_output"] == POOLED_CENTRES
    config = {k: v for k, v in nets["classifier"].config.items() if k != "_target_"}
    del config["trunk_output"]  # a bundle from before trunk outputs existed
    assert GarmentClassifierNet(**config).trunk_output == POOLED


def test_the_centres_trunk_is_one_object_that_follows_the_net():
    net = _nets(POOLED_CENTRES)["tagger"]
    assert net.trunk is net.trunk  # forward hooks and exports see one module
    assert next(net.trunk.parameters()) is next(net.backbone.parameters())
    net.to(memory_format=torch.channels_last)
    assert net.trunk.backbone is net.backbone


def test_unsupported_trunk_outputs_fail_with_a_hint():
    with pytest.raises(ValueError, match="trunk_output must be one of"):
        trunk_of(torch.nn.Identity(), "grid")
    with pytest.raises(ValueError, match="timm EfficientNet"):
        GarmentClassifierNet(
            backbone="torchvision.efficientnet_b0",
            weights="none",
            num_classes=3,
            trunk_output=POOLED_CENTRES,
        )


def test_a_head_reading_the_pooled_part_ignores_the_centres_and_keeps_one_trunk():
    torch.manual_seed(0)
    kw = {"backbone": TRUNK, "weights": "none", "num_classes": 5, "trunk_output": POOLED_CENTRES}
    net = GarmentClassifierNet(**kw, head_reads="pooled").eval()
    assert net.head.in_features == net.num_features < net.trunk_width
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = net.trunk(x)
        shifted = features.clone()
        shifted[:, net.num_features :] += 10.0  # other colours, same pooled features
        torch.testing.assert_close(net(x), net.forward_features(shifted))
        torch.testing.assert_close(net(x), net.head(net.backbone(x)))
    config = {k: v for k, v in net.config.items() if k != "_target_"}
    assert GarmentClassifierNet(**config).head_reads == "pooled"
    old = {k: v for k, v in net.config.items() if k not in ("_target_", "head_reads")}
    assert GarmentClassifierNet(**old).head.in_features == net.trunk_width  # older bundles
    with pytest.raises(ValueError, match="head_reads must be one of"):
        GarmentClassifierNet(**kw, head_reads="centres")


def test_a_hidden_layer_head_is_the_same_net_on_the_trunk_features():
    torch.manual_seed(0)
    kw = {"backbone": TRUNK, "weights": "none", "num_classes": 5, "trunk_output": POOLED_CENTRES}
    net = GarmentClassifierNet(**kw, head_reads="pooled", head_hidden=16).eval()
    assert net.head[0].in_features == net.num_features and net.head[-1].out_features == 5
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net(x), net.forward_features(net.trunk(x)))
    config = {k: v for k, v in net.config.items() if k != "_target_"}
    rebuilt = GarmentClassifierNet(**config)
    rebuilt.load_state_dict(net.state_dict())  # a bundle rebuilds it from its config
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(x), net(x))
    del config["head_hidden"]  # older bundles: a linear head
    assert isinstance(GarmentClassifierNet(**config).head, torch.nn.Linear)


def test_tagger_heads_with_hidden_layers_rebuild_from_their_config():
    torch.manual_seed(0)
    kw = {"backbone": TRUNK, "weights": "none", "trunk_output": POOLED_CENTRES}
    net = AttributeTaggerNet(**kw, head_hidden={"formality": 8}).eval()
    assert net.heads["formality"][0].in_features == net.trunk_width
    assert isinstance(net.heads["colour"], torch.nn.Linear)  # heads left out stay linear
    assert net.config["head_hidden"] == {"formality": 8}
    x = torch.randn(2, 3, 32, 32)
    config = {k: v for k, v in net.config.items() if k != "_target_"}
    rebuilt = AttributeTaggerNet(**config)
    rebuilt.load_state_dict(net.state_dict())  # a bundle rebuilds it from its config
    with torch.no_grad():
        for name, value in rebuilt.eval()(x).items():
            torch.testing.assert_close(value, net(x)[name])
    del config["head_hidden"]  # older bundles: linear heads
    assert all(isinstance(h, torch.nn.Linear) for h in AttributeTaggerNet(**config).heads.values())
    assert all(
        h[0].out_features == 4 for h in AttributeTaggerNet(**kw, head_hidden=4).heads.values()
    )
    with pytest.raises(ValueError, match="head_hidden names heads the tagger lacks"):
        AttributeTaggerNet(**kw, head_hidden={"sleeves": 8})


def test_the_maps_output_holds_the_centres_output_then_the_last_centre_blocks_maps():
    backbone, _ = build_backbone(TRUNK, "none")
    backbone.eval()
    narrow, wide = CentresTrunk(backbone), CentresTrunk(backbone, maps=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = wide(x)
        h = backbone.bn1(backbone.conv_stem(x))
        for block in backbone.blocks[: CENTRE_BLOCKS[-1] + 1]:
            h = block(h)
        assert torch.equal(out[:, : narrow.out_features], narrow(x))
        assert torch.equal(maps_of(out, narrow.out_features, h.shape[1]), h)
    with pytest.raises(ValueError, match="square maps"):
        maps_of(out[:, :-1], narrow.out_features, h.shape[1])


def test_an_own_tail_starts_as_the_frozen_one_then_learns_alone():
    frozen = _nets(POOLED_CENTRES, head_reads="pooled")["classifier"].eval()
    torch.manual_seed(1)
    own = GarmentClassifierNet(
        backbone=TRUNK, weights="none", num_classes=frozen.num_classes,
        trunk_output=POOLED_CENTRES_MAPS, head_reads="pooled",
    )  # fmt: skip
    own.backbone.load_state_dict(frozen.backbone.state_dict())
    own.tail = TrunkTail(own.backbone)  # a copy of these frozen last stages
    own.head.load_state_dict(frozen.head.state_dict())
    own.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(own(x), frozen(x), atol=1e-6)
        sha = trunk_fingerprint(own.trunk, TRUNK, IMAGE, POOLED_CENTRES)["trunk_sha256"]
        for param in own.tail.parameters():
            param.add_(0.1)
        assert not torch.allclose(own(x), frozen(x), atol=1e-3)
    # the shared trunk is untouched: same weights, same pooled+centres prefix
    assert trunk_fingerprint(own.trunk, TRUNK, IMAGE, POOLED_CENTRES)["trunk_sha256"] == sha
    assert torch.equal(own.trunk(x)[:, : frozen.trunk_width], frozen.trunk(x))
    rebuilt = GarmentClassifierNet(**{k: v for k, v in own.config.items() if k != "_target_"})
    rebuilt.load_state_dict(own.state_dict())
    assert torch.equal(rebuilt.eval()(x), own(x))
    own.train()  # the tail's batch norms keep their statistics while it learns
    batch_norms = [m for m in own.tail.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert batch_norms and not any(m.training for m in batch_norms)
