"""Training throughput (samples/s) per model and hardware profile, through the real configs.

    python benchmarks/train.py [--models classifier tagger] [--steps 6] [--batch 32]

For each model config and each hardware profile this machine can run (cpu always; the GPU
profiles where CUDA is present), the LightningModule is built from the composed Hydra config and
trained by a Lightning Trainer with the profile's precision, compile and accumulation settings,
on random tensors of the real input shapes (no data loading, so the model is what is measured).
The baseline in the same run: the same model with its backbone frozen on the cpu profile.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict
from torch.utils.data import DataLoader, Dataset

from wardrobe import config as _config  # noqa: F401  (resolvers)
from wardrobe import tasks
from wardrobe.taxonomy import ATTRIBUTE_HEADS

CONF = Path(__file__).resolve().parents[1] / "conf"


class RandomBatches(Dataset):
    """Random samples shaped like the model's real batches."""

    def __init__(self, model: str, image_size: int, n_classes: int, length: int) -> None:
        self.model, self.size, self.n_classes, self.length = model, image_size, n_classes, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        image = torch.randn(3, self.size, self.size)
        if self.model == "classifier":
            return image, torch.randint(0, self.n_classes, ()).item()
        targets, masks = {}, {}
        for head, (kind, vocab) in ATTRIBUTE_HEADS.items():
            if kind == "multiclass":
                targets[head] = torch.randint(0, len(vocab), ())
            elif kind == "multilabel":
                targets[head] = torch.randint(0, 2, (len(vocab),)).float()
            else:
                targets[head] = torch.rand(())
            masks[head] = torch.tensor(True)
        return image, targets, masks


class StepTimer(L.Callback):
    """Wall time of the optimiser steps after ``warmup`` (compile and allocation excluded)."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end, self.samples = warmup, None, None, 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if batch_idx == self.warmup * trainer.accumulate_grad_batches:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.start = time.perf_counter()
        if self.start is not None:
            self.samples += batch[0].shape[0]

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self.start is not None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.end = time.perf_counter()

    def rate(self) -> float:
        return self.samples / (self.end - self.start)


def runnable_profiles() -> list[str]:
    names = sorted(p.stem for p in (CONF / "hardware").glob("*.yaml"))
    if not torch.cuda.is_available():
        return ["cpu"]
    return [n for n in names if n == "cpu" or n in ("rtx3050", "a100")]


def measure(model: str, hardware: str, steps: int, batch: int, frozen: bool) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train", [f"model={model}", f"hardware={hardware}", f"data.batch_size={batch}"]
        )
    with open_dict(cfg):
        cfg.paths.output_dir = "/tmp/wardrobe-bench"
        cfg.model.freeze_backbone = frozen
    runtime = tasks.runtime_settings(cfg)
    module = instantiate(cfg.model)
    size = int(cfg.model.preprocessing.image_size)
    n_classes = len(cfg.data.classes) if "classes" in cfg.data else 0
    warmup = 2
    total = (steps + warmup) * batch
    loader = DataLoader(
        RandomBatches(model, size, n_classes, total), batch_size=runtime["per_device_batch_size"]
    )
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=1,
        precision=cfg.trainer.precision,
        max_epochs=1,
        accumulate_grad_batches=runtime["accumulate_grad_batches"],
        callbacks=[timer],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, train_dataloaders=loader)
    return {**runtime, "rate": timer.rate(), "image_size": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["classifier", "tagger"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads")
    header = f"{'model':<12}{'hardware':<10}{'backbone':<11}{'precision':<11}{'compile':<8}"
    print(f"{header}{'batch':>6}{'samples/s':>11}{'vs baseline':>13}")
    for model in args.models:
        baseline = measure(model, "cpu", args.steps, args.batch, frozen=True)
        rows = [("cpu", True, baseline)]
        rows += [
            (h, False, measure(model, h, args.steps, args.batch, False))
            for h in runnable_profiles()
        ]
        for hardware, frozen, r in rows:
            print(
                f"{model:<12}{hardware:<10}{'frozen' if frozen else 'fine-tuned':<11}"
                f"{r['precision']:<11}{r['compile']!s:<8}{r['effective_batch_size']:>6}"
                f"{r['rate']:>11.1f}{r['rate'] / baseline['rate']:>12.2f}x"
            )


if __name__ == "__main__":
    main()
