"""Detector inference: letterbox -> network -> NMS, on the bundle's safetensors weights
(``torch``) or its ``model.onnx`` (``onnx``), with no training code.

The ``torch`` backend needs ``ultralytics.nn`` (the network's modules), the ``onnx`` backend only
onnxruntime. Both share one letterbox preprocessing and one NMS postprocessing, so they agree
on the same input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from wardrobe.artifacts import BundleError, bundle_file, load_bundle, read_meta
from wardrobe.preprocessing import DetectionPreprocessing
from wardrobe.taxonomy import DF2_CLASSES
from wardrobe.utils import onnx_session_options

ONNX_FILE = "model.onnx"


@dataclass(frozen=True)
class Detection:
    """A detected garment: ``box`` = ``(x1, y1, x2, y2)`` in pixels of the input image."""

    box: tuple[float, float, float, float]
    cls: int  # index in taxonomy.DF2_CLASSES (DeepFashion2 category_id - 1)
    name: str
    conf: float


@dataclass(frozen=True)
class LetterboxInfo:
    """How an image went into the network input: scale, then left/top padding."""

    ratio: float
    left: int
    top: int
    width: int
    height: int


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A uint8 ``HxWx3`` RGB array from RGB, RGBA or grayscale input (ValueError otherwise)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 1:
        raise ValueError(f"expected an HxWx3 RGB image, got an array of shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    return np.ascontiguousarray(image[:, :, :3])


def letterbox(
    image: np.ndarray, imgsz: int, pad_value: int = 114, scaleup: bool = True
) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize keeping the aspect ratio and pad to ``imgsz x imgsz`` (centred), as ultralytics."""
    height, width = image.shape[:2]
    ratio = min(imgsz / height, imgsz / width)
    if not scaleup:
        ratio = min(ratio, 1.0)
    new_w, new_h = round(width * ratio), round(height * ratio)
    if (new_w, new_h) != (width, height):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (imgsz - new_w) / 2, (imgsz - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    image = cv2.copyMakeBorder(
        image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(pad_value,) * 3
    )
    return image, LetterboxInfo(ratio, left, top, width, height)


def postprocess(
    predictions: np.ndarray,
    infos: Sequence[LetterboxInfo],
    conf: float,
    iou: float,
    max_det: int,
    multi_label: bool = False,
    agnostic: bool = False,
) -> list[list[Detection]]:
    """``(B, 4 + nc, anchors)`` network output -> detections in original image pixels.

    ``multi_label`` keeps every class above ``conf`` for a box (as ultralytics validates, for
    mAP); otherwise only the best class of each box (what an app wants). NMS is per class, or
    over all classes with ``agnostic`` (one garment is one box, whatever classes compete).
    """
    from torchvision.ops import batched_nms

    preds = torch.from_numpy(np.ascontiguousarray(predictions, dtype=np.float32))
    preds = preds.transpose(1, 2)  # B, anchors, 4 + nc
    results: list[list[Detection]] = []
    for pred, info in zip(preds, infos, strict=True):
        boxes, scores = pred[:, :4], pred[:, 4:]
        if multi_label:
            rows, classes = (scores > conf).nonzero(as_tuple=True)
            boxes, confs = boxes[rows], scores[rows, classes]
        else:
            confs, classes = scores.max(dim=1)
            keep = confs > conf
            boxes, confs, classes = boxes[keep], confs[keep], classes[keep]
        xyxy = torch.cat([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], 1)
        groups = torch.zeros_like(classes) if agnostic else classes
        keep = batched_nms(xyxy, confs, groups, iou)[:max_det]
        xyxy, confs, classes = xyxy[keep], confs[keep], classes[keep]
        # undo the letterbox, clip to the image
        xyxy[:, [0, 2]] = ((xyxy[:, [0, 2]] - info.left) / info.ratio).clamp(0, info.width)
        xyxy[:, [1, 3]] = ((xyxy[:, [1, 3]] - info.top) / info.ratio).clamp(0, info.height)
        results.append(
            [
                Detection(tuple(float(v) for v in box), int(c), DF2_CLASSES[int(c)], float(s))
                for box, c, s in zip(xyxy.tolist(), classes.tolist(), confs.tolist(), strict=True)
            ]
        )
    return results


class _TorchRunner:
    """The bundle's safetensors weights in :class:`YoloNet` (fused, eval mode)."""

    def __init__(self, bundle_dir: Path, device: str) -> None:
        bundle = load_bundle(bundle_dir, expected_labels={"classes": list(DF2_CLASSES)})
        self.device = torch.device(device)
        self.net = bundle.net.fuse().to(self.device).eval()

    @torch.inference_mode()
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.net(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()


class _OnnxRunner:
    """The bundle's ``model.onnx`` in onnxruntime (checksum-checked)."""

    def __init__(self, bundle_dir: Path, device: str) -> None:
        import onnxruntime as ort

        path = bundle_file(bundle_dir, ONNX_FILE)
        providers = ["CPUExecutionProvider"]
        if device != "cpu" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(path), onnx_session_options(), providers=providers)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class GarmentDetector:
    """A loaded detector bundle: ``predict(list of RGB arrays)`` -> detections per image."""

    def __init__(
        self,
        runner: Any,
        preprocessing: DetectionPreprocessing | Mapping[str, Any],
        backend: str,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self.runner = runner
        self.meta = dict(meta or {})  # the bundle's bundle.json
        if not isinstance(preprocessing, DetectionPreprocessing):
            preprocessing = DetectionPreprocessing.from_dict(preprocessing)
        if preprocessing.imgsz is None:
            raise ValueError("the detector's preprocessing has no imgsz (a bundle records it)")
        self.preprocessing = preprocessing
        self.imgsz = int(preprocessing.imgsz)
        self.backend = backend
        self.classes = DF2_CLASSES

    def preprocess(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[LetterboxInfo]]:
        """Letterboxed float32 NCHW batch in 0..1 and how each image was placed."""
        prep = self.preprocessing
        boxed, infos = [], []
        for image in images:
            out, info = letterbox(as_rgb(image), self.imgsz, prep.pad_value, prep.scaleup)
            boxed.append(out)
            infos.append(info)
        batch = np.stack(boxed).transpose(0, 3, 1, 2).astype(np.float32) * prep.scale
        return np.ascontiguousarray(batch), infos

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Raw network output ``(B, 4 + nc, anchors)`` of a preprocessed batch."""
        return self.runner(batch)

    def predict(
        self,
        images: Sequence[np.ndarray],
        conf: float | None = None,
        iou: float | None = None,
        max_det: int | None = None,
        multi_label: bool = False,
        batch_size: int = 16,
        agnostic: bool = False,
    ) -> list[list[Detection]]:
        """Detections for each RGB ``uint8`` image (any sizes), run in batches."""
        prep = self.preprocessing
        conf = prep.conf if conf is None else conf
        iou = prep.iou if iou is None else iou
        max_det = prep.max_det if max_det is None else max_det
        results: list[list[Detection]] = []
        for start in range(0, len(images), batch_size):
            batch, infos = self.preprocess(images[start : start + batch_size])
            raw = self.forward(batch)
            results += postprocess(raw, infos, conf, iou, max_det, multi_label, agnostic)
        return results


def load_detector(
    bundle_dir: str | os.PathLike, backend: str = "torch", device: str = "cpu"
) -> GarmentDetector:
    """Load ``model_artifacts/detector`` for inference with the ``torch`` or ``onnx`` backend.

    Refuses (``BundleError``) a bundle whose labels are not ``taxonomy.DF2_CLASSES`` or whose
    files fail their checksums.
    """
    bundle_dir = Path(bundle_dir)
    meta = read_meta(bundle_dir)
    if list(meta["labels"].get("classes", [])) != list(DF2_CLASSES):
        raise BundleError(f"{bundle_dir}: the detector's classes are not taxonomy.DF2_CLASSES")
    runners = {"torch": _TorchRunner, "onnx": _OnnxRunner}
    if backend not in runners:
        raise ValueError(f"backend must be one of {sorted(runners)}, got {backend!r}")
    runner = runners[backend](bundle_dir, device)
    return GarmentDetector(runner, meta["preprocessing"], backend, meta)
