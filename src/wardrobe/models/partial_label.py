"""Partial labels: learning 47 fine categories from photos labelled only "longsleeve" or "shoes".

A real photo's coarse label says which fine categories the garment may be, not which one. The
loss is the negative log of the probability mass the model puts on the allowed set::

    loss = -log sum_{c in allowed} softmax(logits)_c
         = logsumexp(logits) - logsumexp(logits[allowed])

(the partial-label likelihood of Jin & Ghahramani 2002 / Cour et al. 2011). For a synthetic crop
the allowed set is its one fine category and the loss is the ordinary cross-entropy, so one loss
serves both sources and the 47-way head stays. Inside an allowed set the model is free to put
the mass where the synthetic crops (which do name the fine category) and the photos' looks
agree.

:class:`PartialLabelClassifierModule` is the classifier module on batches of
``(image, allowed, source, coarse)`` (see ``wardrobe.data.real_classification_datamodule``). It
logs synthetic and real figures side by side: ``val/synth/acc`` (= ``val/acc``, top-1 on the
synthetic crops), ``val/real/group_acc`` (the predicted category's group is the label's group),
``val/real/strict_acc`` (the predicted category is one the label allows) and
``val/real/coarse_acc`` (the prediction mapped back onto the data set's labels, without a
detector: sleeve length cannot be told from the category alone, so T-shirt-or-longsleeve
predictions map to the first label allowing them).

``head_warmup_epochs`` > 0 first fits the head alone on cached frozen-backbone features of every
training image (:mod:`wardrobe.models.feature_cache`): minutes of CPU instead of hours, and the
fine-tune that follows starts from a head that already knows the real photos.

A net with its own last stages (``trunk_output="pooled+centres+maps"``, a
:class:`~wardrobe.models.components.backbones.TrunkTail`) then fits them with the head for
``tail_epochs`` on the cached block-4 maps of every training image and of its mirror image: the
frozen ImageNet features top out near 0.87 on the real photos' 10 classes (linear or hidden-layer
probes), and only features that learnt real garments go past it
(``benchmarks/real_tail_finetune.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import torch
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from wardrobe.data.formats.classfolder import load_class_mapping
from wardrobe.models.classifier_module import GarmentClassifierModule
from wardrobe.models.components.backbones import POOLED
from wardrobe.models.feature_cache import (
    cached_features,
    fit_on_features,
    load_rgb,
    load_rgb_mirrored,
)
from wardrobe.taxonomy import CATEGORY_BY_NAME, FINE_CATEGORIES, GROUPS
from wardrobe.utils.progress import report as report_progress

log = logging.getLogger(__name__)
SYNTH, REAL = 0, 1
REAL_METRICS = ("group_acc", "strict_acc", "coarse_acc")


def partial_label_loss(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Mean ``-log P(allowed set)`` over the batch; ``allowed`` is a 0/1 ``[B, C]`` tensor."""
    if not bool((allowed.sum(-1) > 0).all()):
        raise ValueError("every sample needs at least one allowed class")
    masked = logits.masked_fill(allowed <= 0, float("-inf"))
    return (torch.logsumexp(logits, -1) - torch.logsumexp(masked, -1)).mean()


class PartialLabelClassifierModule(GarmentClassifierModule):
    """:class:`GarmentClassifierModule` learning from one-hot and partial labels together.

    Args:
        real_mapping: the real data set's mapping file (None: clothing-dataset-small's).
        head_warmup_epochs: epochs of the head alone on cached frozen features before fitting.
        head_warmup_lr: the warm-up's learning rate (AdamW, batches of 256).
        feature_cache_dir: where the frozen features are cached (None: not cached).
        tail_epochs: epochs of the net's own last stages and head on the cached maps, after
            the warm-up (a net with a ``tail`` only).
        tail_lr: their learning rate (the head keeps ``head_warmup_lr``; batches of 64).
        **kwargs: :class:`GarmentClassifierModule`'s arguments.
    """

    def __init__(
        self,
        *args: Any,
        real_mapping: str | None = None,
        head_warmup_epochs: int = 0,
        head_warmup_lr: float = 3e-3,
        feature_cache_dir: str | None = None,
        tail_epochs: int = 0,
        tail_lr: float = 3e-4,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.hparams["real_mapping"] = real_mapping
        self.hparams["head_warmup_epochs"] = int(head_warmup_epochs)
        self.hparams["head_warmup_lr"] = float(head_warmup_lr)
        self.hparams["feature_cache_dir"] = feature_cache_dir
        self.hparams["tail_epochs"] = int(tail_epochs)
        self.hparams["tail_lr"] = float(tail_lr)
        classes = [FINE_CATEGORIES[i] for i in range(self.net.num_classes)]
        mapping = load_class_mapping(real_mapping) if real_mapping else load_class_mapping()
        group_index = {g: i for i, g in enumerate(GROUPS)}
        coarse_index = {name: i for i, name in enumerate(mapping.names)}

        def coarse_of(fine: str) -> int:
            try:
                return coarse_index[mapping.coarse_of(fine)]
            except KeyError:
                return -1

        self.register_buffer(
            "fine_group",
            torch.tensor([group_index[CATEGORY_BY_NAME[c].group] for c in classes]),
            False,
        )
        self.register_buffer("fine_coarse", torch.tensor([coarse_of(c) for c in classes]), False)
        self.register_buffer(
            "coarse_group",
            torch.tensor([group_index[lab.group] for lab in mapping.labels.values()]),
            False,
        )

    # ------------------------------------------------------------------ metrics
    def stage_metrics(self, stage: str) -> MetricCollection:
        """The classifier's metrics, plus the real photos' accuracies for val and test."""
        metrics = super().stage_metrics(stage)
        if stage != "train":
            metrics.add_metrics({f"real_{name}": MeanMetric() for name in REAL_METRICS})
        return metrics

    def epoch_values(self, stage: str, metrics: MetricCollection) -> dict[str, torch.Tensor]:
        """Metrics that saw batches, the real ones as ``{stage}/real/<name>`` and the synthetic
        top-1 also as ``{stage}/synth/acc``, side by side."""
        values = {
            key.replace("/real_", "/real/"): metric.compute()
            for key, metric in zip(metrics.keys(keep_base=False), metrics.values(), strict=True)
            if metric.update_count
        }
        if f"{stage}/acc" in values:
            values[f"{stage}/synth/acc"] = values[f"{stage}/acc"]
        return values

    # ------------------------------------------------------------------ steps
    def model_step(self, batch):
        images, allowed, _, _ = batch
        logits = self.net(images)
        return partial_label_loss(logits, allowed), logits, allowed.argmax(-1)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss, _, _ = self.model_step(batch)
        self.train_metrics["loss"].update(loss.detach())
        return loss

    def _real_step(self, batch, stage: str) -> None:
        images, allowed, _, coarse = batch
        predicted = self.net(images).argmax(-1)
        strict = allowed.gather(1, predicted[:, None]).squeeze(1)
        group = (self.fine_group[predicted] == self.coarse_group[coarse]).float()
        coarse_hit = (self.fine_coarse[predicted] == coarse).float()
        metrics = getattr(self, f"{stage}_metrics")
        for name, values in zip(REAL_METRICS, (group, strict, coarse_hit), strict=True):
            metrics[f"real_{name}"].update(values)

    def _synth_step(self, batch, stage: str) -> None:
        # the classifier's step; model_step above gives it the partial-label loss
        self._step(batch, stage)

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        (self._real_step if dataloader_idx == REAL else self._synth_step)(batch, "val")

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        (self._real_step if dataloader_idx == REAL else self._synth_step)(batch, "test")

    # ------------------------------------------------------------------ head warm-up
    def on_fit_start(self) -> None:
        epochs = self.hparams.head_warmup_epochs
        if epochs <= 0 or self.trainer.ckpt_path or self.trainer.sanity_checking:
            return
        datamodule = self.trainer.datamodule
        started = time.perf_counter()
        features, allowed = self._warmup_features(datamodule)
        self._fit_head(features, allowed.to(self.device), epochs)
        log.info(
            "head warm-up: %d epochs on %d cached feature rows in %.0f s",
            epochs,
            len(features),
            time.perf_counter() - started,
        )
        if self.net.tail is not None and self.hparams.tail_epochs > 0:
            started = time.perf_counter()
            mirrored, _ = self._warmup_features(datamodule, mirrored=True)
            self._fit_tail(torch.cat([features, mirrored]), torch.cat([allowed, allowed]))
            log.info(
                "last stages: %d epochs on %d cached maps (and mirror images) in %.0f s",
                self.hparams.tail_epochs,
                2 * len(features),
                time.perf_counter() - started,
            )

    def _warmup_features(
        self, datamodule, mirrored: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen features (eval transform) and allowed vectors of every training row
        (``mirrored``: of each image flipped left to right)."""
        parts = getattr(datamodule.data_train, "datasets", [datamodule.data_train])
        unique = list({id(p): p for p in parts}.values())  # real_repeats repeats one dataset
        tag = f"{self.net.backbone_name}-{self.net.weights}".replace("/", "_")
        if self.net.trunk_output != POOLED:
            tag += "-" + self.net.trunk_output.replace("+", "-")
        cache_dir = self.hparams.feature_cache_dir
        features, allowed = [], []
        for part in unique:
            paths = [row[0] for row in part.rows]
            if part.rows and part.rows[0][2] == SYNTH:
                # the crops the tagger and CLIP read too: the per-image store they share
                x = self.trunk_features(paths, cache_dir, mirrored).cpu()
            else:  # the real photos: one list file (pooled: shared with the linear probes)
                x = torch.from_numpy(
                    cached_features(
                        self.net.trunk,
                        paths,
                        datamodule.eval_transform,
                        datamodule.preprocessing,
                        cache_dir,
                        tag=tag + ("-mirrored" if mirrored else ""),
                        load=load_rgb_mirrored if mirrored else load_rgb,
                    )
                )
            features.append(x)
            allowed += [part.allowed_vector(row[1]) for row in part.rows]
        return torch.cat(features), torch.stack(allowed)

    @torch.no_grad()
    def _head_inputs(self, features: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """What the head reads of each row (through the frozen or own last stages), in chunks."""
        self.net.eval()
        rows = [
            self.net.head_input(features[i : i + chunk].to(self.device))
            for i in range(0, len(features), chunk)
        ]
        return torch.cat(rows)

    def _fit_head(self, features: torch.Tensor, allowed: torch.Tensor, epochs: int) -> None:
        head: nn.Module = self.net.head
        features = self._head_inputs(features)
        self.net.train()  # dropout on; a frozen trunk and the tail's batch norms stay in eval
        optimizer = torch.optim.AdamW(
            head.parameters(), lr=self.hparams.head_warmup_lr, weight_decay=0.01
        )
        generator = torch.Generator().manual_seed(0)
        with torch.enable_grad():
            for _ in range(epochs):
                for index in torch.randperm(len(features), generator=generator).split(256):
                    loss = partial_label_loss(head(features[index]), allowed[index])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()

    def _fit_tail(self, features: torch.Tensor, allowed: torch.Tensor) -> None:
        """The net's own last stages and its head, together, on the cached maps (AdamW, cosine
        to 0, batches of 64, every thread)."""
        self.net.train()

        def loss_of(index: torch.Tensor) -> torch.Tensor:
            logits = self.net.forward_features(features[index].to(self.device))
            return partial_label_loss(logits, allowed[index].to(self.device))

        params = [
            {"params": list(self.net.tail.parameters()), "lr": self.hparams.tail_lr},
            {"params": list(self.net.head.parameters())},
        ]
        epochs, batch = self.hparams.tail_epochs, 64
        steps, done = epochs * -(-len(features) // batch), [0]

        def progress() -> None:  # make run's live progress (a no-op without it)
            done[0] += 1
            report_progress("fitting the last stages", done=done[0], total=steps, unit="steps")

        lr = self.hparams.head_warmup_lr
        fit_on_features(
            loss_of, params, len(features), epochs, lr, batch, after_step=progress, threads=None
        )
