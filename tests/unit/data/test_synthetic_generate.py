"""``generate`` / the CLI: layout, byte-for-byte determinism, and a round trip through the
exact format readers of ``wardrobe.data.formats``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import pytest

from wardrobe.data.formats import (
    read_attribute_rows,
    read_categories_csv,
    read_compatibility,
    read_df2_split,
    read_fitb,
    read_item_metadata,
    read_outfits,
    resolve_token,
    scan_imagefolder,
)
from wardrobe.data.formats.polyvore import outfits_by_set_id
from wardrobe.data.synthetic import GarmentSpec, generate, rule_violations
from wardrobe.data.synthetic.__main__ import main
from wardrobe.data.synthetic.generate import (
    GenerateConfig,
    attribute_row,
    catalogue_tasks,
    run_crop,
    seed_streams,
)
from wardrobe.evaluation.outfits import heldout_specs
from wardrobe.taxonomy import DF2_CLASSES, DF2_NUM_LANDMARKS, FINE_CATEGORIES

TINY = {"scenes": 7, "crops_per_class": 3, "outfits": 60, "progress": False}


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file (manifest.json without its run-dependent "run" section)."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "manifest.json":
            manifest = json.loads(data)
            manifest.pop("run")
            data = json.dumps(manifest, sort_keys=True).encode()
        out[str(path.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "a"
    manifest = generate(root=str(root), seed=0, workers=1, **TINY)
    return root, manifest


def test_the_layout_holds_all_four_formats(tiny):
    root, manifest = tiny
    for rel in ("deepfashion2/train/image/000001.jpg", "deepfashion2/train/annos/000001.json",
                "deepfashion2/validation/image/000001.jpg", "attributes/train.jsonl",
                "attributes/val.jsonl", "polyvore/nondisjoint/train.json",
                "polyvore/nondisjoint/compatibility_test.txt",
                "polyvore/nondisjoint/fill_in_blank_valid.json",
                "polyvore/polyvore_item_metadata.json", "polyvore/categories.csv",
                "manifest.json"):  # fmt: skip
        assert (root / rel).is_file(), rel
    for split in ("train", "val"):
        assert {p.name for p in (root / "classification" / split).iterdir()} == set(FINE_CATEGORIES)
    assert manifest["seed"] == 0 and manifest["generator"] == "SynthWardrobe"
    assert sum(manifest["counts"]["deepfashion2_images"].values()) == TINY["scenes"]
    image = cv2.imread(str(root / "classification/train/t_shirt/000000.jpg"))
    assert image.shape == (128, 128, 3)


def test_same_seed_gives_the_same_bytes_whatever_the_number_of_workers(tiny, tmp_path):
    root, _ = tiny
    generate(root=str(tmp_path / "b"), seed=0, workers=2, **TINY)
    assert digest(root) == digest(tmp_path / "b")


def test_another_seed_gives_another_dataset(tiny, tmp_path):
    root, _ = tiny
    generate(root=str(tmp_path / "c"), seed=1, workers=1, **TINY)
    a, b = digest(root), digest(tmp_path / "c")
    images = [k for k in a if k.endswith(".jpg") and k in b]
    assert images and all(a[k] != b[k] for k in images if "classification" in k)


def test_deepfashion2_round_trip(tiny):
    root, manifest = tiny
    for split in ("train", "validation"):
        images, report = read_df2_split(root / "deepfashion2" / split)
        assert len(images) == manifest["counts"]["deepfashion2_images"][split]
        assert report.total == 0, str(report)
        for im in images:
            assert im.source in ("shop", "user") and im.pair_id >= 1
            for it in im.items:
                x1, y1, x2, y2 = it.bbox
                assert 0 <= x1 < x2 <= im.width and 0 <= y1 < y2 <= im.height
                assert len(it.landmarks) == 3 * DF2_NUM_LANDMARKS[it.category_id - 1]
                xs = [v for poly in it.segmentation for v in poly[0::2]]
                assert min(xs) >= x1 - 1 and max(xs) <= x2
    total = sum(manifest["counts"]["deepfashion2_items"][c] for c in DF2_CLASSES)
    read = sum(len(im.items) for s in ("train", "validation")
               for im in read_df2_split(root / "deepfashion2" / s)[0])  # fmt: skip
    assert read == total


def test_classification_and_attributes_describe_the_same_crops(tiny):
    root, _ = tiny
    for split in ("train", "val"):
        samples, _ = scan_imagefolder(root / "classification" / split)
        rows, report = read_attribute_rows(root / "attributes" / f"{split}.jsonl")
        assert report.total == 0 and len(rows) == len(samples) > 0
        for row in rows:
            path = (root / "attributes" / row.image).resolve()
            assert path.is_file() and path.parent.name == row.category
            assert row.colour_primary and row.pattern and row.fit and row.seasons


def _catalogue_labels_by_image_bytes(root: Path) -> dict[bytes, GarmentSpec]:
    """The catalogue crops' labels keyed by their bytes, redrawn from the seed in a scratch root
    (each crop draws from its own seed, so the same bytes come out)."""
    scratch = root.parent / "catalogue-redrawn"
    cfg = GenerateConfig(root=str(scratch), seed=0, **TINY)
    out = {}
    for task in catalogue_tasks(cfg, seed_streams(0)[3]):
        crop = run_crop(task)
        out[hashlib.sha256((scratch / crop.path).read_bytes()).digest()] = crop.spec
    return out


def test_the_polyvore_catalogue_has_crops_of_its_own(tiny):
    root, manifest = tiny
    crops = {hashlib.sha256(p.read_bytes()).digest()
             for p in (root / "classification").rglob("*.jpg")}  # fmt: skip
    items = list((root / "polyvore" / "images").glob("*.jpg"))
    assert len(items) == manifest["counts"]["polyvore"]["items"] > 0
    assert not crops & {hashlib.sha256(p.read_bytes()).digest() for p in items}
    assert not (root / "polyvore" / "catalogue-staging").exists()
    # the labels file beside them says what each item is (the rule's input)
    labels = _catalogue_labels_by_image_bytes(root)
    specs = heldout_specs(root / "polyvore")
    assert len(specs) == len(items)
    for path in items:
        truth = labels[hashlib.sha256(path.read_bytes()).digest()]
        assert attribute_row("", specs[path.stem]) == attribute_row("", truth)


def test_polyvore_round_trip_keeps_the_stylist_rule(tiny):
    root, _ = tiny
    base = root / "polyvore"
    labels = _catalogue_labels_by_image_bytes(root)
    metadata = read_item_metadata(base / "polyvore_item_metadata.json")
    categories = read_categories_csv(base / "categories.csv")
    categories = categories[0] if isinstance(categories, tuple) else categories
    assert {c.fine_grained[0] for c in categories.values()} == set(FINE_CATEGORIES)

    def spec(item_id: str) -> GarmentSpec:
        data = (base / "images" / f"{item_id}.jpg").read_bytes()
        return labels[hashlib.sha256(data).digest()]

    for split in ("train", "valid", "test"):
        outfits = read_outfits(base / "nondisjoint" / f"{split}.json")
        by_set = outfits_by_set_id(outfits)
        for outfit in outfits:
            items = [i.item_id for i in outfit.items]
            assert all(i in metadata for i in items)
            assert not rule_violations([spec(i) for i in items])
        questions = read_compatibility(base / "nondisjoint" / f"compatibility_{split}.txt")
        assert sum(q.label for q in questions) == len(outfits) == len(questions) / 2
        for q in questions:
            specs = [spec(resolve_token(t, by_set)) for t in q.tokens]
            assert bool(rule_violations(specs)) == (q.label == 0)
        for q in read_fitb(base / "nondisjoint" / f"fill_in_blank_{split}.json"):
            assert resolve_token(q.correct_answer, by_set) in metadata


def test_cli_generates_and_writes_a_preview(tmp_path):
    preview = tmp_path / "preview.png"
    args = "--seed 3 --scenes 3 --crops-per-class 1 --outfits 20 --workers 1 --no-progress"
    main([*args.split(), "--out", str(tmp_path / "d"), "--preview", str(preview)])
    image = cv2.imread(str(preview))
    assert image is not None and image.shape[0] > 500 and image.shape[1] > 500
    assert (tmp_path / "d" / "manifest.json").is_file()


def test_regenerating_replaces_its_own_output_but_never_foreign_files(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate(root=str(foreign), **TINY)
    root = tmp_path / "own"
    small = {**TINY, "crops_per_class": 2, "scenes": 2, "outfits": 10}
    generate(root=str(root), seed=0, workers=1, **small)
    stale = root / "classification" / "train" / "t_shirt" / "999999.jpg"
    stale.write_bytes(b"x")
    generate({"root": str(root), "seed": 0, "workers": 1, **small})  # a Hydra-style mapping
    assert not stale.exists()
