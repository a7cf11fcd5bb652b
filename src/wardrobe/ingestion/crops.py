"""Garment thumbnails for people to look at: the garment's box cut from its photo as a JPEG.

The models' crops (:mod:`.garments`) are arrays sized for a network; these are what the web page
shows in the wardrobe grid, so they keep the garment's framing (square, a little margin) at a
size a screen needs, and re-encode as JPEG whatever the upload's format was.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from wardrobe.ingestion.decode import DecodedImage, decode_image
from wardrobe.ingestion.garments import crop_box, cut

THUMBNAIL_SIDE = 384  # px: sharp in a grid cell on a phone with a 2x screen
THUMBNAIL_PADDING = 0.06  # fraction of the box side added each way, as the classifier crops
JPEG_QUALITY = 88


def garment_thumbnail(
    photo: bytes | DecodedImage,
    box: tuple[float, float, float, float] | None,
    side: int = THUMBNAIL_SIDE,
) -> bytes:
    """A JPEG of the garment in ``box`` (pixels of the upright photo; None: the whole photo),
    square with a small margin, at most ``side`` pixels on each side."""
    image = photo if isinstance(photo, DecodedImage) else decode_image(photo)
    w, h = image.width, image.height
    region = crop_box(box or (0.0, 0.0, float(w), float(h)), w, h, THUMBNAIL_PADDING)
    pixels = Image.fromarray(np.ascontiguousarray(cut(image.rgb, region)))
    pixels.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
