"""Faults on a real port with real stores: a worker process killed, the disk full, a Chroma
server or PostgreSQL gone for a while. Each test checks the answers during the fault (a clear
503/507, never a hang or a 500), that nothing acknowledged is lost, and the recovery."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.helpers.serve_harness import ALICE, ServeProcess, keys_override, noise_photo, serving
from wardrobe.serving.app import WORKER_DIED_EXIT


def ingest(http: httpx.Client, seed: int, photo_id: str | None = None) -> httpx.Response:
    data = {"photo_id": photo_id} if photo_id else {}
    files = {"image": ("p.jpg", noise_photo(seed), "image/jpeg")}
    return http.post("/v1/garments", files=files, data=data)


def listed_ids(http: httpx.Client) -> set[str]:
    r = http.get("/v1/garments", params={"limit": 100})
    assert r.status_code == 200, r.text
    return {g["id"] for g in r.json()["items"]}


# ---------------------------------------------------------------------------- worker killed
@pytest.mark.timeout(600)
def test_a_killed_worker_turns_health_503_and_the_server_exits_for_its_supervisor(
    tiny_bundles, tmp_path
):
    server = ServeProcess(tmp_path, tiny_bundles, [keys_override()])
    server.start()
    try:
        server.wait_ready()
        with server.client(headers=ALICE, timeout=30) as http:
            r = ingest(http, 1)
            assert r.status_code == 200, r.text
            kept = {g["id"] for g in r.json()["garments"]}
            worker = int(r.headers["X-Wardrobe-Worker"])
            os.kill(worker, signal.SIGKILL)
            # from now on: never a 200 from /health, and a request is answered, not hung
            statuses = []
            request_status = None
            while server.proc.poll() is None and len(statuses) < 400:
                statuses.append(server.health())
                if request_status is None:
                    try:
                        request_status = http.get("/v1/garments").status_code
                    except httpx.TransportError:
                        request_status = "closed"
                time.sleep(0.05)
        assert server.proc.wait(timeout=30) == WORKER_DIED_EXIT, server.log_tail()
        assert 200 not in statuses, statuses
        assert 503 in statuses, statuses
        assert request_status in (503, "closed"), request_status
        assert "died" in server.log_tail()
    finally:
        server.stop()
    # the supervisor starts it again: the garment acknowledged before the crash is there
    with (
        serving(tmp_path, tiny_bundles, [keys_override()]) as again,
        again.client(headers=ALICE) as http,
    ):
        assert kept <= listed_ids(http)
