"""Garment thumbnails: the box of the upright photo, square, small, whatever the upload was."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from wardrobe.ingestion.crops import garment_thumbnail
from wardrobe.ingestion.decode import decode_image


def encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def red_square_photo(size=(2400, 1600)) -> Image.Image:
    """Grey photo with a red garment at x 600..1000, y 400..800 (of the upright image)."""
    img = Image.new("RGB", size, (128, 128, 128))
    img.paste((220, 20, 40), (600, 400, 1000, 800))
    return img


def centre(jpeg: bytes) -> tuple[int, ...]:
    thumb = Image.open(io.BytesIO(jpeg))
    return thumb.size, tuple(int(v) for v in np.asarray(thumb)[thumb.height // 2, thumb.width // 2])


def test_a_large_jpeg_gives_a_small_square_thumbnail_of_the_box():
    data = encoded(red_square_photo(), "JPEG", quality=92)
    size, (r, g, _) = centre(garment_thumbnail(data, (600.0, 400.0, 1000.0, 800.0)))
    assert size == (384, 384) and r > 180 and g < 80  # the red garment, square
    fast = np.asarray(Image.open(io.BytesIO(garment_thumbnail(data, (600, 400, 1000, 800)))))
    full = np.asarray(
        Image.open(io.BytesIO(garment_thumbnail(decode_image(data), (600, 400, 1000, 800))))
    )
    assert np.abs(fast.astype(int) - full.astype(int)).mean() < 6  # reduced decode, same picture


def test_exif_orientation_is_applied_before_the_box():
    upright = red_square_photo((1600, 2400))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    data = encoded(stored, "JPEG", exif=exif.tobytes())
    assert decode_image(data).width == 1600  # the box is in these upright pixels
    _, (r, g, _) = centre(garment_thumbnail(data, (600.0, 400.0, 1000.0, 800.0)))
    assert r > 180 and g < 80


def test_a_transparent_png_is_flattened_on_white():
    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    _, (r, g, b) = centre(garment_thumbnail(encoded(img, "PNG"), None))
    assert min(r, g, b) > 240
