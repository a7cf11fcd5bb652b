"""The HTTP app on LitServe's FastAPI app, and the server builder used by ``serve.py``.

Routes (``/v1``, OpenAPI page at ``/docs``; one module per resource in :mod:`.routes`) check the
caller (:mod:`.auth`), read the request (:mod:`.parsing`, :mod:`.schemas`), then send it as a
plain dict to the worker (:mod:`.apis`) through LitServe's request queue (the one place that
touches LitServe internals: :mod:`.litserve_seam`), and turn the worker's
:class:`~.errors.Outcome` into the response. No model and no store is touched in the HTTP
processes.

* ``build_server(cfg)`` -> a ``litserve.LitServer`` with these routes mounted;
* ``create_app(dispatch)`` -> the same routes on a bare FastAPI app, for in-process tests and
  debugging, with any ``dispatch`` (e.g. :class:`InProcessDispatch` around a service).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from omegaconf import DictConfig, OmegaConf

from wardrobe.serving import schemas
from wardrobe.serving.apis import WORKER_PATH, WardrobeAPI
from wardrobe.serving.auth import ExposureError, check_exposure
from wardrobe.serving.dispatch import Dispatch, InProcessDispatch
from wardrobe.serving.errors import error_body, install_handlers
from wardrobe.serving.litserve_seam import (
    WorkerDispatch,
    drop_routes,
    watch_workers,
    worker_count,
    workers_down,
)
from wardrobe.serving.parsing import BodyLimitMiddleware
from wardrobe.serving.routes import RouteContext, mount_routes
from wardrobe.serving.settings import ApiSettings

log = logging.getLogger(__name__)

API_TITLE = "wardrobe"
API_DESCRIPTION = (
    "Digital-wardrobe ML service: ingest garment photos, list and delete garments, recommend "
    "outfits, record feedback, search a wardrobe by text or photo. Every call acts for one "
    "user (the API key's user when keys are configured)."
)


def mount(app: FastAPI, dispatch: Dispatch, settings: ApiSettings) -> FastAPI:
    """Add the routes, error handlers and the body limit to ``app`` (LitServe's or a bare one)."""
    app.title, app.description, app.version = API_TITLE, API_DESCRIPTION, "1"
    install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    mount_routes(app, RouteContext(dispatch, settings))
    app.openapi_schema = None
    return app


def create_app(dispatch: Dispatch, settings: ApiSettings | None = None) -> FastAPI:
    """The API on a bare FastAPI app (no LitServe): for in-process tests and debugging.
    ``GET /health`` answers 200 at once (there is no worker to wait for)."""
    app = FastAPI()
    add_health_route(app, list)
    return mount(app, dispatch, settings or ApiSettings())


def add_health_route(app: FastAPI, problems: Callable[[], list[str]]) -> None:
    """``GET /health``: 200 ``{"status": "ok"}`` when ``problems()`` is empty, else 503 naming
    them (load balancers and ``launch.ServeProcess.wait_ready`` poll it)."""

    @app.get(
        "/health",
        tags=["service"],
        summary="Readiness: 200 when every worker has its models and stores, else 503",
        response_model=schemas.HealthResponse,
        responses={503: {"model": schemas.ErrorResponse, "description": "not ready"}},
    )
    async def health() -> JSONResponse:
        down = problems()
        if down:
            body = error_body("unavailable", "not ready: " + "; ".join(down))
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        return JSONResponse({"status": "ok"})


# ------------------------------------------------------------------------------ the server
class ConfigError(ValueError):
    """The serve config cannot work (e.g. several workers on a one-process store)."""


def plain_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved config as plain data (picklable into spawned workers; no Hydra needed)."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    return dict(cfg)


def build_server(cfg: DictConfig | Mapping[str, Any]):
    """A ``litserve.LitServer`` serving the API from ``cfg`` (the composed ``conf/serve.yaml``).
    Raises :class:`ConfigError` for a config that cannot serve safely."""
    import litserve as ls

    plain = plain_config(cfg)
    try:
        settings = ApiSettings.from_config(plain)
        auth = plain.get("auth") or {}
        check_exposure(str(plain["host"]), settings.api_keys, bool(auth.get("allow_anonymous")))
    except (ExposureError, ValueError) as err:
        raise ConfigError(str(err)) from None
    api = WardrobeAPI(
        plain,
        max_batch_size=plain["max_batch_size"],
        batch_timeout=plain["batch_timeout"],
        light_threads=int(plain.get("light_threads", 2)),
        batch_nice=int(plain.get("batch_nice", 10)),
    )
    server = ls.LitServer(
        api,
        accelerator=plain.get("accelerator", "auto"),
        devices=plain.get("devices", "auto"),
        workers_per_device=int(plain.get("workers_per_device", 1)),
        timeout=plain.get("timeout", 60),
    )
    workers = worker_count(server, int(plain.get("workers_per_device", 1)))
    store = plain["pipeline"]["store"]
    if workers > 1 and not store.get("process_safe", False):
        raise ConfigError(
            f"{workers} worker processes would each open the store, and this store is not "
            "process-safe (process_safe: false: a Chroma PersistentClient must be opened by one "
            "process). Use pipeline/store=chroma_server for several workers, or "
            "workers_per_device=1 on one device."
        )
    # LitServe registers "/", /info, /health and a POST route for the worker; ours replace them.
    drop_routes(server, (WORKER_PATH, "/info", "/", "/health"))
    add_health_route(server.app, lambda: workers_down(server))
    mount(server.app, WorkerDispatch(server, api, settings.request_timeout), settings)
    server.workers_total = workers
    return server


def run_server(cfg: DictConfig | Mapping[str, Any]) -> None:
    """Build the server and serve until interrupted (SIGINT or SIGTERM)."""
    import signal

    plain = plain_config(cfg)
    server = build_server(plain)
    stopping = threading.Event()

    def _interrupt(signum, frame):  # SIGTERM shuts down as gracefully as Ctrl+C
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    watch_workers(server, lambda pids: None if stopping.is_set() else _exit_for_supervisor(pids))
    host, port = plain["host"], int(plain["port"])
    log.info(
        "serving %s on http://%s:%d (docs: /docs) with %d worker(s), store %s",
        plain["artifacts_dir"],
        host,
        port,
        server.workers_total,
        plain["pipeline"]["store"]["vectors"].get("mode"),
    )
    try:
        server.run(
            host=host,
            port=port,
            num_api_servers=plain.get("num_api_servers"),
            log_level=str(plain.get("log_level", "info")),
            generate_client_file=False,
        )
    except RuntimeError:
        # A worker failed its setup (a missing or mismatched bundle, a store that cannot
        # open): LitServe raises before its own shutdown, so stop the processes it started.
        for child in mp.active_children():
            child.kill()
        raise


WORKER_DIED_EXIT = 70  # EX_SOFTWARE: serve.py's exit code when a worker process died


def _exit_for_supervisor(pids: list[int]) -> None:
    """A worker process died (killed, out of memory): exit, so that the supervisor (systemd,
    Kubernetes, docker --restart) starts a fresh service, rather than run on with an HTTP
    front that cannot answer. The HTTP processes answer 503 meanwhile (``/health`` included),
    for one second, so that clients and load balancers see why."""
    log.error(
        "worker process(es) %s died: exiting with %d so that the supervisor restarts the service",
        pids,
        WORKER_DIED_EXIT,
    )
    time.sleep(1.0)
    for child in mp.active_children():  # the HTTP processes, the other workers, the manager
        child.kill()
    logging.shutdown()
    os._exit(WORKER_DIED_EXIT)


__all__ = [
    "ApiSettings",
    "ConfigError",
    "InProcessDispatch",
    "WorkerDispatch",
    "build_server",
    "create_app",
    "mount",
    "plain_config",
    "run_server",
]
