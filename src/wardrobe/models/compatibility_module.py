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
the metrics follow the :class:`~wardrobe.models.base_module.WardrobeModule` idiom (computed,
logged and reset at the end of each epoch; the validation ones also in ``on_train_start``).

When the item encoder is another bundle (``encoder.kind: bundle``, e.g. the served CLIP model) or
the ingestion models' garment records (``encoder.kind: garments``, see
:mod:`wardrobe.data.garment_features`), the recorded preprocessing also carries
``encoder_weights_sha256``, the CLIP bundle's ``weights_sha256``: serving feeds the net the
garments' stored CLIP embeddings and must be able to check that they come from the very encoder
the net was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection, SumMetric
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC

from wardrobe.artifacts import BundleError, read_meta
from wardrobe.data.item_features import BUNDLE, GARMENTS
from wardrobe.hparams import plain
from wardrobe.models.base_module import WardrobeModule
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
    if not isinstance(encoder, dict) or encoder.get("kind") not in (BUNDLE, GARMENTS):
        return pre
    given = pre.get(ENCODER_SHA_KEY)
    # kind garments: the CLIP bundle under the artifacts folder made the stored embeddings
    clip = encoder["path"] if encoder["kind"] == BUNDLE else Path(encoder["path"]) / "clip"
    try:
        actual = read_meta(clip)["weights_sha256"]
    except (BundleError, KeyError, OSError) as err:
        if given:
            return pre
        raise ValueError(f"preprocessing.encoder: cannot read the encoder bundle: {err}") from err
    if given and given != actual:
        raise ValueError(
            f"preprocessing.{ENCODER_SHA_KEY}={given} but the encoder bundle "
            f"{encoder['path']} has weights {actual}"
        )
    extra = {ENCODER_SHA_KEY: actual}
    if encoder["kind"] == GARMENTS:  # serving checks its stored embeddings' size against it
        extra["embedding_dim"] = int(read_meta(clip)["net"]["embed_dim"])
    return pre | extra


def fitb_predictions(
    scores: torch.Tensor, candidate_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Index of the best-scoring real candidate per question: ``scores [Q, K]`` -> ``[Q]``."""
    if candidate_mask is not None:
        scores = scores.masked_fill(~candidate_mask.bool(), float("-inf"))
    return scores.argmax(dim=1)


class OutfitCompatibilityModule(WardrobeModule):
    """Binary outfit compatibility with BCE-with-logits, plus Polyvore's FITB protocol.

    Args:
        net: an :class:`OutfitCompatibilityNet` or its ``config`` dict (as checkpoints store it).
        optimizer: optimizer partial (Hydra ``_partial_: true``).
        scheduler: scheduler partial or None (stepped every epoch; a cosine without ``T_max``
            spans ``trainer.max_epochs``).
        compile: ``torch.compile`` the net (in place, state-dict keys unchanged) before fitting.
        preprocessing: how inputs become net inputs (the encoder spec, ``feature_dim``);
            recorded in the checkpoint and the bundle (see :func:`bundle_preprocessing`).
    """

    best_metric = "auc"
    progress_bar = frozenset({"auc", "acc"})
    scheduler_interval = "epoch"
    net_type = OutfitCompatibilityNet

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        compile: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            net=net,
            optimizer=optimizer,
            scheduler=scheduler,
            compile=compile,
            preprocessing=bundle_preprocessing(preprocessing),
        )

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
        super().setup(stage)

    # ---------------------------------------------------------------------------- metrics
    def stage_metrics(self, stage: str) -> MetricCollection:
        """Compatibility: ``loss``, ``auc``, ``acc``, ``compat_questions``; FITB: ``fitb_acc``,
        ``fitb_questions``."""
        metrics = {
            "loss": MeanMetric(),
            "auc": BinaryAUROC(),
            "acc": BinaryAccuracy(),
            "compat_questions": SumMetric(),
            "fitb_acc": MeanMetric(),
            "fitb_questions": SumMetric(),
        }
        return MetricCollection(metrics, prefix=f"{stage}/", compute_groups=False)

    def epoch_values(self, stage: str, metrics: MetricCollection) -> dict[str, torch.Tensor]:
        """The metrics of the question kinds the epoch scored (FITB only in val/test)."""
        kinds = {
            "compat_questions": ("loss", "auc", "acc", "compat_questions"),
            "fitb_questions": ("fitb_acc", "fitb_questions"),
        }
        return {
            f"{stage}/{name}": metrics[name].compute()
            for counter, names in kinds.items()
            if metrics[counter].update_called
            for name in names
        }

    # ------------------------------------------------------------------------------ steps
    def model_step(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(loss, logits, labels)`` of a compatibility batch."""
        logits = self.net(batch["features"], batch["padding_mask"])
        labels = batch["label"].to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits, labels), logits, labels

    def _compat_step(self, batch: Batch, metrics: MetricCollection) -> torch.Tensor:
        loss, logits, labels = self.model_step(batch)
        probs = torch.sigmoid(logits.detach())
        target = labels.long()
        metrics["loss"].update(loss.detach(), weight=len(labels))
        metrics["auc"].update(probs, target)
        metrics["acc"].update(probs, target)
        metrics["compat_questions"].update(torch.tensor(float(len(labels)), device=probs.device))
        return loss

    def fitb_scores(self, batch: Batch) -> torch.Tensor:
        """Logits ``[Q, K]`` of each question's candidate outfits (padded candidates: -inf)."""
        q, k, length, dim = batch["features"].shape
        logits = self.net(
            batch["features"].reshape(q * k, length, dim),
            batch["padding_mask"].reshape(q * k, length),
        ).reshape(q, k)
        return logits.masked_fill(~batch["candidate_mask"].bool(), float("-inf"))

    def _fitb_step(self, batch: Batch, metrics: MetricCollection) -> None:
        predicted = fitb_predictions(self.fitb_scores(batch))
        correct = (predicted == batch["target"]).float()
        metrics["fitb_acc"].update(correct)
        metrics["fitb_questions"].update(torch.tensor(float(len(correct)), device=correct.device))

    def _eval_step(self, batch: dict[str, Any], metrics: MetricCollection) -> None:
        self._compat_step(batch, metrics)
        if "fitb" in batch:
            self._fitb_step(batch["fitb"], metrics)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._compat_step(batch, self.train_metrics)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics)

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Compatibility probabilities ``[B]`` of a batch of outfits."""
        return torch.sigmoid(self.net(batch["features"], batch.get("padding_mask")))
