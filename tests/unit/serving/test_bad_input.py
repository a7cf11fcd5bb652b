"""Every client mistake is a 4xx with a clear message, and the next good request still works."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from tests.helpers.serving_fakes import photo


def huge_png_header(side: int = 20_000) -> bytes:
    """A PNG that claims side x side pixels (a decompression bomb, refused from its header)."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
    head += struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 1024)
    body = b"IDAT" + idat
    return head + struct.pack(">I", len(idat)) + body + struct.pack(">I", zlib.crc32(body))


def one_pixel() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def multipart(data: bytes, user: str = "alice"):
    return {"data": {"user_id": user}, "files": {"image": ("x.jpg", data, "image/jpeg")}}


BAD_REQUESTS = {
    "non-image bytes": (("post", "/v1/garments"), multipart(b"hello, I am text" * 10), 415),
    "empty upload": (("post", "/v1/garments"), multipart(b""), 400),
    "empty body": (("post", "/v1/garments"), {"content": b""}, 400),
    "truncated jpeg": (("post", "/v1/garments"), multipart(photo(0, size=256)[:600]), 422),
    "1x1 image": (("post", "/v1/garments"), multipart(one_pixel()), 422),
    "20000x20000 image": (("post", "/v1/garments"), multipart(huge_png_header()), 413),
    "huge upload": (("post", "/v1/garments"), multipart(b"\xff" * 300_000), 413),
    "huge body (no length)": (
        ("post", "/v1/garments"),
        {
            "content": iter([b"x" * 100_000] * 5),
            "headers": {"Content-Type": "application/json"},
        },
        413,
    ),
    "wrong content type": (
        ("post", "/v1/garments"),
        {"content": photo(0), "headers": {"Content-Type": "text/plain"}},
        415,
    ),
    "malformed json": (
        ("post", "/v1/garments"),
        {
            "content": b'{"user_id": "alice", "image_base64": ',
            "headers": {"Content-Type": "application/json"},
        },
        422,
    ),
    "bad base64": (
        ("post", "/v1/garments"),
        {"json": {"user_id": "alice", "image_base64": "***not base64***"}},
        422,
    ),
    "unknown json field": (
        ("post", "/v1/garments"),
        {"json": {"user_id": "alice", "image_b64": base64.b64encode(photo()).decode()}},
        422,
    ),
    "missing user id": (
        ("post", "/v1/garments"),
        {"files": {"image": ("x.jpg", photo(), "image/jpeg")}},
        422,
    ),
    "invalid user id": (("get", "/v1/garments"), {"params": {"user_id": "../etc/passwd"}}, 422),
    "unknown user": (("get", "/v1/garments"), {"params": {"user_id": "nobody"}}, 404),
    "unknown garment": (("get", "/v1/garments/nope-00"), {"params": {"user_id": "alice"}}, 404),
    "delete unknown garment": (
        ("delete", "/v1/garments/nope-00"),
        {"params": {"user_id": "alice"}},
        404,
    ),
    "absurd page size": (
        ("get", "/v1/garments"),
        {"params": {"user_id": "alice", "limit": 10**6}},
        422,
    ),
    "negative offset": (
        ("get", "/v1/garments"),
        {"params": {"user_id": "alice", "offset": -1}},
        422,
    ),
    "absurd k": (("post", "/v1/recommend"), {"json": {"user_id": "alice", "k": 10**6}}, 422),
    "recommend unknown user": (("post", "/v1/recommend"), {"json": {"user_id": "nobody"}}, 404),
    "recommend malformed json": (
        ("post", "/v1/recommend"),
        {"content": b"{nope", "headers": {"Content-Type": "application/json"}},
        422,
    ),
    "text too long": (
        ("post", "/v1/recommend"),
        {"json": {"user_id": "alice", "text": "x" * 5000}},
        422,
    ),
    "unknown signal": (
        ("post", "/v1/feedback"),
        {"json": {"user_id": "alice", "signal": "love", "outfit_id": "o1"}},
        422,
    ),
    "feedback without target": (
        ("post", "/v1/feedback"),
        {"json": {"user_id": "alice", "signal": "like"}},
        422,
    ),
    "feedback unknown outfit": (
        ("post", "/v1/feedback"),
        {"json": {"user_id": "alice", "signal": "like", "outfit_id": "o-unknown"}},
        404,
    ),
    "feedback unknown garment": (
        ("post", "/v1/feedback"),
        {"json": {"user_id": "alice", "signal": "wear", "garment_ids": ["g-unknown"]}},
        404,
    ),
    "search text and image": (
        ("post", "/v1/search"),
        {"json": {"user_id": "alice", "text": "shirt", "image_base64": "aGk="}},
        422,
    ),
    "search absurd n": (
        ("post", "/v1/search"),
        {"json": {"user_id": "alice", "text": "shirt", "n": 10**6}},
        422,
    ),
    "search blank text": (
        ("post", "/v1/search"),
        {"json": {"user_id": "alice", "text": "   "}},
        422,
    ),
    "search non-image": (
        ("post", "/v1/search"),
        {"data": {"user_id": "alice"}, "files": {"image": ("q.jpg", b"GIF? no", "image/jpeg")}},
        415,
    ),
    "wrong method": (("put", "/v1/garments"), {}, 405),
    "unknown route": (("get", "/v2/garments"), {}, 404),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_request_is_4xx_then_a_good_request_works(client, name):
    assert client.post("/v1/garments", **multipart(photo(0))).status_code == 200  # alice exists
    (method, path), kwargs, status = BAD_REQUESTS[name]
    r = getattr(client, method)(path, **kwargs) if method != "post" else client.post(path, **kwargs)
    assert r.status_code == status, f"{name}: {r.status_code} {r.text}"
    error = r.json()["error"]
    assert error["code"] and len(error["message"]) > 8, r.text
    good = client.post("/v1/garments", **multipart(photo(255)))
    assert good.status_code == 200, good.text
