"""Detector data with real photos: SynthWardrobe/DeepFashion2 scenes + real one-garment photos.

:class:`RealPhotoYoloData` is :class:`~wardrobe.data.deepfashion2_yolo.DeepFashion2YoloData`
(the DeepFashion2 -> YOLO conversion) plus, in the **train** split only, photos of a class-folder
data set (``paths.real_data_dir``, read through its mapping file) with a box derived by
foreground segmentation (:mod:`wardrobe.data.real_boxes`) and the coarse label's DeepFashion2
class. Photos of labels DeepFashion2 has no class for (shoes, hats) go in as background images
(no box): a DeepFashion2 detector must not call a shoe a pair of trousers, and a photo without a
detection is taken whole by ingestion, where the classifier names it footwear.

The validation split stays the synthetic/DeepFashion2 one, so ``val/map50`` keeps meaning the
design's detection target; real-photo quality is measured by ``evaluate.py`` (found-rate).
When the real data set is absent, training goes on without it and says so.
"""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wardrobe.data.deepfashion2_yolo import DeepFashion2YoloData
from wardrobe.data.formats.classfolder import (
    ClassFolderSample,
    load_class_mapping,
    read_class_folder,
    split_dir,
)
from wardrobe.data.formats.report import SkipReport
from wardrobe.data.formats.yolo import YoloBox, write_yolo_labels
from wardrobe.data.real_boxes import derive_box_file
from wardrobe.taxonomy import DF2_CLASSES

log = logging.getLogger(__name__)
REAL_PREFIX = "real_"


def real_data_missing_warning(root: Path, what: str) -> str:
    return (
        f"real photos not found at {root} (paths.real_data_dir, env WARDROBE_REAL_DATA): "
        f"{what} trains on synthetic data only"
    )


class RealPhotoYoloData(DeepFashion2YoloData):
    """DeepFashion2-format scenes plus real one-garment photos with derived boxes (train only).

    Args:
        real_root: the class-folder data set (``<root>/<split>/<label>/*.jpg``); None or a
            missing folder: synthetic only, with a warning.
        real_mapping: its mapping file (``formats/*_mapping.yaml``).
        per_label: at most this many photos of each label (a random, seeded sample): detector
            training time grows with every image, and a few hundred real photos teach most.
        background_per_label: photos of labels without a DeepFashion2 class, as negatives.
        seed: the sample's seed.
        **kwargs: :class:`DeepFashion2YoloData`'s arguments.
    """

    def __init__(
        self,
        *args: Any,
        real_root: str | None = None,
        real_mapping: str | None = None,
        per_label: int = 60,
        background_per_label: int = 30,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.real_root = Path(real_root) if real_root else None
        self.mapping = load_class_mapping(real_mapping) if real_mapping else load_class_mapping()
        self.per_label = int(per_label)
        self.background_per_label = int(background_per_label)
        self.seed = int(seed)
        self.real_summary: dict[str, Any] = {}

    @property
    def has_real(self) -> bool:
        return (
            self.real_root is not None and split_dir(self.real_root, self.mapping, "train").is_dir()
        )

    def source_stamp(self) -> dict[str, Any]:
        stamp = super().source_stamp()
        if self.has_real:
            stamp["real"] = {
                "root": str(self.real_root.resolve()),
                "mapping": self.mapping.name,
                "per_label": self.per_label,
                "background_per_label": self.background_per_label,
                "seed": self.seed,
            }
        return stamp

    def _sample(self, samples: list[ClassFolderSample]) -> list[ClassFolderSample]:
        rng = random.Random(self.seed)
        chosen: list[ClassFolderSample] = []
        for name, label in self.mapping.labels.items():
            pool = [s for s in samples if s.label == name]
            limit = self.per_label if label.detector_class else self.background_per_label
            chosen.extend(rng.sample(pool, min(limit, len(pool))))
        return chosen

    def prepare_data(self) -> Path:
        data_yaml = super().prepare_data()
        if not self.has_real:
            log.warning("%s", real_data_missing_warning(Path(str(self.real_root)), "the detector"))
            return data_yaml
        self._add_real_photos()
        log.info("real photos in detector training: %s", self.real_summary)
        return data_yaml

    def _add_real_photos(self) -> dict[str, Any]:
        samples, report = read_class_folder(self.real_root, self.mapping, "train")
        boxes = SkipReport(name=f"{self.mapping.name} derived boxes")
        images = self.yolo_dir / "images" / "train"
        labels = self.yolo_dir / "labels" / "train"
        added: dict[str, int] = {}
        for sample in self._sample(samples):
            name = f"{REAL_PREFIX}{sample.label}_{sample.path.stem}"
            label_path = labels / f"{name}.txt"
            if label_path.is_file():  # an earlier run of the same stamp wrote it
                added[sample.label] = added.get(sample.label, 0) + 1
                continue
            detector_class = self.mapping.labels[sample.label].detector_class
            yolo_boxes: list[YoloBox] = []
            if detector_class is not None:
                derived = derive_box_file(sample.path)
                if derived is None:
                    boxes.add("no_foreground_box", sample.path.name)
                    continue
                from PIL import Image

                with Image.open(sample.path) as image:
                    width, height = image.size
                yolo_boxes = [
                    YoloBox(DF2_CLASSES.index(detector_class), *derived.normalised(width, height))
                ]
            shutil.copyfile(sample.path, images / f"{name}{sample.path.suffix.lower()}")
            write_yolo_labels(label_path, yolo_boxes)  # empty file: a background image
            added[sample.label] = added.get(sample.label, 0) + 1
        for what in (report, boxes):
            if what:
                log.warning("%s", what)
        self.real_summary = {
            "data_set": self.mapping.name,
            "licence": self.mapping.licence,
            "photos": added,
        }
        return self.real_summary

    def data_sets(self) -> list[Mapping[str, Any]]:
        """What the detector learnt from (for the bundle's record)."""
        synthetic = self.num_images("train") - sum(self.real_summary.get("photos", {}).values())
        out: list[Mapping[str, Any]] = [{"name": str(self.df2_root), "images": synthetic}]
        if self.real_summary:
            out.append(
                {
                    "name": self.mapping.name,
                    "licence": self.mapping.licence,
                    "images": sum(self.real_summary["photos"].values()),
                    "per_label": self.real_summary["photos"],
                }
            )
        return out
