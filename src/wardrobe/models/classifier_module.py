"""``GarmentClassifierModule``: fine-category classification (47 classes by default)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MaxMetric, MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from wardrobe.models.base_module import WardrobeModule

Batch = tuple[torch.Tensor, torch.Tensor]


class GarmentClassifierModule(WardrobeModule):
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
        num_classes = self.net.num_classes
        top5 = min(5, num_classes)

        def metrics(stage: str) -> MetricCollection:
            return MetricCollection(
                {
                    "acc": MulticlassAccuracy(num_classes, top_k=1, average="micro"),
                    "acc_top5": MulticlassAccuracy(num_classes, top_k=top5, average="micro"),
                },
                prefix=f"{stage}/",
                compute_groups=False,
            )

        self.train_metrics, self.val_metrics, self.test_metrics = (
            metrics("train"),
            metrics("val"),
            metrics("test"),
        )
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.val_acc_best = MaxMetric()
        self.test_confmat = MulticlassConfusionMatrix(num_classes)
        self.test_confusion_matrix: torch.Tensor | None = None

    def on_train_start(self) -> None:
        # The sanity-check validation must not leak into the first epoch's val metrics.
        self.val_loss.reset()
        self.val_metrics.reset()
        self.val_acc_best.reset()

    def model_step(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One forward pass: ``(loss, logits, targets)``."""
        images, targets = batch
        logits = self.net(images)
        loss = F.cross_entropy(logits, targets, label_smoothing=self.hparams.label_smoothing)
        return loss, logits, targets

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        loss, logits, targets = self.model_step(batch)
        loss_metric = getattr(self, f"{stage}_loss")
        metrics = getattr(self, f"{stage}_metrics")
        loss_metric(loss)
        metrics(logits, targets)
        self.log(f"{stage}/loss", loss_metric, on_step=False, on_epoch=True, prog_bar=True)
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=True)
        if stage == "test":
            self.test_confmat.update(logits, targets)
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.val_metrics["acc"].compute())
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self.test_confusion_matrix = self.test_confmat.compute().cpu()
        self.test_confmat.reset()

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """Class probabilities ``[B, num_classes]``."""
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return self.net(images).softmax(-1)
