"""The garment detector (YOLOv8, ultralytics), one concern per module as ultralytics does:

* :mod:`~wardrobe.models.detector.net`: :class:`YoloNet`, the network a bundle rebuilds;
* :mod:`~wardrobe.models.detector.inference`: letterbox, NMS, the torch and ONNX runners,
  :func:`load_detector` -> :class:`GarmentDetector` (no training code);
* :mod:`~wardrobe.models.detector.train`: :class:`YoloTrainer`, ultralytics' trainer driven by the
  Hydra config (``model=detector``), which exports the bundle.

The package re-exports the inference names only, so that importing it (as ingestion and serving
do) loads no training code; the trainer is ``wardrobe.models.detector.train.YoloTrainer``.
"""

from __future__ import annotations

import os

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
    "letterbox",
    "load_detector",
    "postprocess",
]
