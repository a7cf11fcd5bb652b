"""``OutfitCompatibilityNet``: a transformer over an outfit's item features -> one logit.

The network of the original design (item projection -> ``TransformerEncoder`` with a padding
mask -> masked mean pooling -> MLP head), with these corrections:

* It returns a **logit**; the design's final ``Sigmoid`` + ``BCELoss`` is numerically unsafe
  (log of a saturated sigmoid), so training uses ``BCEWithLogitsLoss`` and callers that want a
  probability apply ``sigmoid`` themselves.
* A **fully padded row** (an empty outfit, e.g. a padded FITB candidate) made the design return
  NaN twice over: attention over keys that are all masked is a softmax of ``-inf`` only, and the
  mean pool divided 0 by 0. Here such a row attends to its first slot (so the encoder stays
  finite) and pools to the zero vector, giving a finite logit that callers mask out.
* Padded slots are **zeroed before the projection** and **excluded with ``masked_fill``**, not by
  multiplying with the mask: ``0 * NaN`` is NaN, so garbage or NaN features in padding (such as
  the NaN rows of unreadable images) cannot reach the score. Adding padded slots never changes
  the logit.
* The input features are **layer-normalised** first: frozen CNN/CLIP features have arbitrary
  scales, and the projection then sees unit-scale inputs whatever the encoder.

There is no positional embedding: an outfit is a set, and the score does not depend on the
order of its items. ``max_items`` is the training pad length, recorded for serving (which pads
candidate outfits to it); ``forward`` accepts any number of items.

No Lightning import: serving rebuilds this net from a bundle's config.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

POOLINGS = ("mean", "cls", "stats")


class OutfitCompatibilityNet(nn.Module):
    """Outfit compatibility: ``features [B, N, D]`` + ``padding_mask [B, N]`` -> logits ``[B]``.

    Args:
        feature_dim: size ``D`` of an item feature (the encoder's output).
        d_model, nhead, num_layers, dim_feedforward, dropout: the ``TransformerEncoder``.
        max_items: pad length of the training outfits (metadata for serving).
        head_hidden, head_dropout: the MLP head ``d_model -> head_hidden -> 1``.
        pooling: ``mean`` (masked mean of the item outputs), ``cls`` (a learned outfit token
            that attends to the items, as OutfitTransformer; padding never reaches it) or
            ``stats`` (mean, max and min of the item outputs: spreads and shared properties).
        norm_first: pre-norm encoder layers (train stably at higher learning rates; the
            post-norm default stalled at the class prior on SynthWardrobe, see the README).
    """

    def __init__(
        self,
        feature_dim: int,
        d_model: int = 256,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        max_items: int = 8,
        head_hidden: int = 64,
        head_dropout: float = 0.2,
        pooling: str = "mean",
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"d_model={d_model} must be divisible by nhead={nhead}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self._config = {
            "feature_dim": int(feature_dim),
            "d_model": int(d_model),
            "nhead": int(nhead),
            "num_layers": int(num_layers),
            "dim_feedforward": int(dim_feedforward),
            "dropout": float(dropout),
            "max_items": int(max_items),
            "head_hidden": int(head_hidden),
            "head_dropout": float(head_dropout),
            "pooling": pooling,
            "norm_first": bool(norm_first),
        }
        self.pooling = pooling
        # the CLS token: a learned outfit slot that attends to the items (OutfitTransformer)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "cls" else None
        self.feature_dim, self.max_items = int(feature_dim), int(max_items)
        self.input_norm = nn.LayerNorm(feature_dim)
        self.item_proj = nn.Linear(feature_dim, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model=d_model,
            nhead=nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            batch_first=True,
            norm_first=norm_first,
        )
        # No nested-tensor fast path: it needs a mask with a real item in every row and gives
        # results that differ (slightly) from the padded path; outfits are short anyway.
        self.transformer = nn.TransformerEncoder(
            layer, num_layers=num_layers, enable_nested_tensor=False
        )
        pooled = 3 * d_model if pooling == "stats" else d_model
        self.head = nn.Sequential(
            nn.Linear(pooled, head_hidden),
            nn.ReLU(),
            nn.Dropout(head_dropout),
            nn.Linear(head_hidden, 1),
        )

    @property
    def config(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this net (plus ``_target_``), for checkpoints/bundles."""
        return {"_target_": f"{type(self).__module__}.{type(self).__qualname__}", **self._config}

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits ``[B]``; ``padding_mask`` is True at padded slots (``src_key_padding_mask``)."""
        if features.dim() != 3 or features.shape[-1] != self.feature_dim:
            raise ValueError(
                f"features must be [B, N, {self.feature_dim}], got {tuple(features.shape)}"
            )
        batch, length = features.shape[:2]
        if padding_mask is None:
            padding_mask = torch.zeros(batch, length, dtype=torch.bool, device=features.device)
        padding_mask = padding_mask.to(device=features.device, dtype=torch.bool)
        if padding_mask.shape != (batch, length):
            raise ValueError(f"padding_mask must be [{batch}, {length}], got {padding_mask.shape}")
        return self.head(self.encode(features, padding_mask)).squeeze(-1)

    def encode(self, features: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """The pooled outfit vector ``[B, d_model]`` (``forward``'s head input)."""
        real = ~padding_mask
        empty = ~real.any(dim=1)
        x = features.masked_fill(padding_mask.unsqueeze(-1), 0.0)
        x = self.item_proj(self.input_norm(x))
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(len(x), -1, -1).to(x.dtype), x], dim=1)
            cls_pad = torch.zeros(len(x), 1, dtype=torch.bool, device=x.device)
            x = self.transformer(x, src_key_padding_mask=torch.cat([cls_pad, padding_mask], 1))
            return x[:, 0]
        # An empty row attends to its (zero) first slot instead of to nothing (NaN).
        attn_mask = padding_mask.clone()
        attn_mask[:, 0] &= ~empty
        x = self.transformer(x, src_key_padding_mask=attn_mask)
        x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)
        count = real.sum(dim=1, keepdim=True).clamp(min=1).to(x.dtype)
        mean = x.sum(dim=1) / count
        if self.pooling != "stats":
            return mean
        # max and min over the real items: the spread of a value and what every item shares
        # (formality range, common seasons) are maxima and minima, which a mean blurs
        pad = padding_mask.unsqueeze(-1)
        high = x.masked_fill(pad, float("-inf")).amax(dim=1)
        low = x.masked_fill(pad, float("inf")).amin(dim=1)
        high, low = (v.masked_fill(empty.unsqueeze(-1), 0.0) for v in (high, low))
        return torch.cat([mean, high, low], dim=1)
