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

import logging
import time
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from wardrobe.models.base_module import BackboneModule
from wardrobe.models.components.tagger_net import head_kind, head_outputs
from wardrobe.models.metrics import head_metrics, head_was_labelled, update_head_metrics
from wardrobe.taxonomy import FORMALITY_RANGE

log = logging.getLogger(__name__)
Batch = tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]
REGRESSION_LOSSES = ("bce", "mse")


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


class AttributeTaggerModule(BackboneModule):
    """Train/evaluate an :class:`~wardrobe.models.components.tagger_net.AttributeTaggerNet`.

    Logs ``{stage}/loss``, ``{stage}/{head}/loss``, ``{stage}/{head}/f1``,
    ``{stage}/formality/mae``, ``{stage}/macro_f1`` and ``val/macro_f1_best``.

    Args:
        net: the net, or its ``config`` dict (as checkpoints store it).
        optimizer, scheduler, compile, freeze_backbone, preprocessing: as for the classifier.
        loss_weights: ``{head: weight}``; heads not named weigh 1.0, an unknown head fails.
        regression_loss: ``"bce"`` (BCE-with-logits on the soft target) or ``"mse"``.
        head_warmup_epochs: epochs of the heads alone on cached frozen-trunk features before
            fitting (needs ``freeze_backbone``; the features are shared with the classifier and
            CLIP, see :func:`~wardrobe.models.feature_cache.image_features`).
        head_warmup_lr, head_warmup_batch_size: that fit's AdamW learning rate (cosine-annealed)
            and batch size.
        feature_cache_dir: where the features are kept (None: computed, not kept).
    """

    best_metric = "macro_f1"
    progress_bar = frozenset({"loss", "macro_f1"})

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
        head_warmup_epochs: int = 0,
        head_warmup_lr: float = 1e-3,
        head_warmup_batch_size: int = 256,
        feature_cache_dir: str | None = None,
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
            head_warmup_epochs=int(head_warmup_epochs),
            head_warmup_lr=float(head_warmup_lr),
            head_warmup_batch_size=int(head_warmup_batch_size),
            feature_cache_dir=feature_cache_dir,
        )
        self.head_sizes: dict[str, int] = dict(self.net.head_sizes)
        unknown = set(weights) - set(self.head_sizes)
        if unknown:
            raise ValueError(f"loss_weights name unknown heads {sorted(unknown)}")
        self.head_kinds = {name: head_kind(name) for name in self.head_sizes}
        self.loss_weights = {name: weights.get(name, 1.0) for name in self.head_sizes}

    def stage_metrics(self, stage: str) -> MetricCollection:
        """``loss``, and per head ``{head}/loss`` and its :func:`head_metrics` as
        ``{head}/{name}``."""
        metrics = {"loss": MeanMetric()}
        for head, size in self.net.head_sizes.items():
            metrics[f"{head}/loss"] = MeanMetric()
            for name, metric in head_metrics(head_kind(head), size).items():
                metrics[f"{head}/{name}"] = metric
        return MetricCollection(metrics, prefix=f"{stage}/", compute_groups=False)

    @staticmethod
    def _head(metrics: MetricCollection, head: str) -> dict[str, Any]:
        """The :func:`head_metrics` of ``head`` in a stage's collection, by their short names."""
        prefix = f"{head}/"
        return {
            key.removeprefix(prefix): metric
            for key, metric in metrics.items(keep_base=True)
            if key.startswith(prefix) and key != f"{head}/loss"
        }

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
        metrics = getattr(self, f"{stage}_metrics")
        metrics["loss"].update(loss.detach())
        for head, head_loss in losses.items():
            metrics[f"{head}/loss"].update(head_loss.detach())
            update_head_metrics(
                self._head(metrics, head),
                self.head_kinds[head],
                outputs[head].detach(),
                targets[head],
                masks[head],
            )
        return loss

    def epoch_values(self, stage: str, metrics: MetricCollection) -> dict[str, torch.Tensor]:
        """The loss, each head's loss and, when the epoch labelled the head, its metrics (else
        they are left out), and ``macro_f1``: the mean F1 of the labelled heads."""
        values = {f"{stage}/loss": metrics["loss"].compute()}
        f1s = []
        for head in self.head_sizes:
            if metrics[f"{head}/loss"].update_called:
                values[f"{stage}/{head}/loss"] = metrics[f"{head}/loss"].compute()
            parts = self._head(metrics, head)
            if not head_was_labelled(parts):
                continue
            for name, metric in parts.items():
                if name != "labelled":
                    values[f"{stage}/{head}/{name}"] = metric.compute()
            f1s.append(values[f"{stage}/{head}/f1"])
        if f1s:
            values[f"{stage}/macro_f1"] = torch.stack(f1s).mean()
        return values

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    # ------------------------------------------------------------------ head warm-up
    def on_fit_start(self) -> None:
        """Fit the heads on cached trunk features of every training row (``head_warmup_epochs``)."""
        epochs = self.hparams.head_warmup_epochs
        if epochs <= 0 or self.trainer.ckpt_path or self.trainer.sanity_checking:
            return
        started = time.perf_counter()
        data = self.trainer.datamodule.data_train
        paths = [data.root / row.image for row in data.rows]
        features = self.trunk_features(paths, self.hparams.feature_cache_dir)
        targets = {h: torch.stack([t[h] for t, _ in data.encoded]) for h in self.head_sizes}
        masks = {h: torch.stack([m[h] for _, m in data.encoded]) for h in self.head_sizes}

        def loss_of(index: torch.Tensor) -> torch.Tensor:
            outputs = self.net.forward_features(features[index])
            batch_targets = {h: v[index].to(self.device) for h, v in targets.items()}
            batch_masks = {h: v[index].to(self.device) for h, v in masks.items()}
            losses = self.head_losses(outputs, batch_targets, batch_masks)
            return sum(self.loss_weights[h] * loss for h, loss in losses.items())

        self.fit_heads_on_features(loss_of, len(features), started, "cached rows")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        """Probabilities per head (softmax / sigmoid) and formality in ``FORMALITY_RANGE``."""
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return head_outputs(self.net(images))
