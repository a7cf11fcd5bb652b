"""How a photo becomes the detector's input, and the detector's default thresholds:
:class:`DetectionPreprocessing` (the ``preprocessing`` block of a detector bundle)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DetectionPreprocessing:
    """Letterbox to a square ``imgsz`` (``None`` until training resolves it) padded with
    ``pad_value`` grey, scale ``channels`` values by ``scale``; ``predict()`` keeps boxes above
    ``conf`` after NMS at ``iou``, at most ``max_det`` per image."""

    imgsz: int | None = None  # square letterbox side; None = the training imgsz
    pad_value: int = 114  # letterbox border grey, as ultralytics trains
    scaleup: bool = True  # enlarge small images to imgsz (False: only shrink)
    channels: str = "RGB"
    scale: float = 1.0 / 255.0
    conf: float = 0.25  # default score threshold of predict()
    iou: float = 0.7  # NMS IoU threshold (per class)
    max_det: int = 300

    @classmethod
    def from_dict(cls, preprocessing: Mapping[str, Any] | None) -> DetectionPreprocessing:
        """From a config or ``bundle.json`` block; absent keys take the defaults above."""
        given = dict(preprocessing or {})
        unknown = set(given) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown detector preprocessing keys: {sorted(unknown)}")
        return cls(**given)

    def to_dict(self) -> dict[str, Any]:
        """The plain block ``bundle.json`` stores."""
        return dataclasses.asdict(self)

    def resolved(self, imgsz: int) -> DetectionPreprocessing:
        """This block with ``imgsz`` set to the training size when it was left ``None``."""
        return dataclasses.replace(self, imgsz=int(self.imgsz or imgsz))
