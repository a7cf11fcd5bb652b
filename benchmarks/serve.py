"""The real server over HTTP: throughput and latency of ingest and recommend, with server-side
batching on and off, and recommend while photos are being ingested (mixed load).

    python benchmarks/serve.py [--artifacts model_artifacts] [--clients 8] [--requests 48]
                               [--max-seconds 120] [--configs 1,8:one-queue,8]
                               [--batch-timeout 0.05] [--mixed-clients 2] [--mixed-requests 200]
                               [--mixed-seconds 30]

For each config (``max_batch_size``; ``:one-queue`` = LitServe's own batched loop, where every
request waits for the batch it lands in: the design before the light lane; ``:nice=N`` = that
``batch_nice``) a fresh ``serve.py`` (one worker, embedded stores in a temporary folder,
loopback only) is started and driven by HTTP clients:

* **ingest** - ``--clients`` clients ``POST /v1/garments`` (multipart) distinct held-out
  SynthWardrobe scenes, upscaled to ``--side`` px like phone uploads, for ``--users`` users;
* **recommend** - ``--clients`` clients ``POST /v1/recommend`` for those users;
* **recommend alone** - ``--mixed-clients`` clients send ``--mixed-requests`` recommends, and
  nothing else runs;
* **recommend + N ingesting** - the same clients send recommends for ``--mixed-seconds`` while
  ``--clients`` clients ingest without a pause (the **ingest (mixed)** row is what they got done
  meanwhile). The ratio of the two p95s
  is printed per config (the design's target: at most 2x).

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


def drive(
    url: str,
    phase: Phase,
    clients: int,
    total: int,
    max_seconds: float,
    request,
    stop: threading.Event | None = None,
) -> None:
    """``clients`` threads send ``request(http, i)`` for i = 0..total-1 until done, timed out
    or ``stop`` is set."""
    counter = iter(range(total))
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    stop = stop or threading.Event()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=max_seconds + 60) as http:
            while time.monotonic() < deadline and not stop.is_set():
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
                    if phase.name.startswith("ingest") and "/" in batch:
                        phase.photos_per_call.append(int(batch.split("/")[1]))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.wall = time.perf_counter() - start


def run(args: argparse.Namespace, config: str, photos: list[bytes], work: Path) -> list[Phase]:
    batch, options = int(config.split(":")[0]), config.split(":")[1:]
    one_queue = "one-queue" in options
    nice = next((int(o.split("=")[1]) for o in options if o.startswith("nice=")), None)
    overrides = [
        "host=127.0.0.1",
        "log_level=warning",
        f"paths.root_dir={work / config.replace(':', '-').replace('=', '')}",
        f"artifacts_dir={Path(args.artifacts).resolve()}",
        f"max_batch_size={batch}",
        f"batch_timeout={args.batch_timeout if batch > 1 else 0.0}",
        f"light_threads={0 if one_queue else args.light_threads}",
        *([f"batch_nice={nice}"] if nice is not None else []),
    ]
    users = [f"user{u}" for u in range(args.users)]
    log = work / f"serve-{config.replace(':', '-').replace('=', '')}.log"
    with ServeProcess(overrides, log_path=log) as server:

        def ingest(http: httpx.Client, i: int, prefix: str = "p") -> httpx.Response:
            files = {"image": (f"{i}.jpg", photos[i % len(photos)], "image/jpeg")}
            data = {"user_id": users[i % len(users)], "photo_id": f"{prefix}{batch}-{i}"}
            return http.post("/v1/garments", files=files, data=data)

        def recommend(http: httpx.Client, i: int) -> httpx.Response:
            return http.post("/v1/recommend", json={"user_id": users[i % len(users)], "k": 5})

        warm = Phase("warm-up")
        drive(server.url, warm, 1, 2 * len(users), args.max_seconds, ingest)
        drive(server.url, warm, 1, 2 * len(users), args.max_seconds, recommend)
        phases = [Phase("ingest"), Phase("recommend"), Phase("recommend alone")]
        drive(server.url, phases[0], args.clients, args.requests, args.max_seconds, ingest)
        drive(server.url, phases[1], args.clients, args.requests, args.max_seconds, recommend)
        alone = (args.mixed_clients, args.mixed_requests, args.max_seconds)
        drive(server.url, phases[2], *alone, recommend)
        phases += mixed(server.url, args, recommend, lambda http, i: ingest(http, i, "m"))
    return phases


def mixed(url: str, args: argparse.Namespace, recommend, ingest) -> list[Phase]:
    """Recommends while ``args.clients`` clients ingest without a pause (they start first and
    stop when the recommends are done)."""
    busy = Phase("ingest (mixed)")
    measured = Phase(f"recommend + {args.clients} ingesting")
    stop = threading.Event()
    background = threading.Thread(
        target=drive,
        args=(url, busy, args.clients, 10**6, args.max_seconds + 60, ingest, stop),
    )
    background.start()
    time.sleep(2.0)  # every ingest client has a photo in flight
    try:  # for --mixed-seconds: several batches of photos run meanwhile
        drive(url, measured, args.mixed_clients, 10**6, args.mixed_seconds, recommend)
    finally:
        stop.set()
        background.join()
    return [measured, busy]


def p95_ratio(phases: list[Phase]) -> str:
    alone = next(p for p in phases if p.name == "recommend alone")
    loaded = next(p for p in phases if p.name.endswith(" ingesting"))
    return f"{quantile(loaded.latencies, 95) / quantile(alone.latencies, 95):.2f}x"


def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", default=str(ROOT / "model_artifacts"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=48, help="per phase")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per phase")
    parser.add_argument(
        "--configs",
        default="1,8:one-queue,8",
        help="max_batch_size per server; ':one-queue': LitServe's own loop; ':nice=N': batch_nice",
    )
    parser.add_argument("--batch-timeout", type=float, default=0.05)
    parser.add_argument("--light-threads", type=int, default=2)
    parser.add_argument("--mixed-clients", type=int, default=2, help="recommend clients")
    parser.add_argument("--mixed-requests", type=int, default=200, help="recommends alone")
    parser.add_argument("--mixed-seconds", type=float, default=30.0, help="of recommends + ingest")
    parser.add_argument("--users", type=int, default=2)
    parser.add_argument("--side", type=int, default=640)
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 64 or not 1 <= args.requests <= 10_000:
        parser.error("--clients must be in 1..64 and --requests in 1..10000")

    rows, ratios = [], []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wardrobe-bench-serve-") as tmp:
        work = Path(tmp)
        photos = make_photos(min(max(args.requests, 48), 64), args.side, work)
        for config in args.configs.split(","):
            print(f"{config}: starting serve.py ...", flush=True)
            phases = run(args, config, photos, work)
            for phase in phases:
                rows.append(phase.row(label(config)))
                print(rows[-1], flush=True)
            ratios.append(f"{label(config)}: {p95_ratio(phases)}")
    print(
        f"\n{args.clients} concurrent clients ({args.mixed_clients} for the recommend-alone and "
        f"mixed phases), {args.requests} requests per phase ({args.mixed_requests} recommends "
        f"alone, {args.mixed_seconds:.0f} s of them mixed; at most {args.max_seconds:.0f} s), "
        f"photos {args.side} px, "
        f"{args.users} users, one worker, batch_timeout {args.batch_timeout} s when batching; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    header = ["config", "phase", "requests", "ok", "req/s", "p50 ms", "p95 ms", "p99 ms"]
    print("| " + " | ".join([*header, "photos/batch"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nrecommend p95 with {args.clients} clients ingesting / alone: " + "; ".join(ratios))
    return 0


def label(config: str) -> str:
    batch, options = int(config.split(":")[0]), config.split(":")[1:]
    name = "batch 1 (off)" if batch == 1 else f"batch {batch}"
    if "one-queue" in options:
        return f"{name}, one queue"
    nice = next((o.split("=")[1] for o in options if o.startswith("nice=")), None)
    return f"{name}, light lane" + (f" (batch_nice {nice})" if nice is not None else "")


if __name__ == "__main__":
    sys.exit(main())
