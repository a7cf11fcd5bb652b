"""Training-step throughput of the classifier and the tagger, frozen vs fine-tuned backbone.

    python benchmarks/train_step_throughput.py [--image-size 128] [--batch 32] [--steps 5]

One step = forward, masked/weighted loss (the modules' own ``model_step``), backward, AdamW
step, on random tensors (no data loading). Prints samples/s per configuration.
"""

from __future__ import annotations

import argparse
import functools
import time

import torch

from wardrobe.models.classifier_module import GarmentClassifierModule
from wardrobe.models.components.classifier_net import GarmentClassifierNet
from wardrobe.models.components.tagger_net import AttributeTaggerNet, default_heads
from wardrobe.models.tagger_module import AttributeTaggerModule
from wardrobe.taxonomy import ATTRIBUTE_HEADS, FINE_CATEGORIES


def make(model: str, frozen: bool):
    optimizer = functools.partial(torch.optim.AdamW, lr=1e-3)
    if model == "classifier":
        net = GarmentClassifierNet(num_classes=len(FINE_CATEGORIES))
        return GarmentClassifierModule(net=net, optimizer=optimizer, freeze_backbone=frozen)
    net = AttributeTaggerNet()
    return AttributeTaggerModule(net=net, optimizer=optimizer, freeze_backbone=frozen)


def batch(model: str, size: int, image_size: int):
    images = torch.randn(size, 3, image_size, image_size)
    if model == "classifier":
        return images, torch.randint(0, len(FINE_CATEGORIES), (size,))
    targets, masks = {}, {}
    for head, n in default_heads().items():
        kind = ATTRIBUTE_HEADS[head][0]
        if kind == "multiclass":
            targets[head] = torch.randint(0, n, (size,))
        elif kind == "multilabel":
            targets[head] = torch.randint(0, 2, (size, n)).float()
        else:
            targets[head] = torch.rand(size)
        masks[head] = torch.rand(size) > 0.2
    return images, targets, masks


def measure(model: str, frozen: bool, size: int, image_size: int, steps: int) -> float:
    module = make(model, frozen).train()
    optimizer = module.configure_optimizers()["optimizer"]
    data = batch(model, size, image_size)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        module.model_step(data)[0].backward()
        optimizer.step()

    for _ in range(2):  # warm-up (allocations, first-call overheads)
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return size * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"batch {args.batch}, {args.image_size} px, {args.steps} timed steps"
    )
    print(f"{'model':<12}{'backbone':<12}{'samples/s':>10}")
    for model in ("classifier", "tagger"):
        for frozen in (True, False):
            rate = measure(model, frozen, args.batch, args.image_size, args.steps)
            print(f"{model:<12}{'frozen' if frozen else 'fine-tuned':<12}{rate:>10.1f}")


if __name__ == "__main__":
    main()
