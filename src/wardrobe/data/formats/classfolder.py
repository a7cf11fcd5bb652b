"""Class-folder data sets whose labels are not ours: ``<root>/<split>/<their label>/<image>``.

Many real garment collections come as one folder per label of *their own* vocabulary
("t-shirt", "outwear", "shoes"). A mapping file (YAML, e.g. ``clothing_dataset_small_mapping.yaml``
beside this module) says, per such coarse label, which fine categories of
:mod:`wardrobe.taxonomy` it allows, its group and the DeepFashion2 classes it can appear as:
:func:`load_class_mapping` reads and validates it, :func:`read_class_folder` lists a split
against it with the usual :class:`SkipReport` (unknown folders, non-images, unreadable or tiny
images are counted and skipped, never fatal).

The mapping is also the way back: :meth:`ClassMapping.coarse_of` names the coarse label of a
fine category (the detector's class tells apart labels that allow the same fine category).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from wardrobe.data.formats._io import IMAGE_SUFFIXES
from wardrobe.data.formats.report import SkipReport
from wardrobe.taxonomy import (
    CATEGORY_BY_NAME,
    CATEGORY_INDEX,
    DF2_CLASSES,
    DF2_LENGTH,
    GROUP_SLOT,
    LENGTH_PART,
    with_length,
)

MAPPINGS_DIR = Path(__file__).parent
CLOTHING_DATASET_SMALL_MAPPING = MAPPINGS_DIR / "clothing_dataset_small_mapping.yaml"
MIN_IMAGE_SIDE = 32  # smaller files are thumbnails or broken exports, not training photos


@dataclass(frozen=True)
class CoarseLabel:
    """One label of a foreign data set, in our vocabulary."""

    name: str
    fine: tuple[str, ...]  # allowed fine categories (taxonomy.FINE_CATEGORIES)
    group: str
    df2: tuple[str, ...]  # DeepFashion2 classes; first = the one a derived box is trained as

    @property
    def slot(self) -> str:
        return GROUP_SLOT[self.group]

    @property
    def fine_indices(self) -> tuple[int, ...]:
        """Indices of :attr:`fine` in ``taxonomy.FINE_CATEGORIES`` (the 47-way head)."""
        return tuple(CATEGORY_INDEX[c] for c in self.fine)

    @property
    def detector_class(self) -> str | None:
        """The DeepFashion2 class a detector learns a derived box of this label as."""
        return self.df2[0] if self.df2 else None


@dataclass(frozen=True)
class ClassMapping:
    """A validated mapping file: the data set's name, licence, splits and coarse labels."""

    name: str
    licence: str
    source: str
    splits: Mapping[str, str]  # our split name (train/val/test) -> their folder name
    labels: Mapping[str, CoarseLabel]

    @property
    def names(self) -> tuple[str, ...]:
        """Coarse label names in file order (their index order)."""
        return tuple(self.labels)

    def coarse_of(
        self, fine: str, df2_class: str | None = None, length: str | None = None
    ) -> str:
        """The coarse label of a predicted fine category: the first label allowing ``fine``,
        preferring one whose DeepFashion2 classes hold ``df2_class`` (a T-shirt found as a
        ``long_sleeve_top`` is a "longsleeve"), else one whose classes have its length
        (:data:`~wardrobe.taxonomy.DF2_LENGTH`: a polo found as ``long_sleeve_outwear`` is a
        "longsleeve", jeans found as a ``skirt`` are "shorts"). ``length`` (a classifier's
        answer, short or long) replaces the class's own length, and decides alone without a
        class. ``fine`` outside every label raises KeyError."""
        candidates = [lab for lab in self.labels.values() if fine in lab.fine]
        if not candidates:
            raise KeyError(f"fine category {fine!r} is in no label of {self.name}")
        if length is not None and df2_class is not None:
            df2_class = with_length(df2_class, length)
        for label in candidates:
            if df2_class in label.df2:
                return label.name
        wanted = DF2_LENGTH.get(df2_class)  # (part, length)
        part = LENGTH_PART.get(CATEGORY_BY_NAME[fine].group)
        if length is not None and part is not None and (wanted is None or wanted[0] != part):
            wanted = (part, length)  # a class of another kind (a top boxed as trousers)
        if wanted is not None:
            for label in candidates:
                if any(DF2_LENGTH.get(c) == wanted for c in label.df2):
                    return label.name
        return candidates[0].name

    def group_of_fine(self, fine: str) -> str:
        return CATEGORY_BY_NAME[fine].group


def _as_tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where} must be a list, got {value!r}")
    return tuple(str(v) for v in value)


def _coarse_label(name: str, entry: Mapping[str, Any], where: str) -> CoarseLabel:
    fine = _as_tuple(entry.get("fine"), f"{where}.fine")
    df2 = _as_tuple(entry.get("df2"), f"{where}.df2")
    group = str(entry.get("group", ""))
    if group not in GROUP_SLOT:
        raise ValueError(f"{where}.group {group!r} is not a taxonomy group {tuple(GROUP_SLOT)}")
    if not fine:
        raise ValueError(f"{where}.fine is empty: a label must allow some fine category")
    unknown = [c for c in fine if c not in CATEGORY_BY_NAME]
    if unknown:
        raise ValueError(f"{where}.fine: {unknown} are not taxonomy fine categories")
    other_group = [c for c in fine if CATEGORY_BY_NAME[c].group != group]
    if other_group:
        raise ValueError(f"{where}.fine: {other_group} are not in group {group!r}")
    bad_df2 = [c for c in df2 if c not in DF2_CLASSES]
    if bad_df2:
        raise ValueError(f"{where}.df2: {bad_df2} are not DeepFashion2 classes")
    # every allowed fine category must be able to appear as one of the label's df2 classes
    for category in fine:
        spec = CATEGORY_BY_NAME[category]
        if df2 and spec.df2_classes and not set(spec.df2_classes) & set(df2):
            raise ValueError(f"{where}: {category} never appears as any of {list(df2)}")
        if not df2 and spec.df2_classes:
            raise ValueError(f"{where}: no df2 classes, but {category} is detectable")
    return CoarseLabel(name=name, fine=fine, group=group, df2=df2)


def load_class_mapping(path: str | os.PathLike = CLOTHING_DATASET_SMALL_MAPPING) -> ClassMapping:
    """Read and validate a mapping file against the taxonomy (ValueError names the entry)."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    table = data.get("labels")
    if not isinstance(table, Mapping) or not table:
        raise ValueError(f"{path}: `labels` must map each coarse label to its entry")
    labels = {
        str(name): _coarse_label(str(name), entry or {}, f"{path.name}: labels.{name}")
        for name, entry in table.items()
    }
    return ClassMapping(
        name=str(data.get("name") or path.stem),
        licence=str(data.get("licence", "unknown")),
        source=str(data.get("source", "")),
        splits=dict(data.get("splits") or {"train": "train", "val": "val", "test": "test"}),
        labels=labels,
    )


@dataclass(frozen=True)
class ClassFolderSample:
    """One photo of a class-folder data set."""

    path: Path
    label: str  # the coarse label (their folder name)
    index: int  # position of ``label`` in ``ClassMapping.names``


def _readable(path: Path, report: SkipReport, min_side: int) -> bool:
    try:
        with Image.open(path) as image:
            image.verify()  # header and structure only: cheap, catches truncated files
            width, height = image.size
    except (OSError, ValueError, SyntaxError):
        report.add("corrupt_image", path.name)
        return False
    if min(width, height) < min_side:
        report.add("too_small", f"{path.name} ({width}x{height})")
        return False
    return True


def split_dir(root: str | os.PathLike, mapping: ClassMapping, split: str) -> Path:
    """``<root>/<their folder of split>``: ``val`` is ``validation/`` for some data sets."""
    return Path(root) / mapping.splits.get(split, split)


def read_class_folder(
    root: str | os.PathLike,
    mapping: ClassMapping,
    split: str = "train",
    verify: bool = True,
    min_side: int = MIN_IMAGE_SIDE,
) -> tuple[list[ClassFolderSample], SkipReport]:
    """List ``<root>/<split folder>/<label>/*`` as samples, sorted by label then file.

    Folders that are not labels of ``mapping`` are counted (``unknown_label_folder``) and
    skipped; so are non-images, hidden files and (with ``verify``) unreadable or tiny images.
    A missing split folder raises FileNotFoundError.
    """
    folder = split_dir(root, mapping, split)
    if not folder.is_dir():
        raise FileNotFoundError(f"{mapping.name}: split folder {folder} does not exist")
    report = SkipReport(name=f"{mapping.name}/{folder.name}")
    index = {name: i for i, name in enumerate(mapping.names)}
    samples: list[ClassFolderSample] = []
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir():
            report.add("file_outside_label_folder", entry.name)
            continue
        if entry.name not in index:
            count = sum(1 for p in entry.rglob("*") if p.is_file())
            report.add("unknown_label_folder", f"{entry.name}/ ({count} files)")
            continue
        for path in sorted(p for p in entry.rglob("*") if p.is_file()):
            if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
                report.add("not_an_image", path.relative_to(folder))
            elif not verify or _readable(path, report, min_side):
                samples.append(ClassFolderSample(path, entry.name, index[entry.name]))
    return samples, report


def label_counts(samples: Iterable[ClassFolderSample]) -> dict[str, int]:
    """Photos per coarse label."""
    counts: dict[str, int] = {}
    for sample in samples:
        counts[sample.label] = counts.get(sample.label, 0) + 1
    return counts
