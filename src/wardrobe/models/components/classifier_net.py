"""``GarmentClassifierNet``: backbone -> dropout -> linear, logits over the fine categories."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wardrobe.models.components.backbones import (
    DEFAULT_BACKBONE,
    OFFLINE_IMAGENET,
    POOLED,
    BackboneNet,
)


class GarmentClassifierNet(BackboneNet):
    """Fine-category classifier: ``[B, 3, H, W]`` -> logits ``[B, num_classes]``.

    Built only from keyword arguments, so a bundle or checkpoint rebuilds it from :attr:`config`.
    """

    def __init__(
        self,
        *,
        backbone: str = DEFAULT_BACKBONE,
        weights: str = OFFLINE_IMAGENET,
        num_classes: int,
        dropout: float = 0.2,
        trunk_output: str = POOLED,
    ) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        super().__init__(backbone, weights, trunk_output)
        self.backbone_name, self.weights = backbone, weights
        self.num_classes, self.dropout_p = int(num_classes), float(dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.trunk_width, self.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(self.trunk(x))

    def forward_features(self, features: torch.Tensor) -> torch.Tensor:
        """Logits from the trunk's features (``trunk_output``)."""
        return self.head(self.dropout(features))

    @property
    def config(self) -> dict[str, Any]:
        return {
            "_target_": f"{type(self).__module__}.{type(self).__qualname__}",
            "backbone": self.backbone_name,
            "weights": self.weights,
            "num_classes": self.num_classes,
            "dropout": self.dropout_p,
            "trunk_output": self.trunk_output,
        }
