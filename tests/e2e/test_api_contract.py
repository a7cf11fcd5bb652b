"""The real server's answers against its own OpenAPI schema (schemathesis, every operation,
bounded and seeded), and the HTTP-level faults a client causes on a real port: a hang-up in the
middle of an upload, a request that is not HTTP."""

from __future__ import annotations

import socket
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers.serve_harness import ALICE, noise_photo

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 12  # valid cases per operation; with the invalid ones, about a minute on 2 busy cores
NEGATIVE_EXAMPLES = 6


@pytest.fixture(scope="module")
def api_schema(keyed_server):
    with keyed_server.client() as client:  # alice has a wardrobe: some reads find garments
        files = {"image": ("p.jpg", noise_photo(7), "image/jpeg")}
        assert client.post("/v1/garments", headers=ALICE, files=files).status_code == 200
    return schemathesis.openapi.from_url(f"{keyed_server.url}/openapi.json")


def _check_operation(operation, mode: GenerationMode, examples: int) -> None:
    """``examples`` seeded cases of one operation, each sent and checked with ``CHECKS``."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        derandomize=True,  # a fixed seed: the same cases every run
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't search
    )
    def run(case):
        case.call_and_validate(headers=ALICE, checks=CHECKS, timeout=60)

    run()


@pytest.mark.timeout(300)
def test_every_operation_keeps_its_schema(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12, [op.label for op in operations]
    failures = {}
    for operation in operations:
        # valid requests, then invalid ones (wrong types, missing fields, bad patterns), which
        # must get the documented 4xx in the error envelope
        for mode, examples in [
            (GenerationMode.POSITIVE, EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ]:
            try:
                _check_operation(operation, mode, examples)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (no parameters)
            except Exception as err:  # every operation runs; all failures are reported at once
                failures[f"{operation.label} ({mode.value})"] = f"{type(err).__name__}: {err}"[
                    :3000
                ]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def _raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.timeout(120)
def test_hanging_up_mid_upload_is_one_quiet_log_line(keyed_server):
    before = keyed_server.log_tail(10**7)
    head = (
        b"POST /v1/garments HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: e2e-key-of-alice\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 900000\r\n\r\n"
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + noise_photo(3)[:20_000]
    )
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", keyed_server.port), timeout=10) as sock:
            sock.sendall(head)  # ... and the phone loses its network
    time.sleep(1.0)
    with keyed_server.client() as client:  # the server goes on as before
        assert client.get("/v1/garments", headers=ALICE).status_code == 200
    new = keyed_server.log_tail(10**7)[len(before) :]
    assert "Traceback" not in new and "ClientDisconnect" not in new, new[-3000:]


@pytest.mark.timeout(60)
def test_a_request_that_is_not_http_gets_a_400(keyed_server):
    answer = _raw(keyed_server.port, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    with keyed_server.client() as client:
        assert client.get("/health").json() == {"status": "ok"}
