"""How a route reaches the worker: a ``Dispatch`` takes the request dict, returns an Outcome.

In ``serve.py`` it is :class:`~wardrobe.serving.litserve_seam.WorkerDispatch` (LitServe's queue
to the worker processes); in tests and debugging :class:`InProcessDispatch` runs the same
LitAPI hooks in this process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from wardrobe.serving.apis import WardrobeAPI
from wardrobe.serving.errors import Outcome

Dispatch = Callable[[dict[str, Any]], Awaitable[Outcome]]


class InProcessDispatch:
    """Run the LitAPI's hooks in this process, one request at a time (tests, debugging)."""

    def __init__(self, api: WardrobeAPI) -> None:
        self.api = api
        self._lock = threading.Lock()  # one worker: requests never overlap

    def _run(self, request: dict[str, Any]) -> Outcome:
        with self._lock:
            x = self.api.decode_request(request)
            return self.api.encode_response(self.api.predict([x])[0])

    async def __call__(self, request: dict[str, Any]) -> Outcome:
        return await asyncio.to_thread(self._run, request)
