"""A bundle's whole ``preprocessing`` block, typed: :class:`Preprocessing`.

``bundle.json`` keeps the flat layout it always had (the image keys, plus the text keys for a
CLIP model, or the detector's letterbox keys); :meth:`Preprocessing.from_dict` reads that layout
and :meth:`Preprocessing.to_dict` writes it back, so every existing bundle loads unchanged. Keys
of no typed part (the compatibility model's item-encoder spec) stay in :attr:`Preprocessing.extra`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wardrobe.preprocessing.detection import DetectionPreprocessing
from wardrobe.preprocessing.image import PREPROCESSING_KEYS, ImagePreprocessing
from wardrobe.preprocessing.text import TEXT_KEYS, TextPreprocessing

DETECTION_KEYS = frozenset(f.name for f in dataclasses.fields(DetectionPreprocessing))


@dataclass(frozen=True)
class Preprocessing:
    """What a model's inputs go through before its ``forward``: the typed parts it has."""

    image: ImagePreprocessing | None = None
    text: TextPreprocessing | None = None
    detection: DetectionPreprocessing | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, preprocessing: Mapping[str, Any] | None) -> Preprocessing:
        """From the flat block of a config or ``bundle.json`` (each present part validated)."""
        block = dict(preprocessing or {})

        def part(keys: frozenset[str] | tuple[str, ...]) -> dict[str, Any] | None:
            taken = {k: block.pop(k) for k in list(block) if k in keys}
            return taken or None

        image, text, detection = part(PREPROCESSING_KEYS), part(TEXT_KEYS), part(DETECTION_KEYS)
        return cls(
            image=None if image is None else ImagePreprocessing.from_dict(image),
            text=None if text is None else TextPreprocessing.from_dict(text),
            detection=None if detection is None else DetectionPreprocessing.from_dict(detection),
            extra=block,
        )

    def to_dict(self) -> dict[str, Any]:
        """The flat block, as ``bundle.json`` stores it."""
        out: dict[str, Any] = {}
        for part in (self.image, self.text, self.detection):
            if part is not None:
                out.update(part.to_dict())
        return out | dict(self.extra)
