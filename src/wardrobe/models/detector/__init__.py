"""The garment detector (YOLOv8, ultralytics), one concern per module as ultralytics does:

* :mod:`~wardrobe.models.detector.net`: :class:`YoloNet`, the network a bundle rebuilds;
* :mod:`~wardrobe.models.detector.inference`: letterbox, NMS, the torch and ONNX runners,
  :func:`load_detector` -> :class:`GarmentDetector` (no training code);
* :mod:`~wardrobe.models.detector.train`: :class:`YoloTrainer`, ultralytics' trainer driven by the
  Hydra config (``model=detector``), which exports the bundle.

Importing the package loads no training code: :class:`YoloTrainer` is imported on first use.
"""

from __future__ import annotations

import os
from typing import Any

# Before any ultralytics import: ultralytics decides ONLINE once, at import time.
os.environ.setdefault("YOLO_OFFLINE", "1")

from wardrobe.models.detector.inference import (
    Detection,
    GarmentDetector,
    LetterboxInfo,
    letterbox,
    load_detector,
    postprocess,
)
from wardrobe.models.detector.net import YoloNet

__all__ = [
    "Detection",
    "GarmentDetector",
    "LetterboxInfo",
    "YoloNet",
    "YoloTrainer",
    "letterbox",
    "load_detector",
    "postprocess",
]


def __getattr__(name: str) -> Any:
    """``YoloTrainer`` on first use, so that inference never imports the training module."""
    if name == "YoloTrainer":
        from wardrobe.models.detector.train import YoloTrainer

        return YoloTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
