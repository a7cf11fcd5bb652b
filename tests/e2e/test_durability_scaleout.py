"""Durability (``kill -9`` during a burst of writes) and scale-out (two workers on a Chroma server
and PostgreSQL), against the real ``serve.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.helpers.serve_harness import (
    ALICE,
    REPO_ROOT,
    ServeProcess,
    keys_override,
    noise_photo,
    serving,
)
from tests.helpers.store_servers import (
    chroma_server,
    create_database,
    postgres_server,
    postgres_unavailable,
)
from wardrobe.store import RecordStore

pytestmark = pytest.mark.slow


def _burst(
    server: ServeProcess, seeds: range, targets: list[str], acked: dict, stop: threading.Event
):
    """One client: ingest photos and send feedback until stopped; record what was acked."""
    with httpx.Client(base_url=server.url, headers=ALICE, timeout=30) as http:
        for seed in seeds:
            if stop.is_set():
                return
            try:
                files = {"image": (f"{seed}.jpg", noise_photo(seed), "image/jpeg")}
                r = http.post("/v1/garments", files=files, data={"photo_id": f"burst{seed}"})
                if r.status_code == 200:
                    acked["garments"].extend(g["id"] for g in r.json()["garments"])
                event_id = f"event{seed}"
                r = http.post(
                    "/v1/feedback",
                    json={"signal": "wear", "garment_ids": targets, "event_id": event_id},
                )
                if r.status_code == 200:
                    acked["feedback"].append(event_id)
            except httpx.HTTPError:  # the server died under us: expected
                return


@pytest.mark.timeout(900)
def test_every_acknowledged_write_survives_kill_9(tiny_bundles, tmp_path):
    root = tmp_path / "root"
    server = ServeProcess(root, tiny_bundles, [keys_override()])
    acked: dict[str, list[str]] = {"garments": [], "feedback": []}
    try:
        server.start()
        server.wait_ready()
        with server.client(headers=ALICE) as http:
            files = {"image": ("seed.jpg", noise_photo(10_000), "image/jpeg")}
            targets = [g["id"] for g in http.post("/v1/garments", files=files).json()["garments"]]
        stop = threading.Event()
        clients = [
            threading.Thread(
                target=_burst, args=(server, range(i, 10_000, 3), targets, acked, stop)
            )
            for i in range(3)
        ]
        for t in clients:
            t.start()
        deadline = time.monotonic() + 180
        while len(acked["garments"]) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill9()  # mid-burst: requests are in flight in every client
        stop.set()
        for t in clients:
            t.join(timeout=60)
        assert len(acked["garments"]) >= 8 and acked["feedback"], acked
        print(f"killed after {len(acked['garments'])} garments, {len(acked['feedback'])} events")

        server.start()
        server.wait_ready()
        with server.client(headers=ALICE) as http:
            stored = {
                g["id"] for g in http.get("/v1/garments", params={"limit": 100}).json()["items"]
            }
            total = http.get("/v1/garments", params={"limit": 1}).json()["total"]
            offset = 100
            while offset < total:
                page = http.get("/v1/garments", params={"limit": 100, "offset": offset}).json()
                stored |= {g["id"] for g in page["items"]}
                offset += 100
            missing = sorted(set(acked["garments"]) - stored)
            assert not missing, f"{len(missing)} acknowledged garments lost: {missing[:5]}"
            # every stored garment is whole: findable by similarity search too
            hits = http.post("/v1/search", json={"text": "shirt", "n": 100}).json()["hits"]
            assert {h["garment"]["id"] for h in hits} >= set(acked["garments"][:50]) & stored
        server.stop()
        records = RecordStore(f"sqlite:///{root}/store/wardrobe.db")
        events = {e.id for e in records.list_feedback("alice", limit=10_000)}
        records.close()
        lost = sorted(set(acked["feedback"]) - events)
        assert not lost, f"{len(lost)} acknowledged feedback events lost: {lost[:5]}"
    finally:
        server.stop()


@pytest.mark.timeout(900)
def test_refuses_several_workers_on_the_embedded_store(tiny_bundles, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "serve.py",
            f"paths.root_dir={tmp_path}",
            f"artifacts_dir={tiny_bundles}",
            "workers_per_device=2",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "not process-safe" in proc.stdout + proc.stderr


@pytest.mark.timeout(1200)
@pytest.mark.skipif(postgres_unavailable() is not None, reason=str(postgres_unavailable()))
def test_two_workers_share_a_chroma_server_and_postgresql(tiny_bundles, scene_photos, tmp_path):
    """A garment ingested by one worker is at once visible to search, listing and
    recommendation in the other worker (X-Wardrobe-Worker says which worker answered)."""
    with (
        chroma_server(tmp_path / "chroma") as (host, port),
        postgres_server() as admin_url,
    ):
        url = create_database(admin_url, "wardrobe_e2e")
        env = {
            "WARDROBE_CHROMA_HOST": host,
            "WARDROBE_CHROMA_PORT": str(port),
            "WARDROBE_RECORDS_URL": url,
        }
        overrides = [keys_override(), "pipeline/store=chroma_server", "workers_per_device=2"]
        with (
            serving(tmp_path / "root", tiny_bundles, overrides, env) as server,
            server.client(headers=ALICE) as http,
        ):
            info = http.get("/info").json()
            assert info["store"] == {
                "vectors": "server",
                "records": "postgresql+psycopg",
                "process_safe": True,
            }
            workers_seen: set[str] = set()
            for photo in scene_photos[:4]:
                r = http.post("/v1/garments", files={"image": ("p.jpg", photo.read_bytes())})
                assert r.status_code == 200, r.text
                writer = r.headers["X-Wardrobe-Worker"]
                ids = {g["id"] for g in r.json()["garments"]}
                # read at once until another worker answers
                for _ in range(200):
                    s = http.post("/v1/search", json={"text": "shirt", "n": 100})
                    listed = http.get("/v1/garments", params={"limit": 100})
                    for resp in (s, listed):
                        workers_seen.add(resp.headers["X-Wardrobe-Worker"])
                    found = {h["garment"]["id"] for h in s.json()["hits"]}
                    assert ids <= found, "search missed a garment just acknowledged"
                    assert ids <= {g["id"] for g in listed.json()["items"]}
                    if s.headers["X-Wardrobe-Worker"] != writer:
                        break
                rec = http.post("/v1/recommend", json={"k": 3})
                assert rec.status_code == 200, rec.text
                workers_seen.add(rec.headers["X-Wardrobe-Worker"])
            assert len(workers_seen) == 2, workers_seen
        # the records really are in PostgreSQL
        records = RecordStore(url)
        assert records.count_garments("alice") >= 4
        records.close()
    assert os.path.isdir(tmp_path / "chroma")
