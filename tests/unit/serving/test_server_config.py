"""``conf/serve.yaml`` and the LitServer it builds (no process is started here)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from litserve.utils import WorkerSetupStatus

from wardrobe.serving.apis import WORKER_PATH
from wardrobe.serving.app import ConfigError, build_server, plain_config
from wardrobe.serving.service import service_info


def routes(app) -> list[tuple[str, frozenset[str]]]:
    """(path, methods) of every documented route."""
    return [(p, frozenset(m.upper() for m in ops)) for p, ops in app.openapi()["paths"].items()]


def test_serve_config_composes_with_the_pipeline_groups(make_cfg):
    cfg = plain_config(make_cfg("serve"))
    assert cfg["pipeline"]["store"]["vectors"]["mode"] == "embedded"
    assert cfg["pipeline"]["store"]["process_safe"] is False
    assert cfg["max_upload_bytes"] == cfg["pipeline"]["ingest"]["max_bytes"]
    assert "feedback_weights" in cfg["pipeline"]["recommend"]
    assert cfg["artifacts_dir"].endswith("model_artifacts")
    assert cfg["host"] == "127.0.0.1" and cfg["auth"]["api_keys"] is None
    server = make_cfg("serve", ["pipeline/store=chroma_server"])
    assert plain_config(server)["pipeline"]["store"]["process_safe"] is True


def test_several_workers_need_a_process_safe_store(make_cfg):
    with pytest.raises(ConfigError, match="not process-safe"):
        build_server(make_cfg("serve", ["accelerator=cpu", "workers_per_device=2"]))
    server = build_server(
        make_cfg(
            "serve", ["accelerator=cpu", "workers_per_device=2", "pipeline/store=chroma_server"]
        )
    )
    assert server.workers_total == 2


def test_the_server_exposes_the_api_and_hides_the_worker_route(make_cfg):
    server = build_server(make_cfg("serve", ["accelerator=cpu", "max_batch_size=4"]))
    paths = routes(server.app)
    assert not [p for p, _ in paths if p == WORKER_PATH]
    assert [p for p, _ in paths].count("/info") == 1
    info = server.app.openapi()["paths"]["/info"]["get"]
    assert "InfoResponse" in str(info["responses"]["200"])  # ours, not LitServe's
    for path, method in [
        ("/v1/garments", "POST"),
        ("/v1/garments", "GET"),
        ("/v1/garments/{garment_id}", "GET"),
        ("/v1/garments/{garment_id}", "DELETE"),
        ("/v1/recommend", "POST"),
        ("/v1/feedback", "POST"),
        ("/v1/search", "POST"),
        ("/health", "GET"),
    ]:
        assert any(p == path and method in m for p, m in paths), (path, method)
    api = server.lit_api
    assert api.max_batch_size == 4 and api.batch_timeout == 0.05
    assert api.api_path == WORKER_PATH


def test_health_is_503_until_every_worker_is_ready(make_cfg):
    server = build_server(make_cfg("serve", ["accelerator=cpu"]))
    client = TestClient(server.app)  # no lifespan: LitServe's health route alone
    server.workers_setup_status = {"wardrobe-worker_0": WorkerSetupStatus.STARTING}
    assert client.get("/health").status_code == 503
    server.workers_setup_status = {"wardrobe-worker_0": WorkerSetupStatus.READY}
    assert client.get("/health").status_code == 200


def test_info_hides_the_database_credentials(make_cfg):
    cfg = plain_config(make_cfg("serve"))
    cfg["pipeline"]["store"]["records"]["url"] = "postgresql+psycopg://me:secret@db/wardrobe"
    info = service_info(cfg)
    assert info["store"]["records"] == "postgresql+psycopg"
    assert "secret" not in str(info)


def test_constraints_reach_the_recommender_as_sent(client, service, monkeypatch):
    from tests.helpers.serving_fakes import photo

    seen = {}
    original = service.recommender.recommend

    def spy(user_id, constraints=None, text=None, k=None):
        seen.update(constraints=constraints, text=text, k=k)
        return original(user_id, constraints, text, k)

    monkeypatch.setattr(service.recommender, "recommend", spy)
    client.post("/v1/garments", data={"user_id": "alice"}, files={"image": ("p.jpg", photo())})
    body = {"user_id": "alice", "text": "rainy day", "k": 3, "constraints": {"rain": True}}
    assert client.post("/v1/recommend", json=body).status_code == 200
    # only the fields the client set: the text may fill in the others
    assert seen["constraints"].model_fields_set == {"rain"} and seen["constraints"].rain
    assert seen["text"] == "rainy day" and seen["k"] == 3
    bad = {"user_id": "alice", "constraints": {"formality_min": 0.9, "formality_max": 0.1}}
    r = client.post("/v1/recommend", json=bad)
    assert r.status_code == 422 and "formality_min" in r.json()["error"]["message"]
