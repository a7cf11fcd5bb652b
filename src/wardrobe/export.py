"""Export what users corrected as training data: ``python -m wardrobe.export corrections``.

    python -m wardrobe.export corrections --out data/corrections
    python -m wardrobe.export corrections --out DIR --user alice --include-predicted
    python -m wardrobe.export corrections --out DIR -- paths.root_dir=/srv/wardrobe   # serve config

Reads the records and images that ``serve.py`` keeps (the same ``conf/serve.yaml``, with any
Hydra overrides after ``--``) and writes, in the formats ``train.py`` reads::

    DIR/classification/{train,val}/<fine_category>/<user>__<garment>.jpg    ImageFolder crops
    DIR/attributes/{train,val}.jsonl                                       attribute rows
    DIR/manifest.json                                                      counts and commands

Labels are what people said, not what the models guessed: a crop goes into ``classification``
only when its category was corrected, and an attribute row carries only the corrected fields
(the others are missing labels, which the tagger's loss masks). ``--include-predicted`` also
labels the uncorrected fields with the current predictions (the user saw them and left them).
The split is a hash of user and garment, so a garment stays in the same split across exports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardrobe.data.formats._io import atomic_write_bytes, atomic_write_text
from wardrobe.data.formats.attributes import AttributeRow, write_attribute_rows
from wardrobe.store.records import RecordStore
from wardrobe.store.schema import Garment

SPLITS = ("train", "val")
CROP_SIDE = 512  # px; training resizes to its own input size (the bundle's preprocessing)
_ATTRIBUTE_FIELDS = ("pattern", "fit", "formality", "seasons", "style_tags")


@dataclass
class ExportReport:
    """What an export wrote (also saved as ``manifest.json``)."""

    out: str
    garments: int = 0
    classification: dict[str, int] = field(default_factory=dict)  # split -> crops
    attributes: dict[str, int] = field(default_factory=dict)  # split -> rows
    skipped_no_image: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


def split_of(garment: Garment, val_fraction: float) -> str:
    """``train`` or ``val``, stable for a (user, garment) across exports."""
    digest = hashlib.sha256(f"{garment.user_id}/{garment.id}".encode()).digest()
    return "val" if int.from_bytes(digest[:4], "big") / 2**32 < val_fraction else "train"


def assign_splits(garments: Sequence[Garment], val_fraction: float) -> dict[str, str]:
    """Garment key -> split; each split gets at least one garment when there are two or more,
    since training needs both (a single garment goes to both)."""
    keys = [f"{g.user_id}/{g.id}" for g in garments]
    splits = {k: split_of(g, val_fraction) for k, g in zip(keys, garments, strict=True)}
    for wanted in SPLITS:
        if keys and wanted not in splits.values():
            other = [k for k in keys if splits[k] != wanted]
            if len(keys) == 1:
                splits[keys[0]] = "both"
            else:
                splits[other[-1] if wanted == "val" else other[0]] = wanted
    return splits


def _crop(garment: Garment, images: Any) -> bytes | None:
    from wardrobe.ingestion.crops import garment_thumbnail

    photo = images.photo(garment.user_id, garment.image_sha256)
    if photo is not None:
        return garment_thumbnail(photo, garment.box, side=CROP_SIDE)
    return images.crop(garment.user_id, garment.id)


def _attribute_row(garment: Garment, image: str, include_predicted: bool) -> AttributeRow:
    corrected = garment.correction.attributes if garment.correction else {}
    attrs = garment.attributes

    def label(name: str) -> Any:
        if name in corrected or include_predicted:
            value = getattr(attrs, name)
            return tuple(value) if isinstance(value, list) else value
        return None

    colours = (
        [c.colour for c in attrs.colours] if ("colours" in corrected or include_predicted) else []
    )
    category_known = bool(garment.correction and garment.correction.category) or include_predicted
    return AttributeRow(
        image=image,
        category=garment.category if category_known else None,
        colour_primary=colours[0] if colours else None,
        colour_secondary=colours[1] if len(colours) > 1 else None,
        **{name: label(name) for name in _ATTRIBUTE_FIELDS},
    )


def export_corrections(
    records: RecordStore,
    images: Any,
    out: str | os.PathLike,
    *,
    user_id: str | None = None,
    val_fraction: float = 0.2,
    include_predicted: bool = False,
) -> ExportReport:
    """Write the corrected garments under ``out`` (see the module docstring)."""
    out = Path(out)
    report = ExportReport(out=str(out))
    garments = records.corrected_garments(user_id)
    splits = assign_splits(garments, val_fraction)
    rows: dict[str, list[AttributeRow]] = {s: [] for s in SPLITS}
    for garment in garments:
        crop = _crop(garment, images)
        if crop is None:
            report.skipped_no_image.append(f"{garment.user_id}/{garment.id}")
            continue
        report.garments += 1
        split = splits[f"{garment.user_id}/{garment.id}"]
        labelled = bool(garment.correction and garment.correction.category) or include_predicted
        for s in SPLITS if split == "both" else (split,):
            name = f"{s}/{garment.category}/{garment.user_id}__{garment.id}.jpg"
            # an attribute-only correction: its crop serves the attribute rows, not the classes
            path = out / ("classification" if labelled else "attributes/images") / name
            atomic_write_bytes(path, crop)
            if labelled:
                report.classification[s] = report.classification.get(s, 0) + 1
            image = os.path.relpath(path, out / "attributes")
            rows[s].append(_attribute_row(garment, image, include_predicted))
    for s in SPLITS:
        write_attribute_rows(out / "attributes" / f"{s}.jsonl", rows[s])
        report.attributes[s] = len(rows[s])
    report.commands = [
        f"python train.py model=classifier data.data_dir={out / 'classification'} "
        "data.generate_if_missing=false",
        f"python train.py model=tagger data.data_dir={out / 'attributes'} "
        "data.generate_if_missing=false",
    ]
    manifest = json.dumps(report.__dict__, indent=2, sort_keys=True) + "\n"
    atomic_write_text(out / "manifest.json", manifest)
    return report


def _serve_settings(overrides: Sequence[str]) -> tuple[str, str]:
    """(records URL, images root) from ``conf/serve.yaml`` with ``overrides``."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import wardrobe.config  # noqa: F401 - registers ${cwd:} and the taxonomy resolvers
    from wardrobe.serving.launch import REPO_ROOT

    conf = Path(os.environ.get("WARDROBE_CONF_DIR", REPO_ROOT / "conf"))
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose(config_name="serve", overrides=list(overrides))
    url = OmegaConf.select(cfg, "pipeline.store.records.url")
    root = OmegaConf.select(cfg, "images.root")
    return str(url), str(root)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m wardrobe.export", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="what", required=True)
    cmd = sub.add_parser("corrections", help="the users' corrected garments as training data")
    cmd.add_argument("--out", required=True, help="folder to write (created)")
    cmd.add_argument("--user", default=None, help="only this user's corrections")
    cmd.add_argument("--val-fraction", type=float, default=0.2)
    cmd.add_argument("--include-predicted", action="store_true")
    cmd.add_argument("overrides", nargs="*", help="Hydra overrides of conf/serve.yaml (after --)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.val_fraction < 1.0:
        parser.error("--val-fraction must be in [0, 1)")
    from wardrobe.store.images import ImageStore

    url, root = _serve_settings(args.overrides)
    records = RecordStore(url)
    try:
        report = export_corrections(
            records,
            ImageStore(root),
            args.out,
            user_id=args.user,
            val_fraction=args.val_fraction,
            include_predicted=args.include_predicted,
        )
    finally:
        records.close()
    print(f"exported {report.garments} corrected garments to {report.out}")
    print(f"  classification crops: {report.classification or 'none (no category corrected)'}")
    print(f"  attribute rows:       {report.attributes}")
    if report.skipped_no_image:
        print(f"  skipped (no image kept): {len(report.skipped_no_image)}")
    print("fine-tune with:\n  " + "\n  ".join(report.commands))
    return 0


if __name__ == "__main__":
    sys.exit(main())
