"""What the web page needs of the API, in-process: kept images, corrections, filters, session,
vocabulary, the page and its security headers (real routes, LitAPI hooks and stores)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from wardrobe import taxonomy
from wardrobe.serving.apis import WardrobeAPI
from wardrobe.serving.app import ApiSettings, InProcessDispatch, create_app
from wardrobe.serving.auth import ApiKeys
from wardrobe.store.images import ImageStore

ALICE = {"X-API-Key": "key-of-alice-123"}
BOB = {"X-API-Key": "key-of-bob-4567"}


def jpeg(red: int, size: tuple[int, int] = (80, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (red, 40, 90)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def images(service, tmp_path) -> ImageStore:
    service.images = ImageStore(tmp_path / "images")
    return service.images


def client_for(service, keys=None) -> TestClient:
    api = WardrobeAPI({}, service=service)
    settings = ApiSettings(max_upload_bytes=200_000, api_keys=ApiKeys(keys))
    return TestClient(create_app(InProcessDispatch(api), settings), raise_server_exceptions=False)


@pytest.fixture
def web(service, images):
    with client_for(service) as c:
        yield c


@pytest.fixture
def keyed(service, images):
    with client_for(service, {"key-of-alice-123": "alice", "key-of-bob-4567": "bob"}) as c:
        yield c


def upload(client, red=0, user="alice", headers=None, size=(80, 64)) -> dict:
    data = {} if headers else {"user_id": user}
    files = {"image": ("p.jpg", jpeg(red, size), "image/jpeg")}
    r = client.post("/v1/garments", data=data, files=files, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------------------ images
def test_upload_keeps_the_photo_and_the_crop(web, images):
    body = upload(web, size=(900, 500))
    garment = body["garments"][0]
    crop = web.get(f"/v1/garments/{garment['id']}/image", params={"user_id": "alice"})
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(crop.content)).size == (384, 213)  # a thumbnail of the box
    assert crop.headers["cache-control"].startswith("private, max-age=")
    photo = web.get(f"/v1/garments/{garment['id']}/photo", params={"user_id": "alice"})
    assert photo.status_code == 200 and photo.content == jpeg(0, (900, 500))  # as uploaded
    assert images.photo_path("alice", body["image_sha256"]).exists()
    assert not list(images.root.rglob("*.tmp"))  # written then renamed


def test_an_unchanged_image_is_a_304(web):
    gid = upload(web)["garments"][0]["id"]
    first = web.get(f"/v1/garments/{gid}/image", params={"user_id": "alice"})
    again = web.get(
        f"/v1/garments/{gid}/image",
        params={"user_id": "alice"},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""


def test_images_are_scoped_to_their_user(keyed):
    gid = upload(keyed, headers=ALICE)["garments"][0]["id"]
    assert keyed.get(f"/v1/garments/{gid}/image", headers=ALICE).status_code == 200
    assert keyed.get(f"/v1/garments/{gid}/image", headers=BOB).status_code == 404
    assert keyed.get(f"/v1/garments/{gid}/photo", headers=BOB).status_code == 404
    assert keyed.get(f"/v1/garments/{gid}/image").status_code == 401


def test_a_missing_crop_is_rebuilt_from_the_photo(web, images):
    gid = upload(web)["garments"][0]["id"]
    images.crop_path("alice", gid).unlink()
    r = web.get(f"/v1/garments/{gid}/image", params={"user_id": "alice"})
    assert r.status_code == 200 and images.crop_path("alice", gid).exists()


def test_images_are_deleted_with_the_garment(web, images):
    body = upload(web)
    gid, sha = body["garments"][0]["id"], body["image_sha256"]
    assert web.delete(f"/v1/garments/{gid}", params={"user_id": "alice"}).status_code == 200
    assert not images.crop_path("alice", gid).exists()
    assert not images.photo_path("alice", sha).exists()
    assert web.get(f"/v1/garments/{gid}/image", params={"user_id": "alice"}).status_code == 404


def test_a_refused_photo_is_not_kept(web, images):
    r = web.post("/v1/garments", data={"user_id": "alice"}, files={"image": ("x.jpg", b"no")})
    assert r.status_code == 415
    assert not list(images.root.rglob("photos/*"))


# ------------------------------------------------------------------------------ corrections
def test_a_correction_is_validated_stored_apart_and_survives_a_reingest(web):
    gid = upload(web, red=0)["garments"][0]["id"]  # the fake finds a t-shirt
    url, who = f"/v1/garments/{gid}", {"user_id": "alice"}
    r = web.patch(url, json={**who, "category": "polo", "attributes": {"pattern": "striped"}})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["category"] == "polo" and g["slot"] == "top"
    assert g["attributes"]["pattern"] == "striped"
    assert g["prediction"]["category"] == "t_shirt"
    assert g["correction"]["corrected_by"] == "alice" and g["correction"]["corrected_at"]
    upload(web, red=0)  # the same photo again: the prediction is rewritten
    again = web.get(url, params=who).json()
    assert again["category"] == "polo" and again["prediction"]["category"] == "t_shirt"
    back = web.patch(url, json={**who, "category": None, "attributes": {"pattern": None}})
    assert back.json()["category"] == "t_shirt" and back.json()["correction"] is None


@pytest.mark.parametrize(
    "patch",
    [
        {"category": "spacesuit"},
        {"attributes": {"pattern": "tartan-ish"}},
        {"attributes": {"formality": 3}},
        {"attributes": {"colours": [{"colour": "chartreuse", "share": 0.5}]}},
        {"slot": "top"},
        {},
    ],
)
def test_bad_corrections_are_422(web, patch):
    gid = upload(web)["garments"][0]["id"]
    r = web.patch(f"/v1/garments/{gid}", json={"user_id": "alice", **patch})
    assert r.status_code == 422, r.text
    assert web.get(f"/v1/garments/{gid}", params={"user_id": "alice"}).json()["correction"] is None


def test_another_users_garment_cannot_be_corrected(keyed):
    gid = upload(keyed, headers=ALICE)["garments"][0]["id"]
    r = keyed.patch(f"/v1/garments/{gid}", json={"category": "polo"}, headers=BOB)
    assert r.status_code == 404


# ------------------------------------------------------------------------------ filters
def test_filters_see_the_corrected_garment(web):
    shirt = upload(web, red=0)["garments"][0]["id"]
    upload(web, red=255)  # jeans, red
    page = web.get("/v1/garments", params={"user_id": "alice", "slot": "bottom"}).json()
    assert [g["category"] for g in page["items"]] == ["jeans"] and page["total"] == 1
    reds = web.get("/v1/garments", params={"user_id": "alice", "colour": "red"}).json()
    assert reds["total"] == 1
    web.patch(f"/v1/garments/{shirt}", json={"user_id": "alice", "category": "shorts"})
    bottoms = web.get("/v1/garments", params={"user_id": "alice", "slot": "bottom"}).json()
    assert bottoms["total"] == 2
    shorts = web.get("/v1/garments", params={"user_id": "alice", "category": "shorts"}).json()
    assert [g["id"] for g in shorts["items"]] == [shirt]
    bad = web.get("/v1/garments", params={"user_id": "alice", "colour": "chartreuse"})
    assert bad.status_code == 422


# ------------------------------------------------------------------------------ session
def test_me_and_vocabulary(web, keyed):
    assert web.get("/v1/me").json() == {"user_id": None, "auth": False, "max_upload_bytes": 200_000}
    assert web.get("/v1/me", params={"user_id": "carol"}).json()["user_id"] == "carol"
    assert keyed.get("/v1/me").status_code == 401
    assert keyed.get("/v1/me", headers={"X-API-Key": "wrong-key-000"}).status_code == 401
    assert keyed.get("/v1/me", headers=ALICE).json()["user_id"] == "alice"
    words = web.get("/v1/vocabulary").json()
    assert [c["name"] for c in words["categories"]] == list(taxonomy.FINE_CATEGORIES)
    assert words["colours"]["black"] == "#000000" and list(words["colours"]) == list(
        taxonomy.COLOURS
    )


# ------------------------------------------------------------------------------ the page
def test_the_page_and_its_files_are_served_with_a_strict_csp(web):
    page = web.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert '<script type="module" src="/static/js/app.js">' in page.text
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline
    for path in ("/static/js/app.js", "/static/js/api.js", "/static/js/dom.js", "/static/app.css"):
        r = web.get(path)
        assert r.status_code == 200 and r.headers["content-security-policy"] == csp, path
    assert "innerHTML" not in web.get("/static/js/app.js").text  # values are set as text
    assert "content-security-policy" not in web.get("/v1/vocabulary").headers
    assert web.get("/static/../apis.py").status_code == 404
