"""Our COCO mAP agrees with pycocotools' COCOeval; the result/GT files are what COCOeval reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wardrobe.data.formats.deepfashion2 import Df2Image, Df2Item
from wardrobe.evaluation.detection import (
    box_iou_xywh,
    coco_categories,
    coco_ground_truth,
    coco_map,
    detections_to_coco,
    pycocotools_map,
)
from wardrobe.models.detector import Detection
from wardrobe.taxonomy import DF2_CLASSES


def scored_scene(seed: int, num_images: int = 12, num_classes: int = 5):
    """GT boxes and detections with hits, jittered hits, misses, duplicates, false positives."""
    rng = np.random.default_rng(seed)
    images, annotations, results = [], [], []
    for image_id in range(1, num_images + 1):
        images.append(
            {"id": image_id, "file_name": f"{image_id:06d}.jpg", "width": 320, "height": 320}
        )
        for _ in range(rng.integers(0, 5)):
            cat = int(rng.integers(1, num_classes + 1))
            x, y = rng.uniform(0, 220, 2)
            w, h = rng.uniform(15, 100, 2)
            box = [float(x), float(y), float(w), float(h)]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": box,
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            kind = rng.random()
            if kind < 0.15:
                continue  # missed
            jitter = rng.normal(0, rng.choice([1.0, 6.0, 15.0]), 4)
            det = [
                box[0] + jitter[0],
                box[1] + jitter[1],
                max(box[2] + jitter[2], 2.0),
                max(box[3] + jitter[3], 2.0),
            ]
            wrong_class = rng.random() < 0.1
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(rng.integers(1, num_classes + 1)) if wrong_class else cat,
                    "bbox": det,
                    "score": float(rng.uniform(0.2, 1.0)),
                }
            )
            if kind > 0.8:  # a duplicate, scored lower or higher
                dup = [v + float(rng.normal(0, 3)) for v in det]
                results.append(
                    {
                        "image_id": image_id,
                        "category_id": cat,
                        "bbox": dup,
                        "score": float(rng.uniform(0.05, 1.0)),
                    }
                )
        for _ in range(rng.integers(0, 4)):  # low-score background false positives
            x, y = rng.uniform(0, 250, 2)
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(rng.integers(1, num_classes + 2)),
                    "bbox": [float(x), float(y), 30.0, 40.0],
                    "score": float(rng.uniform(0.001, 0.3)),
                }
            )
    results.append({"image_id": 1, "category_id": 1, "bbox": [1.0, 1.0, 10.0, 10.0], "score": 0.5})
    results.append({"image_id": 1, "category_id": 1, "bbox": [1.0, 1.0, 10.0, 10.0], "score": 0.5})
    gt = {"images": images, "annotations": annotations, "categories": coco_categories()}
    return gt, results


def official(tmp_path, gt, results):
    gt_path, res_path = tmp_path / "gt.json", tmp_path / "res.json"
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    return pycocotools_map(gt_path, res_path)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_our_map_agrees_with_cocoeval(tmp_path, seed):
    gt, results = scored_scene(seed)
    ours, theirs = coco_map(gt, results), official(tmp_path, gt, results)
    assert 0.05 < theirs.map50 < 0.999  # a scene where matching decisions matter
    assert ours.map50 == pytest.approx(theirs.map50, abs=1e-3)
    assert ours.map50_95 == pytest.approx(theirs.map50_95, abs=1e-3)
    assert ours.map50_95 < ours.map50


def test_duplicates_and_false_positives_lower_map(tmp_path):
    gt, _ = scored_scene(5)
    perfect = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.9,
        }
        for a in gt["annotations"]
    ]
    assert coco_map(gt, perfect).map50 == pytest.approx(1.0)
    assert coco_map(gt, perfect).map50_95 == pytest.approx(1.0)
    # a duplicate scored above its original is a false positive ranked first
    dups = [dict(r, score=0.95) for r in perfect[:3]]
    ours = coco_map(gt, perfect + dups)
    assert ours.map50 < 1.0
    assert ours.map50 == pytest.approx(official(tmp_path, gt, perfect + dups).map50, abs=1e-3)


def test_class_without_ground_truth_is_left_out_and_missed_class_counts_zero():
    gt = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 50, 50],
                "area": 2500,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 2,
                "bbox": [50, 50, 40, 40],
                "area": 1600,
                "iscrowd": 0,
            },
        ],
        "categories": coco_categories(),
    }
    results = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 50, 50], "score": 0.9},
        {"image_id": 1, "category_id": 7, "bbox": [10, 10, 20, 20], "score": 0.9},  # no GT: ignored
    ]
    result = coco_map(gt, results)
    assert result.map50 == pytest.approx(0.5)  # class 1 AP = 1, class 2 (missed) AP = 0
    assert result.per_class_ap50 == pytest.approx({DF2_CLASSES[0]: 1.0, DF2_CLASSES[1]: 0.0})


def test_iou_of_xywh_boxes():
    iou = box_iou_xywh([[0, 0, 10, 10]], [[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]])
    np.testing.assert_allclose(iou, [[50 / 150, 0.0, 1.0]])


def test_written_files_are_df2_coco_style(tmp_path):
    image = Df2Image(
        image_id=7,
        image_path=tmp_path / "000007.jpg",
        source="user",
        pair_id=1,
        items=(Df2Item(category_id=8, bbox=(10, 20, 60, 100)),),
        width=128,
        height=128,
    )
    gt = coco_ground_truth([image])
    assert gt["annotations"][0]["bbox"] == [10, 20, 50, 80]
    assert gt["annotations"][0]["category_id"] == 8
    assert [c["id"] for c in gt["categories"]] == list(range(1, 14))
    results = detections_to_coco([7], [[Detection((10.0, 20.0, 60.0, 100.0), 7, "trousers", 0.8)]])
    assert results == [
        {"image_id": 7, "category_id": 8, "bbox": [10.0, 20.0, 50.0, 80.0], "score": 0.8}
    ]
    assert official(tmp_path, gt, results).map50 == pytest.approx(1.0)


class BoxEverywhere:
    """A stand-in detector: one ``trousers`` box over the left half of every image."""

    def predict(self, images, conf, multi_label, batch_size):
        return [
            [Detection((0.0, 0.0, im.shape[1] / 2, float(im.shape[0])), 7, "trousers", 0.9)]
            for im in images
        ]


def test_evaluate_detector_scores_several_splits_with_unique_ids(tmp_path):
    from PIL import Image

    from wardrobe.data.formats.deepfashion2 import write_df2_annotation
    from wardrobe.evaluation.detection import evaluate_detector

    for split in ("train", "validation"):
        for image_id in (1, 2):
            (tmp_path / split / "image").mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (40, 30)).save(tmp_path / split / "image" / f"{image_id:06d}.jpg")
            box = (0, 0, 20, 30) if image_id == 1 else (20, 0, 40, 30)  # hit, then miss
            items = [Df2Item(category_id=8, bbox=box)]
            write_df2_annotation(tmp_path / split / "annos", image_id, "user", 1, items)
    out = tmp_path / "eval"
    metrics = evaluate_detector(BoxEverywhere(), [tmp_path / "train", tmp_path / "validation"], out)
    gt = json.loads((out / "gt_coco.json").read_text())
    assert sorted(im["id"] for im in gt["images"]) == [1, 2, 1_000_001, 1_000_002]
    results = json.loads((out / "results.json").read_text())
    assert len(results) == 4 and {r["category_id"] for r in results} == {8}
    # ranked hit, miss, hit, miss: precision 1 up to recall 0.25 (26 of the 101 points), then
    # 2/3 up to recall 0.5 (25 points), then nothing
    assert metrics["map50"] == pytest.approx((26 + 25 * 2 / 3) / 101)
    assert metrics["map50"] == pytest.approx(metrics["coco_map50"], abs=1e-3)
    assert set(metrics) == {"map50", "map50_95", "ap50/trousers", "coco_map50", "coco_map50_95"}
