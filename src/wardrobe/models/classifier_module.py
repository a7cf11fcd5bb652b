"""``GarmentClassifierModule``: fine-category classification (47 classes by default)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassConfusionMatrix

from wardrobe.models.base_module import BackboneModule
from wardrobe.models.metrics import classification_metrics

Batch = tuple[torch.Tensor, torch.Tensor]


class GarmentClassifierModule(BackboneModule):
    """Train/evaluate a :class:`~wardrobe.models.components.classifier_net.GarmentClassifierNet`.

    Logs ``{train,val,test}/loss``, ``.../acc`` (top-1), ``.../acc_top5`` and ``val/acc_best``.
    After ``trainer.test`` the confusion matrix (rows = true class, columns = predicted) is in
    :attr:`test_confusion_matrix`.

    Args:
        net: the net, or its ``config`` dict (as checkpoints store it).
        optimizer: optimizer partial (Hydra ``_partial_: true``); gets the trainable params.
        scheduler: scheduler partial or None; a cosine without ``T_max`` spans the whole run.
        compile: ``torch.compile`` the net (in place) before fitting.
        label_smoothing: cross-entropy label smoothing.
        freeze_backbone: train the head only (the backbone keeps its weights and BN statistics).
        preprocessing: the input transform (recorded in the checkpoint).
    """

    best_metric = "acc"
    progress_bar = frozenset({"loss", "acc", "acc_top5"})

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        compile: bool = False,
        label_smoothing: float = 0.0,
        freeze_backbone: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            net=net,
            optimizer=optimizer,
            scheduler=scheduler,
            compile=compile,
            freeze_backbone=freeze_backbone,
            label_smoothing=float(label_smoothing),
            preprocessing=preprocessing,
        )
        self.test_confmat = MulticlassConfusionMatrix(self.net.num_classes)
        self.test_confusion_matrix: torch.Tensor | None = None

    def model_step(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One forward pass: ``(loss, logits, targets)``."""
        images, targets = batch
        logits = self.net(images)
        loss = F.cross_entropy(logits, targets, label_smoothing=self.hparams.label_smoothing)
        return loss, logits, targets

    def stage_metrics(self, stage: str) -> MetricCollection:
        metrics = {"loss": MeanMetric(), **classification_metrics(self.net.num_classes)}
        return MetricCollection(metrics, prefix=f"{stage}/", compute_groups=False)

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        loss, logits, targets = self.model_step(batch)
        metrics = getattr(self, f"{stage}_metrics")
        metrics["loss"].update(loss.detach())
        for name in ("acc", "acc_top5"):
            metrics[name].update(logits.detach(), targets)
        if stage == "test":
            self.test_confmat.update(logits, targets)
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        super().on_test_epoch_end()
        self.test_confusion_matrix = self.test_confmat.compute().cpu()
        self.test_confmat.reset()

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """Class probabilities ``[B, num_classes]``."""
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return self.net(images).softmax(-1)
