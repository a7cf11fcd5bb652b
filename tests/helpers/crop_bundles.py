"""The three crop nets built tiny on one trunk (timm's ``test_efficientnet``, 32 px), and their
bundles saved as the quickstarts save them (with or without the shared-trunk record)."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.helpers.tiny_data import TINY_CLIP_NET
from wardrobe.artifacts import save_bundle
from wardrobe.models.components.backbones import POOLED, SHARED_TRUNK, trunk_fingerprint
from wardrobe.models.components.classifier_net import GarmentClassifierNet
from wardrobe.models.components.clip_net import GarmentClipNet
from wardrobe.models.components.tagger_net import AttributeTaggerNet
from wardrobe.taxonomy import ATTRIBUTE_HEADS, FINE_CATEGORIES

TRUNK = "test_efficientnet"  # timm's tiny EfficientNet: 5 blocks, 32 px is enough
IMAGE = {"image_size": 32, "resize": 36, "mean": [0.5] * 3, "std": [0.5] * 3}
IMAGE["interpolation"] = "bilinear"
TEXT = {"tokenizer": "clip_bpe", "context_length": TINY_CLIP_NET["context_length"]}


def tiny_crop_nets(
    trunk_output: str = POOLED, classifier_output: str | None = None, **classifier
) -> dict[str, torch.nn.Module]:
    """Classifier, tagger and CLIP nets whose trunks hold the same (random, seeded) weights;
    ``classifier_output``: the classifier's own trunk output (``pooled+centres+maps``: its own
    last stages, perturbed so that they differ from the frozen ones); ``classifier``: more of
    its arguments (``head_reads``, ``head_hidden``)."""
    torch.manual_seed(0)
    kw = {"backbone": TRUNK, "weights": "none", "trunk_output": trunk_output}
    classifier = {**kw, "num_classes": len(FINE_CATEGORIES), **classifier}
    classifier["trunk_output"] = classifier_output or trunk_output
    nets = {
        "classifier": GarmentClassifierNet(**classifier),
        "tagger": AttributeTaggerNet(**kw),
        "clip": GarmentClipNet(
            **{**TINY_CLIP_NET, "image_tower": TRUNK, "trunk_output": trunk_output}
        ),
    }
    for name in ("tagger", "clip"):  # one frozen trunk, as the quickstarts train them
        nets[name].trunk.load_state_dict(nets["classifier"].trunk.state_dict())
    if nets["classifier"].tail is not None:
        with torch.no_grad():
            for param in nets["classifier"].tail.parameters():
                param.add_(0.1 * torch.randn_like(param))
    return nets


def crop_labels(name: str) -> dict[str, list[str]]:
    if name == "classifier":
        return {"classes": list(FINE_CATEGORIES)}
    if name == "tagger":
        return {head: list(vocab) for head, (_, vocab) in ATTRIBUTE_HEADS.items()}
    return {"tokenizer": [TEXT["tokenizer"]]}


def save_crop_bundles(
    root: Path, nets: dict, record: bool = True, record_of: dict | None = None
) -> Path:
    """Save the bundles of ``nets``; ``record``: with the shared-trunk fingerprint of
    ``record_of[name]`` (default: the net's own trunk)."""
    for name, net in nets.items():
        source = (record_of or {}).get(name, net)
        fingerprint = trunk_fingerprint(source.trunk, TRUNK, IMAGE, source.trunk_output)
        save_bundle(
            root / name,
            name=name,
            net=net,
            net_cfg=net.config,
            labels=crop_labels(name),
            preprocessing={**IMAGE, **(TEXT if name == "clip" else {})},
            extra_meta={SHARED_TRUNK: fingerprint} if record else None,
        )
    return root
