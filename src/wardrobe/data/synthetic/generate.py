"""Generate SynthWardrobe: DeepFashion2 scenes, ImageFolder crops, attribute rows and Polyvore
outfits from one seed, written with the exact format writers of ``wardrobe.data.formats``.

Layout under ``root``::

    deepfashion2/{train,validation}/{image,annos}/NNNNNN.(jpg|json)
    classification/{train,val}/<fine_category>/NNNNNN.jpg
    attributes/{train,val}.jsonl            image paths relative to attributes/
    polyvore/nondisjoint/{train,valid,test}.json, compatibility_<split>.txt,
             fill_in_blank_<split>.json; polyvore/images/<item_id>.jpg (crops of their own,
             not the classification ones), polyvore/polyvore_item_metadata.json,
             polyvore/categories.csv, polyvore/catalogue_attributes.jsonl (their labels)
    manifest.json                           seed, config, counts, version; "run" = timings

Every item draws from its own ``SeedSequence`` child, so the output is byte-for-byte the same
for a seed whatever the number of worker processes (only ``manifest.json["run"]`` differs).
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from wardrobe.data.formats.attributes import AttributeRow, write_attribute_rows
from wardrobe.data.formats.deepfashion2 import Df2Item, write_df2_annotation
from wardrobe.data.formats.polyvore import (
    write_categories_csv,
    write_compatibility,
    write_fitb,
    write_item_metadata,
    write_outfits,
)
from wardrobe.taxonomy import DF2_CLASSES, DF2_NUM_LANDMARKS, FINE_CATEGORIES
from wardrobe.utils.progress import report as report_progress

from .outfits import Catalogue, build_splits, category_rows, item_meta
from .scene import Scene, product_crop, scene_crop, scene_pair
from .spec import GarmentSpec, sample_garment

log = logging.getLogger(__name__)

GENERATOR = "SynthWardrobe"
VERSION = "1.1.0"  # 1.1: the Polyvore catalogue has crops of its own
JPEG_QUALITY = 90
CATALOGUE_STAGING = "polyvore/catalogue-staging"
CATALOGUE_LABELS = "catalogue_attributes.jsonl"  # in polyvore/, attribute rows of its items
OUR_ENTRIES = ("deepfashion2", "classification", "attributes", "polyvore", "manifest.json")


@dataclass
class GenerateConfig:
    """What to generate (the defaults are the offline default dataset)."""

    root: str = "data/synthwardrobe"
    seed: int = 0
    scenes: int = 1500
    crops_per_class: int = 60
    # the Polyvore catalogue's own crops per category (None: crops_per_class), drawn apart from
    # the classification crops so the compatibility model never trains on records of images the
    # classifier and tagger were fitted on (their train-set errors are smaller than on new photos)
    catalogue_per_class: int | None = None
    # 8,400 train outfits: on held-out outfits the compatibility model scored AUC 0.830 / 0.900 /
    # 0.905 learnt from 1,400 / 4,200 / 8,400 (12, 12, 6 epochs; README, Outfit compatibility)
    outfits: int = 12000
    val_fraction: float = 0.15
    scene_size: int = 320
    crop_size: int = 128
    scene_crop_fraction: float = 0.2
    workers: int | None = None
    preview: str | None = None
    progress: bool = True

    def content(self) -> dict:
        """The settings that determine the files (not where or how fast they are made)."""
        skip = {"root", "workers", "preview", "progress"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


# ---- tasks (run in worker processes) -------------------------------------------------------
@dataclass
class CropTask:
    index: int
    category: str
    split: str
    seed: np.random.SeedSequence
    root: str
    size: int
    scene_fraction: float
    folder: str  # relative to root: classification/<split> or the catalogue's staging folder


@dataclass
class CropResult:
    index: int
    split: str
    path: str  # relative to root
    spec: GarmentSpec
    from_scene: bool


@dataclass
class PairTask:
    index: int
    split: str
    image_ids: tuple[int, ...]
    seed: np.random.SeedSequence
    root: str
    size: int


@dataclass
class PairResult:
    index: int
    split: str
    images: list[dict] = field(default_factory=list)


def _encode_jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def run_crop(task: CropTask) -> CropResult:
    """Draw and write one classification crop."""
    rng = np.random.default_rng(task.seed)
    spec = sample_garment(rng, task.category)
    from_scene = bool(rng.uniform() < task.scene_fraction)
    image = (scene_crop if from_scene else product_crop)(spec, rng, task.size)
    rel = f"{task.folder}/{task.category}/{task.index:06d}.jpg"
    path = Path(task.root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_encode_jpeg(image))
    return CropResult(task.index, task.split, rel, spec, from_scene)


def df2_item(item) -> Df2Item:
    """A scene item as a DeepFashion2 annotation item (landmarks unlabelled: v=0)."""
    class_id = DF2_CLASSES.index(item.spec.df2_class) + 1
    return Df2Item(
        category_id=class_id,
        bbox=tuple(float(v) for v in item.box),
        segmentation=item.polygons,
        landmarks=[0.0] * (3 * DF2_NUM_LANDMARKS[class_id - 1]),
        style=item.style,
        occlusion=item.occlusion,
        zoom_in=item.zoom_in,
        viewpoint=item.viewpoint,
        scale=item.scale,
    )


def run_pair(task: PairTask) -> PairResult:
    """Draw and write a shop/user scene pair (or only the shop photo for an odd count)."""
    shared, shop, user = (np.random.default_rng(s) for s in task.seed.spawn(3))
    scenes: tuple[Scene, ...] = scene_pair(shared, shop, user, task.size)
    split_dir = Path(task.root) / "deepfashion2" / task.split
    result = PairResult(task.index, task.split)
    for image_id, scene in zip(task.image_ids, scenes, strict=False):
        path = split_dir / "image" / f"{image_id:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_encode_jpeg(scene.image))
        items = [df2_item(it) for it in scene.items]
        write_df2_annotation(split_dir / "annos", image_id, scene.source, task.index + 1, items)
        result.images.append(
            {
                "image_id": image_id,
                "source": scene.source,
                "arrangement": scene.arrangement,
                "boxes": [list(it.box) for it in scene.items],
                "classes": [it.spec.df2_class for it in scene.items],
                "categories": [it.spec.category for it in scene.items],
            }
        )
    return result


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _run_all(tasks: list, fn, workers: int, progress: bool, desc: str) -> list:
    """Run ``fn`` over ``tasks`` (in ``workers`` processes), results in task order."""
    bar = tqdm(total=len(tasks), desc=desc, disable=not progress, unit="img")
    results = []

    def done(result) -> None:
        results.append(result)
        bar.update()
        # make run's live progress ($WARDROBE_PROGRESS_FILE; a no-op without it)
        report_progress(f"generating data ({desc})", done=len(results), total=len(tasks))

    if workers <= 1:
        for task in tasks:
            done(fn(task))
    else:
        with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
            for res in pool.imap_unordered(fn, tasks, chunksize=8):
                done(res)
    bar.close()
    return sorted(results, key=lambda r: r.index)


# ---- plans ---------------------------------------------------------------------------------
def _n_val(n: int, fraction: float) -> int:
    return 0 if n < 2 else max(1, round(n * fraction))


def crop_tasks(cfg: GenerateConfig, seeds: np.random.SeedSequence) -> list[CropTask]:
    """One task per crop: ``crops_per_class`` per category, the last ones of each go to val."""
    per = cfg.crops_per_class
    n_val = _n_val(per, cfg.val_fraction)
    splits = ["val" if i % per >= per - n_val else "train" for i in range(per)]
    return _crop_plan(cfg, seeds, splits, lambda split: f"classification/{split}")


def catalogue_tasks(cfg: GenerateConfig, seeds: np.random.SeedSequence) -> list[CropTask]:
    """The Polyvore catalogue's crops, written to a staging folder ``write_polyvore`` empties."""
    per = cfg.crops_per_class if cfg.catalogue_per_class is None else cfg.catalogue_per_class
    return _crop_plan(cfg, seeds, ["catalogue"] * per, lambda _: CATALOGUE_STAGING)


def _crop_plan(cfg: GenerateConfig, seeds, splits: list[str], folder) -> list[CropTask]:
    """``len(splits)`` crops per fine category, the k-th of each in ``splits[k]``."""
    per = len(splits)
    children = seeds.spawn(per * len(FINE_CATEGORIES))
    return [
        CropTask(
            i,
            FINE_CATEGORIES[i // per],
            splits[i % per],
            children[i],
            cfg.root,
            cfg.crop_size,
            cfg.scene_crop_fraction,
            folder(splits[i % per]),
        )
        for i in range(per * len(FINE_CATEGORIES))
    ]


def pair_tasks(cfg: GenerateConfig, seeds: np.random.SeedSequence) -> list[PairTask]:
    """Scene pairs; the last ``val_fraction`` of them form the validation split."""
    n_pairs = (cfg.scenes + 1) // 2
    children = seeds.spawn(n_pairs)
    n_val = _n_val(n_pairs, cfg.val_fraction)
    tasks, next_id = [], {"train": 1, "validation": 1}
    for p in range(n_pairs):
        split = "validation" if p >= n_pairs - n_val else "train"
        count = 1 if (p == n_pairs - 1 and cfg.scenes % 2) else 2
        ids = tuple(range(next_id[split], next_id[split] + count))
        next_id[split] += count
        tasks.append(PairTask(p, split, ids, children[p], cfg.root, cfg.scene_size))
    return tasks


# ---- writers of the derived formats ----------------------------------------------------------
def attribute_row(image: str, spec: GarmentSpec) -> AttributeRow:
    """A garment's labels as an attribute row (``image`` relative to the file)."""
    return AttributeRow(
        image=image,
        category=spec.category,
        colour_primary=spec.colour_primary,
        colour_secondary=spec.colour_secondary,
        pattern=spec.pattern,
        fit=spec.fit,
        formality=spec.formality,
        seasons=spec.seasons,
        style_tags=spec.style_tags,
    )


def spec_from_row(row: AttributeRow) -> GarmentSpec:
    """The inverse of :func:`attribute_row`: what the stylist rule reads of a labelled garment."""
    return GarmentSpec(
        category=row.category,
        df2_class=None,
        colour_primary=row.colour_primary,
        colour_secondary=row.colour_secondary,
        pattern=row.pattern,
        fit=row.fit,
        formality=float(row.formality),
        seasons=tuple(row.seasons),
        style_tags=tuple(row.style_tags),
    )


def write_attributes(root: Path, crops: list[CropResult]) -> dict[str, int]:
    """``attributes/{train,val}.jsonl`` pointing at the classification crops."""
    counts = {}
    for split in ("train", "val"):
        rows = [attribute_row(f"../{c.path}", c.spec) for c in crops if c.split == split]
        write_attribute_rows(root / "attributes" / f"{split}.jsonl", rows)
        counts[split] = len(rows)
    return counts


def write_polyvore(root: Path, crops: list[CropResult], n_outfits: int, seeds) -> dict:
    """Polyvore Outfits files over the catalogue ``crops`` (moved out of their staging folder)."""
    rng = np.random.default_rng(seeds)
    ids = [str(v) for v in rng.choice(900_000_000, len(crops), replace=False) + 100_000_000]
    cat = Catalogue(ids, [c.spec for c in crops])
    splits = build_splits(rng, cat, n_outfits) if n_outfits else []
    base = root / "polyvore"
    used: set[int] = set()
    counts: dict = {}
    for split in splits:
        write_outfits(base / "nondisjoint" / f"{split.name}.json", split.outfits)
        write_compatibility(
            base / "nondisjoint" / f"compatibility_{split.name}.txt", split.compatibility
        )
        write_fitb(base / "nondisjoint" / f"fill_in_blank_{split.name}.json", split.fitb)
        used.update(i for members in split.members for i in members)
        counts[split.name] = {
            "outfits": len(split.outfits),
            "negatives": len(split.negatives),
            "fitb": len(split.fitb),
        }
    (base / "images").mkdir(parents=True, exist_ok=True)
    for i in sorted(used):
        shutil.move(root / crops[i].path, base / "images" / f"{ids[i]}.jpg")
    shutil.rmtree(root / CATALOGUE_STAGING, ignore_errors=True)
    write_item_metadata(
        base / "polyvore_item_metadata.json",
        sorted((item_meta(ids[i], cat.specs[i]) for i in used), key=lambda m: m.item_id),
    )
    write_categories_csv(base / "categories.csv", category_rows())
    # SynthWardrobe's own addition: the items' true labels, which let the stylist rule judge
    # any outfit of them (wardrobe.evaluation.outfits); real Polyvore has no such file
    write_attribute_rows(
        base / CATALOGUE_LABELS,
        [attribute_row(f"images/{ids[i]}.jpg", cat.specs[i]) for i in sorted(used)],
    )
    counts["items"] = len(used)
    return {"counts": counts, "splits": splits, "catalogue": cat}


# ---- entry point ---------------------------------------------------------------------------
def seed_streams(seed: int) -> list[np.random.SeedSequence]:
    """The seeds of the crops, scenes, outfits and Polyvore catalogue, in that order.

    ``spawn(4)``'s first three children are ``spawn(3)``'s: the catalogue (added in 1.1) left
    a seed's classification crops and scenes as they were.
    """
    return np.random.SeedSequence(seed).spawn(4)


def _prepare_root(root: Path) -> None:
    """Create ``root``; clear a previous SynthWardrobe there; refuse to mix with other data."""
    if root.exists() and any(root.iterdir()):
        manifest = root / "manifest.json"
        mine = manifest.exists() and json.loads(manifest.read_text()).get("generator") == GENERATOR
        if not mine:
            raise FileExistsError(f"{root} is not empty and holds no {GENERATOR} manifest.json")
        for name in OUR_ENTRIES:
            target = root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    root.mkdir(parents=True, exist_ok=True)


def generate(cfg: GenerateConfig | Mapping | None = None, **kwargs) -> dict:
    """Generate the dataset; returns the manifest (also written to ``<root>/manifest.json``).

    Pass a :class:`GenerateConfig`, a mapping of its fields (a Hydra config node), or the
    fields as keywords: ``generate(root="data/synthwardrobe", seed=0, scenes=1500)``.
    """
    if cfg is None:
        cfg = GenerateConfig(**kwargs)
    elif not isinstance(cfg, GenerateConfig):  # a dict or a Hydra DictConfig
        cfg = GenerateConfig(**{**dict(cfg), **kwargs})
    root = Path(cfg.root)
    workers = cfg.workers or os.cpu_count() or 1
    _prepare_root(root)
    crops_seed, scenes_seed, outfits_seed, catalogue_seed = seed_streams(cfg.seed)
    timings, started = {}, time.perf_counter()

    t = time.perf_counter()
    crops = _run_all(crop_tasks(cfg, crops_seed), run_crop, workers, cfg.progress, "crops")
    catalogue = _run_all(
        catalogue_tasks(cfg, catalogue_seed), run_crop, workers, cfg.progress, "catalogue"
    )
    timings["crops_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = _run_all(pair_tasks(cfg, scenes_seed), run_pair, workers, cfg.progress, "scenes")
    timings["scenes_s"] = time.perf_counter() - t
    t = time.perf_counter()
    attr_counts = write_attributes(root, crops)
    poly = write_polyvore(root, catalogue, cfg.outfits, outfits_seed)
    timings["outfits_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started

    manifest = _manifest(cfg, crops, pairs, attr_counts, poly["counts"], timings, workers)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if cfg.preview:
        from .preview import write_preview

        write_preview(cfg.preview, root, crops, pairs, poly)
    log.info("%s written to %s in %.1f s", GENERATOR, root, timings["total_s"])
    return manifest


def _manifest(cfg, crops, pairs, attr_counts, poly_counts, timings, workers) -> dict:
    images = [im for p in pairs for im in p.images]
    n_images = len(images) + len(crops) + poly_counts.get("items", 0)
    df2 = {
        split: sum(len(p.images) for p in pairs if p.split == split)
        for split in ("train", "validation")
    }
    items = {c: 0 for c in DF2_CLASSES}
    for im in images:
        for c in im["classes"]:
            items[c] += 1
    return {
        "generator": GENERATOR,
        "version": VERSION,
        "seed": cfg.seed,
        "config": cfg.content(),
        "counts": {
            "deepfashion2_images": df2,
            "deepfashion2_items": items,
            "classification_crops": {s: sum(c.split == s for c in crops) for s in ("train", "val")},
            "crops_from_scenes": sum(c.from_scene for c in crops),
            "attributes_rows": attr_counts,
            "polyvore": poly_counts,
        },
        "run": {
            "workers": workers,
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "images_per_second": round(n_images / max(timings["total_s"], 1e-9), 1),
        },
    }
