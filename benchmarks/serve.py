"""The real server over HTTP: throughput and latency of ingest and recommend, with server-side
batching on and off.

    python benchmarks/serve.py [--artifacts model_artifacts] [--clients 8] [--requests 48]
                               [--max-seconds 120] [--batch-sizes 1,8] [--batch-timeout 0.05]

For each ``max_batch_size`` a fresh ``serve.py`` (one worker, embedded stores in a temporary
folder, loopback only) is started and driven by ``--clients`` concurrent HTTP clients:

* **ingest** - ``POST /v1/garments`` (multipart) of distinct held-out SynthWardrobe scenes,
  upscaled to ``--side`` px like phone uploads, spread over ``--users`` users;
* **recommend** - ``POST /v1/recommend`` for those users.

Each phase stops after ``--requests`` requests or ``--max-seconds``, whichever comes first
(after a short warm-up that is not timed). Prints requests/s and p50/p95/p99 latency per phase,
and the mean number of photos in the server-side batch each ingest went through (from the
``X-Wardrobe-Batch`` header; the photos of one user in a batch share each model call), which
shows what batching did. The machine's load average is printed too: on a shared machine the
numbers are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from photos import heldout_photos  # noqa: E402  (benchmarks/photos.py)

from wardrobe.serving.launch import ServeProcess  # noqa: E402


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    photos_per_call: list[int] = field(default_factory=list)
    wall: float = 0.0

    def row(self, batch: int) -> str:
        ok = sum(200 <= s < 300 for s in self.statuses)
        lat = sorted(self.latencies)
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
        per_call = f"{statistics.fmean(self.photos_per_call):.1f}" if self.photos_per_call else "-"
        return (
            f"| {batch} | {self.name} | {len(self.statuses)} | {ok} | "
            f"{len(self.statuses) / self.wall:.2f} | {q[49] * 1e3:.0f} | {q[94] * 1e3:.0f} | "
            f"{q[98] * 1e3:.0f} | {per_call} |"
        )


def make_photos(n: int, side: int, out: Path) -> list[bytes]:
    return heldout_photos(n, side, out)


def drive(url: str, phase: Phase, clients: int, total: int, max_seconds: float, request) -> None:
    """``clients`` threads send ``request(http, i)`` for i = 0..total-1 until done or timed out."""
    counter = iter(range(total))
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=max_seconds + 60) as http:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                r = request(http, i)
                elapsed = time.perf_counter() - start
                with lock:
                    phase.latencies.append(elapsed)
                    phase.statuses.append(r.status_code)
                    batch = r.headers.get("X-Wardrobe-Batch", "")
                    if phase.name == "ingest" and "/" in batch:
                        phase.photos_per_call.append(int(batch.split("/")[1]))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.wall = time.perf_counter() - start


def run(args: argparse.Namespace, batch: int, photos: list[bytes], work: Path) -> list[Phase]:
    overrides = [
        "host=127.0.0.1",
        "log_level=warning",
        f"paths.root_dir={work / f'batch{batch}'}",
        f"artifacts_dir={Path(args.artifacts).resolve()}",
        f"max_batch_size={batch}",
        f"batch_timeout={args.batch_timeout if batch > 1 else 0.0}",
    ]
    users = [f"user{u}" for u in range(args.users)]
    log = work / f"serve-batch{batch}.log"
    with ServeProcess(overrides, log_path=log) as server:

        def ingest(http: httpx.Client, i: int) -> httpx.Response:
            files = {"image": (f"{i}.jpg", photos[i % len(photos)], "image/jpeg")}
            data = {"user_id": users[i % len(users)], "photo_id": f"p{batch}-{i}"}
            return http.post("/v1/garments", files=files, data=data)

        def recommend(http: httpx.Client, i: int) -> httpx.Response:
            return http.post("/v1/recommend", json={"user_id": users[i % len(users)], "k": 5})

        warm = Phase("warm-up")
        drive(server.url, warm, 1, 2 * len(users), args.max_seconds, ingest)
        phases = [Phase("ingest"), Phase("recommend")]
        drive(server.url, phases[0], args.clients, args.requests, args.max_seconds, ingest)
        drive(server.url, phases[1], args.clients, args.requests, args.max_seconds, recommend)
    return phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", default=str(ROOT / "model_artifacts"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=48, help="per phase")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per phase")
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--batch-timeout", type=float, default=0.05)
    parser.add_argument("--users", type=int, default=2)
    parser.add_argument("--side", type=int, default=640)
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 64 or not 1 <= args.requests <= 10_000:
        parser.error("--clients must be in 1..64 and --requests in 1..10000")

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wardrobe-bench-serve-") as tmp:
        work = Path(tmp)
        photos = make_photos(min(args.requests, 64), args.side, work)
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            print(f"max_batch_size={batch}: starting serve.py ...", flush=True)
            for phase in run(args, batch, photos, work):
                rows.append(phase.row(batch))
                print(rows[-1], flush=True)
    print(
        f"\n{args.clients} concurrent clients, {args.requests} requests per phase (at most "
        f"{args.max_seconds:.0f} s), photos {args.side} px, {args.users} users, one worker, "
        f"batch_timeout {args.batch_timeout} s when batching; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    header = ["max_batch_size", "phase", "requests", "ok", "req/s", "p50 ms", "p95 ms", "p99 ms"]
    print("| " + " | ".join([*header, "photos/batch"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
