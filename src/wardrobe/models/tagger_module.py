"""``AttributeTaggerModule``: multi-head attribute tagging with per-head masked losses.

A batch is ``(images, targets, masks)``; ``targets[head]`` is a class index ``[B]``
(multiclass), a multi-hot ``[B, K]`` float (multilabel) or a float in ``FORMALITY_RANGE``
``[B]`` (regression), and ``masks[head]`` is a bool ``[B]`` that is False where the label is
missing. A missing label contributes nothing to the loss or the metrics.

Metrics per head: ``{stage}/{head}/f1`` (macro F1 over classes for multiclass heads, macro F1
over labels at threshold 0.5 for multilabel heads). The formality regression reports
``{stage}/formality/mae`` and, so that it can enter ``macro_f1`` like the other heads, a macro
F1 over three equal bins of ``FORMALITY_RANGE`` (low / mid / high; a casual, smart-casual and
formal reading). ``{stage}/macro_f1`` is the mean of the F1 of every head that had labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MaxMetric, MeanAbsoluteError, MeanMetric, SumMetric
from torchmetrics.classification import MulticlassF1Score, MultilabelF1Score

from wardrobe.models.base_module import WardrobeModule
from wardrobe.models.components.tagger_net import head_kind, head_outputs, regression_value
from wardrobe.taxonomy import FORMALITY_RANGE

Batch = tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]
FORMALITY_BINS = 3
REGRESSION_LOSSES = ("bce", "mse")


def formality_bins(values: torch.Tensor) -> torch.Tensor:
    """Values in ``FORMALITY_RANGE`` -> bin 0 (low), 1 (mid) or 2 (high)."""
    low, high = FORMALITY_RANGE
    scaled = (values - low) / (high - low) * FORMALITY_BINS
    return scaled.long().clamp(0, FORMALITY_BINS - 1)


def _masked_mean(per_sample: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(per_sample.dtype)
    return (per_sample * mask).sum() / mask.sum().clamp(min=1.0)


def masked_head_loss(
    kind: str,
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    regression_loss: str = "bce",
) -> torch.Tensor:
    """Mean loss of one head over the samples whose label is present (0 when none is).

    multiclass: cross-entropy; multilabel: ``BCEWithLogits`` averaged over labels;
    regression: ``BCEWithLogits`` against the soft target rescaled to [0, 1] (``"bce"``), or MSE
    of ``sigmoid(logit)`` (``"mse"``). Masked labels may hold any value, even invalid ones.
    """
    mask = mask.bool()
    if kind == "multiclass":
        safe = torch.where(mask, target.long(), torch.zeros_like(target, dtype=torch.long))
        per_sample = F.cross_entropy(logits, safe, reduction="none")
    elif kind == "multilabel":
        safe = torch.where(mask.unsqueeze(-1), target.float(), torch.zeros_like(logits))
        per_sample = F.binary_cross_entropy_with_logits(logits, safe, reduction="none").mean(-1)
    elif kind == "regression":
        low, high = FORMALITY_RANGE
        unit = ((target.float() - low) / (high - low)).clamp(0.0, 1.0)
        unit = torch.where(mask, unit, torch.zeros_like(unit))
        logit = logits.reshape(-1)
        if regression_loss == "bce":
            per_sample = F.binary_cross_entropy_with_logits(logit, unit, reduction="none")
        elif regression_loss == "mse":
            per_sample = (logit.sigmoid() - unit) ** 2
        else:
            raise ValueError(f"regression_loss must be one of {REGRESSION_LOSSES}")
    else:
        raise ValueError(f"unknown head kind {kind!r}")
    return _masked_mean(per_sample, mask)


class HeadMetrics(nn.Module):
    """F1 (and MAE for the regression) of one head, updated on the labelled samples only."""

    def __init__(self, kind: str, size: int) -> None:
        super().__init__()
        self.kind = kind
        # labelled samples seen; synced across processes, so every rank agrees on `updated`
        self.count = SumMetric()
        if kind == "multiclass":
            self.f1 = MulticlassF1Score(size, average="macro")
        elif kind == "multilabel":
            self.f1 = MultilabelF1Score(size, average="macro", threshold=0.5)
        else:
            self.f1 = MulticlassF1Score(FORMALITY_BINS, average="macro")
            self.mae = MeanAbsoluteError()

    def update(self, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> None:
        keep = mask.bool()
        self.count.update(keep.sum())
        if not bool(keep.any()):
            return
        logits, target = logits[keep], target[keep]
        if self.kind == "multiclass":
            self.f1.update(logits.argmax(-1), target.long())
        elif self.kind == "multilabel":
            self.f1.update(logits.sigmoid(), target.long())
        else:
            value = regression_value(logits)
            self.f1.update(formality_bins(value), formality_bins(target.float()))
            self.mae.update(value, target.float())

    @property
    def updated(self) -> bool:
        """Whether any labelled sample was seen since the last reset (on any process)."""
        return bool(self.count.compute() > 0)

    def compute(self) -> dict[str, torch.Tensor]:
        out = {"f1": self.f1.compute()}
        if self.kind == "regression":
            out["mae"] = self.mae.compute()
        return out

    def reset(self) -> None:
        self.count.reset()
        self.f1.reset()
        if self.kind == "regression":
            self.mae.reset()


class AttributeTaggerModule(WardrobeModule):
    """Train/evaluate an :class:`~wardrobe.models.components.tagger_net.AttributeTaggerNet`.

    Logs ``{stage}/loss``, ``{stage}/{head}/loss``, ``{stage}/{head}/f1``,
    ``{stage}/formality/mae``, ``{stage}/macro_f1`` and ``val/macro_f1_best``.

    Args:
        net: the net, or its ``config`` dict (as checkpoints store it).
        optimizer, scheduler, compile, freeze_backbone, preprocessing: as for the classifier.
        loss_weights: ``{head: weight}``; heads not named weigh 1.0, an unknown head fails.
        regression_loss: ``"bce"`` (BCE-with-logits on the soft target) or ``"mse"``.
    """

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        loss_weights: Mapping[str, float] | None = None,
        compile: bool = False,
        freeze_backbone: bool = False,
        regression_loss: str = "bce",
        preprocessing: Mapping[str, Any] | None = None,
    ) -> None:
        weights = {str(k): float(v) for k, v in (loss_weights or {}).items()}
        if regression_loss not in REGRESSION_LOSSES:
            raise ValueError(f"regression_loss must be one of {REGRESSION_LOSSES}")
        super().__init__(
            net=net,
            optimizer=optimizer,
            scheduler=scheduler,
            compile=compile,
            freeze_backbone=freeze_backbone,
            loss_weights=weights,
            regression_loss=regression_loss,
            preprocessing=preprocessing,
        )
        self.head_sizes: dict[str, int] = dict(self.net.head_sizes)
        unknown = set(weights) - set(self.head_sizes)
        if unknown:
            raise ValueError(f"loss_weights name unknown heads {sorted(unknown)}")
        self.head_kinds = {name: head_kind(name) for name in self.head_sizes}
        self.loss_weights = {name: weights.get(name, 1.0) for name in self.head_sizes}

        def metrics() -> nn.ModuleDict:
            return nn.ModuleDict(
                {n: HeadMetrics(self.head_kinds[n], s) for n, s in self.head_sizes.items()}
            )

        self.train_metrics, self.val_metrics, self.test_metrics = metrics(), metrics(), metrics()
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.val_macro_f1_best = MaxMetric()

    def on_train_start(self) -> None:
        self.val_loss.reset()
        for metric in self.val_metrics.values():
            metric.reset()
        self.val_macro_f1_best.reset()

    def head_losses(
        self,
        outputs: Mapping[str, torch.Tensor],
        targets: Mapping[str, torch.Tensor],
        masks: Mapping[str, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """Masked loss of every head present in ``targets``."""
        return {
            name: masked_head_loss(
                self.head_kinds[name],
                outputs[name],
                targets[name],
                masks[name],
                self.hparams.regression_loss,
            )
            for name in self.head_sizes
            if name in targets
        }

    def model_step(
        self, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """One forward pass: ``(weighted total loss, per-head losses, outputs)``."""
        images, targets, masks = batch
        outputs = self.net(images)
        losses = self.head_losses(outputs, targets, masks)
        if not losses:
            raise ValueError(f"the batch labels none of the heads {list(self.head_sizes)}")
        total = sum(self.loss_weights[name] * loss for name, loss in losses.items())
        return total, losses, outputs

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        loss, losses, outputs = self.model_step(batch)
        _, targets, masks = batch
        loss_metric = getattr(self, f"{stage}_loss")
        loss_metric(loss)
        self.log(f"{stage}/loss", loss_metric, on_step=False, on_epoch=True, prog_bar=True)
        for name, head_loss in losses.items():
            self.log(f"{stage}/{name}/loss", head_loss.detach(), on_step=False, on_epoch=True)
        for name, metric in getattr(self, f"{stage}_metrics").items():
            if name in targets:
                metric.update(outputs[name].detach(), targets[name], masks[name])
        return loss

    def _log_epoch_metrics(self, stage: str) -> torch.Tensor | None:
        f1s = []
        for name, metric in getattr(self, f"{stage}_metrics").items():
            if metric.updated:  # else no label of this head in the epoch: not logged
                values = metric.compute()
                for key, value in values.items():
                    self.log(f"{stage}/{name}/{key}", value)
                f1s.append(values["f1"])
            metric.reset()
        if not f1s:
            return None
        macro_f1 = torch.stack(f1s).mean()
        self.log(f"{stage}/macro_f1", macro_f1, prog_bar=True)
        return macro_f1

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def on_train_epoch_end(self) -> None:
        self._log_epoch_metrics("train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        macro_f1 = self._log_epoch_metrics("val")
        if macro_f1 is not None:
            self.val_macro_f1_best(macro_f1)
            self.log("val/macro_f1_best", self.val_macro_f1_best.compute(), prog_bar=True)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        """Probabilities per head (softmax / sigmoid) and formality in ``FORMALITY_RANGE``."""
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return head_outputs(self.net(images))
