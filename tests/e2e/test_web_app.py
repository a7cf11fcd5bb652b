"""The web app as a person uses it: headless Chromium against ``serve.py`` on a real port with
the tiny bundles. Sign in, upload three photos (one broken), see the garments and the error,
correct a category, plan an outfit, like it, search, delete; a screenshot of every step goes to
the test's folder. ``WARDROBE_DOCS_SCREENSHOTS=1`` also writes the README's two screenshots to
``docs/`` (wardrobe grid, outfit cards).
"""

from __future__ import annotations

import hashlib
import io
import os
import re

import pytest
from PIL import Image

from tests.helpers.browser import Steps, require_chromium
from tests.helpers.serve_harness import REPO_ROOT, ServeProcess, keys_override, serving
from wardrobe.store.images import ImageStore
from wardrobe.store.records import RecordStore
from wardrobe.store.schema import GarmentIn

pytestmark = pytest.mark.slow

KEY = "e2e-web-key-of-alice"
KEYS = {KEY: "alice", "e2e-web-key-of-bob": "bob"}
XSS = ['<img src=x onerror="window.xssRan=1">', "<script>window.xssRan=2</script>"]
DOCS = REPO_ROOT / "docs"


@pytest.fixture(scope="module")
def web_server(tiny_bundles, tmp_path_factory):
    root = tmp_path_factory.mktemp("web-server")
    with serving(root, tiny_bundles, [keys_override(KEYS)]) as server:
        yield server


@pytest.fixture
def browser_page(tmp_path):
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.problems = []  # uncaught errors and CSP violations would land here
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and "Failed to load resource" not in m.text  # the 4xx the test provokes
                and page.problems.append(m.text)
            ),
        )
        yield page
        context.close()
        browser.close()


def settled(page):
    """Upload rows that finished, well or not."""
    return page.locator(
        ".upload[data-state=done], .upload[data-state=empty], .upload[data-state=error]"
    )


def photo_files(paths):
    return [{"name": p.name, "mimeType": "image/jpeg", "buffer": p.read_bytes()} for p in paths]


@pytest.mark.timeout(900)
def test_a_person_uses_the_wardrobe_in_a_browser(web_server, browser_page, scene_photos, tmp_path):
    from playwright.sync_api import expect

    page, url = browser_page, web_server.url
    nav = page.get_by_role("navigation", name="Sections")
    steps = Steps(page, tmp_path / "screenshots")
    docs = os.environ.get("WARDROBE_DOCS_SCREENSHOTS") == "1"

    # ---- the page and its headers
    response = page.goto(url + "/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    # ---- sign in: a wrong key is refused in words, the right one opens the wardrobe
    expect(page.get_by_label("API key")).to_be_visible()
    steps.shot("sign-in")
    page.get_by_label("API key").fill("not-the-right-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("not valid")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text("alice")
    expect(page.locator("#wardrobe-empty")).to_be_visible()
    assert KEY not in page.url
    steps.shot("empty-wardrobe")

    # ---- upload three photos, one broken (named to try markup): each gets its own row
    nav.get_by_role("link", name="Add photos").click()
    broken = {"name": f"{XSS[0]}.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo"}
    page.set_input_files("#file-input", [*photo_files(scene_photos[:2]), broken])
    expect(settled(page)).to_have_count(3, timeout=180_000)
    failed = page.locator(".upload[data-state=error]")
    expect(failed).to_have_count(1)
    expect(failed.locator(".status")).to_contain_text("Not an image")
    expect(failed.locator(".name")).to_have_text(f"{XSS[0]}.jpg")  # the name, as text
    expect(page.locator(".upload[data-state=done]")).to_have_count(2)
    steps.shot("uploaded")

    # ---- the wardrobe grid: crops (not placeholders), category, swatches
    nav.get_by_role("link", name="My wardrobe").click()
    cards = page.locator("#grid li.garment")
    expect(cards.first).to_be_visible()
    n_garments = cards.count()
    assert n_garments >= 2
    first_thumb = cards.first.locator("img.thumb")
    expect(first_thumb).to_have_attribute("src", re.compile(r"^blob:"))
    assert first_thumb.evaluate("img => img.complete && img.naturalWidth") > 0
    expect(cards.first.locator(".swatches li").first).to_be_visible()
    steps.shot("wardrobe")

    # ---- correct categories (a dress and shoes make an outfit), by keyboard for the first
    ids = [cards.nth(i).get_attribute("data-id") for i in range(2)]
    dialog = page.locator("#detail")
    for garment_id, category in zip(ids, ("casual_dress", "sneakers"), strict=True):
        card = page.locator(f'#grid li.garment[data-id="{garment_id}"]')
        card.locator(".card-open").focus()
        page.keyboard.press("Enter")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#detail-photo")).to_have_attribute("src", re.compile("^blob:"))
        if category == "casual_dress":
            expect(dialog.locator("#detail-box")).to_be_visible()  # the box on the photo
            steps.shot("garment", full_page=False)
        dialog.get_by_label("Category").select_option(category)
        dialog.get_by_role("button", name="Save correction").click()
        expect(dialog.locator("#detail-correction")).to_contain_text("Corrected by alice")
        expect(dialog.locator("#detail-attributes")).to_contain_text("model said")
        expect(dialog.locator("#detail-attributes tr.changed")).to_have_count(1)  # that alone
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
    expect(page.locator("#grid .badge")).to_have_count(2)
    with web_server.client(headers={"X-API-Key": KEY}) as http:
        stored = http.get(f"/v1/garments/{ids[0]}").json()
    assert stored["category"] == "casual_dress" and stored["correction"]["corrected_by"] == "alice"
    steps.shot("corrected")

    # ---- filters: the slot filter sees the correction
    page.get_by_label("Slot").select_option("footwear")
    expect(cards).to_have_count(1)
    expect(cards.first.locator(".card-title")).to_contain_text("Sneakers")
    page.get_by_role("button", name="Clear filters").click()
    expect(cards).to_have_count(n_garments)
    if docs:  # a fuller wardrobe for the README, named as a person would correct it
        extra = scene_photos[2:8]
        nav.get_by_role("link", name="Add photos").click()
        page.set_input_files("#file-input", photo_files(extra))
        expect(settled(page)).to_have_count(3 + len(extra), timeout=300_000)
        correct_as_annotated(web_server, extra)
        nav.get_by_role("link", name="My wardrobe").click()
        page.reload()
        expect(cards.nth(n_garments)).to_be_visible()
        page.wait_for_timeout(2000)  # thumbnails
        save_for_docs(page, "web-wardrobe.png")

    # ---- plan an outfit, like it
    nav.get_by_role("link", name="Plan an outfit").click()
    # no text: the tiny models' formality scores are arbitrary, an occasion could rule all out
    page.get_by_role("button", name="Plan", exact=True).click()
    outfits = page.locator("#outfits li.outfit")
    expect(outfits.first).to_be_visible()
    first = outfits.first
    expect(first.locator(".pieces img").first).to_have_attribute("src", re.compile("^blob:"))
    expect(first.locator(".score")).to_contain_text("Score")
    first.get_by_role("button", name="Like", exact=True).click()
    expect(first.locator(".feedback-status")).to_contain_text("Liked")
    expect(first.get_by_role("button", name="Like", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.wait_for_timeout(800)
    steps.shot("outfit-liked")
    if docs:
        save_for_docs(page, "web-outfit.png")

    # ---- search by text
    nav.get_by_role("link", name="Search").click()
    page.get_by_label("Words").fill("a summer dress")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#search-results li.garment").first).to_be_visible()
    expect(page.locator("#search-status")).to_contain_text("closest first")
    steps.shot("search")

    # ---- values from the API are text: a garment field holding markup
    evil = insert_garment_with_markup(web_server)
    nav.get_by_role("link", name="My wardrobe").click()
    page.locator(f'#grid li.garment[data-id="{evil}"] .card-open').click()
    expect(dialog.locator("#detail-attributes")).to_contain_text(XSS[1])
    page.keyboard.press("Escape")
    assert page.evaluate("() => window.xssRan") is None
    assert page.locator("img[src=x]").count() == 0

    # ---- delete: the card and its image go
    page.locator(f'#grid li.garment[data-id="{ids[1]}"] .card-open').click()
    page.once("dialog", lambda d: d.accept())
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f'#grid li.garment[data-id="{ids[1]}"]')).to_have_count(0)
    with web_server.client(headers={"X-API-Key": KEY}) as http:
        assert http.get(f"/v1/garments/{ids[1]}/image").status_code == 404
    steps.shot("deleted")

    # ---- a phone's width
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#grid li.garment").first).to_be_visible()
    steps.shot("phone", full_page=False)

    assert not page.problems, page.problems
    assert KEY not in web_server.log_tail(10**7)  # no key in the server's log
    assert len(steps.taken) == 10


def save_for_docs(page, name: str) -> None:
    """The viewport as a 256-colour PNG in docs/ (a third of the size, the same to the eye)."""
    shot = Image.open(io.BytesIO(page.screenshot()))
    shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(
        DOCS / name, optimize=True
    )


def correct_as_annotated(server: ServeProcess, photos) -> None:
    """Correct each garment of ``photos`` to a category of its annotated DeepFashion2 class
    (the tiny models' guesses are arbitrary; the README's screenshot should read sensibly)."""
    import json

    from wardrobe.taxonomy import categories_for_df2

    by_sha = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in photos}
    with server.client(headers={"X-API-Key": KEY}) as http:
        for g in http.get("/v1/garments", params={"limit": 100}).json()["items"]:
            photo = by_sha.get(g["image_sha256"])
            if photo is None:
                continue
            anno = json.loads((photo.parent.parent / "annos" / f"{photo.stem}.json").read_text())
            items = [v for k, v in sorted(anno.items()) if k.startswith("item")]
            index = min(int(g["id"].rsplit("-", 1)[1]), len(items) - 1)
            df2 = items[index]["category_name"].replace(" ", "_")
            category = categories_for_df2(df2)[0]
            http.patch(f"/v1/garments/{g['id']}", json={"category": category})


def insert_garment_with_markup(server: ServeProcess) -> str:
    """A garment whose free-text fields hold markup, written straight into the records (the
    API validates what clients send; this checks the page against what a store could hold)."""
    records = RecordStore(f"sqlite:///{server.root}/store/wardrobe.db")
    try:
        garment = GarmentIn(
            id="markup-garment",
            image_sha256=hashlib.sha256(b"markup").hexdigest(),
            category="t_shirt",
            category_confidence=0.5,
            quality_warnings=XSS,
            model_versions={"detector": XSS[1]},
        )
        records.upsert_garments("alice", [garment])
    finally:
        records.close()
    return garment.id


@pytest.mark.timeout(600)
def test_acknowledged_images_survive_kill_9(tiny_bundles, scene_photos, tmp_path):
    root = tmp_path / "root"
    server = ServeProcess(root, tiny_bundles, [keys_override(KEYS)])
    try:
        server.start()
        server.wait_ready()
        photo = scene_photos[0].read_bytes()
        with server.client(headers={"X-API-Key": KEY}) as http:
            r = http.post("/v1/garments", files={"image": ("p.jpg", photo, "image/jpeg")})
            assert r.status_code == 200, r.text
            gid = r.json()["garments"][0]["id"]
        server.kill9()  # right after the acknowledgement: no shutdown, no flush
        kept = ImageStore(root / "store" / "images")
        crop = kept.crop("alice", gid)
        assert crop is not None and Image.open(io.BytesIO(crop)).format == "JPEG"
        assert kept.photo("alice", hashlib.sha256(photo).hexdigest()) == photo
        server.start()
        server.wait_ready()
        with server.client(headers={"X-API-Key": KEY}) as http:
            again = http.get(f"/v1/garments/{gid}/image")
            assert again.status_code == 200 and again.content == crop
            assert http.get(f"/v1/garments/{gid}/photo").content == photo
        assert not list((root / "store" / "images").rglob("*.tmp"))
    finally:
        server.stop()
