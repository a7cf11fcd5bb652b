"""Real photos through the whole ingestion pipeline: what a user's own photos get.

Every photo of a class-folder data set's split (clothing-dataset-small ``validation/``: one
garment a photo, 10 coarse labels) goes through ``IngestionPipeline.analyse`` exactly as an
upload would (decode, quality, detector, crop, classifier under the coarse-class rule). The
photo's **main garment** is its largest garment (a one-garment photo's garment fills the frame;
a stray small box is not what the photo shows). Measured per photo:

* ``group_acc``: the main garment's category is in the label's group (tops, bottoms, ...);
* ``strict_acc``: its category is one the label allows (``fine`` of the mapping file);
* ``coarse_acc``: its category mapped back onto the data set's labels, with the detector's
  class, or the classifier's length answer where it has one (``attributes.sleeves`` /
  ``legs``), telling sleeve and leg lengths apart (``ClassMapping.coarse_of``);
* ``found_rate``: the detector found a garment (not the whole-photo fallback), over the photos
  whose label has a DeepFashion2 class (shoes and hats have none).

Besides the figures: a per-label table (markdown) and a contact sheet of photos with the boxes
and names the pipeline gave them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from wardrobe.data.formats.classfolder import ClassFolderSample, ClassMapping, read_class_folder
from wardrobe.taxonomy import CATEGORY_BY_NAME, LENGTH_PART

log = logging.getLogger(__name__)
REAL_TARGETS = {"group_acc": 0.95, "strict_acc": 0.85, "coarse_acc": 0.90, "found_rate": 0.95}


@dataclass(frozen=True)
class PhotoOutcome:
    """The main garment the pipeline found in one labelled photo."""

    sample: ClassFolderSample
    category: str | None  # None: the pipeline refused the photo
    detector_class: str | None  # None: whole-photo fallback
    box: tuple[float, float, float, float] | None
    boxes: tuple[tuple[float, float, float, float], ...]  # every garment of the photo
    group_ok: bool
    strict_ok: bool
    coarse: str | None

    @property
    def found(self) -> bool:
        return self.detector_class is not None


def _area(box) -> float:
    return 0.0 if box is None else (box[2] - box[0]) * (box[3] - box[1])


def outcome_of(result, sample: ClassFolderSample, mapping: ClassMapping) -> PhotoOutcome:
    """Judge one ``PhotoResult`` against the photo's coarse label."""
    label = mapping.labels[sample.label]
    garments = list(result.garments) if result.ok else []
    if not garments:
        return PhotoOutcome(sample, None, None, None, (), False, False, None)
    main = max(garments, key=lambda g: _area(g.garment.box))
    category = main.garment.category
    part = LENGTH_PART.get(CATEGORY_BY_NAME[category].group)
    length = getattr(main.garment.attributes, part, None) if part else None
    try:
        coarse = mapping.coarse_of(category, main.detector_class, length)
    except KeyError:
        coarse = None
    return PhotoOutcome(
        sample=sample,
        category=category,
        detector_class=main.detector_class,
        box=tuple(main.garment.box) if main.garment.box else None,
        boxes=tuple(tuple(g.garment.box) for g in garments if g.garment.box),
        group_ok=CATEGORY_BY_NAME[category].group == label.group,
        strict_ok=category in label.fine,
        coarse=coarse,
    )


def analyse_photos(pipeline, samples: Sequence[ClassFolderSample], mapping, batch_size: int = 16):
    """Every sample through ``pipeline.analyse`` in batches."""
    outcomes: list[PhotoOutcome] = []
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        results = pipeline.analyse([str(s.path) for s in chunk])
        outcomes += [outcome_of(r, s, mapping) for r, s in zip(results, chunk, strict=True)]
    return outcomes


def _rate(values: Sequence[bool]) -> float:
    return sum(values) / len(values) if values else float("nan")


def summarise(outcomes: Sequence[PhotoOutcome], mapping: ClassMapping) -> dict[str, float]:
    """The figures of the module docstring, overall and per label (``<label>/<figure>``)."""
    detectable = [o for o in outcomes if mapping.labels[o.sample.label].df2]
    metrics = {
        "group_acc": _rate([o.group_ok for o in outcomes]),
        "strict_acc": _rate([o.strict_ok for o in outcomes]),
        "coarse_acc": _rate([o.coarse == o.sample.label for o in outcomes]),
        "found_rate": _rate([o.found for o in detectable]),
        "photos": float(len(outcomes)),
    }
    for name in mapping.names:
        mine = [o for o in outcomes if o.sample.label == name]
        if not mine:
            continue
        metrics[f"{name}/photos"] = float(len(mine))
        metrics[f"{name}/group_acc"] = _rate([o.group_ok for o in mine])
        metrics[f"{name}/strict_acc"] = _rate([o.strict_ok for o in mine])
        metrics[f"{name}/coarse_acc"] = _rate([o.coarse == name for o in mine])
        metrics[f"{name}/found_rate"] = _rate([o.found for o in mine])
    return metrics


def per_label_table(metrics: dict[str, float], mapping: ClassMapping) -> str:
    """A markdown table: one row per label, then the total."""
    lines = [
        "| label | photos | group | strict | 10-class | detector found |",
        "|---|---|---|---|---|---|",
    ]
    for name in [*mapping.names, None]:
        prefix = f"{name}/" if name else ""
        if f"{prefix}photos" not in metrics:
            continue
        found = metrics.get(f"{prefix}found_rate", float("nan"))
        found_text = "–" if name and not mapping.labels[name].df2 else f"{found:.3f}"
        lines.append(
            f"| {name or '**all**'} | {metrics[prefix + 'photos']:.0f} | "
            f"{metrics[prefix + 'group_acc']:.3f} | {metrics[prefix + 'strict_acc']:.3f} | "
            f"{metrics[prefix + 'coarse_acc']:.3f} | {found_text} |"
        )
    return "\n".join(lines)


def contact_sheet(
    outcomes: Sequence[PhotoOutcome], out: Path, count: int = 48, columns: int = 8, seed: int = 0
) -> Path:
    """A PNG of ``count`` photos (a seeded sample) with every garment box (main one thick) and
    ``label -> category`` captions, green when strict-correct, red otherwise."""
    chosen = random.Random(seed).sample(list(outcomes), min(count, len(outcomes)))
    cell, caption = 200, 26
    rows = max(1, -(-len(chosen) // columns))
    sheet = Image.new("RGB", (columns * cell, rows * (cell + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, o in enumerate(chosen):
        with Image.open(o.sample.path) as image:
            photo = image.convert("RGB")
        scale = cell / max(photo.size)
        thumb = photo.resize(
            (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
        )
        x0, y0 = (i % columns) * cell, (i // columns) * (cell + caption)
        sheet.paste(thumb, (x0, y0))
        for box in o.boxes:
            x1, y1, x2, y2 = (v * scale for v in box)
            draw.rectangle([x0 + x1, y0 + y1, x0 + x2, y0 + y2], outline="yellow",
                           width=3 if box == o.box else 1)  # fmt: skip
        colour = (0, 150, 0) if o.strict_ok else (200, 0, 0)
        found = o.detector_class or "whole photo"
        draw.text((x0 + 2, y0 + cell), f"{o.sample.label} -> {o.category}", fill=colour)
        draw.text((x0 + 2, y0 + cell + 12), found[:30], fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def evaluate_real_photos(
    pipeline, root: str | Path, mapping: ClassMapping, report_dir: Path, split: str = "val"
) -> tuple[dict[str, float], list[Path], str]:
    """Metrics, the contact sheet, and the per-label table of ``split`` through ``pipeline``."""
    samples, report = read_class_folder(root, mapping, split)
    if report:
        log.warning("%s", report)
    outcomes = analyse_photos(pipeline, samples, mapping)
    metrics = summarise(outcomes, mapping)
    sheet = contact_sheet(outcomes, report_dir / "real_photos" / "contact_sheet.png")
    return metrics, [sheet], per_label_table(metrics, mapping)


INGESTION_BUNDLES = ("detector", "classifier", "tagger", "clip")


def real_photo_section(cfg, bundles: dict[str, Path], report_dir: Path):
    """``evaluate.py``'s real-photo rows: ``(metrics, figures, table)``, or None (with the
    reason logged) when the real data set or an ingestion bundle is missing."""
    from wardrobe.data.formats.classfolder import load_class_mapping, split_dir
    from wardrobe.ingestion.pipeline import IngestionPipeline

    settings = cfg.get("real_photos")
    if settings is None or not settings.get("enabled", True):
        return None
    mapping = (
        load_class_mapping(settings.mapping) if settings.get("mapping") else load_class_mapping()
    )
    root = Path(str(settings.root))
    if not split_dir(root, mapping, settings.split).is_dir():
        log.warning("real photos not found at %s (paths.real_data_dir): no real-photo rows", root)
        return None
    missing = [b for b in INGESTION_BUNDLES if b not in bundles]
    if missing:
        log.warning("real-photo rows need the ingestion bundles; missing %s", missing)
        return None
    pipeline = IngestionPipeline.from_artifacts(
        cfg.paths.artifacts_dir, settings={"backend": str(settings.get("backend", "onnx"))}
    )
    return evaluate_real_photos(pipeline, root, mapping, report_dir, settings.split)
