"""Benchmark photos: held-out SynthWardrobe scenes upscaled like phone uploads (JPEG q90), and
distinct smooth-noise JPEGs for bursts of writes (also the end-to-end tests' photos)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]


def heldout_photos(n: int, side: int, scratch: Path) -> list[bytes]:
    """``n`` distinct held-out scenes as JPEG q90 bytes, ``side`` px on the long side
    (scenes are generated into ``scratch`` when ``data/synthwardrobe_heldout`` lacks them)."""
    heldout = ROOT / "data" / "synthwardrobe_heldout" / "deepfashion2"
    images = sorted(heldout.glob("*/image/*.jpg"))
    if len(images) < n:
        from wardrobe.data.synthetic import generate

        generate(root=str(scratch / "scenes"), seed=1, scenes=n, crops_per_class=1, outfits=10)
        images = sorted((scratch / "scenes" / "deepfashion2").glob("*/image/*.jpg"))
    photos = []
    for src in images[:n]:
        img = cv2.imread(str(src))
        scale = side / max(img.shape[:2])
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        photos.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return photos


def noise_photo(seed: int, size: tuple[int, int] = (256, 320)) -> bytes:
    """A distinct valid JPEG per seed (smooth colour noise, JPEG q90), ``size`` = (height,
    width): cheap to make, so a write burst or a 12 MP upload needs no data set."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(8, 10, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize((size[1], size[0]), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()
