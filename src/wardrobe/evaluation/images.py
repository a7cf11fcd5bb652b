"""Held-out evaluation of the image bundles: the garment classifier and the attribute tagger.

Each evaluator rebuilds the bundle's network (no training code), reads held-out data with the
same readers and the bundle's own preprocessing, and returns ``(metrics, plots)``. Batches of
``CPU_CONV_BATCH`` crops: the channels-last nets run 1.6x as fast as at 64 on this CPU (the
classifier's 940 held-out crops in 21 s against 33 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from wardrobe.artifacts import Bundle
from wardrobe.data.attributes_datamodule import AttributeDataModule
from wardrobe.data.classification_datamodule import GarmentClassificationDataModule
from wardrobe.evaluation import plots
from wardrobe.evaluation.shared_trunk import TrunkOutputs, crop_outputs
from wardrobe.models.metrics import HeadMetrics, classification_metrics
from wardrobe.preprocessing import ImagePreprocessing
from wardrobe.taxonomy import ATTRIBUTE_HEADS
from wardrobe.utils import CPU_CONV_BATCH
from wardrobe.utils.threads import loaded_on_one_thread

SPLITS = ("train", "val")  # a held-out root is another seed: every split of it is unseen


def _heldout(datamodule, splits=SPLITS) -> Dataset:
    parts = [datamodule.load_split(s, train=False) for s in splits if datamodule.split_exists(s)]
    if not parts:
        raise FileNotFoundError(f"no held-out split in {datamodule.data_dir}")
    return ConcatDataset(parts)


def _picture(image: torch.Tensor, preprocessing: ImagePreprocessing) -> np.ndarray:
    """A network input -> ``[H, W, 3]`` 0..1 RGB values, for the sample grid."""
    return preprocessing.denormalise(image).permute(1, 2, 0).numpy()


@torch.inference_mode()
def evaluate_classifier(
    bundle: Bundle,
    data_dir: Path,
    out_dir: Path,
    batch_size: int = CPU_CONV_BATCH,
    trunk: TrunkOutputs | None = None,
) -> tuple[dict[str, float], list[Path]]:
    """Top-1/top-5 accuracy and the confusion matrix on held-out ImageFolder crops (``trunk``:
    trunk outputs shared with the other crop bundles of the run)."""
    classes = bundle.labels["classes"]
    preprocessing = bundle.image_preprocessing
    dm = GarmentClassificationDataModule(
        str(data_dir), classes, preprocessing=preprocessing, augment=False
    )
    # shuffled (seeded) so the sample grid shows many categories, not the first folder's
    loader = DataLoader(
        _heldout(dm),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    # the modules' own top-1/top-5 definitions, so held-out and validation figures compare
    accuracy = classification_metrics(len(classes))
    confusion = MulticlassConfusionMatrix(len(classes))
    samples: list[tuple[np.ndarray, str, bool]] = []
    for images, targets in loaded_on_one_thread(loader):
        logits = crop_outputs(bundle, images, trunk)
        for metric in (*accuracy.values(), confusion):
            metric.update(logits, targets)
        for image, pred, true in zip(images, logits.argmax(-1), targets, strict=True):
            if len(samples) < 24 and (pred != true or len(samples) < 12):
                caption = f"{classes[pred]}\n(true {classes[true]})"
                samples.append((_picture(image, preprocessing), caption, pred == true))
    metrics = {
        "top1": float(accuracy["acc"].compute()),
        "top5": float(accuracy["acc_top5"].compute()),
    }
    metrics["samples"] = float(confusion.compute().sum())
    figures = [
        plots.confusion_matrix_png(
            confusion.compute().numpy(),
            classes,
            out_dir / "classifier_confusion.png",
            f"classifier, held-out top-1 {metrics['top1']:.3f}",
        ),
        plots.samples_png(
            *zip(*samples, strict=True),
            out_dir / "classifier_samples.png",
            "classifier: sample predictions (red = wrong)",
        ),
    ]
    return metrics, figures


@torch.inference_mode()
def evaluate_tagger(
    bundle: Bundle,
    data_dir: Path,
    out_dir: Path,
    batch_size: int = CPU_CONV_BATCH,
    trunk: TrunkOutputs | None = None,
) -> tuple[dict[str, float], list[Path]]:
    """F1 per head, their macro mean, colour accuracy and formality MAE on held-out rows."""
    dm = AttributeDataModule(str(data_dir), preprocessing=bundle.image_preprocessing, augment=False)
    loader = DataLoader(_heldout(dm), batch_size=batch_size)
    heads = {h: HeadMetrics(*_kind_size(h)) for h in bundle.labels}
    colour = MulticlassAccuracy(len(bundle.labels["colour"]), average="micro")
    for images, targets, masks in loaded_on_one_thread(loader):
        outputs = crop_outputs(bundle, images, trunk)
        for head, metric in heads.items():
            metric.update(outputs[head], targets[head], masks[head])
        keep = masks["colour"].bool()
        colour.update(outputs["colour"][keep], targets["colour"][keep])
    f1 = {h: float(m.compute()["f1"]) for h, m in heads.items() if m.updated}
    metrics = {f"{h}_f1": v for h, v in f1.items()}
    metrics["macro_f1"] = float(np.mean(list(f1.values())))
    metrics["colour_acc"] = float(colour.compute())
    metrics["formality_mae"] = float(heads["formality"].compute()["mae"])
    figure = plots.bar_chart_png(
        f1, out_dir / "tagger_f1_per_head.png", "tagger: held-out F1 per head", 0.70
    )
    return metrics, [figure]


def _kind_size(head: str) -> tuple[str, int]:
    kind, vocabulary = ATTRIBUTE_HEADS[head]
    return kind, max(len(vocabulary), 1)
