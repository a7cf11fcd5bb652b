"""Held-out evaluation of the rule-based colour extractor (``wardrobe.ingestion.colour``).

The rules have no weights, so there is no bundle: :func:`evaluate_colour_rules` reads the
attribute rows of a SynthWardrobe root (``<root>/attributes/<split>.jsonl`` and the crops they
point at) and scores the primary colour, as served (no mask: the foreground is estimated) and,
when the generator can redraw the crop, with the generator's own garment mask (the upper bound
of a perfect segmentation). :func:`evaluate_colour_rules_report` is the ``evaluate.py``
evaluator shape ``(bundle, data_dir, report_dir) -> (metrics, plots)``.

:func:`evaluate_colour_names` is the public-data stand-in for the owners' hidden test
("crowd-sourced colour names whose head word is one of our 14 colours, rendered as
product-style garment photos"): the held-out rows of :mod:`wardrobe.data.colour_names` (a
crowd naming survey, never fitted on) painted onto SynthWardrobe garments — solid, with the
generator's fabric texture, lighting and noise, half as shop photos on a pale plain or gradient
backdrop, half cut from a busy scene (wood, linen, tiles, clutter, a neighbouring garment) —
and scored on the primary colour. ``python -m wardrobe.evaluation.colour --names`` prints it
for the fitted regions and for the old nearest-anchor rule.

The generator's mask is recovered by redrawing each crop from its seed (``crop_tasks`` gives
every crop its own ``SeedSequence`` child) while recording the garment's mask; a redrawn crop
that does not match the file on disk (the generator changed since the data was written) gets no
mask, and the masked metrics are left out when too few crops match.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from wardrobe.data.colour_names import NamedColour
from wardrobe.data.formats.attributes import AttributeRow, read_attribute_rows
from wardrobe.ingestion.colour import (
    DEFAULT_ILLUMINANT,
    ILLUMINANT_METHODS,
    ColourAccuracy,
    colour_accuracy,
    extract_colours,
    primary_secondary,
)
from wardrobe.ingestion.decode import ImageDecodeError, decode_image
from wardrobe.taxonomy import COLOURS

log = logging.getLogger(__name__)

SPLITS = ("train", "val")  # a held-out root is another seed: every split of it is unseen
_MATCH_TOLERANCE = 5.0  # mean |redrawn - file| after a blur (JPEG + sensor noise: 0.5-2.3)


def evaluate_colour_rules(
    data_dir: Path,
    out_dir: Path,
    splits: Sequence[str] = SPLITS,
    with_generator_mask: bool = True,
    foreground: str = "border",
) -> tuple[dict[str, float], list[Path]]:
    """Primary-colour accuracy of the rules on ``<data_dir>/<split>.jsonl`` (an ``attributes``
    folder); plots to ``out_dir``. Metrics: ``colour_acc`` (no mask), ``colour_acc_masked``
    (generator mask), ``secondary_acc`` (secondary colour or its absence, no mask),
    ``samples``, ``ms_per_crop``."""
    from wardrobe.evaluation import plots

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    rows = _rows(data_dir, splits)
    masks = _generator_masks(data_dir.parent, rows) if with_generator_mask else {}
    true, pred, pred_masked, true_masked, sec_true, sec_pred = [], [], [], [], [], []
    samples: list[tuple[np.ndarray, str, bool]] = []
    elapsed = 0.0
    for row, path in rows:
        try:
            rgb = decode_image(path).rgb
        except ImageDecodeError as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        start = time.perf_counter()
        colours = extract_colours(rgb, foreground=foreground)
        elapsed += time.perf_counter() - start
        primary, secondary = primary_secondary(colours)
        true.append(row.colour_primary)
        pred.append(primary)
        sec_true.append(row.colour_secondary or "none")
        sec_pred.append(secondary or "none")
        if path in masks:
            masked = extract_colours(rgb, masks[path])
            true_masked.append(row.colour_primary)
            pred_masked.append(primary_secondary(masked)[0])
        ok = primary == row.colour_primary
        if len(samples) < 24 and (not ok or len(samples) < 12):
            samples.append((rgb, f"{primary}\n(true {row.colour_primary})", ok))
    if not true:
        raise FileNotFoundError(f"no readable attribute rows with images in {data_dir}")
    result = colour_accuracy(pred, true)
    metrics = {
        "colour_acc": result.accuracy,
        "secondary_acc": float(np.mean([a == b for a, b in zip(sec_true, sec_pred, strict=True)])),
        "samples": float(result.total),
        "ms_per_crop": 1000 * elapsed / len(true),
    }
    masked_result = None
    if len(true_masked) >= 0.5 * len(true):
        masked_result = colour_accuracy(pred_masked, true_masked)
        metrics["colour_acc_masked"] = masked_result.accuracy
    figures = [
        plots.confusion_matrix_png(
            result.confusion,
            list(COLOURS),
            out_dir / "colour_rules_confusion.png",
            f"colour rules (no mask), primary accuracy {result.accuracy:.3f}",
        ),
        plots.bar_chart_png(
            {c: v for c, v in result.per_colour.items() if result.support[c]},
            out_dir / "colour_rules_per_colour.png",
            "colour rules: primary accuracy per colour (no mask)",
            0.85,
        ),
        plots.samples_png(
            *zip(*samples, strict=True),
            out_dir / "colour_rules_samples.png",
            "colour rules: sample predictions (red = wrong)",
        ),
    ]
    log.info("colour rules (no mask):\n%s", result.table())
    if masked_result is not None:
        log.info("colour rules (generator mask):\n%s", masked_result.table())
    return metrics, figures


def evaluate_colour_rules_report(
    bundle: object, data_dir: Path, report_dir: Path
) -> tuple[dict[str, float], list[Path]]:
    """The ``evaluate.py`` evaluator shape; ``bundle`` is unused (rules have no weights)."""
    return evaluate_colour_rules(Path(data_dir), Path(report_dir))


def colour_rules_accuracy(
    data_dir: Path, splits: Sequence[str] = ("val",), with_generator_mask: bool = True
) -> dict[str, ColourAccuracy]:
    """Per-colour tables without plots: ``{"no_mask": ..., "generator_mask": ...}``."""
    rows = _rows(Path(data_dir), splits)
    masks = _generator_masks(Path(data_dir).parent, rows) if with_generator_mask else {}
    true, pred, true_m, pred_m = [], [], [], []
    for row, path in rows:
        rgb = decode_image(path).rgb
        true.append(row.colour_primary)
        pred.append(primary_secondary(extract_colours(rgb))[0])
        if path in masks:
            true_m.append(row.colour_primary)
            pred_m.append(primary_secondary(extract_colours(rgb, masks[path]))[0])
    out = {"no_mask": colour_accuracy(pred, true)}
    if true_m:
        out["generator_mask"] = colour_accuracy(pred_m, true_m)
    return out


# ---- data ------------------------------------------------------------------------------------
def _rows(data_dir: Path, splits: Sequence[str]) -> list[tuple[AttributeRow, Path]]:
    out = []
    for split in splits:
        path = data_dir / f"{split}.jsonl"
        if not path.is_file():
            continue
        rows, _ = read_attribute_rows(path)
        out += [(r, (data_dir / r.image).resolve()) for r in rows if r.colour_primary is not None]
    if not out:
        raise FileNotFoundError(f"no attribute rows for splits {list(splits)} in {data_dir}")
    return out


@contextmanager
def _recording_garment_masks() -> Iterator[list[np.ndarray]]:
    """Record the mask of every ``render_garment`` call made by the crop functions."""
    from wardrobe.data.synthetic import scene

    recorded: list[np.ndarray] = []
    original = scene.render_garment

    def render(*args, **kwargs):
        rgb, mask = original(*args, **kwargs)
        recorded.append(mask)
        return rgb, mask

    scene.render_garment = render
    try:
        yield recorded
    finally:
        scene.render_garment = original


@contextmanager
def _painted(rgb: np.ndarray) -> Iterator[None]:
    """Make the generator paint garments in exactly ``rgb`` (its own shades are jittered)."""
    from wardrobe.data.synthetic import draw

    original = draw.garment_colours
    colour = np.asarray(rgb, dtype=np.float32)
    draw.garment_colours = lambda spec, app_rng: (colour, colour)
    try:
        yield
    finally:
        draw.garment_colours = original


def render_named_garment(
    rgb: Sequence[int], rng: np.random.Generator, size: int = 128, scene: bool = False
) -> np.ndarray:
    """A solid SynthWardrobe garment of a random category painted in ``rgb``: a shop photo
    (pale backdrop) or, with ``scene``, a crop from a busy photo. Returns RGB uint8."""
    from wardrobe.data.synthetic import scene as scenes
    from wardrobe.data.synthetic.spec import sample_garment

    spec = dataclasses.replace(
        sample_garment(rng), colour_secondary=None, pattern="solid", appearance_seed=0
    )
    with _painted(rgb):
        return (scenes.scene_crop if scene else scenes.product_crop)(spec, rng, size)


def evaluate_colour_names(
    rows: Sequence[NamedColour] | None = None,
    naming: str = "regions",
    seed: int = 0,
    size: int = 128,
    illuminant: str = DEFAULT_ILLUMINANT,
) -> tuple[ColourAccuracy, dict[str, float]]:
    """Primary-colour accuracy on named colours painted onto garment photos (default: the
    crowd survey's held-out rows), each name drawn twice: once as a shop photo, once cut from
    a scene. Returns the accuracy table and ``{"shop": acc, "scene": acc}``."""
    from wardrobe.data.colour_names import crowd_colours

    rows = crowd_colours("heldout") if rows is None else rows
    rng = np.random.default_rng(seed)
    pred, true, styles = [], [], []
    for row in rows:
        for scene in (False, True):
            image = render_named_garment(row.rgb, rng, size, scene)
            found = extract_colours(image, naming=naming, illuminant=illuminant)
            pred.append(primary_secondary(found)[0])
            true.append(row.colour)
            styles.append("scene" if scene else "shop")
    by_style = {
        style: float(
            np.mean([p == t for p, t, s in zip(pred, true, styles, strict=True) if s == style])
        )
        for style in ("shop", "scene")
    }
    return colour_accuracy(pred, true), by_style


REAL_DATA = Path("../shared/real-data/clothing-dataset-small")  # beside the repository
REAL_LABELS = Path("tests/fixtures/real_colour_labels.csv")  # validation/: report only
DEV_LABELS = Path("tests/fixtures/real_colour_dev_labels.csv")  # train/: what was tuned on


def read_real_labels(path: Path = REAL_LABELS) -> list[tuple[str, str]]:
    """``(photo path relative to the real-data root, primary colour)`` rows of a labels CSV."""
    import csv

    with Path(path).open(newline="", encoding="utf-8") as f:
        rows = [(r["path"], r["colour"]) for r in csv.DictReader(f)]
    unknown = {c for _, c in rows} - set(COLOURS)
    if unknown:
        raise ValueError(f"unknown colour labels in {path}: {sorted(unknown)}")
    return rows


def evaluate_real_colours(
    root: Path = REAL_DATA,
    labels: Path = REAL_LABELS,
    naming: str = "prototypes",
    illuminant: str = DEFAULT_ILLUMINANT,
) -> tuple[ColourAccuracy, list[tuple[str, str, str]]]:
    """Primary-colour accuracy of the extractor on hand-labelled real photos (one garment per
    photo, on beds, floors, blankets: the foreground is estimated, no detector). Returns the
    table and the misses ``(path, true, predicted)``."""
    from wardrobe.ingestion.decode import decode_image

    pred, true, misses = [], [], []
    for rel, colour in read_real_labels(labels):
        rgb = decode_image(Path(root) / rel).rgb
        found = extract_colours(rgb, naming=naming, illuminant=illuminant)
        primary = primary_secondary(found)[0]
        pred.append(primary)
        true.append(colour)
        if primary != colour:
            misses.append((rel, colour, str(primary)))
    return colour_accuracy(pred, true), misses


def redraw_crop(task) -> tuple[np.ndarray, np.ndarray]:
    """Redraw a generator crop task: ``(rgb, garment mask)`` (the garment is drawn last)."""
    from wardrobe.data.synthetic import scene
    from wardrobe.data.synthetic.spec import sample_garment

    rng = np.random.default_rng(task.seed)
    spec = sample_garment(rng, task.category)
    from_scene = bool(rng.uniform() < task.scene_fraction)
    with _recording_garment_masks() as masks:
        image = (scene.scene_crop if from_scene else scene.product_crop)(spec, rng, task.size)
    return image, masks[-1]


def _generator_masks(root: Path, rows: list[tuple[AttributeRow, Path]]) -> dict[Path, np.ndarray]:
    """Garment masks of SynthWardrobe crops, redrawn from the root's manifest seed."""
    from wardrobe.data.synthetic.generate import GenerateConfig, crop_tasks

    manifest = root / "manifest.json"
    if not manifest.is_file():
        return {}
    config = json.loads(manifest.read_text())["config"]
    cfg = GenerateConfig(root=str(root), progress=False, **config)
    crops_seed = np.random.SeedSequence(cfg.seed).spawn(3)[0]
    tasks = {
        (root / f"classification/{t.split}/{t.category}/{t.index:06d}.jpg").resolve(): t
        for t in crop_tasks(cfg, crops_seed)
    }
    masks, mismatched = {}, 0
    for _, path in rows:
        task = tasks.get(path)
        if task is None:
            continue
        image, mask = redraw_crop(task)
        try:
            on_disk = decode_image(path).rgb
        except ImageDecodeError:
            continue
        if on_disk.shape != image.shape or _blurred_difference(on_disk, image) > _MATCH_TOLERANCE:
            mismatched += 1
            continue
        masks[path] = mask
    if mismatched:
        log.warning("%d crops differ from their redraw: no generator mask for them", mismatched)
    return masks


def _blurred_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference after a Gaussian blur (sigma 1.5): JPEG and noise averaged out."""
    import cv2

    blur = [cv2.GaussianBlur(x.astype(np.float32), (0, 0), 1.5) for x in (a, b)]
    return float(np.abs(blur[0] - blur[1]).mean())


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """``python -m wardrobe.evaluation.colour``: the per-colour tables and the metrics."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/synthwardrobe/attributes", help="attributes dir")
    parser.add_argument("--splits", nargs="+", default=["val"])
    parser.add_argument("--out", default="reports/colour_rules", help="where the plots go")
    parser.add_argument("--no-generator-mask", action="store_true")
    parser.add_argument(
        "--names", action="store_true", help="the crowd colour names on garment photos instead"
    )
    parser.add_argument(
        "--real", type=Path, default=None, help="real-data root: score the hand-labelled photos"
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=REAL_LABELS,
        help=f"with --real: the labels CSV ({REAL_LABELS}: validation; {DEV_LABELS}: train/dev)",
    )
    args = parser.parse_args(argv)
    if args.names:
        return _names_main()
    if args.real is not None:
        return _real_main(args.real, args.labels)
    data = Path(args.data)
    tables = colour_rules_accuracy(data, args.splits, not args.no_generator_mask)
    for name, table in tables.items():
        print(f"\nprimary colour, {name.replace('_', ' ')} ({', '.join(args.splits)})")
        print(table.table())
    metrics, plots = evaluate_colour_rules(
        data, Path(args.out), args.splits, with_generator_mask=not args.no_generator_mask
    )
    print("\n" + "\n".join(f"{k:<18} {v:.4f}" for k, v in metrics.items()))
    print("plots: " + ", ".join(str(p) for p in plots))
    return metrics


def _real_main(root: Path, labels: Path = REAL_LABELS) -> dict[str, float]:
    """The old anchor rule, then the prototypes under each illuminant estimate (``none``: no
    white balance, the exposure step alone)."""
    metrics = {}
    variants = [("anchor", "none")] + [("prototypes", m) for m in ILLUMINANT_METHODS]
    for naming, illuminant in variants:
        result, misses = evaluate_real_colours(root, labels, naming, illuminant)
        print(f"\nhand-labelled real photos ({labels}), naming={naming}, illuminant={illuminant}")
        print(result.table())
        print("confusions: " + result.confusions())
        print("misses: " + "; ".join(f"{p} {t}->{q}" for p, t, q in misses))
        metrics[f"{naming}_{illuminant}_acc"] = result.accuracy
    print("\n" + "\n".join(f"{k:<28} {v:.4f}" for k, v in metrics.items()))
    return metrics


def _names_main() -> dict[str, float]:
    metrics = {}
    for naming in ("anchor", "regions"):
        result, by_style = evaluate_colour_names(naming=naming)
        print(f"\ncrowd colour names (held-out) on garment photos, naming={naming}")
        print(result.table())
        print("  ".join(f"{style} {acc:.1%}" for style, acc in by_style.items()))
        metrics[f"{naming}_acc"] = result.accuracy
    return metrics


if __name__ == "__main__":
    main()
