"""The error contract as the README and the OpenAPI schema state it: small answers to huge bad
requests, one id check, 415 for a wrong Content-Type, JSON everywhere, quiet disconnects."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from tests.helpers.serving_fakes import photo
from wardrobe.serving.errors import MAX_ERROR_DETAILS
from wardrobe.store.errors import some_ids
from wardrobe.store.schema import PHOTO_ID_MAX, check_id, check_photo_id

ALICE = {"X-API-Key": "key-of-alice-123"}
SMALL = 8_000  # bytes: an error answer stays about this small whatever was sent


def ingest(client, headers=None, **data):
    files = {"image": ("p.jpg", photo(), "image/jpeg")}
    return client.post("/v1/garments", headers=headers or {}, data=data, files=files)


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert set(error) == {"code", "message", "detail"}
    if code is not None:
        assert error["code"] == code, error
    return error


def test_ten_thousand_bad_ids_get_a_small_answer(client):
    body = {"user_id": "alice", "constraints": {"exclude_ids": ["bad id!"] * 10_000}}
    r = client.post("/v1/recommend", json=body)
    error = assert_error(r, 422, "invalid_request")
    assert len(r.content) < SMALL, len(r.content)
    assert len(error["detail"]) == MAX_ERROR_DETAILS
    assert "10000 problems in all" in error["message"]


def test_ten_thousand_unknown_keys_get_a_small_answer(client):
    # (100,000 keys are over this client's body limit: a 413 before anything is parsed)
    body = {"user_id": "alice", **{f"unknown-key-{i}": 1 for i in range(10_000)}}
    r = client.post(
        "/v1/recommend", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert_error(r, 422, "invalid_request")
    assert len(r.content) < SMALL, len(r.content)


def test_a_huge_key_is_cut_in_the_answer(client):
    r = client.post("/v1/recommend", json={"user_id": "alice", "k" * 50_000: 1})
    assert_error(r, 422)
    assert len(r.content) < SMALL, len(r.content)


def test_a_404_names_a_few_unknown_ids_and_counts_the_rest(client):
    assert ingest(client, user_id="alice").status_code == 200
    ids = [f"unknown-{i}" for i in range(100)]
    r = client.post("/v1/feedback", json={"user_id": "alice", "signal": "like", "garment_ids": ids})
    error = assert_error(r, 404)
    assert "and 90 more" in error["message"] and "unknown-99" not in error["message"]
    assert some_ids(["a", "b"]) == "['a', 'b']"


def test_one_photo_id_rule_with_room_for_the_garment_suffix():
    longest = "p" * PHOTO_ID_MAX
    assert check_photo_id(longest) == longest
    assert check_id(f"{longest}-99") == f"{longest}-99"  # its garments' ids are valid
    for bad in ["p" * (PHOTO_ID_MAX + 1), "p1\n", "-p", ""]:
        with pytest.raises(ValueError):
            check_photo_id(bad)
    with pytest.raises(ValueError):
        check_id("alice\n")


@pytest.mark.parametrize("photo_id", ["p" * (PHOTO_ID_MAX + 1), "p1\n", "p1\r"])
def test_a_bad_photo_id_is_refused_before_any_model_runs(client, service, photo_id):
    multipart = ingest(client, user_id="alice", photo_id=photo_id)
    as_json = client.post(
        "/v1/garments",
        json={"user_id": "alice", "photo_id": photo_id, "image_base64": "aGVsbG8="},
    )
    for r in (multipart, as_json):
        assert "photo_id" in json.dumps(assert_error(r, 422)).replace("photo id", "photo_id")
    assert service.pipeline.calls == []


def test_the_longest_photo_id_is_stored(client):
    r = ingest(client, user_id="alice", photo_id="p" * PHOTO_ID_MAX)
    assert r.status_code == 200, r.text
    assert all(len(g["id"]) <= 128 for g in r.json()["garments"])


def test_a_user_id_with_a_trailing_newline_is_422_not_403(keyed_client):
    assert_error(ingest(keyed_client, ALICE, user_id="alice\n"), 422)
    r = keyed_client.get("/v1/garments", params={"user_id": "alice\n"}, headers=ALICE)
    assert_error(r, 422)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/recommend", {"user_id": "alice"}),
        ("post", "/v1/feedback", {"user_id": "alice", "signal": "like", "outfit_id": "o1"}),
        ("patch", "/v1/garments/g-00", {"user_id": "alice", "category": "t-shirt"}),
    ],
)
def test_a_wrong_content_type_on_a_json_route_is_415(client, method, path, body):
    for kind in ["text/plain", "application/x-www-form-urlencoded"]:
        r = client.request(method, path, content=json.dumps(body), headers={"content-type": kind})
        assert_error(r, 415, "unsupported_media_type")
    # the same body as JSON is read (whatever the answer)
    r = client.request(method, path, json=body)
    assert r.status_code != 415


def test_a_body_that_is_not_utf8_is_a_422_in_the_envelope(client):
    bad = b'{"user_id": "\xff\xfe"}'
    for path in ["/v1/recommend", "/v1/garments", "/v1/search", "/v1/feedback"]:
        r = client.post(path, content=bad, headers={"content-type": "application/json"})
        assert_error(r, 422, "invalid_request")


def test_health_is_json_as_documented(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"status": "ok"}


def test_the_schema_documents_the_codes_the_routes_answer(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"409", "415", "422"} <= set(paths["/v1/feedback"]["post"]["responses"])
    assert {"415", "422"} <= set(paths["/v1/recommend"]["post"]["responses"])
    assert {"400", "409", "413", "415", "507"} <= set(paths["/v1/garments"]["post"]["responses"])
    health = paths["/health"]["get"]["responses"]
    assert "application/json" in health["200"]["content"] and "503" in health
    ingest_form = paths["/v1/garments"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert str(PHOTO_ID_MAX - 1) in ingest_form["schema"]["properties"]["photo_id"]["pattern"]


def _disconnecting_upload(app, path: str) -> list[dict]:
    """Call ``app`` as the server would for a client that sends half a body and hangs up."""
    boundary = "xyz"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    messages = [
        {"type": "http.request", "body": head + b"\xff\xd8" * 1000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"user_id=alice",
        "root_path": "",
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", b"100000"),
            (b"host", b"127.0.0.1"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize("path", ["/v1/garments", "/v1/search"])
def test_a_client_that_hangs_up_mid_upload_is_one_quiet_log_line(client, service, path, caplog):
    with caplog.at_level(logging.DEBUG):
        _disconnecting_upload(client.app, path)
    assert service.pipeline.calls == []
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO


def test_a_store_outage_is_503_with_retry_after(client, service):
    service.pipeline.fail_store = True
    r = ingest(client, user_id="alice")
    assert_error(r, 503, "store_unavailable")
    assert int(r.headers["retry-after"]) >= 1


def test_a_full_disk_is_507_however_the_store_wraps_it():
    import errno
    import sqlite3

    from wardrobe.serving.errors import outcome_from_exception

    def wrapped(inner: BaseException) -> BaseException:
        try:
            try:
                raise inner
            except BaseException as err:
                raise RuntimeError("the write failed") from err
        except RuntimeError as outer:
            return outer

    for err in [
        OSError(errno.ENOSPC, "No space left on device"),
        wrapped(sqlite3.OperationalError("database or disk is full")),
        wrapped(OSError(errno.EDQUOT, "Disk quota exceeded")),
    ]:
        outcome = outcome_from_exception(err)
        assert outcome.status == 507, err
        assert outcome.body["error"]["code"] == "insufficient_storage"
        assert "disk is full" in outcome.body["error"]["message"]
        assert "Retry-After" in outcome.headers
    assert outcome_from_exception(OSError(errno.EACCES, "denied")).status == 500


def test_a_store_server_out_of_reach_is_503_however_it_is_raised():
    import httpx
    import sqlalchemy.exc

    from wardrobe.serving.errors import outcome_from_exception

    for err in [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        ConnectionRefusedError(111, "refused"),
    ]:
        outcome = outcome_from_exception(err)
        assert outcome.status == 503, err
        assert outcome.body["error"]["code"] == "store_unavailable"
        assert outcome.headers["Retry-After"]
    assert outcome_from_exception(RuntimeError("a bug")).status == 500


def test_a_store_failing_for_one_user_leaves_the_rest_of_the_batch_answered(service, monkeypatch):
    import sqlalchemy.exc

    keep = service._keep_photos

    def keep_photos(user_id, uploads):
        if user_id == "bob":  # the database goes away while bob's photos are handled
            raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("connection lost"))
        return keep(user_id, uploads)

    monkeypatch.setattr(service, "_keep_photos", keep_photos)
    batch = [
        {"op": "ingest", "user_id": "alice", "image": photo(1), "photo_id": None},
        {"op": "ingest", "user_id": "bob", "image": photo(2), "photo_id": None},
        {"op": "list_garments", "user_id": "alice", "limit": 10, "offset": 0},
    ]
    first = service.handle(batch[:1])[0]
    assert first.status == 200, first.body
    alice, bob, listing = service.handle(batch)
    assert alice.status == 200, alice.body
    assert bob.status == 503 and bob.headers["Retry-After"]
    assert listing.status == 200, listing.body
