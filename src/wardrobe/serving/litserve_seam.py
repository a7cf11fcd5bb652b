"""The one place that uses LitServe beyond its public ``LitAPI``/``LitServer`` API.

The routes of :mod:`wardrobe.serving.routes` are ours (typed, documented, multipart and JSON),
but the work must still go through LitServe's queue so that its batching and worker processes
do the inference. LitServe offers no public call for "submit this payload to that LitAPI's
workers and await the answer", so :class:`WorkerDispatch` uses its internal request handler, and
:func:`drop_routes` removes the routes LitServe registers that ours replace. In the worker,
:class:`LaneLoop` (a custom ``LitLoop``, LitServe's extension point for the worker's loop)
replaces LitServe's batched loop so that short requests never wait behind a batch of photos.

``tests/unit/serving/test_litserve_seam.py`` pins this contract against the installed LitServe:
an upgrade that changes these internals fails that one test, not the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import HTTPException
from litserve.loops.base import _SENTINEL_VALUE, LitLoop
from litserve.utils import LitAPIStatus, LoopResponseType

from wardrobe.serving.errors import Outcome

log = logging.getLogger(__name__)


class WorkerDispatch:
    """Send a request to the LitServe worker queue and wait for its answer (HTTP process)."""

    POLL_S = 0.5  # how often a waiting request checks that the worker processes still run

    def __init__(self, server: Any, api: Any, timeout: float | None = None) -> None:
        from litserve.server import RegularRequestHandler

        # LitServe's own handler for a LitAPI route: queue, response buffer, error unpickling.
        self._handler = RegularRequestHandler(api, server)
        self._server = server
        self._timeout = timeout

    async def __call__(self, request: dict[str, Any]) -> Outcome:
        # request_type=dict: LitServe passes the payload through as it is (no body parsing)
        call = asyncio.ensure_future(self._handler.handle_request(request, dict))
        loop = asyncio.get_running_loop()
        deadline = None if self._timeout is None else loop.time() + self._timeout
        while True:
            done, _ = await asyncio.wait({call}, timeout=self.POLL_S)
            if done:
                return call.result()
            if dead_workers(self._server):
                # a dead worker never answers: say so now instead of after the timeout
                call.cancel()
                raise HTTPException(
                    503,
                    "the worker process died; the service is restarting, retry shortly",
                    headers={"Retry-After": "5"},
                )
            if deadline is not None and loop.time() > deadline:
                call.cancel()
                raise HTTPException(504, "the worker did not answer in time; retry later")


def _process_alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs (a killed child that its parent has not reaped yet is a
    zombie: dead, though ``kill(pid, 0)`` still succeeds)."""
    if pid is None:
        return True  # not started yet: the setup status says so
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


def dead_workers(server: Any) -> list[int]:
    """The pids of the server's worker processes that are not running."""
    procs = getattr(server, "inference_workers", None) or []
    return [p.pid for p in procs if not _process_alive(getattr(p, "pid", None))]


def watch_workers(server: Any, on_death: Callable[[list[int]], None], poll_s: float = 0.25):
    """Call ``on_death(pids)`` once, from a daemon thread, when a worker process of ``server``
    dies after every worker was ready (a failed setup is LitServe's to report). Used in the
    ``serve.py`` process, the parent of the workers."""
    from litserve.utils import WorkerSetupStatus

    def ready() -> bool:
        statuses = dict(getattr(server, "workers_setup_status", None) or {})
        return bool(statuses) and all(v == WorkerSetupStatus.READY for v in statuses.values())

    def watch() -> None:
        while not (ready() and getattr(server, "inference_workers", None)):
            time.sleep(poll_s)
        while True:
            dead = [p.pid for p in server.inference_workers if not p.is_alive()]
            if dead:
                on_death(dead)
                return
            time.sleep(poll_s)

    thread = threading.Thread(target=watch, daemon=True, name="wardrobe-worker-watch")
    thread.start()
    return thread


def workers_down(server: Any) -> list[str]:
    """Why the server cannot serve now: workers not (yet) ready or dead; empty when it can.

    LitServe's own ``/health`` reads the setup status only, which stays READY after a worker
    is killed; the worker processes (forked into the HTTP processes as ``inference_workers``)
    are checked too, so a dead worker turns health to 503 at once, not when requests time out.
    """
    from litserve.utils import WorkerSetupStatus

    statuses = dict(getattr(server, "workers_setup_status", None) or {})
    if not statuses:
        return ["no worker started yet"]
    down = [
        f"{name}: {status}"
        for name, status in statuses.items()
        if status != WorkerSetupStatus.READY
    ]
    down += [f"worker process {pid} is dead" for pid in dead_workers(server)]
    return down


def drop_routes(server: Any, paths: Iterable[str]) -> None:
    """Remove LitServe's own routes at ``paths`` (e.g. its POST route for the worker's
    ``api_path`` and its ``/info``) from the server's FastAPI app."""
    unwanted = set(paths)
    server.app.router.routes = [
        r for r in server.app.router.routes if getattr(r, "path", None) not in unwanted
    ]


def worker_count(server: Any, workers_per_device: int) -> int:
    """How many worker processes ``server`` will start for its LitAPI."""
    return len(server.devices) * int(workers_per_device)


# ------------------------------------------------------------------------------ worker loop
BATCH_LANE = "batch"  # what lit_api.lane(x) answers for a request that is gathered into batches
NICE_MAX = 19


class LaneLoop(LitLoop):
    """The worker's loop: batches of photos in one lane, every other request beside them.

    LitServe's batched loop runs one batch at a time, so a recommend that lands in a batch of
    eight photos waits for all of them (seconds on a small CPU). Here one dispatcher thread reads
    the worker's request queue and sorts each request by ``lit_api.lane(x)``:

    * ``"batch"`` (ingest): gathered as LitServe would (up to ``max_batch_size`` arriving within
      ``batch_timeout`` s) and run by one batch thread, whose threads (the models' pools, the
      colour thread) run ``batch_nice`` steps below normal CPU priority;
    * anything else: run at once by one of ``light_threads`` threads, beside a running batch.

    Every request's queue wait is checked against LitServe's ``request_timeout`` when its turn
    comes (for a photo: when its batch is formed); a late one gets ``lit_api.late(waited_s)``
    and the rest of its batch goes on. ``lit_api.predict`` always gets a list.
    """

    def __init__(self, light_threads: int = 2, batch_nice: int = 10) -> None:
        super().__init__()
        if light_threads < 1:
            raise ValueError("light_threads must be at least 1")
        self.light_threads = int(light_threads)
        self.batch_nice = int(batch_nice)

    def __call__(
        self,
        lit_api: Any,
        device: str,
        worker_id: int,
        request_queue: Any,
        transport: Any,
        workers_setup_status: dict,
        callback_runner: Any,
    ) -> None:
        batches: queue.Queue = queue.Queue()
        light: queue.Queue = queue.Queue()
        keep_priority = {threading.get_native_id()}  # the dispatcher and the light threads
        for n in range(self.light_threads):
            t = threading.Thread(
                target=self._light_lane,
                args=(lit_api, light, transport),
                daemon=True,
                name=f"wardrobe-light-{n}",
            )
            t.start()
            keep_priority.add(t.native_id)
        threading.Thread(
            target=self._batch_lane,
            args=(lit_api, batches, transport, keep_priority),
            daemon=True,
            name="wardrobe-batch",
        ).start()
        while True:
            try:
                item = request_queue.get(timeout=1.0)
            except (queue.Empty, ValueError):
                continue
            except KeyboardInterrupt:  # pragma: no cover
                self.kill()
                return
            if item == _SENTINEL_VALUE:
                batches.put(None)
                for _ in range(self.light_threads):
                    light.put(None)
                return
            response_queue_id, uid, _, x_enc = item
            # "started" (LitServe records the worker). Sent from this thread, always, so that
            # the queue's feeder thread, started by its first put, keeps normal priority.
            if self.worker_id is not None:  # set by LitServe in every worker process
                start = ((), LitAPIStatus.START, LoopResponseType.REGULAR, self.worker_id)
                transport.send((uid, start), consumer_id=response_queue_id)
            try:
                lane = lit_api.lane(x_enc)
            except Exception:  # a request the API cannot sort: the light lane answers it
                lane = None
            (batches if lane == BATCH_LANE else light).put(item)

    # ---------------------------------------------------------------- lanes
    def _light_lane(self, lit_api: Any, light: queue.Queue, transport: Any) -> None:
        while (item := light.get()) is not None:
            self._run(lit_api, self._in_time(lit_api, [item], transport), transport)

    def _batch_lane(
        self, lit_api: Any, batches: queue.Queue, transport: Any, keep_priority: set[int]
    ) -> None:
        lower_thread_priorities(self.batch_nice, keep_priority)
        while (first := batches.get()) is not None:
            items = [first]
            end = time.monotonic() + float(lit_api.batch_timeout)
            while len(items) < int(lit_api.max_batch_size):
                left = end - time.monotonic()
                try:
                    item = batches.get(timeout=left) if left > 0 else batches.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    batches.put(None)  # stop after this batch
                    break
                items.append(item)
            self._run(lit_api, self._in_time(lit_api, items, transport), transport)

    def _in_time(self, lit_api: Any, items: list, transport: Any) -> list:
        """The items that have not waited longer than ``request_timeout``; the late ones are
        answered here."""
        limit = lit_api.request_timeout
        if limit in (None, False, -1):
            return items
        now, kept = time.monotonic(), []
        for item in items:
            response_queue_id, uid, timestamp, _ = item
            waited = now - timestamp
            if waited <= float(limit):
                kept.append(item)
                continue
            log.warning("request %s waited %.1f s in the queue (limit %s s)", uid, waited, limit)
            self.put_response(
                transport,
                response_queue_id,
                uid,
                lit_api.late(waited),
                LitAPIStatus.OK,
                LoopResponseType.REGULAR,
            )
        return kept

    def _run(self, lit_api: Any, items: list, transport: Any) -> None:
        """decode_request -> predict (one call for the items) -> encode_response, answered."""
        if not items:
            return
        try:
            outputs = lit_api.predict([lit_api.decode_request(x) for *_, x in items])
            if len(outputs) != len(items):
                raise RuntimeError(f"predict answered {len(outputs)} of {len(items)} requests")
            answers = [lit_api.encode_response(y) for y in outputs]
        except Exception as err:  # the API answers its own errors; this is a bug: say so
            log.exception("the worker failed a batch of %d request(s)", len(items))
            for response_queue_id, uid, _, _ in items:
                self.put_error_response(transport, response_queue_id, uid, err)
            return
        for (response_queue_id, uid, _, _), answer in zip(items, answers, strict=True):
            self.put_response(
                transport, response_queue_id, uid, answer, LitAPIStatus.OK, LoopResponseType.REGULAR
            )


def lower_thread_priorities(steps: int, keep: set[int]) -> list[int]:
    """Lower by ``steps`` the CPU priority (raise the nice value) of every thread of this
    process but those in ``keep``; threads started later by a lowered thread inherit it. Why:
    the models' thread pools were started by the worker's setup, so lowering the batch thread
    alone would leave most of a batch's work at normal priority. Returns the lowered thread ids
    (none where the platform has no per-thread nice values)."""
    if steps <= 0 or not hasattr(os, "setpriority"):
        return []
    lowered = []
    with contextlib.suppress(OSError):
        tids = [int(t) for t in os.listdir("/proc/self/task")]
        for tid in (t for t in tids if t not in keep):
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                nice = os.getpriority(os.PRIO_PROCESS, tid)
                os.setpriority(os.PRIO_PROCESS, tid, min(NICE_MAX, nice + steps))
                lowered.append(tid)
    return lowered
