"""Garment thumbnails for people to look at: the garment's box cut from its photo as a JPEG.

The models' crops (:mod:`.garments`) are arrays sized for a network; these are what the web page
shows in the wardrobe grid, so they keep the garment's framing (square, a little margin) at a
size a screen needs, and re-encode as JPEG whatever the upload's format was.

A thumbnail never needs the photo's full resolution, so a JPEG is decoded at a reduced scale
(libjpeg's DCT scaling, ``Image.draft``) that still leaves the crop at least ``side`` pixels:
a 12 MP photo costs a fraction of a full decode.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

from wardrobe.ingestion.decode import DecodedImage, decode_image
from wardrobe.ingestion.garments import crop_box, cut

THUMBNAIL_SIDE = 384  # px: sharp in a grid cell on a phone with a 2x screen
THUMBNAIL_PADDING = 0.06  # fraction of the box side added each way, as the classifier crops
JPEG_QUALITY = 88
_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def garment_thumbnail(
    photo: bytes | DecodedImage,
    box: tuple[float, float, float, float] | None,
    side: int = THUMBNAIL_SIDE,
) -> bytes:
    """A JPEG of the garment in ``box`` (pixels of the upright photo; None: the whole photo),
    square with a small margin, at most ``side`` pixels on each side."""
    return garment_thumbnails(photo, [box], side)[0]


def garment_thumbnails(
    photo: bytes | DecodedImage,
    boxes: Sequence[tuple[float, float, float, float] | None],
    side: int = THUMBNAIL_SIDE,
) -> list[bytes]:
    """:func:`garment_thumbnail` of each box, decoding the photo once (at the scale the
    smallest box needs)."""
    if isinstance(photo, DecodedImage):
        rgb, scale = photo.rgb, photo.scale
        width, height = photo.width, photo.height
    else:
        rgb, scale, (width, height) = _decode_for(photo, boxes, side)
    return [
        _thumbnail(rgb, scale, box or (0.0, 0.0, float(width), float(height)), side)
        for box in boxes
    ]


def _thumbnail(rgb: np.ndarray, scale: float, box, side: int) -> bytes:
    x1, y1, x2, y2 = box
    scaled = (x1 * scale, y1 * scale, x2 * scale, y2 * scale)
    region = crop_box(scaled, rgb.shape[1], rgb.shape[0], THUMBNAIL_PADDING)
    pixels = Image.fromarray(np.ascontiguousarray(cut(rgb, region)))
    pixels.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _decode_for(
    data: bytes, boxes: Sequence[tuple[float, float, float, float] | None], side: int
) -> tuple[np.ndarray, float, tuple[int, int]]:
    """(upright RGB at a reduced scale, that scale, the upright full size)."""
    img = Image.open(io.BytesIO(data))
    orientation = img.getexif().get(0x0112, 1)
    full = img.size[::-1] if orientation in _TRANSPOSED else img.size
    smallest = min(max(full) if b is None else max(b[2] - b[0], b[3] - b[1]) for b in boxes)
    wanted = min(1.0, side / max(smallest * (1 + 2 * THUMBNAIL_PADDING), 1.0))
    if wanted > 0.5:  # libjpeg scales by 1/2, 1/4, 1/8: no gain, and OpenCV decodes faster
        decoded = decode_image(data)
        return decoded.rgb, 1.0, (decoded.width, decoded.height)
    img.draft("RGB", (max(1, int(img.width * wanted)), max(1, int(img.height * wanted))))
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        backdrop = Image.new("RGB", img.size, (255, 255, 255))  # as decode_image flattens
        backdrop.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        img = backdrop
    rgb = np.asarray(img.convert("RGB"))
    return rgb, rgb.shape[1] / full[0], full
