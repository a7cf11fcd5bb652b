"""API keys and per-user isolation through the HTTP API."""

from __future__ import annotations

import pytest

from tests.helpers.serving_fakes import KEYS, photo
from wardrobe.serving.auth import ApiKeys

ALICE, BOB = {"X-API-Key": "key-of-alice-123"}, {"X-API-Key": "key-of-bob-4567"}


def ingest(client, headers, red=0, **data):
    files = {"image": ("p.jpg", photo(red), "image/jpeg")}
    return client.post("/v1/garments", headers=headers, data=data, files=files)


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "wrong-key-000"}, {"Authorization": "Bearer nope-nope"}]
)
def test_missing_or_wrong_key_is_401_everywhere(keyed_client, headers):
    calls = [
        ("get", "/v1/garments", {}),
        ("get", "/v1/garments/x-00", {}),
        ("delete", "/v1/garments/x-00", {}),
        ("post", "/v1/recommend", {"json": {}}),
        ("post", "/v1/feedback", {"json": {"signal": "like", "outfit_id": "o"}}),
        ("post", "/v1/search", {"json": {"text": "shirt"}}),
        ("get", "/info", {}),
    ]
    for method, path, kwargs in calls:
        r = getattr(keyed_client, method)(path, headers=headers, **kwargs)
        assert r.status_code == 401, (path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
    assert ingest(keyed_client, headers).status_code == 401


def test_the_key_decides_the_user(keyed_client):
    r = ingest(keyed_client, ALICE)
    assert r.status_code == 200 and r.json()["user_id"] == "alice"
    bearer = {"Authorization": "Bearer key-of-alice-123"}
    assert keyed_client.get("/v1/garments", headers=bearer).json()["total"] == 1
    # naming another user with alice's key is forbidden, naming herself is fine
    assert ingest(keyed_client, ALICE, user_id="bob").status_code == 403
    r = keyed_client.get("/v1/garments", headers=ALICE, params={"user_id": "bob"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (
        keyed_client.get("/v1/garments", headers=ALICE, params={"user_id": "alice"}).status_code
        == 200
    )


def test_one_user_never_sees_recommends_from_or_deletes_anothers_garments(keyed_client):
    alice_ids = [ingest(keyed_client, ALICE, red).json()["garments"][0]["id"] for red in (0, 255)]
    bob_ids = [
        ingest(keyed_client, BOB, red, photo_id=f"b{red}").json()["garments"][0]["id"]
        for red in (0, 255)
    ]
    # the same photo for two users gives two garments (ids are per user)
    assert keyed_client.get("/v1/garments", headers=BOB).json()["total"] == 2

    listed = keyed_client.get("/v1/garments", headers=BOB).json()["items"]
    assert {g["id"] for g in listed} == set(bob_ids)
    assert all(g["user_id"] == "bob" for g in listed)
    assert keyed_client.get(f"/v1/garments/{alice_ids[0]}", headers=BOB).status_code == 404
    assert keyed_client.delete(f"/v1/garments/{alice_ids[0]}", headers=BOB).status_code == 404
    assert keyed_client.get(f"/v1/garments/{alice_ids[0]}", headers=ALICE).status_code == 200

    hits = keyed_client.post("/v1/search", headers=BOB, json={"text": "jeans", "n": 10}).json()[
        "hits"
    ]
    assert hits and {h["garment"]["id"] for h in hits} <= set(bob_ids)

    outfits = keyed_client.post("/v1/recommend", headers=BOB, json={}).json()["outfits"]
    assert outfits and all(set(o["garment_ids"]) <= set(bob_ids) for o in outfits)
    # feedback on bob's outfit by alice: unknown to her
    r = keyed_client.post(
        "/v1/feedback", headers=ALICE, json={"signal": "like", "outfit_id": outfits[0]["outfit_id"]}
    )
    assert r.status_code == 404
    r = keyed_client.post(
        "/v1/feedback", headers=ALICE, json={"signal": "like", "garment_ids": bob_ids[:1]}
    )
    assert r.status_code == 404


def test_isolation_without_keys_follows_user_id(client):
    files = {"image": ("p.jpg", photo(0), "image/jpeg")}
    gid = client.post("/v1/garments", data={"user_id": "alice"}, files=files).json()["garments"][0][
        "id"
    ]
    client.post(
        "/v1/garments",
        data={"user_id": "bob"},
        files={"image": ("p.jpg", photo(255), "image/jpeg")},
    )
    assert client.get(f"/v1/garments/{gid}", params={"user_id": "bob"}).status_code == 404
    assert client.delete(f"/v1/garments/{gid}", params={"user_id": "bob"}).status_code == 404
    assert client.get(f"/v1/garments/{gid}", params={"user_id": "alice"}).status_code == 200


def test_api_keys_table():
    keys = ApiKeys(KEYS)
    assert keys.enabled and not ApiKeys(None).enabled
    assert keys.user_of("key-of-bob-4567") == "bob"
    assert keys.user_of("key-of-bob-456") is None and keys.user_of("") is None
    with pytest.raises(ValueError, match="8 characters"):
        ApiKeys({"short": "alice"})
    with pytest.raises(ValueError, match="user id"):
        ApiKeys({"long-enough-key": "not/valid"})
