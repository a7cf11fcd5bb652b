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
