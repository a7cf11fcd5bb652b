"""``OutfitCompatibilityModule``: train and evaluate the outfit-compatibility transformer.

Evaluation follows Polyvore Outfits (Vasileva et al., ECCV 2018):

* **Compatibility** (``{val,test}/auc``, ``/acc``): every question of ``compatibility_<split>.txt``
  is scored once; AUROC over all of them, accuracy at probability 0.5.
* **Fill in the blank** (``{val,test}/fitb_acc``): each answer completes the question into a
  candidate outfit; the highest-scoring candidate is the prediction, correct when it is the
  answer whose set_id is the question's (the datamodule's ``target``, not ``answers[0]``).

``{stage}/compat_questions`` and ``{stage}/fitb_questions`` log how many questions were scored.
Both question kinds arrive in the one validation/test dataloader of
:class:`~wardrobe.data.polyvore_datamodule.PolyvoreDataModule` (FITB under ``batch["fitb"]``);
metrics are computed and reset at the end of each epoch, and the validation ones also in
``on_train_start`` (the sanity check must not leak into epoch 0).

When the item encoder is another bundle (``encoder.kind: bundle``, e.g. the served CLIP model),
the recorded preprocessing also carries ``encoder_weights_sha256``, that bundle's
``weights_sha256``: serving feeds the net the garments' stored CLIP embeddings and must be able to
check that they come from the very encoder the net was trained on.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

import hydra
import torch
import torch.nn.functional as F
from lightning import LightningModule
from torch import nn
from torchmetrics import MaxMetric, MeanMetric, SumMetric
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC

from wardrobe.artifacts import BundleError, read_meta
from wardrobe.hparams import plain
from wardrobe.models.base_module import (
    _LOADING_CHECKPOINT,
    NET_TARGET_PREFIX,
    callable_config,
    instantiate_partial,
)
from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet

Batch = dict[str, torch.Tensor]
ENCODER_SHA_KEY = "encoder_weights_sha256"


def bundle_preprocessing(preprocessing: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``preprocessing`` as plain values; for an encoder of kind ``bundle`` with
    ``encoder_weights_sha256`` set to that bundle's ``weights_sha256``.

    A given ``encoder_weights_sha256`` must match the encoder bundle when it is present (a
    stale value fails loudly); without the encoder bundle (a checkpoint loaded elsewhere) a given
    value is kept, and a missing one is an error.
    """
    pre = plain(preprocessing, "preprocessing")
    if not isinstance(pre, dict):
        return pre
    encoder = pre.get("encoder") or {}
    if not isinstance(encoder, dict) or encoder.get("kind") != "bundle":
        return pre
    given = pre.get(ENCODER_SHA_KEY)
    try:
        actual = read_meta(encoder["path"])["weights_sha256"]
    except (BundleError, KeyError, OSError) as err:
        if given:
            return pre
        raise ValueError(f"preprocessing.encoder: cannot read the encoder bundle: {err}") from err
    if given and given != actual:
        raise ValueError(
            f"preprocessing.{ENCODER_SHA_KEY}={given} but the encoder bundle "
            f"{encoder['path']} has weights {actual}"
        )
    return pre | {ENCODER_SHA_KEY: actual}


def fitb_predictions(
    scores: torch.Tensor, candidate_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Index of the best-scoring real candidate per question: ``scores [Q, K]`` -> ``[Q]``."""
    if candidate_mask is not None:
        scores = scores.masked_fill(~candidate_mask.bool(), float("-inf"))
    return scores.argmax(dim=1)


def _build_net(net: nn.Module | Mapping[str, Any]) -> OutfitCompatibilityNet:
    if isinstance(net, Mapping):
        config = plain(net, "net")
        target = str(config.get("_target_", ""))
        # a checkpoint is data: only build nets of this package from it
        if not target.startswith(NET_TARGET_PREFIX):
            raise ValueError(f"net `_target_` must start with {NET_TARGET_PREFIX!r}: {config}")
        net = hydra.utils.instantiate(config, _convert_="all")
    if not isinstance(net, OutfitCompatibilityNet):
        raise TypeError(f"net must be an OutfitCompatibilityNet, got {type(net).__name__}")
    return net


class _StageMetrics(nn.Module):
    """The metrics of one stage (train / val / test)."""

    def __init__(self) -> None:
        super().__init__()
        self.loss = MeanMetric()
        self.auc = BinaryAUROC()
        self.acc = BinaryAccuracy()
        self.compat_questions = SumMetric()
        self.fitb_acc = MeanMetric()
        self.fitb_questions = SumMetric()

    def reset(self) -> None:
        for metric in self.children():
            metric.reset()


class OutfitCompatibilityModule(LightningModule):
    """Binary outfit compatibility with BCE-with-logits, plus Polyvore's FITB protocol.

    Args:
        net: an :class:`OutfitCompatibilityNet` or its ``config`` dict (as checkpoints store it).
        optimizer: optimizer partial (Hydra ``_partial_: true``).
        scheduler: scheduler partial or None (stepped every epoch).
        compile: ``torch.compile`` the net (in place, state-dict keys unchanged) before fitting.
        preprocessing: how inputs become net inputs (the encoder spec, ``feature_dim``);
            recorded in the checkpoint and the bundle (see :func:`bundle_preprocessing`).
    """

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        compile: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.net = _build_net(net)
        optimizer_config = callable_config(optimizer, "optimizer")
        if optimizer_config is None:
            raise ValueError("optimizer is required (a `_partial_: true` config)")
        scheduler_config = callable_config(scheduler, "scheduler")
        self._optimizer_factory = instantiate_partial(optimizer_config, "optimizer")
        self._scheduler_factory = instantiate_partial(scheduler_config, "scheduler")
        # Plain values only, keyed like __init__: load_from_checkpoint passes them back.
        self.save_hyperparameters(
            {
                "net": self.net.config,
                "optimizer": optimizer_config,
                "scheduler": scheduler_config,
                "compile": bool(compile),
                "preprocessing": bundle_preprocessing(preprocessing),
            },
            logger=False,
        )
        self.train_metrics = _StageMetrics()
        self.val_metrics = _StageMetrics()
        self.test_metrics = _StageMetrics()
        self.val_auc_best = MaxMetric()

    @classmethod
    def load_from_checkpoint(cls, *args: Any, **kwargs: Any) -> OutfitCompatibilityModule:  # type: ignore[override]
        """Lightning's ``load_from_checkpoint`` (no arguments needed), refusing optimizer or
        scheduler targets outside the allowed packages, as the other wardrobe modules do."""
        token = _LOADING_CHECKPOINT.set(True)
        try:
            return super().load_from_checkpoint(*args, **kwargs)
        finally:
            _LOADING_CHECKPOINT.reset(token)

    @property
    def export_preprocessing(self) -> dict[str, Any] | None:
        """The preprocessing a bundle of this model must record (with the encoder's sha)."""
        return self.hparams.preprocessing

    def forward(self, features: torch.Tensor, padding_mask: torch.Tensor | None = None):
        """Compatibility logits ``[B]``."""
        return self.net(features, padding_mask)

    # ------------------------------------------------------------------------------ setup
    def setup(self, stage: str) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if getattr(dm, "features", None) is not None and dm.feature_dim != self.net.feature_dim:
            raise ValueError(
                f"the datamodule's item features have {dm.feature_dim} dims but the net expects "
                f"{self.net.feature_dim}: set model.net.feature_dim to the encoder's output size"
            )
        if self.hparams.compile and stage == "fit":
            self.net.compile()

    def on_train_start(self) -> None:
        self.val_metrics.reset()
        self.val_auc_best.reset()

    # ------------------------------------------------------------------------------ steps
    def model_step(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(loss, logits, labels)`` of a compatibility batch."""
        logits = self.net(batch["features"], batch["padding_mask"])
        labels = batch["label"].to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits, labels), logits, labels

    def _compat_step(self, batch: Batch, metrics: _StageMetrics) -> torch.Tensor:
        loss, logits, labels = self.model_step(batch)
        probs = torch.sigmoid(logits.detach())
        target = labels.long()
        metrics.loss.update(loss.detach(), weight=len(labels))
        metrics.auc.update(probs, target)
        metrics.acc.update(probs, target)
        metrics.compat_questions.update(torch.tensor(float(len(labels)), device=probs.device))
        return loss

    def fitb_scores(self, batch: Batch) -> torch.Tensor:
        """Logits ``[Q, K]`` of each question's candidate outfits (padded candidates: -inf)."""
        q, k, length, dim = batch["features"].shape
        logits = self.net(
            batch["features"].reshape(q * k, length, dim),
            batch["padding_mask"].reshape(q * k, length),
        ).reshape(q, k)
        return logits.masked_fill(~batch["candidate_mask"].bool(), float("-inf"))

    def _fitb_step(self, batch: Batch, metrics: _StageMetrics) -> None:
        predicted = fitb_predictions(self.fitb_scores(batch))
        correct = (predicted == batch["target"]).float()
        metrics.fitb_acc.update(correct)
        metrics.fitb_questions.update(torch.tensor(float(len(correct)), device=correct.device))

    def _eval_step(self, batch: dict[str, Any], metrics: _StageMetrics) -> None:
        self._compat_step(batch, metrics)
        if "fitb" in batch:
            self._fitb_step(batch["fitb"], metrics)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._compat_step(batch, self.train_metrics)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics)

    # ---------------------------------------------------------------------- epoch results
    def _log_stage(self, stage: str, metrics: _StageMetrics) -> dict[str, torch.Tensor]:
        """Compute, log and reset the metrics of ``stage``; return what was logged."""
        values: dict[str, torch.Tensor] = {}
        if metrics.compat_questions.update_called:
            compat = metrics.compat_questions.compute()
            values.update(
                {
                    f"{stage}/loss": metrics.loss.compute(),
                    f"{stage}/auc": metrics.auc.compute(),
                    f"{stage}/acc": metrics.acc.compute(),
                    f"{stage}/compat_questions": compat,
                }
            )
        if metrics.fitb_questions.update_called:
            values[f"{stage}/fitb_acc"] = metrics.fitb_acc.compute()
            values[f"{stage}/fitb_questions"] = metrics.fitb_questions.compute()
        for key, value in values.items():
            self.log(key, value, prog_bar=key.endswith(("auc", "acc")), sync_dist=False)
        metrics.reset()
        return values

    def on_train_epoch_end(self) -> None:
        self._log_stage("train", self.train_metrics)

    def on_validation_epoch_end(self) -> None:
        values = self._log_stage("val", self.val_metrics)
        if "val/auc" in values:
            self.val_auc_best.update(values["val/auc"])
            self.log("val/auc_best", self.val_auc_best.compute(), prog_bar=True)

    def on_test_epoch_end(self) -> None:
        self._log_stage("test", self.test_metrics)

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Compatibility probabilities ``[B]`` of a batch of outfits."""
        return torch.sigmoid(self.net(batch["features"], batch.get("padding_mask")))

    # ------------------------------------------------------------------------- optimizers
    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self._optimizer_factory(params=self.net.parameters())
        if self._scheduler_factory is None:
            return {"optimizer": optimizer}
        factory = self._scheduler_factory
        # A cosine schedule without T_max anneals over the whole run (stepped per epoch).
        if _missing_t_max(factory):
            factory = functools.partial(factory, T_max=max(1, self.trainer.max_epochs or 1))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": factory(optimizer=optimizer), "interval": "epoch"},
        }


def _missing_t_max(factory: Any) -> bool:
    if not isinstance(factory, functools.partial) or factory.keywords.get("T_max") is not None:
        return False
    try:
        return "T_max" in inspect.signature(factory.func).parameters
    except (TypeError, ValueError):
        return False
