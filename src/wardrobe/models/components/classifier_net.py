"""``GarmentClassifierNet``: backbone -> dropout -> linear, logits over the fine categories."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wardrobe.models.components.backbones import (
    DEFAULT_BACKBONE,
    OFFLINE_IMAGENET,
    POOLED,
    POOLED_CENTRES_MAPS,
    BackboneNet,
    TrunkTail,
    maps_of,
    mlp_head,
)
from wardrobe.taxonomy import LENGTHS

#: what the head reads of the trunk's output: all of it, or its pooled part alone
HEAD_READS_ALL, HEAD_READS_POOLED = "all", "pooled"
HEAD_READS = (HEAD_READS_ALL, HEAD_READS_POOLED)


class GarmentClassifierNet(BackboneNet):
    """Fine-category classifier: ``[B, 3, H, W]`` -> logits ``[B, num_classes]``.

    ``head_reads="pooled"`` keeps a ``pooled+centres`` trunk (the one pass serving shares with
    the tagger and CLIP) while the head reads only its first ``num_features`` columns: the
    centre colour means made the category follow colour on flat-lay detector crops (blue jeans
    and shorts -> chinos). ``trunk_output="pooled+centres+maps"`` gives the net its own copy of
    the backbone's last stages (:attr:`tail`, a
    :class:`~wardrobe.models.components.backbones.TrunkTail`) on the shared trunk's block-4 maps:
    the tail learns real garments while the frozen trunk's pass stays shared; its pooled output
    replaces the frozen one. ``length_head`` adds :attr:`lengths`, a linear head on the same
    input answering short or long (sleeves of tops, outerwear and dresses; legs of bottoms),
    which the fine category cannot tell (a T-shirt has either). Built only from keyword
    arguments, so a bundle or checkpoint rebuilds it from :attr:`config`.
    """

    def __init__(
        self,
        *,
        backbone: str = DEFAULT_BACKBONE,
        weights: str = OFFLINE_IMAGENET,
        num_classes: int,
        dropout: float = 0.2,
        trunk_output: str = POOLED,
        head_reads: str = HEAD_READS_ALL,
        head_hidden: int = 0,
        length_head: bool = False,
    ) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if head_reads not in HEAD_READS:
            raise ValueError(f"head_reads must be one of {HEAD_READS}, got {head_reads!r}")
        super().__init__(backbone, weights, trunk_output)
        self.backbone_name, self.weights = backbone, weights
        self.num_classes, self.dropout_p = int(num_classes), float(dropout)
        self.head_reads = head_reads
        self.head_width = self.num_features if head_reads == HEAD_READS_POOLED else self.trunk_width
        self.head_hidden = int(head_hidden)
        self.dropout = nn.Dropout(dropout)
        self.head = mlp_head(self.head_width, self.num_classes, self.head_hidden, dropout)
        own_tail = self.trunk_output == POOLED_CENTRES_MAPS
        self.tail = TrunkTail(self.backbone) if own_tail else None
        self.lengths = nn.Linear(self.head_width, len(LENGTHS)) if length_head else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(self.trunk(x))

    def forward_features(self, features: torch.Tensor) -> torch.Tensor:
        """Logits from the trunk's features (``trunk_output``)."""
        return self.head(self.dropout(self.head_input(features)))

    def outputs_from_features(self, features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Category logits, then (with :attr:`lengths`) the length logits over
        :data:`~wardrobe.taxonomy.LENGTHS`, from one head input."""
        x = self.dropout(self.head_input(features))
        return (self.head(x),) if self.lengths is None else (self.head(x), self.lengths(x))

    def head_input(self, features: torch.Tensor) -> torch.Tensor:
        """What the head reads of the trunk's features (``head_reads``); with a :attr:`tail`,
        its pooled output on the maps in place of the frozen pooled features."""
        vector = features[:, : self.trunk_width]
        if self.tail is not None:
            pooled = self.tail(maps_of(features, self.trunk_width, self.tail.in_channels))
            vector = torch.cat([pooled, vector[:, self.num_features :]], 1)
        return vector[:, : self.head_width]

    @property
    def config(self) -> dict[str, Any]:
        return {
            "_target_": f"{type(self).__module__}.{type(self).__qualname__}",
            "backbone": self.backbone_name,
            "weights": self.weights,
            "num_classes": self.num_classes,
            "dropout": self.dropout_p,
            "trunk_output": self.trunk_output,
            "head_reads": self.head_reads,
            "head_hidden": self.head_hidden,
            "length_head": self.lengths is not None,
        }
