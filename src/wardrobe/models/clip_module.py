"""``ClipFinetuneModule``: contrastive image-text training of a ``GarmentClipNet``.

Loss: open_clip's ``ClipLoss`` (symmetric InfoNCE over the batch, gathered across devices under
DDP) with the net's learnt temperature, clamped at 100 as CLIP does.

Retrieval metrics, on all pairs of the val (or test) split seen in the epoch:

* ``t2i_r{k}`` (text -> image): the queries are the split's DISTINCT captions; the gallery is
  every image. A query is a hit at ``k`` when ANY of its ``k`` nearest images carries a caption
  equal to the query. Captions repeat (crops with the same labels share one caption), so
  "the one paired image" would be ill-defined: every image the query describes is correct.
* ``i2t_r{k}`` (image -> text): the queries are the images, the gallery the distinct captions;
  a hit when the image's own caption is among the ``k`` nearest.

Two captions are equal when their token ids are (captions are compared after tokenization, so
two texts that differ only in case or in words cut off by ``context_length`` count as one).
Logged keys: ``{train,val,test}/loss``, ``{val,test}/{t2i,i2t}_r{1,5,10}``,
``{val,test}/captions`` (the number of distinct captions, i.e. t2i queries) and
``val/t2i_r5_best``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torchmetrics import MaxMetric, MeanMetric, Metric
from torchmetrics.utilities import dim_zero_cat

from wardrobe.models.base_module import WardrobeModule
from wardrobe.models.components.clip_net import MAX_LOGIT_SCALE
from wardrobe.preprocessing.text import split_preprocessing

log = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, torch.Tensor]
RECALL_KS: tuple[int, ...] = (1, 5, 10)


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
    ``tokens`` ``[N, L]`` their caption token ids. See the module docstring for the rule.
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


class ClipFinetuneModule(WardrobeModule):
    """Train/evaluate a :class:`~wardrobe.models.components.clip_net.GarmentClipNet`.

    Args:
        net: the net, or its ``config`` dict (as checkpoints store it).
        optimizer: optimizer partial (Hydra ``_partial_: true``); gets the trainable params.
        scheduler: scheduler partial or None; a cosine without ``T_max`` spans the whole run.
        compile: ``torch.compile`` the net (in place) before fitting.
        freeze_backbone: lock the image trunk (LiT: only the projection and text tower learn).
        preprocessing: the image keys plus ``tokenizer`` and ``context_length``; they must
            match the net's (recorded in the checkpoint and the bundle).
    """

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        compile: bool = False,
        freeze_backbone: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
    ) -> None:
        image, text = (
            split_preprocessing(preprocessing) if preprocessing is not None else (None, None)
        )
        super().__init__(
            net=net,
            optimizer=optimizer,
            scheduler=scheduler,
            compile=compile,
            freeze_backbone=freeze_backbone,
            preprocessing=image,
        )
        if text is not None:
            net_text = {"tokenizer": self.net.tokenizer, "context_length": self.net.context_length}
            if text != net_text:
                raise ValueError(f"preprocessing says {text}, but the net reads {net_text}")
            # the whole block, as __init__ takes it (load_from_checkpoint passes it back)
            self.hparams["preprocessing"] = {**image, **text}
        from open_clip.loss import ClipLoss

        self.criterion = ClipLoss()
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.val_retrieval, self.test_retrieval = CaptionRetrievalRecall(), CaptionRetrievalRecall()
        self.val_t2i_r5_best = MaxMetric()

    def setup(self, stage: str) -> None:
        super().setup(stage)
        world = self.trainer.world_size if self._trainer is not None else 1
        if world > 1:  # negatives from every device; gradients flow through the gathered ones
            from open_clip.loss import ClipLoss

            self.criterion = ClipLoss(
                local_loss=True, gather_with_grad=True, rank=self.global_rank, world_size=world
            )

    def on_fit_start(self) -> None:
        accumulate = self.trainer.accumulate_grad_batches
        if accumulate > 1:
            log.warning(
                "gradient accumulation x%d: each contrastive loss sees one per-device batch "
                "(x devices) of negatives, not the effective batch; raise "
                "hardware.per_device_batch_size if memory allows",
                accumulate,
            )

    def on_train_start(self) -> None:
        # The sanity-check validation must not leak into the first epoch's val metrics.
        self.val_loss.reset()
        self.val_retrieval.reset()
        self.val_t2i_r5_best.reset()

    def model_step(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One forward pass: ``(loss, {"image", "text", "logit_scale"})``."""
        images, tokens = batch
        out = self.net(images, tokens)
        loss = self.criterion(out["image"], out["text"], out["logit_scale"])
        return loss, out

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, out = self.model_step(batch)
        self.train_loss(loss)
        self.log("train/loss", self.train_loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("train/logit_scale", out["logit_scale"], on_step=False, on_epoch=True)
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        with torch.no_grad():
            self.net.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    def _eval_step(self, batch: Batch, stage: str) -> None:
        loss, out = self.model_step(batch)
        loss_metric = getattr(self, f"{stage}_loss")
        loss_metric(loss)
        self.log(f"{stage}/loss", loss_metric, on_step=False, on_epoch=True, prog_bar=True)
        getattr(self, f"{stage}_retrieval").update(out["image"], out["text"], batch[1])

    def _log_retrieval(self, stage: str) -> dict[str, float]:
        metric = getattr(self, f"{stage}_retrieval")
        values = metric.compute()
        metric.reset()
        for key, value in values.items():
            self.log(f"{stage}/{key}", value, prog_bar=key == "t2i_r5")
        return values

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        values = self._log_retrieval("val")
        self.val_t2i_r5_best(torch.tensor(values["t2i_r5"], device=self.device))
        self.log("val/t2i_r5_best", self.val_t2i_r5_best.compute(), prog_bar=True)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_retrieval("test")

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """L2-normalised image embeddings ``[B, D]``."""
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return self.net.encode_image(images)
