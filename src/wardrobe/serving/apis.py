"""The LitAPI: one inference worker that owns the models and the stores.

Every route of the HTTP API (``routes/``) sends its request, as a plain dict ``{"op": ...}``, to
this one LitAPI's queue. The worker's loop (:class:`~.litserve_seam.LaneLoop`) gathers the
photos (``op="ingest"``) into batches of up to ``max_batch_size`` arriving within
``batch_timeout`` and calls :meth:`WardrobeAPI.predict` once per batch: they go through the
models together (:class:`~wardrobe.serving.service.WardrobeService`). Every other request
(recommend, search, list, feedback, ...) is answered at once in its own thread, beside a running
batch and at a higher CPU priority, so it never waits for a batch of photos.

Why one LitAPI and not one per route: every LitAPI gets its own worker processes, and each would
open the stores. The embedded Chroma store (``PersistentClient``) must be opened by one process
only, so with ``pipeline/store=chroma_embedded`` the whole service runs in exactly one worker,
and with ``chroma_server`` the workers scale out together (``workers_per_device``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import litserve as ls

from wardrobe.serving.errors import Outcome, error_body
from wardrobe.serving.litserve_seam import BATCH_LANE, LaneLoop

log = logging.getLogger(__name__)

WORKER_PATH = "/internal/wardrobe-worker"  # LitServe's own route for it is removed (app.py)


class WardrobeAPI(ls.LitAPI):
    """Ingestion (batched across requests), garments, recommendation, feedback and search.

    The constructor takes only the resolved config as plain data: LitServe pickles the API into
    spawned worker processes, and :meth:`setup` loads the bundles and opens the stores there.
    """

    def __init__(
        self,
        cfg: Mapping[str, Any],
        *,
        max_batch_size: int = 1,
        batch_timeout: float = 0.0,
        service: Any = None,
        light_threads: int = 2,
        batch_nice: int = 10,
    ) -> None:
        super().__init__(
            max_batch_size=int(max_batch_size),
            batch_timeout=float(batch_timeout),
            api_path=WORKER_PATH,
            # light_threads=0: LitServe's own loop, every request in the batches (as before)
            loop=LaneLoop(light_threads, batch_nice) if light_threads > 0 else "auto",
        )
        self.cfg = dict(cfg)
        self.service = service  # set by setup(); tests may pass one built in-process

    def setup(self, device: str) -> None:
        from wardrobe.serving.service import build_service

        if self.service is None:
            self.service = build_service(self.cfg, device)
        log.info("worker ready on %s: %s", device, dict(self.service.pipeline.model_versions))

    @staticmethod
    def lane(request: Mapping[str, Any]) -> str:
        """Photos are gathered into batches; everything else is answered at once."""
        return BATCH_LANE if request.get("op") == "ingest" else "now"

    @staticmethod
    def late(waited_s: float) -> Outcome:
        """The answer to a request that waited in the queue longer than ``timeout``."""
        message = (
            f"the request waited {waited_s:.1f} s for the worker, longer than the server's "
            "timeout: nothing was done; retry later"
        )
        return Outcome(504, error_body("timeout", message), {"Retry-After": "5"})

    def decode_request(self, request):
        # The routes send validated dicts; nothing else reaches this queue.
        return request

    def predict(self, x):
        # LaneLoop always passes a list; a single request (LitServe's own loop) is answered alone
        if isinstance(x, list):
            return self.service.handle(x)
        return self.service.handle([x])[0]

    def encode_response(self, output):
        # an Outcome (status, JSON body, headers): pickled back to the HTTP process
        return output

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["service"] = None  # models and store clients never cross into a worker
        return state
