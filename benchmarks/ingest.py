"""Ingestion throughput: the batched pipeline against the original design's per-image flow.

    python benchmarks/ingest.py [--artifacts model_artifacts] [--photos 64] [--sides 1024 4032]

Photos: held-out SynthWardrobe scenes (generated if absent: ``data/synthwardrobe_heldout``),
upscaled to each of ``--sides`` px on the long side (1024: a downsized upload; 4032: a 12 MP
phone photo) and saved as JPEG q90, on disk.

* **baseline** - the same bundles run the way the original design runs them: per photo, each
  stage reads the file again (``cv2.imread`` + BGR->RGB for the quality check, the detector, every
  crop, and CLIP), every crop is classified and tagged alone (batch 1, PyTorch), and CLIP embeds
  the whole photo. Unlike the original it keeps every detection, so that it finds the same
  garments and the categories can be compared.
* **pipeline** - :class:`IngestionPipeline.analyse` (one decode, every model on batches), for
  each backend and batch size 1, 8 and 32. A big JPEG is decoded at a reduced scale (libjpeg's
  DCT scaling, never below the 1280 px working copy); for 12 MP photos the row **pipeline, full
  decode** (last backend, largest batch) decodes every pixel first, as before, for comparison.
  The crop models that share a frozen trunk run it once per batch, then each its head
  (``trunk s``: that shared pass).
* **pipeline, separate passes** - the same at the largest batch with every crop model run
  whole (``IngestionModels(share_trunks=False)``): what the shared pass saves.

Stores are left out of both (their cost is the same). Prints photos/s, garments, the speed-up
over the baseline and seconds per stage, and checks that the categories equal the baseline's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from photos import heldout_photos  # benchmarks/photos.py

from wardrobe.ingestion import garments as g
from wardrobe.ingestion.decode import decode_image
from wardrobe.ingestion.models import IngestionModels
from wardrobe.ingestion.pipeline import IngestionPipeline, IngestSettings
from wardrobe.ingestion.quality import check_quality

ROOT = Path(__file__).resolve().parents[1]


def make_photos(n: int, side: int, out: Path) -> list[Path]:
    """``n`` held-out scenes resized to ``side`` px (long side), saved as JPEG q90 files."""
    paths = [out / f"photo_{i:03d}.jpg" for i in range(n)]
    for path, data in zip(paths, heldout_photos(n, side, out), strict=True):
        path.write_bytes(data)
    return paths


def _imread_rgb(path: Path) -> np.ndarray:
    return cv2.imread(str(path))[:, :, ::-1].copy()


def _side(box) -> float:
    return min(box[2] - box[0], box[3] - box[1])


def baseline(pipeline: IngestionPipeline, paths: list[Path]) -> tuple[list[list[str]], dict]:
    """The original design's flow (module docstring); returns categories per photo."""
    m, s, timer = pipeline.models, pipeline.settings, pipeline.timer
    categories = []
    for path in paths:
        with timer("quality"):
            check_quality(_imread_rgb(path), pipeline.thresholds)
        with timer("detect"):
            detections = m.detector.predict(
                [_imread_rgb(path)], conf=s.conf, iou=s.iou, agnostic=s.agnostic_nms
            )[0]
        detections = [d for d in detections if _side(d.box) >= s.min_box_side]
        kept = detections[: s.max_garments] or [None]
        found = []
        for det in kept:
            with timer("decode"):
                rgb = _imread_rgb(path)  # crop_detection reads the file again
            h, w = rgb.shape[:2]
            box = (0, 0, w, h) if det is None else det.box
            crop = g.cut(rgb, g.crop_box(box, w, h, 0.0 if det is None else s.box_padding))
            with timer("classify"):
                logits = m.run("classifier", [crop])[0][0]  # (lengths, if any, unused here)
            with timer("tag"):
                m.run("tagger", [crop])
            probs = torch.from_numpy(logits).softmax(-1).numpy()
            found.append(g.choose_category(probs, det and det.name).category)
            tight = g.cut(rgb, g.crop_box(box, w, h, 0.0 if det is None else s.box_padding, False))
            with timer("colour"):
                g.colours(tight, s.colour_clusters, s.colour_min_share, s.colour_foreground)
        with timer("embed"):
            m.embed_crops([_imread_rgb(path)], batch_size=1)  # CLIP on the whole photo
        categories.append(found)
    return categories, dict(timer.seconds)


def batched(pipeline: IngestionPipeline, paths: list[Path], batch: int):
    categories = []
    for start in range(0, len(paths), batch):
        for result in pipeline.analyse(paths[start : start + batch]):
            categories.append([gr.garment.category for gr in result.garments])
    return categories, dict(pipeline.timer.seconds)


def run(args) -> None:
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_photos(args.photos, args.side, Path(tmp))
        rows = []
        pipelines = {
            b: IngestionPipeline.from_artifacts(
                args.artifacts, settings=IngestSettings(backend=b, conf=args.conf)
            )
            for b in args.backends
        }
        base = pipelines.get("torch") or next(iter(pipelines.values()))
        batched(base, paths[:2], 2)  # warm-up (first calls allocate)
        base.timer.reset()
        start = time.perf_counter()
        reference, stages = baseline(base, paths)
        rows.append(("baseline (per image)", "torch", 1, time.perf_counter() - start, stages))
        reference_cats = reference
        mismatches = {}
        for backend, pipeline in pipelines.items():
            batched(pipeline, paths[:2], 2)
            for batch in args.batches:
                pipeline.settings = IngestSettings(
                    backend=backend, conf=args.conf, batch_size=batch
                )
                pipeline.timer.reset()
                start = time.perf_counter()
                cats, stages = batched(pipeline, paths, batch)
                rows.append(("pipeline", backend, batch, time.perf_counter() - start, stages))
                pairs = zip(cats, reference_cats, strict=True)
                mismatches[(backend, batch)] = sum(a != b for a, b in pairs)
            if pipeline.models.trunk_groups:
                _separate(pipeline, backend, paths, args, rows, mismatches, reference_cats)
        if args.side >= 2 * IngestSettings().work_side:  # big photos: the reduced decode's gain
            backend, batch = list(pipelines)[-1], max(args.batches)
            pipeline = pipelines[backend]
            pipeline.settings = IngestSettings(backend=backend, conf=args.conf, batch_size=batch)
            pipeline._decode = full_decode(pipeline)  # as before: every pixel, then shrunk
            pipeline.timer.reset()
            start = time.perf_counter()
            cats, stages = batched(pipeline, paths, batch)
            name = "pipeline, full decode"
            rows.append((name, backend, batch, time.perf_counter() - start, stages))
            pairs = zip(cats, reference_cats, strict=True)
            mismatches[(name, backend, batch)] = sum(a != b for a, b in pairs)
        _print(rows, len(paths), sum(len(c) for c in reference_cats), mismatches, args)


def full_decode(pipeline: IngestionPipeline):
    """The pipeline's decode without the reduced JPEG scale (what it did before)."""
    s = pipeline.settings
    return lambda raw: decode_image(raw, s.max_pixels, s.max_bytes)


def _separate(shared, backend, paths, args, rows, mismatches, reference) -> None:
    """The same pipeline at the largest batch with each crop model run whole."""
    batch = max(args.batches)
    settings = IngestSettings(backend=backend, conf=args.conf, batch_size=batch)
    models = IngestionModels.load(args.artifacts, backend, share_trunks=False)
    pipeline = IngestionPipeline(models, settings=settings)
    batched(pipeline, paths[:2], 2)
    pipeline.timer.reset()
    start = time.perf_counter()
    cats, stages = batched(pipeline, paths, batch)
    name = "pipeline, separate passes"
    rows.append((name, backend, batch, time.perf_counter() - start, stages))
    mismatches[(name, backend, batch)] = sum(a != b for a, b in zip(cats, reference, strict=True))


def _print(rows, n_photos, n_garments, mismatches, args) -> None:
    stages = [
        "read",
        "decode",
        "quality",
        "detect",
        "prepare",
        "trunk",
        "classify",
        "tag",
        "embed",
        "colour",
    ]
    base_rate = n_photos / rows[0][3]
    print(
        f"\n{n_photos} photos ({args.side} px long side, JPEG q90), {n_garments} garments, "
        f"{args.threads} torch threads, detector conf {args.conf}\n"
    )
    head = "| flow | backend | batch | photos/s | speed-up | same categories | "
    print(head + " | ".join(f"{s} s" for s in stages) + " |")
    print("|" + "---|" * (6 + len(stages)))
    for name, backend, batch, seconds, st in rows:
        rate = n_photos / seconds
        key = (backend, batch) if name == "pipeline" else (name, backend, batch)
        same = "-" if name.startswith("baseline") else f"{n_photos - mismatches[key]}/{n_photos}"
        cells = " | ".join(f"{st.get(s, 0.0):.2f}" for s in stages)
        speed = f"{rate / base_rate:.2f}x"
        print(f"| {name} | {backend} | {batch} | {rate:.2f} | {speed} | {same} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default=str(ROOT / "model_artifacts"))
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--sides", type=int, nargs="+", default=[1024, 4032])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx"])
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    for side in args.sides:  # ~1 MP uploads, and 12 MP phone photos (4032 x 3024)
        args.side = side
        run(args)


if __name__ == "__main__":
    main()
