"""The contract between ``wardrobe.serving.litserve_seam`` and the installed LitServe.

The seam is the only code that uses LitServe internals (its request handler, its route table).
This test runs them against a real LitServer with a spawned worker: a LitServe upgrade that
changes them fails here, with the version in the message, instead of somewhere in the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import litserve as ls
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from litserve.utils import wrap_litserve_start

from tests.helpers.echo_litapi import ECHO_PATH, EchoAPI, LaneEchoAPI
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
    async def probe(op: str, status: int = 200, seconds: float = 0.0, tag: str = "") -> dict:
        request = {"op": op, "status": status}
        if op == "slow":
            request |= {"seconds": seconds, "tag": tag}
        outcome = await dispatch(request)
        assert isinstance(outcome, Outcome), f"{VERSION}: the worker's object changed type"
        return {"status": outcome.status, "body": outcome.body, "headers": outcome.headers}

    server.app.add_api_route("/probe", probe, methods=["GET"])


def lane_probe_server(queue_timeout: float, route_timeout: float) -> ls.LitServer:
    """A LaneLoop echo server: LitServe's queue timeout and the route's own."""
    api = LaneEchoAPI()
    server = ls.LitServer(
        api, accelerator="cpu", devices=1, workers_per_device=1, timeout=queue_timeout
    )
    drop_routes(server, (ECHO_PATH, "/info"))
    add_probe_route(server, WorkerDispatch(server, api, timeout=route_timeout))
    return server


def timed_sender(done: dict[str, tuple[float, Any]]) -> Callable[..., None]:
    """``send(client, name, **params)``: GET /probe, kept in ``done[name]`` as (time, response)."""

    def send(client: TestClient, name: str, **params) -> None:
        r = client.get("/probe", params=params)
        done[name] = (time.monotonic(), r)

    return send


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


@pytest.mark.timeout(180)
def test_the_lane_loop_answers_short_requests_beside_a_batch_and_late_ones_alone():
    """LaneLoop in a real worker: an echo sent while a slow batch runs is answered before that
    batch ends; a batch-lane request that waited past the timeout gets the API's late answer
    while the request gathered with it is answered."""
    server = lane_probe_server(queue_timeout=2.5, route_timeout=60)
    done: dict[str, tuple[float, Any]] = {}
    send = timed_sender(done)

    with wrap_litserve_start(server) as started, TestClient(started.app) as client:
        assert client.get("/probe", params={"op": "echo"}).status_code == 200, VERSION
        slow = threading.Thread(
            target=send, args=(client, "slow"), kwargs={"op": "slow", "seconds": 4, "tag": "s"}
        )
        slow.start()
        time.sleep(0.5)  # the slow batch is running
        late = threading.Thread(
            target=send, args=(client, "late"), kwargs={"op": "slow", "tag": "a"}
        )
        late.start()
        send(client, "echo", op="echo")  # the light lane, while the batch sleeps
        time.sleep(2.5)
        send(client, "fresh", op="slow", tag="b")  # joins the late one's batch, 1 s before it
        slow.join(30)
        late.join(30)
    assert done["echo"][0] < done["slow"][0], f"{VERSION}: the echo waited for the batch"
    echo, late, fresh = (done[k][1].json() for k in ("echo", "late", "fresh"))
    assert echo["status"] == 200, VERSION
    assert late["status"] == 504 and late["body"]["late"], VERSION
    assert late["body"]["waited_s"] > 2.5, VERSION
    assert fresh["status"] == 200 and fresh["body"]["tag"] == "b", VERSION
    assert fresh["headers"]["X-Batch"] == "1", VERSION  # the late one was left out of it


@pytest.mark.timeout(180)
def test_a_route_gives_up_on_a_batch_that_never_ends_with_504_and_keeps_serving():
    """The request passed the queue check and its batch runs, but the worker does not answer
    within the route's own timeout (serve.yaml's ``timeout`` x 2 + 30 s in the app): the route
    answers 504 then, not when the batch ends, and the light lane still answers meanwhile."""
    server = lane_probe_server(queue_timeout=30, route_timeout=1.5)
    done: dict[str, tuple[float, Any]] = {}
    send = timed_sender(done)

    with wrap_litserve_start(server) as started, TestClient(started.app) as client:
        assert client.get("/probe", params={"op": "echo"}).status_code == 200, VERSION
        sent = time.monotonic()
        stuck = threading.Thread(
            target=send, args=(client, "stuck"), kwargs={"op": "slow", "seconds": 8, "tag": "s"}
        )
        stuck.start()
        stuck.join(30)
        send(client, "echo", op="echo")  # while the stuck batch still sleeps
        batch_end = sent + 8
    answered_at, stuck_answer = done["stuck"]
    assert stuck_answer.status_code == 504, f"{VERSION}: {stuck_answer.text}"
    assert "did not answer in time" in stuck_answer.text
    assert answered_at < batch_end, f"{VERSION}: the route waited for the batch to end"
    echo_at, echo = done["echo"]
    assert echo.status_code == 200 and echo_at < batch_end, VERSION
