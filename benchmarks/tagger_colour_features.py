"""Which frozen Lite0 features carry garment colour: a linear colour probe per feature set.

    python benchmarks/tagger_colour_features.py [--data data/synthwardrobe/attributes]

The quickstart tagger's colour head reads the frozen trunk's final pooled features (after the
1x1 head convolution) and misses the 0.85 target; this measures, in one run on the same crops,
a logistic-regression colour probe (fit on ``train.jsonl``, scored on ``val.jsonl``) on the
final features (the baseline row) and on the final features joined by earlier stages of the
same trunk pass: each stage's global mean (``s<k>``), the mean of its central half (``c<k>``)
or its 2x2 grid of means (``g<k>``). What the tagger could read from a shared-trunk output
kind with earlier stages in it, at no extra trunk pass.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression

from wardrobe.data.formats.attributes import read_attribute_rows
from wardrobe.models.components.backbones import build_backbone, default_preprocessing
from wardrobe.preprocessing import ImagePreprocessing

ROOT = Path(__file__).resolve().parents[1]
STAGES = (0, 1, 2, 3, 4)  # Lite0 blocks pooled (16, 24, 40, 80, 112 channels at 224 px)
FEATURE_SETS = (
    ("final",),
    ("final", "s2"),
    ("final", "s3"),
    ("final", "s3", "s4"),
    ("final", "c3"),
    ("final", "c2", "c3"),
    ("final", "g3"),
    ("final", "g2", "g3"),
    ("final", "g1", "g2", "g3"),
    ("final", "c1", "c2", "c3"),
    ("final", "g1", "g2", "g3", "g4"),
    ("final", "c0", "c1", "c2", "c3"),
    ("final", "c1", "c2", "c3", "c4"),
    ("final", "c1", "c2", "c3", "g3"),
    ("final", "c0", "c1", "c2", "c3", "c4"),  # the trunk output pooled+centres
)


def stage_features(trunk: torch.nn.Module, images: torch.Tensor) -> dict[str, np.ndarray]:
    """The final pooled features and each stage's mean, central mean and 2x2 grid of means."""
    out = {}
    h = trunk.bn1(trunk.conv_stem(images))
    for k, block in enumerate(trunk.blocks):
        h = block(h)
        if k in STAGES:
            rows, cols = h.shape[2:]
            centre = h[:, :, rows // 4 : 3 * rows // 4, cols // 4 : 3 * cols // 4]
            out[f"s{k}"] = h.mean((2, 3))
            out[f"c{k}"] = centre.mean((2, 3))
            out[f"g{k}"] = torch.nn.functional.adaptive_avg_pool2d(h, 2).flatten(1)
    out["final"] = trunk.bn2(trunk.conv_head(h)).mean((2, 3))
    return {k: v.numpy() for k, v in out.items()}


@torch.inference_mode()
def encode_split(trunk, transform, jsonl: Path, batch: int = 16):
    rows, _ = read_attribute_rows(jsonl)
    rows = [r for r in rows if r.colour_primary]
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(rows), batch):
        images = [
            Image.open(jsonl.parent / r.image).convert("RGB") for r in rows[start : start + batch]
        ]
        for key, value in stage_features(
            trunk, torch.stack([transform(i) for i in images])
        ).items():
            parts.setdefault(key, []).append(value)
    labels = np.array([r.colour_primary for r in rows])
    return {k: np.concatenate(v) for k, v in parts.items()}, labels


def probe_accuracy(train, y_train, val, y_val, keys) -> float:
    x, x_val = (np.concatenate([d[k] for k in keys], 1) for d in (train, val))
    mean, std = x.mean(0), x.std(0) + 1e-6
    probe = LogisticRegression(max_iter=2000).fit((x - mean) / std, y_train)
    return float(probe.score((x_val - mean) / std, y_val))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data/synthwardrobe/attributes"))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trunk, _ = build_backbone()
    trunk = trunk.eval().to(memory_format=torch.channels_last)
    pre = ImagePreprocessing.from_dict({**default_preprocessing(), "image_size": 224})
    transform = pre.transform(train=False)
    started = time.perf_counter()
    train, y_train = encode_split(trunk, transform, Path(args.data) / "train.jsonl")
    val, y_val = encode_split(trunk, transform, Path(args.data) / "val.jsonl")
    print(
        f"{len(y_train)} train / {len(y_val)} val crops encoded in "
        f"{time.perf_counter() - started:.0f} s (Lite0, 224 px, offline ImageNet weights)"
    )
    print("| features | dims | val colour accuracy | vs final only |")
    print("|---|---|---|---|")
    base = None
    for keys in FEATURE_SETS:
        accuracy = probe_accuracy(train, y_train, val, y_val, keys)
        base = accuracy if base is None else base
        dims = sum(train[k].shape[1] for k in keys)
        print(f"| {' + '.join(keys)} | {dims} | {accuracy:.3f} | {accuracy - base:+.3f} |")


if __name__ == "__main__":
    main()
