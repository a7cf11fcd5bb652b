"""The one place that uses LitServe beyond its public ``LitAPI``/``LitServer`` API.

The routes of :mod:`wardrobe.serving.routes` are ours (typed, documented, multipart and JSON),
but the work must still go through LitServe's queue so that its batching and worker processes
do the inference. LitServe offers no public call for "submit this payload to that LitAPI's
workers and await the answer", so :class:`WorkerDispatch` uses its internal request handler, and
:func:`drop_routes` removes the routes LitServe registers that ours replace.

``tests/unit/serving/test_litserve_seam.py`` pins this contract against the installed LitServe:
an upgrade that changes these internals fails that one test, not the app.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import HTTPException

from wardrobe.serving.errors import Outcome


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
