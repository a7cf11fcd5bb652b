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
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException

from wardrobe.serving.errors import Outcome


class WorkerDispatch:
    """Send a request to the LitServe worker queue and wait for its answer (HTTP process)."""

    def __init__(self, server: Any, api: Any, timeout: float | None = None) -> None:
        from litserve.server import RegularRequestHandler

        # LitServe's own handler for a LitAPI route: queue, response buffer, error unpickling.
        self._handler = RegularRequestHandler(api, server)
        self._timeout = timeout

    async def __call__(self, request: dict[str, Any]) -> Outcome:
        # request_type=dict: LitServe passes the payload through as it is (no body parsing)
        call = self._handler.handle_request(request, dict)
        try:
            return await asyncio.wait_for(call, self._timeout)
        except asyncio.TimeoutError:
            raise HTTPException(504, "the worker did not answer in time; retry later") from None


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
    for proc in getattr(server, "inference_workers", None) or []:
        if not _process_alive(getattr(proc, "pid", None)):
            down.append(f"worker process {proc.pid} is dead")
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
