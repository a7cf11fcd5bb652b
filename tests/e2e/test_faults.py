"""Faults on a real port with real stores: a worker process killed, the disk full, a Chroma
server or PostgreSQL gone for a while. Each test checks the answers during the fault (a clear
503/507, never a hang or a 500), that nothing acknowledged is lost, and the recovery."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.helpers.serve_harness import ALICE, ServeProcess, keys_override, noise_photo, serving
from tests.helpers.store_servers import postgres_unavailable
from wardrobe.serving.app import WORKER_DIED_EXIT


def ingest(http: httpx.Client, seed: int, photo_id: str | None = None) -> httpx.Response:
    data = {"photo_id": photo_id} if photo_id else {}
    files = {"image": ("p.jpg", noise_photo(seed), "image/jpeg")}
    return http.post("/v1/garments", files=files, data=data)


def listed_ids(http: httpx.Client) -> set[str]:
    """Every garment of the caller (all pages)."""
    ids: set[str] = set()
    offset: int | None = 0
    while offset is not None:
        r = http.get("/v1/garments", params={"limit": 100, "offset": offset})
        assert r.status_code == 200, r.text
        ids |= {g["id"] for g in r.json()["items"]}
        offset = r.json()["next_offset"]
    return ids


def wait_until_dead(pid: int, within_s: float = 10.0) -> None:
    """SIGKILL is delivered asynchronously: wait until the process is gone (or a zombie
    its parent has not reaped yet), so the checks after it start from a dead worker."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still alive {within_s} s after SIGKILL")


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
            wait_until_dead(worker)
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


# ---------------------------------------------------------------------------- a stalled worker
@pytest.mark.timeout(300)
def test_a_photo_that_waited_past_the_timeout_gets_504_and_the_rest_of_its_batch_is_answered(
    tiny_bundles, tmp_path
):
    """The worker stalls (SIGSTOP: swapping, a long GC pause) with a photo queued; two more
    arrive just before it resumes and are gathered into a batch with it. The one that waited
    longer than ``timeout`` gets a 504 that says so and is not stored; the other two are
    answered and stored; a recommend (light lane) sent during the stall is answered too."""
    overrides = [keys_override(), "timeout=3", "max_batch_size=8", "batch_timeout=0.5"]
    answers: dict[str, httpx.Response] = {}

    def send(server: ServeProcess, name: str, seed: int | None) -> None:
        with server.client(headers=ALICE, timeout=60) as http:
            if seed is None:
                answers[name] = http.post("/v1/recommend", json={"k": 3})
            else:
                answers[name] = ingest(http, seed, photo_id=name)

    with serving(tmp_path, tiny_bundles, overrides) as server, server.client(headers=ALICE) as http:
        first = ingest(http, 1)
        assert first.status_code == 200, first.text
        worker = int(first.headers["X-Wardrobe-Worker"])
        threads = []
        os.kill(worker, signal.SIGSTOP)
        try:
            threads.append(threading.Thread(target=send, args=(server, "late", 2)))
            threads[-1].start()
            time.sleep(4.5)  # longer than timeout=3
            for name, seed in (("fresh-a", 3), ("fresh-b", 4), ("recommend", None)):
                threads.append(threading.Thread(target=send, args=(server, name, seed)))
                threads[-1].start()
            time.sleep(1.0)  # they reach the queue
        finally:
            os.kill(worker, signal.SIGCONT)
        for t in threads:
            t.join(60)

        late = answers["late"]
        assert late.status_code == 504, late.text
        assert late.json()["error"]["code"] == "timeout", late.text
        assert "waited" in late.json()["error"]["message"] and "Retry-After" in late.headers
        for name in ("fresh-a", "fresh-b"):
            assert answers[name].status_code == 200, answers[name].text
            assert answers[name].headers["X-Wardrobe-Batch"] == "2/2"  # gathered together
        assert answers["recommend"].status_code == 200, answers["recommend"].text
        stored = listed_ids(http)
        acknowledged = {
            g["id"]
            for r in (first, answers["fresh-a"], answers["fresh-b"])
            for g in r.json()["garments"]
        }
        assert acknowledged <= stored
        assert not any(i.startswith("late-") for i in stored)  # refused, so nothing written
        again = ingest(http, 2, photo_id="late")  # sent again, it is stored
        assert again.status_code == 200, again.text
        assert {g["id"] for g in again.json()["garments"]} <= listed_ids(http)


# ---------------------------------------------------------------------------- disk full
def _mount_tmpfs(path: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` at ``path``; None when mounted, else why not."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    return None if done.returncode == 0 else f"mount -t tmpfs failed: {done.stderr.strip()}"


def _fill(path: Path) -> Path:
    """Write a ballast file until the file system at ``path`` is full."""
    ballast = path / "ballast"
    with open(ballast, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return ballast


@pytest.mark.timeout(600)
def test_a_full_disk_refuses_ingests_clearly_serves_reads_and_recovers(tiny_bundles, tmp_path):
    data = tmp_path / "data"  # the stores and images on a 24 MB tmpfs; logs stay outside
    reason = _mount_tmpfs(data, "24m")
    if reason:
        pytest.skip(reason)
    overrides = [
        keys_override(),
        f"pipeline.store.records.url=sqlite:///{data}/wardrobe.db",
        f"pipeline.store.vectors.path={data}/chroma",
        f"images.root={data}/images",
    ]
    try:
        with (
            serving(tmp_path / "root", tiny_bundles, overrides) as server,
            server.client(headers=ALICE) as http,
        ):
            acked = set()
            for seed in range(3):
                r = ingest(http, seed)
                assert r.status_code == 200, r.text
                acked |= {g["id"] for g in r.json()["garments"]}
            ballast = _fill(data)
            refused = [ingest(http, 100 + seed) for seed in range(4)]
            for r in refused:
                assert r.status_code in (503, 507), r.text
                if r.status_code == 507:
                    assert "disk is full" in r.json()["error"]["message"]
            assert any(r.status_code == 507 for r in refused), [r.text for r in refused]
            # reads are still served
            assert acked <= listed_ids(http)
            some = sorted(acked)[0]
            assert http.get(f"/v1/garments/{some}").status_code == 200
            assert http.get(f"/v1/garments/{some}/image").status_code == 200
            assert http.post("/v1/search", json={"text": "shirt"}).status_code == 200
            # space freed: ingest works again, without a restart
            ballast.unlink()
            r = ingest(http, 200)
            assert r.status_code == 200, r.text
            acked |= {g["id"] for g in r.json()["garments"]}
            assert acked <= listed_ids(http)
        # nothing acknowledged was lost, and the refused photos left nothing behind
        with (
            serving(tmp_path / "root", tiny_bundles, overrides) as again,
            again.client(headers=ALICE) as http,
        ):
            assert listed_ids(http) == acked
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


# ---------------------------------------------------------------------------- store outages
class Burst:
    """``clients`` threads ingesting distinct photos until stopped; every answer is kept."""

    def __init__(self, url: str, clients: int = 3) -> None:
        self.url, self.stop = url, threading.Event()
        self.answers: list[tuple[int | str, dict, set[str], int]] = []  # status, headers, ids, seed
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, client: int) -> None:
        seed = 1000 * (client + 1)
        with httpx.Client(base_url=self.url, headers=ALICE, timeout=60) as http:
            while not self.stop.is_set():
                seed += 1
                try:
                    r = ingest(http, seed)
                    ids = {g["id"] for g in r.json()["garments"]} if r.status_code == 200 else set()
                    answer = (r.status_code, dict(r.headers), ids, seed)
                except httpx.TransportError as err:
                    answer = (type(err).__name__, {}, set(), seed)
                with self._lock:
                    self.answers.append(answer)

    def __enter__(self) -> Burst:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def acked(self) -> set[str]:
        return set().union(*(ids for status, _, ids, _ in self.answers if status == 200))

    def statuses(self) -> list[int | str]:
        return [status for status, *_ in self.answers]

    def refused_seeds(self) -> list[int]:
        return [seed for status, _, _, seed in self.answers if status != 200]


def _wait_until_ingest_works(http: httpx.Client, timeout: float = 120.0) -> set[str]:
    deadline = time.monotonic() + timeout
    seed = 5000
    while time.monotonic() < deadline:
        seed += 1
        r = ingest(http, seed)
        if r.status_code == 200:
            return {g["id"] for g in r.json()["garments"]}
        assert r.status_code == 503, r.text
        time.sleep(1.0)
    raise AssertionError("the service did not recover within {timeout} s")


def _check_outage_answers(burst: Burst) -> None:
    statuses = burst.statuses()
    assert 503 in statuses, statuses
    assert set(statuses) <= {200, 503}, statuses  # never a 500, never a dropped connection
    for status, headers, *_ in burst.answers:
        if status == 503:
            assert int(headers["retry-after"]) >= 1


def _check_nothing_half_written(http: httpx.Client, burst: Burst, acked: set[str]) -> None:
    """Every acknowledged garment is there; every garment there is whole (record and vector:
    listed and found by search). A 503 whose write had landed before the store went (the
    answer lost, as with a timeout) may have stored its photo: sending it again converges
    (the same ids, nothing duplicated)."""
    listed = listed_ids(http)
    assert acked <= listed, acked - listed
    hits = http.post("/v1/search", json={"text": "shirt", "n": 100}).json()["hits"]
    found = {h["garment"]["id"] for h in hits}  # search reads the vectors, the list the records
    assert found <= listed and len(found) == min(100, len(listed)), (len(found), len(listed))
    retried = set()
    for seed in burst.refused_seeds():
        r = ingest(http, seed)
        assert r.status_code == 200, r.text
        retried |= {g["id"] for g in r.json()["garments"]}
    assert listed - acked <= retried, f"never acknowledged nor retried: {listed - acked - retried}"
    assert listed_ids(http) == listed | retried


@pytest.mark.timeout(600)
def test_a_chroma_server_killed_mid_burst_gives_503s_then_recovers_by_itself(
    tiny_bundles, tmp_path
):
    from tests.helpers.store_servers import chroma_server

    chroma_path = tmp_path / "chroma"
    with contextlib.ExitStack() as stack:
        chroma = stack.enter_context(chroma_server(chroma_path))
        host, port = chroma
        env = {"WARDROBE_CHROMA_HOST": host, "WARDROBE_CHROMA_PORT": str(port)}
        overrides = [keys_override(), "pipeline/store=chroma_server"]
        server = stack.enter_context(serving(tmp_path / "root", tiny_bundles, overrides, env))
        http = stack.enter_context(server.client(headers=ALICE))
        acked = {g["id"] for g in ingest(http, 1).json()["garments"]}
        with Burst(server.url) as burst:
            time.sleep(3.0)
            chroma.proc.kill()  # kill -9 in the middle of the burst
            chroma.proc.wait(timeout=30)
            time.sleep(4.0)  # requests in the gap
            stack.enter_context(chroma_server(chroma_path, port=port))
            acked |= _wait_until_ingest_works(http)  # no restart of the service
            time.sleep(2.0)
        _check_outage_answers(burst)
        acked |= burst.acked()
        _check_nothing_half_written(http, burst, acked)


@pytest.mark.timeout(600)
@pytest.mark.skipif(postgres_unavailable() is not None, reason=str(postgres_unavailable()))
def test_postgresql_restarted_under_load_gives_503s_then_recovers_by_itself(tiny_bundles, tmp_path):
    from tests.helpers.store_servers import create_database, postgres_server

    with contextlib.ExitStack() as stack:
        admin = stack.enter_context(postgres_server())
        env = {"WARDROBE_RECORDS_URL": create_database(admin, "wardrobe_faults")}
        server = stack.enter_context(
            serving(tmp_path / "root", tiny_bundles, [keys_override()], env)
        )
        http = stack.enter_context(server.client(headers=ALICE))
        acked = {g["id"] for g in ingest(http, 1).json()["garments"]}
        with Burst(server.url) as burst:
            time.sleep(3.0)
            admin.restart(4.0)  # kill -9, 4 s down (requests in the gap), then up again
            acked |= _wait_until_ingest_works(http)  # no restart of the service
            time.sleep(2.0)
        _check_outage_answers(burst)
        acked |= burst.acked()
        _check_nothing_half_written(http, burst, acked)
