"""Text tokenizers of the CLIP text tower: named, offline, and recorded with the model.

A CLIP model's ``preprocessing`` block is the image keys of :mod:`wardrobe.preprocessing.image`
plus ``tokenizer`` and ``context_length`` (:data:`TEXT_KEYS`, typed as :class:`TextPreprocessing`).
The bundle stores that block, so serving embeds search text with
``tokenize(texts, context_length, tokenizer)`` exactly as training tokenized the captions;
:func:`split_preprocessing` separates the two halves.

Tokenizers (:data:`TOKENIZERS`):

* ``clip_bpe``: the byte-pair encoding of OpenAI CLIP (open_clip's ``SimpleTokenizer``, 49,408
  ids: 49,152 BPE tokens + ``<start_of_text>`` + ``<end_of_text>``; id 0 pads). Its merges file
  ``bpe_simple_vocab_16e6.txt.gz`` ships inside the open_clip_torch package, so it never
  downloads. It is the tokenizer of open_clip's ``ViT-B-32`` (and every built-in config without
  ``hf_tokenizer_name``). open_clip's ``get_tokenizer(name)`` is not used: for configs that name a
  Hugging Face tokenizer it downloads from the Hub at run time.

Text is lower-cased and whitespace-normalised; a text longer than ``context_length`` tokens is
cut and still ends with ``<end_of_text>`` (the text tower pools at that token).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from wardrobe.preprocessing.image import check_preprocessing

CLIP_BPE = "clip_bpe"
# name -> vocabulary size (the text tower's embedding table has one row per id)
TOKENIZERS: Mapping[str, int] = {CLIP_BPE: 49408}
TEXT_KEYS: tuple[str, ...] = ("tokenizer", "context_length")
MIN_CONTEXT_LENGTH = 4  # <start_of_text>, at least one word, <end_of_text>, ...


def _check_name(name: str) -> str:
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r}; known: {sorted(TOKENIZERS)}")
    return name


@functools.lru_cache(maxsize=len(TOKENIZERS))
def get_tokenizer(name: str = CLIP_BPE) -> Any:
    """The tokenizer object called ``name`` (built once per process; never downloads)."""
    from open_clip.tokenizer import SimpleTokenizer

    _check_name(name)
    tokenizer = SimpleTokenizer()
    if tokenizer.vocab_size != TOKENIZERS[name]:  # a changed open_clip would silently misalign
        raise RuntimeError(
            f"tokenizer {name!r} has {tokenizer.vocab_size} ids, expected {TOKENIZERS[name]}"
        )
    return tokenizer


def vocab_size(name: str = CLIP_BPE) -> int:
    """Number of token ids of tokenizer ``name`` (the text tower's embedding rows)."""
    return TOKENIZERS[_check_name(name)]


def tokenize(
    texts: str | Sequence[str], context_length: int, tokenizer: str = CLIP_BPE
) -> torch.Tensor:
    """Token ids ``[N, context_length]`` (int64, 0-padded) of ``texts``."""
    if isinstance(texts, str):
        texts = [texts]
    if int(context_length) < MIN_CONTEXT_LENGTH:
        raise ValueError(f"context_length must be >= {MIN_CONTEXT_LENGTH}, got {context_length}")
    if not texts:
        return torch.zeros(0, int(context_length), dtype=torch.long)
    return get_tokenizer(tokenizer)(list(texts), context_length=int(context_length))


def decode(ids: torch.Tensor | Sequence[int], tokenizer: str = CLIP_BPE) -> str:
    """The text of one row of token ids, without the special and padding tokens."""
    tok = get_tokenizer(tokenizer)
    special = {0, *tok.all_special_ids}
    words = [int(i) for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids)]
    return tok.decode([i for i in words if i not in special]).strip()


@dataclass(frozen=True)
class TextPreprocessing:
    """How text becomes token ids: tokenizer ``tokenizer`` (a :data:`TOKENIZERS` name), cut or
    0-padded to ``context_length`` ids."""

    tokenizer: str
    context_length: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokenizer", _check_name(str(self.tokenizer)))
        object.__setattr__(self, "context_length", int(self.context_length))
        if self.context_length < MIN_CONTEXT_LENGTH:
            raise ValueError(
                f"context_length must be >= {MIN_CONTEXT_LENGTH}, got {self.context_length}"
            )

    @classmethod
    def from_dict(cls, preprocessing: Mapping[str, Any]) -> TextPreprocessing:
        """From the text keys of a preprocessing block (other keys are ignored)."""
        missing = [k for k in TEXT_KEYS if k not in preprocessing]
        if missing:
            raise ValueError(
                f"a CLIP preprocessing block needs {list(TEXT_KEYS)}; missing {missing}"
            )
        return cls(preprocessing["tokenizer"], preprocessing["context_length"])

    def to_dict(self) -> dict[str, Any]:
        """The plain ``{"tokenizer", "context_length"}`` block."""
        return {"tokenizer": self.tokenizer, "context_length": self.context_length}

    def tokenize(self, texts: str | Sequence[str]) -> torch.Tensor:
        """Token ids ``[N, context_length]`` of ``texts``."""
        return tokenize(texts, self.context_length, self.tokenizer)


def check_text_preprocessing(preprocessing: Mapping[str, Any]) -> dict[str, Any]:
    """``{"tokenizer", "context_length"}`` of a preprocessing block, validated."""
    return TextPreprocessing.from_dict(preprocessing).to_dict()


def split_preprocessing(preprocessing: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A CLIP preprocessing block -> ``(image part, text part)``, each validated.

    The image part is what :func:`wardrobe.preprocessing.image.build_transforms` takes.
    """
    text = check_text_preprocessing(preprocessing)
    image = check_preprocessing({k: v for k, v in preprocessing.items() if k not in TEXT_KEYS})
    return image, text
