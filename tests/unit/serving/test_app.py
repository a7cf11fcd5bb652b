"""The HTTP API in-process (routes -> LitAPI hooks -> service -> real stores; fake models)."""

from __future__ import annotations

import base64

import pytest

from tests.helpers.serving_fakes import photo


def ingest(client, user="alice", red=0, **extra):
    files = {"image": ("p.jpg", photo(red), "image/jpeg")}
    return client.post("/v1/garments", data={"user_id": user, **extra}, files=files)


def test_ingest_multipart_returns_the_stored_garment(client):
    r = ingest(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == "alice"
    (garment,) = body["garments"]
    assert garment["category"] == "t_shirt" and garment["slot"] == "top"
    assert garment["box"] == [0.0, 0.0, 64.0, 64.0]
    assert garment["attributes"]["colours"][0]["colour"] == "black"
    assert garment["top_k"] == [{"category": "t_shirt", "score": 0.9}]
    assert body["warnings"][0]["code"] == "blurry"
    assert "write_token" not in garment and "status" not in garment
    assert r.headers["X-Wardrobe-Batch"] == "1/1"


def test_ingest_base64_json_and_data_url(client):
    b64 = base64.b64encode(photo(255)).decode()
    r = client.post("/v1/garments", json={"user_id": "alice", "image_base64": b64})
    assert r.status_code == 200, r.text
    assert r.json()["garments"][0]["category"] == "jeans"
    r = client.post(
        "/v1/garments",
        json={
            "user_id": "alice",
            "image_base64": "data:image/jpeg;base64," + b64,
            "photo_id": "p1",
        },
    )
    assert r.status_code == 200 and r.json()["garments"][0]["id"] == "p1-00"


def test_list_get_delete_round_trip(client):
    ids = [ingest(client, red=red).json()["garments"][0]["id"] for red in (0, 255)]
    page = client.get("/v1/garments", params={"user_id": "alice", "limit": 1})
    assert page.status_code == 200
    assert page.json()["total"] == 2 and page.json()["next_offset"] == 1
    assert len(page.json()["items"]) == 1
    last = client.get("/v1/garments", params={"user_id": "alice", "limit": 1, "offset": 1})
    assert last.json()["next_offset"] is None
    got = client.get(f"/v1/garments/{ids[0]}", params={"user_id": "alice"})
    assert got.status_code == 200 and got.json()["id"] == ids[0]
    deleted = client.delete(f"/v1/garments/{ids[0]}", params={"user_id": "alice"})
    assert deleted.status_code == 200 and deleted.json()["deleted"]["id"] == ids[0]
    assert client.get(f"/v1/garments/{ids[0]}", params={"user_id": "alice"}).status_code == 404
    assert client.delete(f"/v1/garments/{ids[0]}", params={"user_id": "alice"}).status_code == 404
    assert client.get("/v1/garments", params={"user_id": "alice"}).json()["total"] == 1


def test_search_by_text_and_by_photo(client):
    shirt = ingest(client, red=0).json()["garments"][0]["id"]
    jeans = ingest(client, red=255).json()["garments"][0]["id"]
    r = client.post("/v1/search", json={"user_id": "alice", "text": "blue jeans", "n": 2})
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["garment"]["id"] == jeans
    files = {"image": ("q.png", photo(0, fmt="PNG"), "image/png")}
    r = client.post("/v1/search", data={"user_id": "alice", "n": "1"}, files=files)
    assert r.status_code == 200, r.text
    assert [h["garment"]["id"] for h in r.json()["hits"]] == [shirt]


def test_feedback_moves_the_ranking(client):
    ingest(client, red=0, photo_id="shirt")
    ingest(client, red=255, photo_id="jeans")
    ingest(client, red=255, photo_id="jeans2")
    first = client.post("/v1/recommend", json={"user_id": "alice", "k": 2})
    assert first.status_code == 200, first.text
    outfits = first.json()["outfits"]
    assert len(outfits) == 2 and {"score", "breakdown", "explanation"} <= set(outfits[0])
    loser = outfits[0]
    r = client.post(
        "/v1/feedback",
        json={"user_id": "alice", "signal": "dislike", "outfit_id": loser["outfit_id"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["signal"] == "dislike" and r.json()["target_kind"] == "outfit"
    again = client.post("/v1/recommend", json={"user_id": "alice", "k": 2}).json()["outfits"]
    assert again[0]["garment_ids"] != loser["garment_ids"]


def test_info_lists_model_versions(client):
    r = client.get("/info")
    assert r.status_code == 200
    assert r.json()["model_versions"]["clip"] == "fake-clip"
    assert r.json()["embedding_dim"] == 8


def test_openapi_documents_every_route(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/v1/garments"])
    assert {"get", "delete"} <= set(paths["/v1/garments/{garment_id}"])
    for path in ("/v1/recommend", "/v1/feedback", "/v1/search"):
        assert "post" in paths[path]
    content = paths["/v1/garments"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(content)
    assert client.get("/docs").status_code == 200


def test_batch_groups_photos_by_user_and_isolates_failures(service):
    """One predict() call with photos of two users and a list: one ingest call per user; a bad
    photo fails alone."""
    from wardrobe.serving.apis import WardrobeAPI

    api = WardrobeAPI({}, max_batch_size=8, service=service)
    batch = [
        {"op": "ingest", "user_id": "alice", "image": photo(0), "photo_id": None},
        {"op": "ingest", "user_id": "bob", "image": photo(255), "photo_id": None},
        {"op": "ingest", "user_id": "alice", "image": b"not an image", "photo_id": None},
        {"op": "ingest", "user_id": "alice", "image": photo(255), "photo_id": None},
        {"op": "list_garments", "user_id": "carol", "limit": 5, "offset": 0},
    ]
    outcomes = [api.encode_response(o) for o in api.predict([api.decode_request(x) for x in batch])]
    assert [o.status for o in outcomes] == [200, 200, 415, 200, 404]
    assert sorted(service.pipeline.calls) == [("alice", 3), ("bob", 1)]
    assert outcomes[0].headers["X-Wardrobe-Batch"] == "5/4"
    assert outcomes[4].body["error"]["code"] == "unknown_user"


def test_store_failure_is_503_and_the_server_recovers(client, service):
    service.pipeline.fail_store = True
    r = ingest(client)
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"
    service.pipeline.fail_store = False
    assert ingest(client).status_code == 200


def test_an_unexpected_error_is_a_500_without_internals(client, service, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service.recommender, "recommend", boom)
    ingest(client)
    r = client.post("/v1/recommend", json={"user_id": "alice"})
    assert r.status_code == 500
    assert "secret" not in r.text and r.json()["error"]["code"] == "internal_error"


@pytest.mark.parametrize("k", [0, 51, 10**6])
def test_absurd_k_is_422(client, k):
    r = client.post("/v1/recommend", json={"user_id": "alice", "k": k})
    assert r.status_code == 422 and "k" in r.json()["error"]["message"]
