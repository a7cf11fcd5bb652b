"""Outfit compatibility: the design choices of the set transformer, measured in one run.

    python benchmarks/compatibility.py [--data data/synthwardrobe/polyvore]
        [--artifacts model_artifacts] [--epochs 8] [--only NAME ...]

Every row trains the compatibility net from scratch on the train split and scores the **valid**
split (the tuning split; held-out figures come from ``evaluate.py``): compatibility AUC and
accuracy, FITB accuracy (4 candidates), and the training seconds (upper bounds on a shared
machine). The item records are made once by the ingestion models of ``--artifacts`` (classifier,
tagger, colour extractor, CLIP; :func:`wardrobe.ingestion.describe.describe_catalogue`, cached
under ``<data>/features/``); each row then builds its feature set with
:func:`wardrobe.data.garment_features.garment_features`.

Rows vary one choice against ``baseline`` (the quickstart: all parts, 2 pre-norm layers, mean +
max + min pooling, the split's labelled hard negatives in training): the feature set (``image``
= the old CLIP-embedding-only input), the hard negatives, the pooling (mean, CLS token), post-norm
layers, the depth.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
import warnings
from pathlib import Path

import lightning as L
import torch

from wardrobe.data.garment_features import ATTRIBUTE_PARTS, FEATURE_PARTS, garment_features
from wardrobe.data.polyvore_datamodule import PolyvoreDataModule
from wardrobe.ingestion.describe import describe_catalogue
from wardrobe.ingestion.pipeline import IngestSettings
from wardrobe.models.compatibility_module import OutfitCompatibilityModule
from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet

BASE_NET = dict(
    d_model=128, nhead=4, num_layers=2, dim_feedforward=256, dropout=0.1, max_items=8,
    head_hidden=64, head_dropout=0.1, pooling="stats", norm_first=True,
)  # fmt: skip
BASE_DATA = dict(negatives_per_positive=1, hard_negative_fraction=0.0, train_split_negatives=True)
ROWS = {
    "baseline (the quickstart)": ({}, {}, FEATURE_PARTS),
    "image only (the old input)": ({}, {}, ("image",)),
    "attributes only": ({}, {}, ATTRIBUTE_PARTS),
    "no labelled hard negatives": ({}, {"train_split_negatives": False}, FEATURE_PARTS),
    "mean pooling": ({"pooling": "mean"}, {}, FEATURE_PARTS),
    "CLS token": ({"pooling": "cls"}, {}, FEATURE_PARTS),
    "post-norm layers": ({"norm_first": False}, {}, FEATURE_PARTS),
    "1 layer": ({"num_layers": 1}, {}, FEATURE_PARTS),
}


def run_row(data, ids, described, net_over, data_over, parts, epochs, seed=0):
    """Train one configuration; its valid metrics and training seconds."""
    L.seed_everything(seed, workers=True)
    rows = garment_features(
        described.records, parts, described.image_embeddings, described.text_embeddings
    )
    features = dict(zip(ids, torch.from_numpy(rows), strict=True))
    dm = PolyvoreDataModule.from_features(
        data, features, variant="nondisjoint", batch_size=64, max_items=8,
        **{**BASE_DATA, **data_over},
    )  # fmt: skip
    net = OutfitCompatibilityNet(feature_dim=rows.shape[1], **{**BASE_NET, **net_over})
    module = OutfitCompatibilityModule(
        net=net,
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.01),
        preprocessing=None,
    )
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=epochs, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        check_val_every_n_epoch=epochs,
    )  # fmt: skip
    start = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    seconds = time.perf_counter() - start
    (val,) = trainer.validate(module, datamodule=dm, verbose=False)
    return val["val/auc"], val["val/acc"], val["val/fitb_acc"], seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/synthwardrobe/polyvore"))
    parser.add_argument("--artifacts", type=Path, default=Path("model_artifacts"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)  # a shared machine: more threads thrash (measured 50x slower)
    ids, described = describe_catalogue(
        args.data / "images", args.artifacts, settings=IngestSettings(backend="onnx")
    )
    print(f"{len(ids)} items; {args.epochs} epochs per row; valid split of {args.data}")
    print("| row | AUC | accuracy | FITB | train s |\n|---|---|---|---|---|")
    for name, (net_over, data_over, parts) in ROWS.items():
        if args.only and name not in args.only:
            continue
        auc, acc, fitb, secs = run_row(
            args.data, ids, described, net_over, data_over, parts, args.epochs
        )
        print(f"| {name} | {auc:.3f} | {acc:.3f} | {fitb:.3f} | {secs:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
