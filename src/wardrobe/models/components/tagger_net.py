"""``AttributeTaggerNet``: one shared backbone, one head per attribute (linear, or through a
hidden layer where ``head_hidden`` says so).

Heads return logits: class logits (multiclass), label logits (multilabel) and one logit for the
``formality`` regression. Softmax/sigmoid belong to inference; training uses losses on logits
(cross-entropy, ``BCEWithLogitsLoss``), never ``Sigmoid`` + ``BCELoss``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from wardrobe.models.components.backbones import (
    DEFAULT_BACKBONE,
    OFFLINE_IMAGENET,
    POOLED,
    BackboneNet,
    mlp_head,
)
from wardrobe.taxonomy import ATTRIBUTE_HEADS, FORMALITY_RANGE


def head_size(name: str) -> int:
    """Output size of attribute head ``name``: its vocabulary size, 1 for a regression."""
    if name not in ATTRIBUTE_HEADS:
        raise ValueError(f"unknown attribute head {name!r}; known: {list(ATTRIBUTE_HEADS)}")
    kind, vocabulary = ATTRIBUTE_HEADS[name]
    return 1 if kind == "regression" else len(vocabulary)


def head_kind(name: str) -> str:
    """``"multiclass"``, ``"multilabel"`` or ``"regression"``."""
    head_size(name)
    return ATTRIBUTE_HEADS[name][0]


def default_heads() -> dict[str, int]:
    """Every attribute head of the taxonomy with its output size."""
    return {name: head_size(name) for name in ATTRIBUTE_HEADS}


def regression_value(logits: torch.Tensor) -> torch.Tensor:
    """Formality logit ``[B, 1]`` -> value in ``FORMALITY_RANGE`` ``[B]``."""
    low, high = FORMALITY_RANGE
    return low + (high - low) * logits.reshape(-1).sigmoid()


def head_outputs(logits: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The net's logits -> probabilities per head (softmax / sigmoid), formality as a value."""
    out = {}
    for name, value in logits.items():
        kind = head_kind(name)
        if kind == "multiclass":
            out[name] = value.softmax(-1)
        elif kind == "multilabel":
            out[name] = value.sigmoid()
        else:
            out[name] = regression_value(value)
    return out


def _hidden_per_head(hidden: int | Mapping[str, int], heads: Mapping[str, int]) -> dict[str, int]:
    """``head_hidden`` as hidden units per head (0: linear); unknown head names fail."""
    if not isinstance(hidden, Mapping):
        return {name: int(hidden) for name in heads}
    unknown = sorted(set(hidden) - set(heads))
    if unknown:
        raise ValueError(f"head_hidden names heads the tagger lacks: {unknown}")
    return {name: int(hidden.get(name, 0)) for name in heads}


class AttributeTaggerNet(BackboneNet):
    """Attribute tagger: ``[B, 3, H, W]`` -> ``{head: logits [B, size]}`` (formality ``[B, 1]``).

    ``trunk_output="pooled+centres"`` gives the heads the centres of early blocks beside the
    pooled features (colour, see :class:`~wardrobe.models.components.backbones.CentresTrunk`).
    ``heads`` maps head names of ``taxonomy.ATTRIBUTE_HEADS`` to their sizes (default: all
    heads); a subset is allowed, a wrong size fails at once.
    """

    def __init__(
        self,
        *,
        backbone: str = DEFAULT_BACKBONE,
        weights: str = OFFLINE_IMAGENET,
        heads: Mapping[str, int] | None = None,
        dropout: float = 0.2,
        trunk_output: str = POOLED,
        head_hidden: int | Mapping[str, int] = 0,
    ) -> None:
        heads = default_heads() if heads is None else {str(k): int(v) for k, v in heads.items()}
        if not heads:
            raise ValueError("the tagger needs at least one head")
        for name, size in heads.items():
            if size != head_size(name):
                raise ValueError(
                    f"head {name!r} has size {head_size(name)} in the taxonomy, not {size}"
                )
        super().__init__(backbone, weights, trunk_output)
        self.backbone_name, self.weights, self.dropout_p = backbone, weights, float(dropout)
        self.head_sizes = heads
        self.dropout = nn.Dropout(dropout)
        self.head_hidden = _hidden_per_head(head_hidden, heads)
        self.heads = nn.ModuleDict(
            {
                n: mlp_head(self.trunk_width, s, self.head_hidden[n], dropout)
                for n, s in heads.items()
            }
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.forward_features(self.trunk(x))

    def forward_features(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head's logits from the trunk's features (``trunk_output``; the columns of a
        wider output beyond :attr:`trunk_width` are not read)."""
        features = self.dropout(features[:, : self.trunk_width])
        return {name: head(features) for name, head in self.heads.items()}

    @property
    def config(self) -> dict[str, Any]:
        return {
            "_target_": f"{type(self).__module__}.{type(self).__qualname__}",
            "backbone": self.backbone_name,
            "weights": self.weights,
            "heads": dict(self.head_sizes),
            "dropout": self.dropout_p,
            "trunk_output": self.trunk_output,
            "head_hidden": {n: h for n, h in self.head_hidden.items() if h > 0},
        }
