"""What keeping the images costs an ingest: the uploaded photo and its garments' thumbnails.

    python benchmarks/images.py [--photos 8] [--sides 640 1024 4032] [--garments 2]

For each photo size (JPEG q90 of smooth noise, 4:3), per photo:

* **baseline** - the thumbnails cut from a full decode (``decode_image``, as ingestion decodes),
  nothing written;
* **reduced** - the thumbnails from a reduced JPEG decode (what the service uses), nothing
  written;
* **kept** - what the service does per upload: the photo written durably (temp file, fsync,
  rename, folder fsync), then each reduced-decode thumbnail written the same way.

Prints ms per photo and the ratio of **kept** to the baseline. The fsyncs depend on the disk
(the files go to a folder under the default temp location).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tempfile
import time
from functools import partial

import numpy as np
from PIL import Image

from wardrobe.ingestion.crops import garment_thumbnail, garment_thumbnails
from wardrobe.ingestion.decode import decode_image
from wardrobe.store.images import ImageStore


def photo(side: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((side, side * 3 // 4), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def boxes(side: int, n: int) -> list[tuple[float, float, float, float]]:
    """``n`` garment boxes, each about a third of the photo."""
    h = side * 3 // 4
    return [
        (side * (0.1 + 0.3 * i % 0.6), h * 0.2, side * (0.45 + 0.3 * i % 0.5), h * 0.9)
        for i in range(n)
    ]


def full_decode(garment_boxes, index: int, data: bytes) -> None:
    decoded = decode_image(data)
    for box in garment_boxes:
        garment_thumbnail(decoded, box)


def reduced_decode(garment_boxes, index: int, data: bytes) -> None:
    garment_thumbnails(data, garment_boxes)


def kept(store: ImageStore, garment_boxes, index: int, data: bytes) -> None:
    store.put_photo("bench", hashlib.sha256(data).hexdigest(), data)
    for j, crop in enumerate(garment_thumbnails(data, garment_boxes)):
        store.put_crop("bench", f"p{index}-{j:02d}", crop)


def ms_per_photo(fn, photos) -> float:
    start = time.perf_counter()
    for i, data in enumerate(photos):
        fn(i, data)
    return (time.perf_counter() - start) / len(photos) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--sides", type=int, nargs="+", default=[640, 1024, 4032])
    parser.add_argument("--garments", type=int, default=2)
    args = parser.parse_args()
    print("| long side px | MB/photo | baseline ms | reduced ms | kept ms | kept / baseline |")
    print("|---|---|---|---|---|---|")
    for side in args.sides:
        photos = [photo(side, seed) for seed in range(args.photos)]
        garment_boxes = boxes(side, args.garments)
        base = ms_per_photo(partial(full_decode, garment_boxes), photos)
        reduced = ms_per_photo(partial(reduced_decode, garment_boxes), photos)
        with tempfile.TemporaryDirectory() as root:
            keep = ms_per_photo(partial(kept, ImageStore(root), garment_boxes), photos)
        mb = sum(len(p) for p in photos) / len(photos) / 1e6
        print(
            f"| {side} | {mb:.2f} | {base:.1f} | {reduced:.1f} | {keep:.1f} | {keep / base:.2f} |"
        )


if __name__ == "__main__":
    main()
