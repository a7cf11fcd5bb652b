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

A net with a length head (``length_head``) learns short / long sleeves or legs beside the
category, with cross-entropy on the rows whose label fixes it
(:func:`~wardrobe.taxonomy.length_of_classes` of the label's DeepFashion2 classes: "t-shirt" and
"shorts" short, "longsleeve" and "pants" long; synthetic sweaters long, synthetic T-shirts not
known); ``val/real/length_acc`` scores it on the real photos that have one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import torch
import torch.nn.functional as F
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
from wardrobe.taxonomy import (
    CATEGORY_BY_NAME,
    FINE_CATEGORIES,
    GROUPS,
    LENGTHS,
    length_of_classes,
)
from wardrobe.utils.progress import report as report_progress
from wardrobe.utils.threads import torch_threads

log = logging.getLogger(__name__)
SYNTH, REAL = 0, 1
REAL_METRICS = ("group_acc", "strict_acc", "coarse_acc")
UNKNOWN = -1  # a row whose label does not fix its length


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
        fine_length = [_length_index(CATEGORY_BY_NAME[c].df2_classes) for c in classes]
        coarse_length = [_length_index(lab.df2) for lab in mapping.labels.values()]
        self.register_buffer("fine_length", torch.tensor(fine_length), False)
        self.register_buffer("coarse_length", torch.tensor(coarse_length), False)

    # ------------------------------------------------------------------ metrics
    def stage_metrics(self, stage: str) -> MetricCollection:
        """The classifier's metrics, plus the real photos' accuracies for val and test."""
        metrics = super().stage_metrics(stage)
        if stage != "train":
            names = [*REAL_METRICS, *(["length_acc"] if self.net.lengths is not None else [])]
            metrics.add_metrics({f"real_{name}": MeanMetric() for name in names})
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
    def length_targets(
        self, allowed: torch.Tensor, source: torch.Tensor, coarse: torch.Tensor
    ) -> torch.Tensor:
        """Each row's length index (:data:`LENGTHS`), or :data:`UNKNOWN`: from the fine category
        of a synthetic crop (its one allowed class), from the label of a real photo."""
        from_label = self.coarse_length[coarse.clamp(min=0)]
        return torch.where(source == REAL, from_label, self.fine_length[allowed.argmax(-1)])

    def loss(self, outputs: tuple[torch.Tensor, ...], allowed, lengths) -> torch.Tensor:
        """The partial-label loss, plus the length head's cross-entropy on the rows that have a
        length."""
        loss = partial_label_loss(outputs[0], allowed)
        known = lengths != UNKNOWN
        if len(outputs) > 1 and bool(known.any()):
            loss = loss + F.cross_entropy(outputs[1][known], lengths[known])
        return loss

    def model_step(self, batch):
        images, allowed, source, coarse = batch
        outputs = self.net.outputs_from_features(self.net.trunk(images))
        lengths = self.length_targets(allowed, torch.as_tensor(source), torch.as_tensor(coarse))
        return self.loss(outputs, allowed, lengths), outputs[0], allowed.argmax(-1)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss, _, _ = self.model_step(batch)
        self.train_metrics["loss"].update(loss.detach())
        return loss

    def _real_step(self, batch, stage: str) -> None:
        images, allowed, _, coarse = batch
        outputs = self.net.outputs_from_features(self.net.trunk(images))
        predicted = outputs[0].argmax(-1)
        strict = allowed.gather(1, predicted[:, None]).squeeze(1)
        group = (self.fine_group[predicted] == self.coarse_group[coarse]).float()
        coarse_hit = (self.fine_coarse[predicted] == coarse).float()
        metrics = getattr(self, f"{stage}_metrics")
        for name, values in zip(REAL_METRICS, (group, strict, coarse_hit), strict=True):
            metrics[f"real_{name}"].update(values)
        lengths = self.coarse_length[coarse]
        known = lengths != UNKNOWN
        if len(outputs) > 1 and bool(known.any()):
            hits = (outputs[1].argmax(-1) == lengths)[known].float()
            metrics["real_length_acc"].update(hits)

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
        features, allowed, lengths = self._warmup_features(datamodule)
        allowed, lengths = allowed.to(self.device), lengths.to(self.device)
        self._fit_head(features, allowed, lengths, epochs)
        log.info(
            "head warm-up: %d epochs on %d cached feature rows in %.0f s",
            epochs,
            len(features),
            time.perf_counter() - started,
        )
        if self.net.tail is not None and self.hparams.tail_epochs > 0:
            started = time.perf_counter()
            mirrored, _, _ = self._warmup_features(datamodule, mirrored=True)
            both = (torch.cat([allowed, allowed]), torch.cat([lengths, lengths]))
            self._fit_tail(torch.cat([features, mirrored]), *both)
            log.info(
                "last stages: %d epochs on %d cached maps (and mirror images) in %.0f s",
                self.hparams.tail_epochs,
                2 * len(features),
                time.perf_counter() - started,
            )

    def _warmup_features(
        self, datamodule, mirrored: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frozen features (eval transform), allowed vectors and length targets of every
        training row (``mirrored``: of each image flipped left to right)."""
        parts = getattr(datamodule.data_train, "datasets", [datamodule.data_train])
        unique = list({id(p): p for p in parts}.values())  # real_repeats repeats one dataset
        tag = f"{self.net.backbone_name}-{self.net.weights}".replace("/", "_")
        if self.net.trunk_output != POOLED:
            tag += "-" + self.net.trunk_output.replace("+", "-")
        cache_dir = self.hparams.feature_cache_dir
        features, allowed, sources, coarse = [], [], [], []
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
            sources += [row[2] for row in part.rows]
            coarse += [row[3] for row in part.rows]
        allowed = torch.stack(allowed)
        lengths = self.length_targets(
            allowed.to(self.device),
            torch.tensor(sources, device=self.device),
            torch.tensor(coarse, device=self.device),
        )
        return torch.cat(features), allowed, lengths.cpu()

    def _heads(self) -> list[torch.nn.Module]:
        """The category head and, if the net has one, the length head."""
        return [m for m in (self.net.head, self.net.lengths) if m is not None]

    @torch.no_grad()
    def _head_inputs(self, features: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """What the head reads of each row (through the frozen or own last stages), in chunks."""
        self.net.eval()
        rows = [
            self.net.head_input(features[i : i + chunk].to(self.device))
            for i in range(0, len(features), chunk)
        ]
        return torch.cat(rows)

    def _fit_head(self, features, allowed, lengths, epochs: int) -> None:
        """The head (and the length head) alone on what they read of each row."""
        heads = self._heads()
        features = self._head_inputs(features)
        self.net.train()  # dropout on; a frozen trunk and the tail's batch norms stay in eval
        params = [p for m in heads for p in m.parameters()]
        optimizer = torch.optim.AdamW(params, lr=self.hparams.head_warmup_lr, weight_decay=0.01)
        generator = torch.Generator().manual_seed(0)
        # one thread: 62 s alone against 49 s on both, but 62 against 333 s beside another job
        with torch.enable_grad(), torch_threads(1):
            for _ in range(epochs):
                for index in torch.randperm(len(features), generator=generator).split(256):
                    outputs = tuple(m(features[index]) for m in heads)
                    loss = self.loss(outputs, allowed[index], lengths[index])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()

    def _fit_tail(self, features: torch.Tensor, allowed, lengths) -> None:
        """The net's own last stages and its head, together, on the cached maps (AdamW, cosine
        to 0, batches of 64, every thread)."""
        self.net.train()

        def loss_of(index: torch.Tensor) -> torch.Tensor:
            outputs = self.net.outputs_from_features(features[index].to(self.device))
            return self.loss(outputs, allowed[index], lengths[index])

        heads = self._heads()
        params = [
            {"params": list(self.net.tail.parameters()), "lr": self.hparams.tail_lr},
            {"params": [p for m in heads for p in m.parameters()]},
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


def _length_index(df2_classes) -> int:
    """:func:`length_of_classes` as an index into :data:`LENGTHS`, or :data:`UNKNOWN`."""
    length = length_of_classes(tuple(df2_classes))
    return UNKNOWN if length is None else LENGTHS.index(length)
