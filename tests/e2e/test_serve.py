"""``python serve.py`` end to end on a real port: the real pipeline, stores and (tiny) bundles."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import struct
import zlib

import pytest
from PIL import Image

from tests.helpers.serve_harness import ALICE, BOB, MAX_UPLOAD, ServeProcess, keys_override
from wardrobe.artifacts import list_bundles, read_meta

pytestmark = pytest.mark.slow


def upload(path_or_bytes, name="photo.jpg", mime="image/jpeg"):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return {"image": (name, data, mime)}


def ranking(outfits) -> list[tuple[str, ...]]:
    return [tuple(sorted(o["garment_ids"])) for o in outfits]


# ------------------------------------------------------------------------------ the story
@pytest.mark.timeout(900)
def test_ingest_search_recommend_feedback_delete_restart(tiny_bundles, scene_photos, tmp_path):
    server = ServeProcess(tmp_path / "root", tiny_bundles, [keys_override()])
    try:
        server.start()
        server.wait_ready()
        with server.client(headers=ALICE) as http:
            info = http.get("/info").json()
            expected = {
                name: read_meta(p)["weights_sha256"][:12]
                for name, p in list_bundles(tiny_bundles).items()
            }
            for name, version in info["model_versions"].items():
                assert expected[name] == version
            assert info["embedding_dim"] > 0 and info["auth"] is True

            # three photos, then more until the wardrobe makes outfits: the tiny models give
            # arbitrary (but deterministic) categories, and an outfit needs shoes
            ingested = []
            for i, photo in enumerate(scene_photos):
                if i >= 3 and len(http.post("/v1/recommend", json={"k": 5}).json()["outfits"]) >= 2:
                    break
                r = http.post("/v1/garments", files=upload(photo))
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["garments"], body
                assert body["image_sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
                for g in body["garments"]:
                    assert g["user_id"] == "alice" and g["category"] and g["slot"]
                    assert len(g["box"]) == 4 and g["attributes"]["colours"]
                ingested.append(body)
            ids = [g["id"] for b in ingested for g in b["garments"]]
            page = http.get("/v1/garments", params={"limit": 100}).json()
            assert page["total"] == len(ids) and {g["id"] for g in page["items"]} == set(ids)

            # search: by text, and by one of the photos (its own garment comes first)
            hits = http.post("/v1/search", json={"text": "a casual blue shirt", "n": 5}).json()[
                "hits"
            ]
            assert hits and {h["garment"]["id"] for h in hits} <= set(ids)
            r = http.post("/v1/search", files=upload(scene_photos[0]), data={"n": "3"})
            assert r.status_code == 200, r.text
            top = r.json()["hits"][0]["garment"]
            assert top["image_sha256"] == ingested[0]["image_sha256"]

            # recommend, then feedback moves the ranking
            first = http.post("/v1/recommend", json={"k": 5})
            assert first.status_code == 200, first.text
            outfits = first.json()["outfits"]
            assert outfits, first.json()
            for o in outfits:
                assert set(o["garment_ids"]) <= set(ids)
                assert o["breakdown"] and o["explanation"] is not None
            before = ranking(outfits)
            # the same request ranks the same way: what moves it below is the feedback
            assert ranking(http.post("/v1/recommend", json={"k": 5}).json()["outfits"]) == before
            for _ in range(12):  # past any cold start of the personalisation
                r = http.post(
                    "/v1/feedback", json={"signal": "dislike", "outfit_id": outfits[0]["outfit_id"]}
                )
                assert r.status_code == 200, r.text
            after_outfits = http.post("/v1/recommend", json={"k": 5}).json()["outfits"]
            after = ranking(after_outfits)
            assert after != before or after_outfits[0]["score"] < outfits[0]["score"]

            # delete one garment
            gone = ids[-1]
            assert http.delete(f"/v1/garments/{gone}").status_code == 200
            assert http.get(f"/v1/garments/{gone}").status_code == 404
        assert server.stop() == 0

        # restart on the same stores: everything acknowledged is still there
        server.start()
        server.wait_ready()
        with server.client(headers=ALICE) as http:
            page = http.get("/v1/garments", params={"limit": 100}).json()
            assert {g["id"] for g in page["items"]} == set(ids) - {gone}
            assert http.get(f"/v1/garments/{gone}").status_code == 404
            hits = http.post("/v1/search", json={"text": "a casual blue shirt", "n": 50}).json()[
                "hits"
            ]
            assert {h["garment"]["id"] for h in hits} == set(ids) - {gone}
            again = http.post("/v1/recommend", json={"k": 5}).json()["outfits"]
            assert all(gone not in o["garment_ids"] for o in again)
    finally:
        server.stop()


# ------------------------------------------------------------------------------ bad input
def _png_claiming(side: int) -> bytes:
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    out = b"\x89PNG\r\n\x1a\n"
    for chunk in (ihdr, idat, b"IEND"):
        out += struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return out


def _tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.timeout(600)
def test_each_client_mistake_is_a_4xx_and_the_server_keeps_serving(keyed_server, scene_photos):
    good_photo = scene_photos[3].read_bytes()
    jpeg = scene_photos[4].read_bytes()
    cases = [
        (
            "non-image bytes",
            "post",
            "/v1/garments",
            {"files": upload(b"%PDF-1.7 not a photo" * 20)},
            415,
        ),
        ("empty upload", "post", "/v1/garments", {"files": upload(b"")}, 400),
        ("empty body", "post", "/v1/garments", {"content": b""}, 400),
        ("truncated jpeg", "post", "/v1/garments", {"files": upload(jpeg[: len(jpeg) // 2])}, 422),
        (
            "1x1 image",
            "post",
            "/v1/garments",
            {"files": upload(_tiny_png(), "p.png", "image/png")},
            422,
        ),
        (
            "20000x20000 image",
            "post",
            "/v1/garments",
            {"files": upload(_png_claiming(20_000), "b.png", "image/png")},
            413,
        ),
        (
            "huge upload",
            "post",
            "/v1/garments",
            {"files": upload(b"\xff\xd8" + b"\0" * MAX_UPLOAD)},
            413,
        ),
        (
            "wrong content type",
            "post",
            "/v1/garments",
            {"content": jpeg, "headers": {"Content-Type": "text/plain"}},
            415,
        ),
        (
            "malformed json",
            "post",
            "/v1/garments",
            {"content": b'{"image_base64": "abc', "headers": {"Content-Type": "application/json"}},
            422,
        ),
        ("unknown garment", "get", "/v1/garments/not-a-garment-00", {}, 404),
        ("delete unknown garment", "delete", "/v1/garments/not-a-garment-00", {}, 404),
        ("invalid garment id", "get", "/v1/garments/bad%20id!", {}, 422),
        ("absurd k", "post", "/v1/recommend", {"json": {"k": 10**6}}, 422),
        ("absurd page", "get", "/v1/garments", {"params": {"limit": 10**6}}, 422),
        (
            "unknown constraint",
            "post",
            "/v1/recommend",
            {"json": {"constraints": {"occasion": "moon landing"}}},
            422,
        ),
        (
            "unknown outfit",
            "post",
            "/v1/feedback",
            {"json": {"signal": "like", "outfit_id": "no-such-outfit"}},
            404,
        ),
        (
            "unknown signal",
            "post",
            "/v1/feedback",
            {"json": {"signal": "love", "outfit_id": "x"}},
            422,
        ),
        ("absurd n", "post", "/v1/search", {"json": {"text": "shirt", "n": 10**6}}, 422),
        ("search non-image", "post", "/v1/search", {"files": upload(b"definitely text")}, 415),
    ]
    with keyed_server.client(headers=ALICE) as http:
        assert http.post("/v1/garments", files=upload(good_photo)).status_code == 200
        for name, method, path, kwargs, status in cases:
            r = http.request(method.upper(), path, **kwargs)
            assert r.status_code == status, f"{name}: {r.status_code} {r.text[:500]}"
            message = r.json()["error"]["message"]
            assert len(message) > 10, (name, message)
            ok = http.post("/v1/garments", files=upload(good_photo))
            assert ok.status_code == 200, f"after {name}: {ok.status_code} {ok.text[:300]}"
        # a body declared far over the limit is refused from its headers, before it is sent
        assert declared_upload_status(keyed_server.port, 10**11) == 413
        assert http.post("/v1/garments", files=upload(good_photo)).status_code == 200


def declared_upload_status(port: int, length: int) -> int:
    """What a client that waits for ``100 Continue`` (curl does, for big uploads) gets back."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            (
                "POST /v1/garments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"X-API-Key: {ALICE['X-API-Key']}\r\n"
                "Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
            ).encode()
        )
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


@pytest.mark.timeout(600)
def test_users_are_isolated_and_keys_are_required(keyed_server, scene_photos):
    with keyed_server.client(headers=ALICE) as alice, keyed_server.client(headers=BOB) as bob:
        a = alice.post("/v1/garments", files=upload(scene_photos[5])).json()["garments"]
        b = bob.post("/v1/garments", files=upload(scene_photos[5])).json()["garments"]
        a_ids, b_ids = {g["id"] for g in a}, {g["id"] for g in b}
        assert a_ids and b_ids
        bob_all = {g["id"] for g in bob.get("/v1/garments", params={"limit": 100}).json()["items"]}
        alice_all = {
            g["id"] for g in alice.get("/v1/garments", params={"limit": 100}).json()["items"]
        }
        bob_garments = bob.get("/v1/garments", params={"limit": 100}).json()["items"]
        assert all(g["user_id"] == "bob" for g in bob_garments)
        gid = next(iter(a_ids))
        # same photo, same garment id, two users: each sees only their own row
        assert bob.get(f"/v1/garments/{gid}").json()["user_id"] == "bob"
        hits = bob.post("/v1/search", json={"text": "shirt", "n": 100}).json()["hits"]
        assert {h["garment"]["user_id"] for h in hits} == {"bob"}
        assert {h["garment"]["id"] for h in hits} <= bob_all
        for outfit in bob.post("/v1/recommend", json={"k": 10}).json()["outfits"]:
            assert set(outfit["garment_ids"]) <= bob_all
        # alice-only garment (from other tests on this server) is invisible and undeletable for bob
        only_alice = sorted(alice_all - bob_all)
        if only_alice:
            assert bob.get(f"/v1/garments/{only_alice[0]}").status_code == 404
            assert bob.delete(f"/v1/garments/{only_alice[0]}").status_code == 404
            assert alice.get(f"/v1/garments/{only_alice[0]}").status_code == 200
        # bob deleting "his" copy of the shared photo leaves alice's intact
        assert bob.delete(f"/v1/garments/{gid}").status_code == 200
        assert alice.get(f"/v1/garments/{gid}").status_code == 200
        # naming another user with one's key
        r = bob.get("/v1/garments", params={"user_id": "alice"})
        assert r.status_code == 403
    with keyed_server.client() as anonymous:
        assert anonymous.get("/v1/garments", params={"user_id": "alice"}).status_code == 401
        r = anonymous.post("/v1/garments", files=upload(scene_photos[5]), data={"user_id": "alice"})
        assert r.status_code == 401
        assert (
            anonymous.get("/v1/garments", headers={"X-API-Key": "wrong-key-123"}).status_code == 401
        )
        assert anonymous.get("/health").status_code == 200
        spec = anonymous.get("/openapi.json").json()
        assert "/v1/recommend" in spec["paths"] and anonymous.get("/docs").status_code == 200
        assert json.loads(anonymous.get("/openapi.json").text)["info"]["title"] == "wardrobe"
