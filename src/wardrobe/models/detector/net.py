"""``YoloNet``: the detector network of a bundle, an ultralytics ``DetectionModel`` rebuilt from
its architecture dict (weights as safetensors, nothing unpickled)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from wardrobe.hparams import plain

NET_TARGET = "wardrobe.models.detector.YoloNet"


class YoloNet(nn.Module):
    """An ultralytics ``DetectionModel`` rebuilt from its architecture dict (no pickle).

    ``forward`` returns the decoded predictions ``(B, 4 + nc, anchors)``: ``cx, cy, w, h`` in
    input pixels, then per-class sigmoid scores (the same tensor the ONNX export returns).
    Heads with built-in NMS (``end2end``, YOLOv10/YOLO26) are not supported.
    """

    def __init__(self, model_yaml: Mapping[str, Any], nc: int) -> None:
        super().__init__()
        from ultralytics.nn.tasks import DetectionModel

        arch = plain(model_yaml, "model_yaml")
        arch["nc"] = int(nc)
        self.model = DetectionModel(cfg=copy.deepcopy(arch), ch=3, nc=int(nc), verbose=False)
        if getattr(self.model.model[-1], "end2end", False):
            raise ValueError("end-to-end YOLO heads (YOLOv10/YOLO26) are not supported")
        # the package path, as bundles since the first one record it
        self.config = {"_target_": NET_TARGET, "model_yaml": arch, "nc": int(nc)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out[0] if isinstance(out, tuple | list) else out

    def fuse(self) -> YoloNet:
        """Fold BatchNorm into the convolutions (inference only; the ONNX export is fused)."""
        self.model.fuse(verbose=False)
        return self

    @classmethod
    def from_ultralytics(cls, detection_model: nn.Module) -> YoloNet:
        """Copy an ultralytics ``DetectionModel`` (e.g. ``YOLO("best.pt").model``), in float32."""
        net = cls(detection_model.yaml, nc=int(detection_model.yaml["nc"]))
        state = {k: v.float() for k, v in detection_model.state_dict().items()}
        net.model.load_state_dict(state, strict=True)
        return net.eval()
