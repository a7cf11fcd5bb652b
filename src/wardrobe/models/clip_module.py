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
``val/t2i_r5_best`` (computed by :class:`wardrobe.models.metrics.CaptionRetrievalRecall`, which
the held-out evaluation uses too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from wardrobe.models.base_module import BackboneModule
from wardrobe.models.components.clip_net import MAX_LOGIT_SCALE
from wardrobe.models.metrics import CaptionRetrievalRecall
from wardrobe.preprocessing.text import split_preprocessing

log = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, torch.Tensor]


class ClipFinetuneModule(BackboneModule):
    """Train/evaluate a :class:`~wardrobe.models.components.clip_net.GarmentClipNet`.

    Args:
        net: the net, or its ``config`` dict (as checkpoints store it).
        optimizer: optimizer partial (Hydra ``_partial_: true``); gets the trainable params.
        scheduler: scheduler partial or None; a cosine without ``T_max`` spans the whole run.
        compile: ``torch.compile`` the net (in place) before fitting.
        freeze_backbone: lock the image trunk (LiT: only the projection and text tower learn).
        preprocessing: the image keys plus ``tokenizer`` and ``context_length``; they must
            match the net's (recorded in the checkpoint and the bundle).
        head_warmup_epochs: epochs of contrastive training of everything but the frozen image
            trunk (its projection, the text tower, the temperature) on cached trunk features,
            before fitting (needs ``freeze_backbone``; the features are shared with the
            classifier and the tagger).
        head_warmup_lr, head_warmup_batch_size: that fit's AdamW learning rate
            (cosine-annealed) and batch size (the contrastive negatives).
        feature_cache_dir: where the features are kept (None: computed, not kept).
    """

    best_metric = "t2i_r5"
    progress_bar = frozenset({"loss", "t2i_r5"})

    def __init__(
        self,
        net: nn.Module | Mapping[str, Any],
        optimizer: Any,
        scheduler: Any = None,
        compile: bool = False,
        freeze_backbone: bool = False,
        preprocessing: Mapping[str, Any] | None = None,
        head_warmup_epochs: int = 0,
        head_warmup_lr: float = 1e-3,
        head_warmup_batch_size: int = 64,
        feature_cache_dir: str | None = None,
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
            head_warmup_epochs=int(head_warmup_epochs),
            head_warmup_lr=float(head_warmup_lr),
            head_warmup_batch_size=int(head_warmup_batch_size),
            feature_cache_dir=feature_cache_dir,
        )
        if text is not None:
            net_text = {"tokenizer": self.net.tokenizer, "context_length": self.net.context_length}
            if text != net_text:
                raise ValueError(f"preprocessing says {text}, but the net reads {net_text}")
            # the whole block, as __init__ takes it (load_from_checkpoint passes it back)
            self.hparams["preprocessing"] = {**image, **text}
        from open_clip.loss import ClipLoss

        self.criterion = ClipLoss()

    def stage_metrics(self, stage: str) -> MetricCollection:
        """``loss``; train: the mean ``logit_scale``; val/test: the caption retrieval recalls."""
        metrics = {"loss": MeanMetric()}
        if stage == "train":
            metrics["logit_scale"] = MeanMetric()
        else:
            metrics["retrieval"] = CaptionRetrievalRecall()
        return MetricCollection(metrics, prefix=f"{stage}/", compute_groups=False)

    def setup(self, stage: str) -> None:
        super().setup(stage)
        world = self.trainer.world_size if self._trainer is not None else 1
        if world > 1:  # negatives from every device; gradients flow through the gathered ones
            from open_clip.loss import ClipLoss

            self.criterion = ClipLoss(
                local_loss=True, gather_with_grad=True, rank=self.global_rank, world_size=world
            )

    def on_fit_start(self) -> None:
        self._head_warmup()
        accumulate = self.trainer.accumulate_grad_batches
        if accumulate > 1:
            log.warning(
                "gradient accumulation x%d: each contrastive loss sees one per-device batch "
                "(x devices) of negatives, not the effective batch; raise "
                "hardware.per_device_batch_size if memory allows",
                accumulate,
            )

    def _head_warmup(self) -> None:
        """Contrastive fit of all but the frozen trunk on its cached features
        (``head_warmup_epochs``): no augmentation, each image's eval-transform features."""
        epochs = self.hparams.head_warmup_epochs
        if epochs <= 0 or self.trainer.ckpt_path or self.trainer.sanity_checking:
            return
        started = time.perf_counter()
        data = self.trainer.datamodule.data_train
        features = self.trunk_features(list(data.images), self.hparams.feature_cache_dir)
        tokens = data.tokens.to(self.device)

        def loss_of(index: torch.Tensor) -> torch.Tensor:
            image = self.net.forward_features(features[index])
            text = self.net.encode_text(tokens[index])
            return self.criterion(image, text, self.net.logit_scale.exp())

        def clamp() -> None:
            with torch.no_grad():
                self.net.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

        self.fit_heads_on_features(
            loss_of,
            len(features),
            started,
            "cached pairs",
            weight_decay=0.05,
            after_step=clamp,
            fused=True,  # one kernel for the 12.6 M token-embedding weights (see model/clip.yaml)
        )

    def model_step(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One forward pass: ``(loss, {"image", "text", "logit_scale"})``."""
        images, tokens = batch
        out = self.net(images, tokens)
        loss = self.criterion(out["image"], out["text"], out["logit_scale"])
        return loss, out

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, out = self.model_step(batch)
        self.train_metrics["loss"].update(loss.detach())
        self.train_metrics["logit_scale"].update(out["logit_scale"].detach())
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        with torch.no_grad():
            self.net.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    def _eval_step(self, batch: Batch, stage: str) -> None:
        loss, out = self.model_step(batch)
        metrics = getattr(self, f"{stage}_metrics")
        metrics["loss"].update(loss.detach())
        metrics["retrieval"].update(out["image"], out["text"], batch[1])

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """L2-normalised image embeddings ``[B, D]``."""
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return self.net.encode_image(images)
