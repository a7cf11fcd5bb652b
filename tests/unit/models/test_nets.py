"""Every net of the registry: shape, finiteness, gradients, frozen backbone, rebuild."""

from __future__ import annotations

import hydra
import pytest
import torch

from wardrobe.models.components.classifier_net import GarmentClassifierNet
from wardrobe.models.components.tagger_net import AttributeTaggerNet, default_heads
from wardrobe.taxonomy import ATTRIBUTE_HEADS

TINY = {"backbone": "tf_efficientnet_lite0", "weights": "none"}
CENTRES = {**TINY, "trunk_output": "pooled+centres"}
NETS = {
    "classifier": lambda: GarmentClassifierNet(**TINY, num_classes=7),
    "tagger": lambda: AttributeTaggerNet(**TINY),
    "classifier_centres": lambda: GarmentClassifierNet(**CENTRES, num_classes=7),
    "tagger_centres": lambda: AttributeTaggerNet(**CENTRES),
}


def expected_shapes(name: str, batch: int) -> dict[str, tuple[int, ...]]:
    if name.startswith("classifier"):
        return {"logits": (batch, 7)}
    return {head: (batch, size) for head, size in default_heads().items()}


def outputs_of(net, x) -> dict[str, torch.Tensor]:
    out = net(x)
    return out if isinstance(out, dict) else {"logits": out}


def scalar_loss(outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    return sum(o.float().pow(2).mean() for o in outputs.values())


@pytest.fixture(params=sorted(NETS))
def named_net(request):
    torch.manual_seed(0)
    return request.param, NETS[request.param]()


def test_forward_shape_and_finite(named_net):
    name, net = named_net
    outputs = outputs_of(net.eval(), torch.rand(2, 3, 64, 64))
    assert {k: tuple(v.shape) for k, v in outputs.items()} == expected_shapes(name, 2)
    assert all(torch.isfinite(v).all() for v in outputs.values())


def test_gradients_reach_every_trainable_parameter(named_net):
    _, net = named_net
    scalar_loss(outputs_of(net.train(), torch.rand(2, 3, 64, 64))).backward()
    missing = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None]
    zero = [n for n, p in net.named_parameters() if p.grad is not None and not p.grad.any()]
    assert not missing and not zero, (missing, zero)


def test_frozen_backbone_gets_no_gradient_and_keeps_its_statistics(named_net):
    _, net = named_net
    net.freeze_backbone(True)
    before = {k: v.clone() for k, v in net.backbone.state_dict().items()}
    net.train()
    assert not net.backbone.training  # BatchNorm statistics are not updated
    scalar_loss(outputs_of(net, torch.rand(2, 3, 64, 64))).backward()
    assert all(p.grad is None for p in net.backbone.parameters())
    head_params = [p for n, p in net.named_parameters() if not n.startswith("backbone.")]
    assert head_params and all(p.grad is not None for p in head_params)
    for key, value in net.backbone.state_dict().items():
        assert torch.equal(value, before[key]), key
    net.freeze_backbone(False)
    net.train()
    assert net.backbone.training
    assert all(p.requires_grad for p in net.parameters())


def test_config_rebuilds_the_same_architecture(named_net):
    _, net = named_net
    config = net.config
    assert config["_target_"].startswith("wardrobe.models.components.")
    rebuilt = hydra.utils.instantiate(config)
    rebuilt.load_state_dict(net.state_dict(), strict=True)
    x = torch.rand(1, 3, 64, 64)
    for key, value in outputs_of(net.eval(), x).items():
        assert torch.equal(outputs_of(rebuilt.eval(), x)[key], value)


def test_tagger_defaults_to_every_taxonomy_head():
    assert list(default_heads()) == list(ATTRIBUTE_HEADS)
    assert default_heads()["formality"] == 1


@pytest.mark.parametrize("heads", [{"colour": 3}, {"shoe_size": 1}])
def test_tagger_refuses_heads_that_disagree_with_the_taxonomy(heads):
    with pytest.raises(ValueError, match="head"):
        AttributeTaggerNet(**TINY, heads=heads)


def test_classifier_needs_classes():
    with pytest.raises(ValueError, match="num_classes"):
        GarmentClassifierNet(**TINY, num_classes=1)
