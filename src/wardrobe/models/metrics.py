"""Metrics shared by the LightningModules and the held-out evaluation: one definition each.

* :func:`classification_metrics`: top-1 / top-5 accuracy (classifier);
* :class:`HeadMetrics`, :func:`head_metrics`, :func:`update_head_metrics`: F1 (and MAE) of one
  attribute head, on its labelled samples only (tagger);
* :func:`recall_at_k`, :func:`caption_retrieval_recall`, :class:`CaptionRetrievalRecall`:
  text <-> image retrieval under the shared-caption rule (CLIP; see
  :mod:`wardrobe.models.clip_module`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torchmetrics import MeanAbsoluteError, Metric, MetricCollection, SumMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MultilabelF1Score
from torchmetrics.utilities import dim_zero_cat

from wardrobe.models.components.tagger_net import regression_value
from wardrobe.taxonomy import FORMALITY_RANGE

STAGES: tuple[str, ...] = ("train", "val", "test")
FORMALITY_BINS = 3
RECALL_KS: tuple[int, ...] = (1, 5, 10)


# ------------------------------------------------------------------------- classification
def classification_metrics(num_classes: int) -> dict[str, Metric]:
    """``acc`` (top-1) and ``acc_top5`` (top-5, or top-``num_classes`` when fewer), micro."""
    return {
        "acc": MulticlassAccuracy(num_classes, top_k=1, average="micro"),
        "acc_top5": MulticlassAccuracy(num_classes, top_k=min(5, num_classes), average="micro"),
    }


# --------------------------------------------------------------------------- attribute heads
def formality_bins(values: torch.Tensor) -> torch.Tensor:
    """Values in ``FORMALITY_RANGE`` -> bin 0 (low), 1 (mid) or 2 (high)."""
    low, high = FORMALITY_RANGE
    scaled = (values - low) / (high - low) * FORMALITY_BINS
    return scaled.long().clamp(0, FORMALITY_BINS - 1)


def head_metrics(kind: str, size: int) -> dict[str, Metric]:
    """The metrics of one head: ``labelled`` (samples with a label; synced across processes,
    so every rank agrees whether the head was seen), ``f1`` (macro; the regression's over
    :data:`FORMALITY_BINS` bins) and, for the regression, ``mae``."""
    metrics: dict[str, Metric] = {"labelled": SumMetric()}
    if kind == "multiclass":
        metrics["f1"] = MulticlassF1Score(size, average="macro")
    elif kind == "multilabel":
        metrics["f1"] = MultilabelF1Score(size, average="macro", threshold=0.5)
    else:
        metrics["f1"] = MulticlassF1Score(FORMALITY_BINS, average="macro")
        metrics["mae"] = MeanAbsoluteError()
    return metrics


def update_head_metrics(
    metrics: Mapping[str, Metric],
    kind: str,
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
) -> None:
    """Update one head's :func:`head_metrics` with its labelled samples (``mask`` True)."""
    keep = mask.bool()
    metrics["labelled"].update(keep.sum())
    if not bool(keep.any()):
        return
    logits, target = logits[keep], target[keep]
    if kind == "multiclass":
        metrics["f1"].update(logits.argmax(-1), target.long())
    elif kind == "multilabel":
        metrics["f1"].update(logits.sigmoid(), target.long())
    else:
        value = regression_value(logits)
        metrics["f1"].update(formality_bins(value), formality_bins(target.float()))
        metrics["mae"].update(value, target.float())


def head_was_labelled(metrics: Mapping[str, Metric]) -> bool:
    """Whether any labelled sample reached the head since the last reset (on any process)."""
    return bool(metrics["labelled"].compute() > 0)


class HeadMetrics(MetricCollection):
    """:func:`head_metrics` of one head as a collection: ``update(logits, target, mask)``,
    ``compute() -> {"f1"[, "mae"]}``, :attr:`updated`."""

    def __init__(self, kind: str, size: int) -> None:
        super().__init__(head_metrics(kind, size), compute_groups=False)
        self.kind = kind

    def update(self, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> None:  # type: ignore[override]
        update_head_metrics(self, self.kind, logits, target, mask)

    @property
    def updated(self) -> bool:
        """Whether any labelled sample was seen since the last reset (on any process)."""
        return head_was_labelled(self)

    def compute(self) -> dict[str, torch.Tensor]:
        return {
            name: self[name].compute() for name in self.keys(keep_base=True) if name != "labelled"
        }


# ------------------------------------------------------------------------------ retrieval
def recall_at_k(
    similarity: torch.Tensor,
    query_groups: torch.Tensor,
    gallery_groups: torch.Tensor,
    ks: Sequence[int] = RECALL_KS,
) -> dict[int, float]:
    """Fraction of queries with at least one gallery item of their own group in their top ``k``.

    Args:
        similarity: ``[Q, G]`` scores (higher = nearer).
        query_groups: ``[Q]`` group id (e.g. caption id) of each query.
        gallery_groups: ``[G]`` group id of each gallery item.
        ks: the cut-offs; a ``k`` above ``G`` counts the whole gallery.
    """
    if similarity.shape != (len(query_groups), len(gallery_groups)):
        raise ValueError(
            f"similarity {tuple(similarity.shape)} vs {len(query_groups)} queries and "
            f"{len(gallery_groups)} gallery items"
        )
    if similarity.shape[0] == 0 or similarity.shape[1] == 0:
        raise ValueError("recall needs at least one query and one gallery item")
    k_max = min(max(ks), similarity.shape[1])
    nearest = similarity.topk(k_max, dim=1).indices
    hits = gallery_groups.to(nearest.device)[nearest] == query_groups.to(nearest.device)[:, None]
    return {k: float(hits[:, : min(k, k_max)].any(dim=1).double().mean()) for k in ks}


def caption_groups(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(caption id of each pair [N], first pair of each caption [U])``; equal token rows are
    one caption."""
    _, groups = torch.unique(tokens, dim=0, return_inverse=True)
    first = torch.full((int(groups.max()) + 1,), len(groups), dtype=torch.long)
    first.scatter_reduce_(0, groups.cpu(), torch.arange(len(groups)), reduce="amin")
    return groups, first.to(groups.device)


def caption_retrieval_recall(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    tokens: torch.Tensor,
    ks: Sequence[int] = RECALL_KS,
) -> dict[str, float]:
    """Text->image and image->text recall@k of N pairs under the shared-caption rule.

    ``image_embeds``/``text_embeds`` ``[N, D]`` are L2-normalised embeddings of the pairs,
    ``tokens`` ``[N, L]`` their caption token ids. See :mod:`wardrobe.models.clip_module`.
    """
    groups, first = caption_groups(tokens)
    captions = text_embeds[first]  # one embedding per distinct caption
    similarity = captions.float() @ image_embeds.float().T  # [U, N]
    distinct = torch.arange(len(first), device=groups.device)
    t2i = recall_at_k(similarity, distinct, groups, ks)
    i2t = recall_at_k(similarity.T, groups, distinct, ks)
    out = {f"t2i_r{k}": v for k, v in t2i.items()}
    out |= {f"i2t_r{k}": v for k, v in i2t.items()}
    out["captions"] = float(len(first))
    return out


class CaptionRetrievalRecall(Metric):
    """Accumulates the pairs of an epoch (gathered across devices), then
    :func:`caption_retrieval_recall`."""

    full_state_update = False

    def __init__(self, ks: Sequence[int] = RECALL_KS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ks = tuple(int(k) for k in ks)
        self.add_state("image_embeds", default=[], dist_reduce_fx="cat")
        self.add_state("text_embeds", default=[], dist_reduce_fx="cat")
        self.add_state("tokens", default=[], dist_reduce_fx="cat")

    def update(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor, tokens: torch.Tensor):
        self.image_embeds.append(image_embeds.detach())
        self.text_embeds.append(text_embeds.detach())
        self.tokens.append(tokens.detach())

    def compute(self) -> dict[str, float]:
        return caption_retrieval_recall(
            dim_zero_cat(self.image_embeds),
            dim_zero_cat(self.text_embeds),
            dim_zero_cat(self.tokens),
            self.ks,
        )
