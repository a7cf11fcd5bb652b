"""What the image DataModules share: splits, transforms, loaders, the generator fallback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from wardrobe.data.formats.report import SkipReport
from wardrobe.preprocessing.image import ImagePreprocessing, build_transforms, check_preprocessing
from wardrobe.hparams import plain

log = logging.getLogger(__name__)

GENERATOR_COMMAND = "python -m wardrobe.data.synthetic"


def log_skip_report(report: SkipReport) -> None:
    """One log line per reader report: a warning when something was skipped."""
    if report:
        log.warning("%s", report)
    else:
        log.info("%s", report)


class ImageDataModule(LightningDataModule):
    """Base of the image DataModules: ``train``/``val`` splits (``test`` optional).

    ``batch_size`` is per device: ``tasks.train`` derives it from the effective batch of the
    data config and the hardware profile. Subclasses implement :meth:`split_exists` and
    :meth:`load_split`.
    """

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        preprocessing: ImagePreprocessing | Mapping[str, Any] | None = None,
        augment: bool = True,
        generate_if_missing: bool = False,
        generator: Mapping[str, Any] | None = None,
        **extra_hparams: Any,
    ) -> None:
        super().__init__()
        if preprocessing is None:
            raise ValueError("preprocessing is required (the model config's `preprocessing`)")
        # Plain values only: the checkpoint stores these, and weights_only loading rejects
        # OmegaConf containers.
        self.save_hyperparameters(
            plain(
                {
                    "data_dir": str(data_dir),
                    "batch_size": int(batch_size),
                    "num_workers": int(num_workers),
                    "pin_memory": bool(pin_memory),
                    "persistent_workers": bool(persistent_workers),
                    "preprocessing": check_preprocessing(preprocessing),
                    "augment": bool(augment),
                    "generate_if_missing": bool(generate_if_missing),
                    "generator": dict(generator or {}),
                    **extra_hparams,
                }
            ),
            logger=False,
        )
        self.data_dir = Path(data_dir)
        self.batch_size_per_device = int(batch_size)
        self.train_transform = build_transforms(self.preprocessing, train=True, augment=augment)
        self.eval_transform = build_transforms(self.preprocessing, train=False)
        self.data_train: Dataset | None = None
        self.data_val: Dataset | None = None
        self.data_test: Dataset | None = None

    @property
    def preprocessing(self) -> dict[str, Any]:
        """``{image_size, resize, mean, std, interpolation}``: the bundle records it."""
        return dict(self.hparams.preprocessing)

    # Subclass hooks ------------------------------------------------------------------------
    def split_exists(self, split: str) -> bool:
        """Whether ``split`` (``train``/``val``/``test``) is on disk."""
        raise NotImplementedError

    def load_split(self, split: str, train: bool) -> Dataset:
        """The dataset of ``split``; logs what the reader skipped."""
        raise NotImplementedError

    # Lightning hooks -----------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Generate SynthWardrobe when the data is missing and ``generate_if_missing``."""
        missing = [s for s in ("train", "val") if not self.split_exists(s)]
        if not missing:
            return
        if not self.hparams.generate_if_missing:
            root = self.hparams.generator.get("root", "<root>")
            raise FileNotFoundError(
                f"{self.data_dir}: no {' / '.join(missing)} split. Generate the synthetic "
                f"dataset with `{GENERATOR_COMMAND} --out {root}` (see --help), or run with "
                "data.generate_if_missing=true, or point data.data_dir at your dataset."
            )
        from wardrobe.data.synthetic import generate

        log.info("%s is missing: generating SynthWardrobe", self.data_dir)
        generate(**self.hparams.generator)
        still = [s for s in ("train", "val") if not self.split_exists(s)]
        if still:
            raise FileNotFoundError(
                f"the generator ran with {self.hparams.generator} but {self.data_dir} still has "
                f"no {' / '.join(still)} split: data.generator and data.data_dir disagree"
            )

    def setup(self, stage: str | None = None) -> None:
        if self.trainer is not None:
            world = self.trainer.world_size
            log.info("batch size per device %d (x %d devices)", self.batch_size_per_device, world)
        if self.data_train is None and stage in (None, "fit"):
            self.data_train = self.load_split("train", train=True)
        if self.data_val is None and stage in (None, "fit", "validate", "test"):
            self.data_val = self.load_split("val", train=False)
        if self.data_test is None and stage in (None, "test"):
            if self.split_exists("test"):
                self.data_test = self.load_split("test", train=False)
            else:
                log.info("%s has no test split: testing on val", self.data_dir)
                self.data_test = self.data_val

    def _loader(self, dataset: Dataset | None, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        workers = self.hparams.num_workers
        return DataLoader(
            dataset,
            batch_size=self.batch_size_per_device,
            shuffle=shuffle,
            num_workers=workers,
            pin_memory=self.hparams.pin_memory,
            persistent_workers=self.hparams.persistent_workers and workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.data_train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.data_val, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.data_test, shuffle=False)
