"""A LitAPI with no model, for the LitServe contract test: it answers each request with an
``Outcome`` echoing it, or raises the ``HTTPException`` the request asks for. It lives in an
importable module because LitServe spawns its workers (they unpickle the API by name)."""

from __future__ import annotations

import litserve as ls
from fastapi import HTTPException

from wardrobe.serving.errors import Outcome

ECHO_PATH = "/internal/echo-worker"


class EchoAPI(ls.LitAPI):
    """``{"op": "echo", ...}`` -> ``Outcome(200, request)``; ``{"op": "fail", "status": N}`` ->
    ``HTTPException(N)`` raised in the worker."""

    def __init__(self, max_batch_size: int = 1) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=0.01, api_path=ECHO_PATH)

    def setup(self, device: str) -> None:
        self.device = device

    def decode_request(self, request):
        return request

    def predict(self, x):
        requests = x if self.max_batch_size > 1 else [x]
        answers = [self._answer(r) for r in requests]
        return answers if self.max_batch_size > 1 else answers[0]

    @staticmethod
    def _answer(request: dict) -> Outcome:
        if request.get("op") == "fail":
            raise HTTPException(int(request["status"]), "asked to fail")
        return Outcome(200, dict(request), {"X-Echo": "1"})

    def encode_response(self, output):
        return output


class LaneEchoAPI(EchoAPI):
    """The same echo on :class:`~wardrobe.serving.litserve_seam.LaneLoop`: ``{"op": "slow",
    "seconds": s}`` goes to the batch lane and sleeps ``s`` seconds per batch; anything else is
    answered at once. Every answer says how many requests its ``predict`` call had."""

    def __init__(self, max_batch_size: int = 4, batch_timeout: float = 0.3) -> None:
        from wardrobe.serving.litserve_seam import LaneLoop

        ls.LitAPI.__init__(
            self,
            max_batch_size=max_batch_size,
            batch_timeout=batch_timeout,
            api_path=ECHO_PATH,
            loop=LaneLoop(light_threads=1, batch_nice=5),
        )

    @staticmethod
    def lane(request: dict) -> str:
        from wardrobe.serving.litserve_seam import BATCH_LANE

        return BATCH_LANE if request.get("op") == "slow" else "now"

    @staticmethod
    def late(waited_s: float) -> Outcome:
        return Outcome(504, {"late": True, "waited_s": waited_s})

    def predict(self, x):
        import time

        time.sleep(max((float(r.get("seconds", 0)) for r in x), default=0.0))
        return [Outcome(200, dict(r), {"X-Batch": str(len(x))}) for r in x]
