"""decode_image: every kind of upload -> upright RGB, or a typed, user-facing error."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from wardrobe.ingestion.decode import DecodedImage, ImageDecodeError, decode_image

RED, BLUE = (255, 0, 0), (0, 0, 255)


def encode(image: Image.Image | np.ndarray, fmt: str, **kwargs) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def red_over_blue(h: int = 64, w: int = 96) -> np.ndarray:
    """Top half red, bottom half blue: orientation and channel order are both visible."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[: h // 2] = RED
    arr[h // 2 :] = BLUE
    return arr


def assert_red_over_blue(rgb: np.ndarray, tol: int = 40) -> None:
    h = rgb.shape[0]
    top, bottom = rgb[h // 8], rgb[-h // 8]
    assert np.abs(top.astype(int) - RED).max() <= tol, top[:2]
    assert np.abs(bottom.astype(int) - BLUE).max() <= tol, bottom[:2]


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature + IHDR claiming ``width x height`` and a tiny IDAT; no pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def expect_error(data, code: str, **kwargs) -> ImageDecodeError:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data, **kwargs)
    err = info.value
    assert err.code == code, repr(err)
    assert isinstance(err, ValueError)
    text = str(err)
    assert text and text[0].isupper() and "PIL" not in text and "cv2" not in text
    return err


# ---- good inputs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("WEBP", {"quality": 95}),
        ("WEBP", {"lossless": True}),
    ],
)
def test_formats_decode_to_rgb_in_rgb_order(fmt, kwargs):
    out = decode_image(encode(red_over_blue(), fmt, **kwargs))
    assert isinstance(out, DecodedImage)
    assert out.rgb.dtype == np.uint8 and out.rgb.shape == (64, 96, 3)
    assert (out.width, out.height, out.format) == (96, 64, fmt)
    assert out.source == "<bytes>" and out.rgb.flags.c_contiguous
    assert_red_over_blue(out.rgb)  # red is red: no BGR swap


def test_plain_jpeg_takes_the_fast_opencv_path_and_matches_pillow():
    data = encode(red_over_blue(), "JPEG", quality=90)
    out = decode_image(data)
    assert out.decoder == "cv2"
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.abs(out.rgb.astype(int) - reference).max() <= 2


def test_path_input(tmp_path: Path):
    path = tmp_path / "photo.png"
    path.write_bytes(encode(red_over_blue(), "PNG"))
    for source in (path, str(path)):
        out = decode_image(source)
        assert out.source == str(path)
        assert_red_over_blue(out.rgb, tol=0)


def test_greyscale_jpeg_becomes_three_equal_channels():
    grey = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (32, 1))
    out = decode_image(encode(grey, "JPEG", quality=95))
    assert out.rgb.shape == (32, 64, 3) and out.mode == "L"
    assert np.array_equal(out.rgb[..., 0], out.rgb[..., 2])


def test_cmyk_jpeg_comes_out_as_rgb():
    data = encode(Image.fromarray(red_over_blue()).convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = decode_image(data)
    assert out.mode == "CMYK" and out.decoder == "pil"
    assert_red_over_blue(out.rgb)


def test_16_bit_greyscale_png_is_scaled_not_clipped():
    values = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16).repeat(4, axis=0)
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = decode_image(data)
    assert out.rgb[0, :, 0].tolist() == [0, 64, 128, 255]


def test_16_bit_rgb_png_keeps_red_red():
    rgb16 = red_over_blue().astype(np.uint16) * 257
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert ok
    out = decode_image(buf.tobytes())
    assert_red_over_blue(out.rgb, tol=0)


def test_rgba_png_is_flattened_onto_white():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = RED
    rgba[:, :4, 3] = 255  # left half opaque red
    rgba[:, 4:6, 3] = 128  # half transparent red
    rgba[:, 6:, 3] = 0  # fully transparent
    out = decode_image(encode(rgba, "PNG"))
    assert out.had_alpha and out.decoder == "pil"
    assert out.rgb[0, 0].tolist() == [255, 0, 0]
    assert out.rgb[0, 5].tolist() == [255, 127, 127]
    assert out.rgb[0, 7].tolist() == [255, 255, 255]


def test_la_and_palette_transparency_are_flattened_onto_white():
    la = Image.fromarray(np.dstack([np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)]), "LA")
    assert decode_image(encode(la, "PNG")).rgb.min() == 255
    pal = Image.fromarray(red_over_blue(8, 8)).convert("P")
    blue_index = pal.getpixel((0, 7))
    out = decode_image(encode(pal, "PNG", transparency=blue_index))
    assert out.had_alpha
    assert out.rgb[0, 0].tolist() == [255, 0, 0] and out.rgb[7, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    arr = np.random.default_rng(orientation).integers(0, 255, (24, 40, 3), dtype=np.uint8)
    data = encode(arr, "PNG", exif=exif.tobytes())
    out = decode_image(data)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert out.orientation == orientation
    assert np.array_equal(out.rgb, expected)


def test_exif_rotated_jpeg_comes_out_upright():
    upright = red_over_blue(64, 96)
    stored = np.rot90(upright, 1)  # a phone held sideways stores the pixels turned 90 deg CCW
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = decode_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert out.rgb.shape == (64, 96, 3) and (out.width, out.height) == (96, 64)
    assert_red_over_blue(out.rgb)


# ---- bad inputs ---------------------------------------------------------------------------------
def test_text_bytes_are_not_an_image():
    expect_error(b"name,colour\nshirt,red\n" * 20, "not_an_image")


def test_empty_bytes():
    expect_error(b"", "empty")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files(fmt):
    arr = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    data = encode(arr, fmt)
    expect_error(data[: len(data) * 6 // 10], "truncated")


def test_jpeg_without_end_marker_is_truncated_not_a_grey_half_image():
    data = encode(np.full((64, 64, 3), 90, np.uint8), "JPEG")
    expect_error(data[:-2], "truncated")


def test_other_formats_are_unsupported():
    err = expect_error(encode(red_over_blue(), "GIF"), "unsupported_format")
    assert "GIF" in str(err)
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    assert "HEIC" in str(expect_error(heic, "unsupported_format"))


def test_multi_picture_jpeg_decodes_its_first_picture():
    first, second = Image.fromarray(red_over_blue()), Image.new("RGB", (96, 64), (0, 255, 0))
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    out = decode_image(data)
    assert out.format == "JPEG"
    assert_red_over_blue(out.rgb)


def test_header_claiming_20000x20000_is_refused_without_allocating():
    data = png_header_only(20_000, 20_000)
    assert len(data) < 200
    tracemalloc.start()
    expect_error(data, "too_many_pixels")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1_000_000  # the pixels would be 1.2 GB


def test_our_pixel_limit_is_checked_from_the_header_with_the_size_in_the_message():
    err = expect_error(png_header_only(9_000, 9_000), "too_many_pixels")
    assert "9000x9000" in str(err)
    expect_error(encode(red_over_blue(), "PNG"), "too_many_pixels", max_pixels=1000)


def test_byte_limit(tmp_path: Path):
    data = encode(red_over_blue(), "PNG")
    expect_error(data, "too_large", max_bytes=len(data) - 1)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    expect_error(path, "too_large", max_bytes=100)


def test_missing_file_and_directory(tmp_path: Path):
    expect_error(tmp_path / "nope.jpg", "not_found")
    expect_error(tmp_path, "unreadable")


def test_corrupted_files_raise_only_typed_errors():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
    originals = [encode(arr, "JPEG"), encode(arr, "PNG"), encode(arr, "WEBP")]
    for i in range(60):
        data = bytearray(originals[i % 3])
        for pos in rng.integers(0, len(data), size=8):
            data[pos] = int(rng.integers(256))
        try:
            out = decode_image(bytes(data))
        except ImageDecodeError as err:
            assert err.code in {"not_an_image", "truncated", "corrupt", "too_many_pixels"}
        else:
            assert out.rgb.dtype == np.uint8 and out.rgb.ndim == 3


# ---- real photos shipped in packages ------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "size"), [("bus", (810, 1080)), ("zidane", (1280, 720)), ("grace_hopper", (512, 600))]
)
def test_real_photos_decode(package_photo, name, size):
    out = decode_image(package_photo(name))
    assert (out.width, out.height) == size and out.format == "JPEG"
    assert out.rgb.shape == (size[1], size[0], 3) and out.rgb.std() > 20


# ---- reduced decoding of big photos (libjpeg DCT scaling) -------------------------------------
WORK = (1280, 512)  # what the pipeline asks for: its working copy's long side, the quality floor


def phone_photo(width: int = 4032, height: int = 3024, seed: int = 0) -> np.ndarray:
    """A 12 MP-like scene: smooth colour regions with edges and fine texture on top."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    arr = cv2.resize(base, (width, height), interpolation=cv2.INTER_NEAREST)
    arr = cv2.GaussianBlur(arr, (0, 0), 6)
    texture = rng.normal(0, 12, (height // 4, width // 4, 1))
    texture = cv2.resize(texture, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    return np.clip(arr + texture, 0, 255).astype(np.uint8)


def test_a_12_mp_jpeg_decodes_at_half_size_and_matches_a_full_decode_shrunk():
    from wardrobe.ingestion.pipeline import working_copy

    data = encode(phone_photo(), "JPEG", quality=90)
    full = decode_image(data)
    reduced = decode_image(data, min_size=WORK)
    assert (reduced.reduction, reduced.decoder) == (2, "cv2")
    assert reduced.rgb.shape == (1512, 2016, 3) and reduced.scale == 0.5
    assert (reduced.width, reduced.height) == (full.width, full.height) == (4032, 3024)
    # what every stage then works on: the 1280 px working copy, from either decode
    a, b = working_copy(full.rgb, 1280), working_copy(reduced.rgb, 1280)
    assert a.shape == b.shape == (960, 1280, 3)
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.mean() < 1.0 and np.percentile(diff, 99.9) <= 8, (diff.mean(), diff.max())


def test_reduction_never_goes_below_what_the_caller_needs():
    data = encode(phone_photo(2400, 1800), "JPEG", quality=85)  # < 2x of 1280: full size
    assert decode_image(data, min_size=WORK).reduction == 1
    big = encode(phone_photo(6000, 1100), "JPEG", quality=85)  # panorama: the short side decides
    out = decode_image(big, min_size=WORK)
    assert out.reduction == 2 and min(out.rgb.shape[:2]) >= 512 and max(out.rgb.shape[:2]) >= 1280
    assert decode_image(big, min_size=(700, 130)).reduction == 8
    assert decode_image(encode(phone_photo(), "PNG"), min_size=WORK).reduction == 1  # JPEG only


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_reduced_decode_keeps_the_exif_orientation(orientation):
    arr = red_over_blue(3000, 4000)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(arr, "JPEG", quality=90, exif=exif.tobytes())
    out = decode_image(data, min_size=WORK)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert out.reduction == 2 and out.orientation == orientation
    assert (out.height, out.width) == expected.shape[:2]  # upright, as uploaded
    assert out.rgb.shape[:2] == (expected.shape[0] // 2, expected.shape[1] // 2)
    shrunk = cv2.resize(expected, out.rgb.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(int) - out.rgb.astype(int)).mean() < 2.0


def test_reduced_decode_of_a_cmyk_jpeg_goes_through_pillow_draft():
    rgb = phone_photo(3200, 2400)
    data = encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=92)
    full = decode_image(data)
    out = decode_image(data, min_size=WORK)
    assert (out.decoder, out.reduction, out.rgb.shape) == ("pil", 2, (1200, 1600, 3))
    shrunk = cv2.resize(full.rgb, (1600, 1200), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(int) - out.rgb.astype(int)).mean() < 2.0
