"""OutfitCompatibilityNet: shape, finiteness, gradients, padding and order invariance, rebuild."""

from __future__ import annotations

import hydra
import pytest
import torch

from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet

DIM = 12


def tiny_net(**kwargs) -> OutfitCompatibilityNet:
    torch.manual_seed(0)
    cfg = {"d_model": 16, "nhead": 2, "num_layers": 2, "dim_feedforward": 32, **kwargs}
    return OutfitCompatibilityNet(DIM, **cfg)


def batch(lengths=(3, 5, 2), pad_to=6):
    """Random outfits padded to ``pad_to`` with garbage (not zeros) in the padding."""
    torch.manual_seed(1)
    x = torch.randn(len(lengths), pad_to, DIM)
    mask = torch.arange(pad_to)[None] >= torch.tensor(lengths)[:, None]
    return x, mask


def test_forward_gives_one_finite_logit_per_outfit():
    x, mask = batch()
    out = tiny_net().eval()(x, mask)
    assert out.shape == (3,)
    assert torch.isfinite(out).all()


def test_output_is_a_logit_not_a_probability():
    net = tiny_net().eval()
    with torch.no_grad():
        net.head[-1].bias.fill_(5.0)  # the design's Sigmoid would squash this below 1
    x, mask = batch()
    assert (net(x, mask) > 1.0).all()


def test_gradients_reach_every_parameter():
    net = tiny_net().train()
    x, mask = batch()
    net(x, mask).pow(2).sum().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    zero = [n for n, p in net.named_parameters() if p.grad is not None and not p.grad.any()]
    assert not missing and not zero, (missing, zero)


def test_padding_slots_do_not_change_the_logit():
    net = tiny_net().eval()
    x, mask = batch(pad_to=5)
    reference = net(x, mask)
    # three more padded slots, holding NaN and huge values: the logits stay the same
    extra = torch.cat([torch.full((3, 2, DIM), float("nan")), torch.full((3, 1, DIM), 1e6)], 1)
    wider = net(torch.cat([x, extra], 1), torch.cat([mask, torch.ones(3, 3, dtype=bool)], 1))
    torch.testing.assert_close(wider, reference, rtol=1e-5, atol=1e-5)
    # and an outfit scored alone, unpadded, gets the same logit as inside the batch
    alone = net(x[1:2, :5], None)
    torch.testing.assert_close(alone, reference[1:2], rtol=1e-5, atol=1e-5)


def test_item_order_does_not_matter():
    net = tiny_net().eval()
    x, mask = batch(lengths=(4, 4, 4), pad_to=4)
    perm = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(net(x[:, perm], mask), net(x, mask), rtol=1e-5, atol=1e-5)


def test_fully_padded_row_is_finite_and_harmless():
    net = tiny_net().eval()
    x, mask = batch()
    mask[1] = True  # the design divided 0 by 0 here (NaN)
    out = net(x, mask)
    assert torch.isfinite(out).all()
    keep = torch.tensor([0, 2])
    torch.testing.assert_close(out[keep], net(x[keep], mask[keep]), rtol=1e-5, atol=1e-5)


def test_config_rebuilds_the_same_net():
    net = tiny_net(max_items=6).eval()
    clone = hydra.utils.instantiate(net.config).eval()
    clone.load_state_dict(net.state_dict(), strict=True)
    x, mask = batch()
    torch.testing.assert_close(clone(x, mask), net(x, mask))
    assert clone.max_items == 6 and clone.feature_dim == DIM


def test_wrong_feature_size_fails_loudly():
    with pytest.raises(ValueError, match=f"\\[B, N, {DIM}\\]"):
        tiny_net()(torch.randn(2, 3, DIM + 1))


@pytest.mark.parametrize("pooling", ["cls", "stats"])
def test_other_poolings_are_padding_and_order_invariant_and_train_every_parameter(pooling):
    net = tiny_net(pooling=pooling, norm_first=True).eval()
    x, mask = batch(pad_to=5)
    reference = net(x, mask)
    extra = torch.full((3, 2, DIM), float("nan"))
    wider = net(torch.cat([x, extra], 1), torch.cat([mask, torch.ones(3, 2, dtype=bool)], 1))
    torch.testing.assert_close(wider, reference, rtol=1e-5, atol=1e-5)
    swapped = x.clone()
    swapped[:, [0, 1]] = x[:, [1, 0]]
    torch.testing.assert_close(net(swapped, mask), reference, rtol=1e-5, atol=1e-5)
    net.train()
    net(x, mask).pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.any() for p in net.parameters())
    rebuilt = hydra.utils.instantiate(net.config)
    assert rebuilt.pooling == pooling and (rebuilt.cls_token is not None) == (pooling == "cls")
    empty = torch.ones(1, 4, dtype=torch.bool)  # a fully padded row stays finite
    assert torch.isfinite(net.eval()(torch.randn(1, 4, DIM), empty)).all()


def test_unknown_pooling_fails_loudly():
    with pytest.raises(ValueError, match="pooling"):
        tiny_net(pooling="max")
