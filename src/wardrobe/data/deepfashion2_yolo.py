"""DeepFashion2-format scenes prepared for ultralytics: the detector's data config.

The detector trains with ultralytics' own trainer and dataloaders, so this is not a
LightningDataModule: it describes where the DeepFashion2 data is (``df2_root/{train,validation}``,
real DeepFashion2 or SynthWardrobe scenes), generates SynthWardrobe when it is missing, and
converts it to the YOLO layout (``yolo_dir/{images,labels}/{train,val}`` + ``data.yaml``).
The conversion is resumable: images converted by an earlier run are skipped. ``yolo_dir`` holds a
``source.json`` stamp (the DeepFashion2 root and, for SynthWardrobe, its manifest): a conversion
of other data (another ``df2_root``, a regenerated dataset) is removed before converting, so no
stale image or label can mix into training.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wardrobe.data.formats.deepfashion2 import df2_pairs
from wardrobe.data.formats.yolo import DEFAULT_SPLITS, convert_df2_to_yolo
from wardrobe.hparams import plain

log = logging.getLogger(__name__)

GENERATOR_COMMAND = "python -m wardrobe.data.synthetic"
STAMP_FILE = "source.json"


class DeepFashion2YoloData:
    """Where the DeepFashion2 data lives and how it becomes an ultralytics dataset.

    Args:
        df2_root: folder holding the DeepFashion2 splits (``<split>/image``, ``<split>/annos``).
        yolo_dir: output folder of the YOLO conversion (``data.yaml`` inside).
        batch_size: the EFFECTIVE batch (ultralytics' nominal batch ``nbs``: gradients are
            accumulated up to it, whatever the per-step batch of the hardware profile).
        num_workers: dataloader workers (set from the hardware profile by the detector).
        splits: YOLO split name -> DeepFashion2 folder name (default train/val <- validation).
        generate_if_missing: run the SynthWardrobe generator when a split is missing.
        generator: keyword arguments of ``wardrobe.data.synthetic.generate``.
        convert_workers: processes of the conversion (None: CPU count, at most 8).
        check_images: decode every image during the conversion (skip corrupt ones).
    """

    def __init__(
        self,
        df2_root: str,
        yolo_dir: str,
        batch_size: int = 64,
        num_workers: int = 0,
        splits: Mapping[str, str] | None = None,
        generate_if_missing: bool = False,
        generator: Mapping[str, Any] | None = None,
        convert_workers: int | None = None,
        check_images: bool = True,
    ) -> None:
        self.df2_root = Path(df2_root)
        self.yolo_dir = Path(yolo_dir)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.splits = dict(plain(splits) if splits is not None else DEFAULT_SPLITS)
        self.generate_if_missing = bool(generate_if_missing)
        self.generator = dict(plain(generator or {}))
        self.convert_workers = convert_workers
        self.check_images = bool(check_images)

    def missing_splits(self) -> list[str]:
        """DeepFashion2 split folders that are absent or hold no annotated image."""
        return [
            name
            for name in self.splits.values()
            if not any(anno.is_file() for anno, _ in df2_pairs(self.df2_root / name))
        ]

    def prepare_data(self) -> Path:
        """Generate (if allowed and needed), convert to YOLO, and return ``data.yaml``."""
        missing = self.missing_splits()
        if missing:
            if not self.generate_if_missing:
                raise FileNotFoundError(
                    f"{self.df2_root}: no DeepFashion2 split {' / '.join(missing)}. Generate "
                    f"SynthWardrobe with `{GENERATOR_COMMAND}` (see --help), run with "
                    "data.generate_if_missing=true, or point data.df2_root at DeepFashion2."
                )
            from wardrobe.data.synthetic import generate

            log.info("%s is missing: generating SynthWardrobe", self.df2_root)
            generate(**self.generator)
            still = self.missing_splits()
            if still:
                raise FileNotFoundError(
                    f"the generator ran with {self.generator} but {self.df2_root} still has no "
                    f"split {' / '.join(still)}: data.generator and data.df2_root disagree"
                )
        self._clear_stale_conversion()
        summary = convert_df2_to_yolo(
            self.df2_root,
            self.yolo_dir,
            splits=self.splits,
            workers=self.convert_workers,
            check_images=self.check_images,
            progress=False,
        )
        if summary.report:
            log.warning("%s", summary.report)
        assert summary.data_yaml is not None
        return summary.data_yaml

    def source_stamp(self) -> dict[str, Any]:
        """What the conversion is made from: the DeepFashion2 root and SynthWardrobe manifest."""
        stamp: dict[str, Any] = {"df2_root": str(self.df2_root.resolve()), "splits": self.splits}
        manifest = self.df2_root.parent / "manifest.json"
        if manifest.is_file():
            content = json.loads(manifest.read_text())
            stamp["manifest"] = {k: v for k, v in content.items() if k != "run"}
        return stamp

    def _clear_stale_conversion(self) -> None:
        stamp_path = self.yolo_dir / STAMP_FILE
        stamp = self.source_stamp()
        if self.yolo_dir.is_dir() and any(self.yolo_dir.iterdir()):
            if not stamp_path.is_file():
                raise FileExistsError(
                    f"data.yolo_dir={self.yolo_dir} is not empty and is no conversion of ours "
                    f"(no {STAMP_FILE}): choose an empty or new folder"
                )
            if json.loads(stamp_path.read_text()) != stamp:
                log.info("%s converts other data: removing it before converting", self.yolo_dir)
                shutil.rmtree(self.yolo_dir)
        self.yolo_dir.mkdir(parents=True, exist_ok=True)
        stamp_path.write_text(json.dumps(stamp, indent=2, sort_keys=True))

    def num_images(self, yolo_split: str) -> int:
        """Images of a converted YOLO split (after :meth:`prepare_data`)."""
        folder = self.yolo_dir / "images" / yolo_split
        return sum(1 for _ in folder.glob("*.jpg")) if folder.is_dir() else 0
