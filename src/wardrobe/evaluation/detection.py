"""Detection metrics on held-out DeepFashion2-format data: our COCO mAP, and files for COCOeval.

:func:`coco_map` is a self-contained re-implementation of COCO's bbox evaluation (what
pycocotools' ``COCOeval`` does for ``iouType="bbox"``, area range ``all``, ``maxDets=100``):
per class and image, detections sorted by score (highest first) are greedily matched to the
unmatched ground-truth box of highest IoU above the threshold; precision is made monotone and
sampled at 101 recall points; AP is averaged over the classes that have ground truth.
mAP@0.5 uses the IoU threshold 0.5, mAP@0.5:0.95 the mean over 0.50, 0.55, ..., 0.95. Crowd
annotations are not supported (DeepFashion2 has none).

:func:`evaluate_detector` runs a detector on split(s), writes the ground truth in COCO format
(``gt_coco.json``) and the detections as DeepFashion2/COCO result JSON (``results.json``:
``[{image_id, category_id (1..13), bbox [x, y, w, h], score}]``), and scores them with our
implementation and with pycocotools' ``COCOeval`` on those same files.
:func:`evaluate_detector_report` has the shape of the ``evaluate.py`` evaluators.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from wardrobe.data.formats.deepfashion2 import Df2Image, read_df2_split
from wardrobe.taxonomy import DF2_CLASSES

log = logging.getLogger(__name__)

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # as COCOeval: np.linspace(.5, .95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100
ID_STRIDE = 1_000_000  # image ids of the k-th split when several are scored together
GT_FILE = "gt_coco.json"
RESULTS_FILE = "results.json"


@dataclass
class DetectionMAP:
    """mAP@0.5 and mAP@0.5:0.95, with AP@0.5 per class (classes without ground truth absent)."""

    map50: float
    map50_95: float
    per_class_ap50: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------- COCO files


def coco_categories() -> list[dict[str, Any]]:
    """The 13 DeepFashion2 categories, ids 1..13, as the official COCO conversion writes them."""
    return [
        {"id": i, "name": name, "supercategory": "clothes"}
        for i, name in enumerate(DF2_CLASSES, start=1)
    ]


def coco_ground_truth(images: Sequence[Df2Image]) -> dict[str, Any]:
    """Ground truth of DeepFashion2 images as a COCO detection dict (``bbox = [x, y, w, h]``)."""
    coco_images, annotations = [], []
    for image in images:
        coco_images.append(
            {
                "id": image.image_id,
                "file_name": image.image_path.name,
                "width": image.width,
                "height": image.height,
            }
        )
        for item in image.items:
            x1, y1, x2, y2 = item.bbox
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image.image_id,
                    "category_id": item.category_id,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    return {"images": coco_images, "annotations": annotations, "categories": coco_categories()}


def detections_to_coco(image_ids: Sequence[int], detections: Sequence[Sequence[Any]]) -> list[dict]:
    """Per-image :class:`~wardrobe.models.detector.Detection` lists -> COCO/DF2 result dicts."""
    results = []
    for image_id, dets in zip(image_ids, detections, strict=True):
        for det in dets:
            x1, y1, x2, y2 = det.box
            results.append(
                {
                    "image_id": int(image_id),
                    "category_id": int(det.cls) + 1,
                    "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
                    "score": round(float(det.conf), 5),
                }
            )
    return results


# ---------------------------------------------------------------------------- our mAP


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` of ``[x, y, w, h]`` boxes (continuous coordinates)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    ax2, ay2, bx2, by2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _match(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``(T, D)`` matched flags: detections in score order take the best free ground truth."""
    num_det, num_gt = ious.shape
    matched = np.zeros((len(thresholds), num_det), dtype=bool)
    for t, threshold in enumerate(thresholds):
        taken = np.zeros(num_gt, dtype=bool)
        for d in range(num_det):
            best, m = min(threshold, 1 - 1e-10), -1
            for g in range(num_gt):
                if taken[g] or ious[d, g] < best:
                    continue
                best, m = ious[d, g], g
            if m >= 0:
                taken[m] = True
                matched[t, d] = True
    return matched


def _average_precision(scores: np.ndarray, matched: np.ndarray, num_gt: int) -> np.ndarray:
    """101-point interpolated AP per IoU threshold, from every detection of one class."""
    order = np.argsort(-scores, kind="mergesort")
    tps = matched[:, order]
    tp_sum = np.cumsum(tps, axis=1, dtype=float)
    fp_sum = np.cumsum(~tps, axis=1, dtype=float)
    ap = np.zeros(len(matched))
    for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum, strict=True)):
        if not len(tp):
            continue
        recall = tp / num_gt
        precision = tp / (tp + fp + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone from the right
        idx = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
        sampled = np.zeros(len(RECALL_THRESHOLDS))
        valid = idx < len(recall)
        sampled[valid] = precision[idx[valid]]
        ap[t] = sampled.mean()
    return ap


def coco_map(
    ground_truth: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    iou_thresholds: np.ndarray = IOU_THRESHOLDS,
    max_dets: int = MAX_DETS,
) -> DetectionMAP:
    """COCO-style bbox mAP of ``results`` against a COCO ground-truth dict (see module doc)."""
    if any(ann.get("iscrowd", 0) for ann in ground_truth["annotations"]):
        raise ValueError("crowd annotations are not supported")
    thresholds = np.asarray(iou_thresholds, dtype=float)
    image_ids = sorted({int(im["id"]) for im in ground_truth["images"]})
    known = set(image_ids)
    gts: dict[tuple[int, int], list] = defaultdict(list)
    for ann in ground_truth["annotations"]:
        gts[int(ann["image_id"]), int(ann["category_id"])].append(ann["bbox"])
    dts: dict[tuple[int, int], list] = defaultdict(list)
    for res in results:
        if int(res["image_id"]) not in known:
            raise ValueError(f"result for image {res['image_id']} which is not in the ground truth")
        dts[int(res["image_id"]), int(res["category_id"])].append(res)
    names = {int(c["id"]): c["name"] for c in ground_truth["categories"]}

    ap = {}
    for cat in sorted(names):
        scores, matches, num_gt = [], [], 0
        for image_id in image_ids:
            gt = gts.get((image_id, cat), [])
            dt = dts.get((image_id, cat), [])
            num_gt += len(gt)
            if not dt:
                continue
            order = np.argsort([-d["score"] for d in dt], kind="mergesort")[:max_dets]
            dt = [dt[i] for i in order]
            ious = box_iou_xywh([d["bbox"] for d in dt], gt) if gt else np.zeros((len(dt), 0))
            scores.append(np.array([d["score"] for d in dt], dtype=float))
            matches.append(_match(ious, thresholds))
        if num_gt == 0:  # COCO leaves such a class out of the mean
            continue
        if scores:
            ap[cat] = _average_precision(np.concatenate(scores), np.hstack(matches), num_gt)
        else:
            ap[cat] = np.zeros(len(thresholds))
    if not ap:
        return DetectionMAP(0.0, 0.0)
    table = np.stack(list(ap.values()))  # classes x thresholds
    at50 = int(np.argmin(np.abs(thresholds - 0.5)))
    return DetectionMAP(
        map50=float(table[:, at50].mean()),
        map50_95=float(table.mean()),
        per_class_ap50={names[c]: float(v[at50]) for c, v in ap.items()},
    )


# ---------------------------------------------------------------------------- pycocotools


def pycocotools_map(gt_json: str | os.PathLike, results_json: str | os.PathLike) -> DetectionMAP:
    """The official ``COCOeval`` (bbox) on the two files: ``stats[1]`` and ``stats[0]``."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = json.loads(Path(results_json).read_text())
    if not results:  # loadRes refuses an empty list; no detection scores 0
        return DetectionMAP(0.0, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_json))
        dt = gt.loadRes(str(results_json))
        evaluator = COCOeval(gt, dt, iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = evaluator.stats
    return DetectionMAP(map50=max(float(stats[1]), 0.0), map50_95=max(float(stats[0]), 0.0))


# ---------------------------------------------------------------------------- running


def read_heldout_images(split_dirs: Sequence[str | os.PathLike]) -> list[Df2Image]:
    """Annotated images of one or more DeepFashion2 splits; with several, image ids are made
    unique as ``k * 1_000_000 + id`` (the k-th split), since every split numbers from 1."""
    images: list[Df2Image] = []
    for k, split_dir in enumerate(split_dirs):
        found, report = read_df2_split(split_dir)
        if report:
            log.warning("%s", report)
        offset = k * ID_STRIDE if len(split_dirs) > 1 else 0
        images += [replace(im, image_id=offset + im.image_id) for im in found]
    if not images:
        raise FileNotFoundError(f"no annotated DeepFashion2 image in {list(map(str, split_dirs))}")
    return images


def evaluate_detector(
    detector: Any,
    split_dir: str | os.PathLike | Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    conf: float = 0.001,
    batch_size: int = 16,
    official: bool = True,
) -> dict[str, float]:
    """Run ``detector`` on DeepFashion2-format split(s) and score it.

    Writes ``out_dir/gt_coco.json`` and ``out_dir/results.json``; returns ``map50`` and
    ``map50_95`` (ours), ``coco_map50`` / ``coco_map50_95`` (pycocotools, when ``official``),
    and ``ap50/<class>`` per class with ground truth. ``conf`` is low, as for any mAP; boxes
    keep every class above it (``multi_label``), as ultralytics validates.
    """
    split_dirs = [split_dir] if isinstance(split_dir, str | os.PathLike) else list(split_dir)
    images = read_heldout_images(split_dirs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    detections = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        arrays = [np.asarray(Image.open(im.image_path).convert("RGB")) for im in chunk]
        detections += detector.predict(arrays, conf=conf, multi_label=True, batch_size=batch_size)
    ground_truth = coco_ground_truth(images)
    results = detections_to_coco([im.image_id for im in images], detections)
    gt_path, results_path = out_dir / GT_FILE, out_dir / RESULTS_FILE
    gt_path.write_text(json.dumps(ground_truth))
    results_path.write_text(json.dumps(results))

    ours = coco_map(ground_truth, results)
    metrics = {"map50": ours.map50, "map50_95": ours.map50_95}
    metrics.update({f"ap50/{name}": v for name, v in ours.per_class_ap50.items()})
    if official:
        theirs = pycocotools_map(gt_path, results_path)
        metrics.update({"coco_map50": theirs.map50, "coco_map50_95": theirs.map50_95})
    return metrics


def evaluate_detector_bundle(
    bundle_dir: str | os.PathLike,
    split_dir: str | os.PathLike | Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    backend: str = "onnx",
    **kwargs: Any,
) -> dict[str, float]:
    """:func:`evaluate_detector` for a bundle of ``model_artifacts/`` (ONNX model by default)."""
    from wardrobe.models.detector import load_detector

    return evaluate_detector(
        load_detector(bundle_dir, backend=backend), split_dir, out_dir, **kwargs
    )


def evaluate_detector_report(
    bundle: Any, data_dir: Path, report_dir: Path, backend: str = "onnx"
) -> tuple[dict[str, float], list[Path]]:
    """The ``evaluate.py`` evaluator shape: ``(Bundle, <heldout>/deepfashion2, report dir)`` ->
    ``(metrics, plots)``. Every split of a held-out root is unseen, so all are scored; the
    COCO files go to ``report_dir/detector/``, AP@0.5 per class to a bar chart."""
    from wardrobe.evaluation import plots

    splits = [d for d in (Path(data_dir) / "train", Path(data_dir) / "validation") if d.is_dir()]
    out_dir = Path(report_dir) / "detector"
    metrics = evaluate_detector_bundle(bundle.path, splits, out_dir, backend=backend)
    per_class = {k.split("/", 1)[1]: v for k, v in metrics.items() if k.startswith("ap50/")}
    chart = plots.bar_chart_png(
        per_class, out_dir / "ap50_per_class.png", "detector: AP@0.5 per class (held-out)", 0.70
    )
    return {k: v for k, v in metrics.items() if not k.startswith("ap50/")}, [chart]


def heldout_split(root: str | os.PathLike, generator: Mapping[str, Any] | None = None) -> Path:
    """``<root>/deepfashion2/validation`` of a held-out SynthWardrobe set (another seed).

    Generated when missing with ``wardrobe.data.synthetic.generate(root=root, **generator)``,
    every scene in the validation split (``val_fraction=1.0`` unless ``generator`` says
    otherwise); pass the held-out seed (and sizes) in ``generator``.
    """
    split = Path(root) / "deepfashion2" / "validation"
    if not any(split.glob("annos/*.json")):
        from wardrobe.data.synthetic import generate

        generate(**{"val_fraction": 1.0, **dict(generator or {}), "root": str(root)})
    return split
