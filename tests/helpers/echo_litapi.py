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
