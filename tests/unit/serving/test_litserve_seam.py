"""The contract between ``wardrobe.serving.litserve_seam`` and the installed LitServe.

The seam is the only code that uses LitServe internals (its request handler, its route table).
This test runs them against a real LitServer with a spawned worker: a LitServe upgrade that
changes them fails here, with the version in the message, instead of somewhere in the app.
"""

from __future__ import annotations

import litserve as ls
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from litserve.utils import wrap_litserve_start

from tests.helpers.echo_litapi import ECHO_PATH, EchoAPI
from wardrobe.serving.errors import Outcome
from wardrobe.serving.litserve_seam import WorkerDispatch, drop_routes, worker_count, workers_down

TESTED_WITH = "0.2.19"  # the LitServe this seam was written against (pyproject pins <0.3)
VERSION = f"litserve {ls.__version__} (seam written for {TESTED_WITH})"


def paths(app: FastAPI) -> set[str]:
    return {getattr(r, "path", "") for r in app.router.routes}


def probe_server(max_batch_size: int = 1) -> tuple[ls.LitServer, EchoAPI]:
    api = EchoAPI(max_batch_size=max_batch_size)
    server = ls.LitServer(api, accelerator="cpu", devices=1, workers_per_device=1, timeout=30)
    return server, api


def add_probe_route(server: ls.LitServer, dispatch: WorkerDispatch) -> None:
    async def probe(op: str, status: int = 200) -> dict:
        outcome = await dispatch({"op": op, "status": status})
        assert isinstance(outcome, Outcome), f"{VERSION}: the worker's object changed type"
        return {"status": outcome.status, "body": outcome.body, "headers": outcome.headers}

    server.app.add_api_route("/probe", probe, methods=["GET"])


def test_litserve_registers_the_routes_the_seam_drops():
    server, _ = probe_server()
    assert {ECHO_PATH, "/", "/info", "/health"} <= paths(server.app), VERSION
    drop_routes(server, (ECHO_PATH, "/info", "/", "/health"))
    left = paths(server.app)
    assert not {ECHO_PATH, "/info", "/", "/health"} & left, VERSION
    assert worker_count(server, 1) == 1, VERSION
    assert workers_down(server) == ["no worker started yet"], VERSION


@pytest.mark.timeout(180)
@pytest.mark.parametrize("max_batch_size", [1, 4])
def test_a_payload_goes_to_the_worker_and_back_unchanged(max_batch_size):
    server, api = probe_server(max_batch_size)
    drop_routes(server, (ECHO_PATH, "/info"))
    add_probe_route(server, WorkerDispatch(server, api, timeout=60))
    with wrap_litserve_start(server) as started, TestClient(started.app) as client:
        r = client.get("/probe", params={"op": "echo"})
        assert r.status_code == 200, f"{VERSION}: {r.text}"
        # the setup status and worker processes that workers_down (our /health) reads
        assert workers_down(started) == [], VERSION
        answer = r.json()
        # the dict reaches decode_request as sent; the Outcome comes back as the worker made it
        assert answer["body"] == {"op": "echo", "status": 200}, VERSION
        assert answer["status"] == 200 and answer["headers"] == {"X-Echo": "1"}, VERSION
        # an HTTPException raised in the worker keeps its status on the way back
        failed = client.get("/probe", params={"op": "fail", "status": 409})
        assert failed.status_code == 409, f"{VERSION}: {failed.text}"
