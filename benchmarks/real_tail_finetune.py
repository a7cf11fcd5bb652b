"""Frozen Lite0 vs its last stages fine-tuned, on the real photos' own classes.

    python benchmarks/real_tail_finetune.py [--root ../shared/real-data/clothing-dataset-small]
        [--lrs 1e-4,3e-4] [--epochs 3] [--cache /tmp/real_block4.pt]

The classifier's trunk is frozen ImageNet Lite0; this asks how far real photos move the
10-class accuracy when only blocks 5-6 and the head convolution learn (7x7 maps: cheap, and
blocks 0-4, where the tagger's centre colour features come from, stay shared). The block-4 maps
of train/ (and their mirror images) and validation/ are computed once and cached; per rate: a
linear probe on the frozen tail (the starting point), then the tail and the probe trained
together (AdamW, label smoothing 0.1, batch norm statistics kept), validation/ accuracy after
each epoch. validation/ picks the epoch and rate here, so the best figure is optimistic.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from wardrobe.data.formats.classfolder import load_class_mapping, read_class_folder
from wardrobe.models.components.backbones import (
    CENTRE_BLOCKS,
    TrunkTail,
    build_backbone,
    default_preprocessing,
)
from wardrobe.preprocessing.image import build_transforms

ROOT = Path(__file__).resolve().parents[1]
SHARED = CENTRE_BLOCKS  # blocks 0-4; the tail (TrunkTail) is blocks 5-6 + the head conv


def block4_maps(net: nn.Module, samples, transform, flip: bool = False) -> torch.Tensor:
    """Half-precision block-4 outputs of every sample's photo."""
    out = []
    with torch.no_grad():
        for start in range(0, len(samples), 32):
            batch = []
            for sample in samples[start : start + 32]:
                with Image.open(sample.path) as image:
                    image = image.convert("RGB")
                    if flip:
                        image = image.transpose(Image.FLIP_LEFT_RIGHT)
                    batch.append(transform(image))
            h = net.bn1(net.conv_stem(torch.stack(batch)))
            for k in SHARED:
                h = net.blocks[k](h)
            out.append(h.half())
    return torch.cat(out)


def tail_features(tail: TrunkTail, maps: torch.Tensor) -> torch.Tensor:
    """Pooled features of every map, in chunks, without gradients."""
    with torch.no_grad():
        return torch.cat([tail(maps[i : i + 256].float()) for i in range(0, len(maps), 256)])


def accuracy(tail, head, maps, labels) -> float:
    with torch.no_grad():
        return (head(tail_features(tail, maps)).argmax(-1) == labels).float().mean().item()


def run(net, maps, labels, lr: float, epochs: int, classes: int) -> tuple[float, list[float]]:
    """Probe on the frozen tail, then tail + probe fine-tuned; validation/ after each epoch."""
    (x_train, x_flip, x_val), (y_train, y_val) = maps, labels
    torch.manual_seed(0)
    tail = TrunkTail(net).train().requires_grad_(True)  # batch norms stay in eval mode
    head = nn.Linear(net.num_features, classes)
    frozen = tail_features(tail, x_train)
    optimiser = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=0.01)
    for _ in range(60):
        for index in torch.randperm(len(frozen)).split(256):
            loss = nn.functional.cross_entropy(head(frozen[index]), y_train[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    probe = accuracy(tail, head, x_val, y_val)
    groups = [{"params": tail.parameters(), "lr": lr}, {"params": head.parameters(), "lr": 1e-3}]
    optimiser = torch.optim.AdamW(groups, weight_decay=0.01)
    x, y = torch.cat([x_train, x_flip]), torch.cat([y_train, y_train])
    history = []
    for _ in range(epochs):
        for index in torch.randperm(len(x)).split(64):
            logits = head(tail(x[index].float()))
            loss = nn.functional.cross_entropy(logits, y[index], label_smoothing=0.1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        history.append(accuracy(tail, head, x_val, y_val))
    return probe, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root", default=str(ROOT.parent / "shared/real-data/clothing-dataset-small")
    )
    parser.add_argument("--lrs", default="1e-4,3e-4")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cache", default=None, help="a .pt file for the block-4 maps")
    args = parser.parse_args()
    net, _ = build_backbone()
    net.eval().requires_grad_(False)  # batch norm statistics stay the ImageNet ones
    transform = build_transforms(default_preprocessing(), train=False)
    mapping = load_class_mapping()
    train, _ = read_class_folder(args.root, mapping, "train")
    val, _ = read_class_folder(args.root, mapping, "val")
    started = time.perf_counter()
    if args.cache and Path(args.cache).exists():
        maps = torch.load(args.cache)
    else:
        maps = (block4_maps(net, train, transform), block4_maps(net, train, transform, True),
                block4_maps(net, val, transform))  # fmt: skip
        if args.cache:
            torch.save(maps, args.cache)
    labels = (torch.tensor([s.index for s in train]), torch.tensor([s.index for s in val]))
    print(
        f"block-4 maps of {len(train)} + {len(val)} photos: {time.perf_counter() - started:.0f} s"
    )
    print("| tail lr | frozen probe | fine-tuned, after each epoch | seconds |\n|---|---|---|---|")
    for lr in (float(v) for v in args.lrs.split(",")):
        started = time.perf_counter()
        probe, history = run(net, maps, labels, lr, args.epochs, len(mapping.names))
        epochs = " / ".join(f"{a:.3f}" for a in history)
        print(f"| {lr:g} | {probe:.3f} | {epochs} | {time.perf_counter() - started:.0f} |")


if __name__ == "__main__":
    main()
