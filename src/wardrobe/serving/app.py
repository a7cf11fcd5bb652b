"""The HTTP API on LitServe's FastAPI app, and the server builder used by ``serve.py``.

Routes (``/v1``, OpenAPI page at ``/docs``) check the caller (:mod:`.auth`), validate the request
(:mod:`.schemas`), then send it as a plain dict to the worker (:mod:`.apis`) through LitServe's
request queue, and turn the worker's :class:`~.errors.Outcome` into the response. No model and
no store is touched in the HTTP processes.

* ``build_server(cfg)`` -> a ``litserve.LitServer`` with these routes mounted;
* ``create_app(dispatch)`` -> the same routes on a bare FastAPI app, for in-process tests and
  debugging, with any ``dispatch`` (e.g. :class:`InProcessDispatch` around a service).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import multiprocessing as mp
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wardrobe.ingestion.decode import DEFAULT_MAX_BYTES
from wardrobe.serving import schemas
from wardrobe.serving.apis import WORKER_PATH, WardrobeAPI
from wardrobe.serving.auth import API_KEY_HEADER, ApiKeys, key_from_headers
from wardrobe.serving.errors import Outcome, error_body, install_handlers
from wardrobe.store.schema import check_id

log = logging.getLogger(__name__)

Dispatch = Callable[[dict[str, Any]], Awaitable[Outcome]]

API_TITLE = "wardrobe"
API_DESCRIPTION = (
    "Digital-wardrobe ML service: ingest garment photos, list and delete garments, recommend "
    "outfits, record feedback, search a wardrobe by text or photo. Every call acts for one "
    "user (the API key's user when keys are configured)."
)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.ErrorResponse, "description": text}
    for code, text in {
        401: "missing or wrong API key",
        403: "the API key's user differs from user_id",
        404: "unknown user or garment (another user's garment reads as unknown)",
        413: "the upload is over the size or pixel limit",
        422: "invalid request (the message says which field and why)",
        503: "a store is unavailable",
    }.items()
}
IMAGE_RESPONSES = {
    **ERROR_RESPONSES,
    400: {"model": schemas.ErrorResponse, "description": "empty upload"},
    415: {"model": schemas.ErrorResponse, "description": "not a JPEG, PNG or WebP image"},
}
_DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,", re.IGNORECASE)


@dataclass(frozen=True)
class ApiSettings:
    """What the HTTP layer needs from ``conf/serve.yaml``."""

    max_upload_bytes: int = DEFAULT_MAX_BYTES
    api_keys: ApiKeys = field(default_factory=ApiKeys)
    request_timeout: float | None = 120.0  # seconds for one answer from the worker

    @property
    def max_body_bytes(self) -> int:
        # a base64 photo is 4/3 of its bytes, plus the JSON or multipart around it
        return self.max_upload_bytes * 4 // 3 + 64 * 1024

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> ApiSettings:
        timeout = cfg.get("timeout")
        return cls(
            max_upload_bytes=int(cfg["max_upload_bytes"]),
            api_keys=ApiKeys((cfg.get("auth") or {}).get("api_keys")),
            # queue wait (LitServe's timeout) + the work itself
            request_timeout=None if timeout in (None, False, -1) else 2 * float(timeout) + 30,
        )


# ------------------------------------------------------------------------------ body limit
class BodyLimitMiddleware:
    """413 for a request body over ``max_bytes``: at once from ``Content-Length``, else as soon
    as the streamed body passes the limit, so a huge upload is never held in memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = JSONResponse(self._body(int(length)), status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                # raised inside the route's body read: FastAPI's handlers answer it (413)
                raise HTTPException(413, self._body(seen))
            return message

        await self.app(scope, limited, send)

    def _body(self, size: int) -> dict[str, Any]:
        return error_body(
            "payload_too_large",
            f"the request body ({size} bytes or more) is over the limit of {self.max_bytes} "
            "bytes; send a smaller photo",
        )


# ------------------------------------------------------------------------------ dispatchers
class WorkerDispatch:
    """Send a request to the LitServe worker queue and wait for its answer (HTTP process)."""

    def __init__(self, server: Any, api: WardrobeAPI, timeout: float | None = None) -> None:
        from litserve.server import RegularRequestHandler

        # LitServe's own handler for a LitAPI route: queue, response buffer, error unpickling.
        self._handler = RegularRequestHandler(api, server)
        self._timeout = timeout

    async def __call__(self, request: dict[str, Any]) -> Outcome:
        call = self._handler.handle_request(request, dict)
        try:
            return await asyncio.wait_for(call, self._timeout)
        except asyncio.TimeoutError:
            raise HTTPException(504, "the worker did not answer in time; retry later") from None


class InProcessDispatch:
    """Run the LitAPI's hooks in this process, one request at a time (tests, debugging)."""

    def __init__(self, api: WardrobeAPI) -> None:
        self.api = api
        self._lock = threading.Lock()  # one worker: requests never overlap

    def _run(self, request: dict[str, Any]) -> Outcome:
        with self._lock:
            x = self.api.decode_request(request)
            y = self.api.predict([x] if self.api.batched else x)
            return self.api.encode_response(y[0] if self.api.batched else y)

    async def __call__(self, request: dict[str, Any]) -> Outcome:
        return await asyncio.to_thread(self._run, request)


# ------------------------------------------------------------------------------ request parsing
def _decode_base64(value: str, field_name: str) -> bytes:
    text = _DATA_URL.sub("", value.strip(), count=1)
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(
            422,
            error_body(
                "invalid_base64", f"{field_name} is not valid base64 (standard alphabet, padded)"
            ),
        ) from None


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_json(request: Request, model: type[BaseModel]) -> Any:
    body = await request.body()
    if not body:
        raise HTTPException(400, error_body("empty_body", "the request body is empty"))
    try:
        return model.model_validate_json(body)
    except ValidationError as err:
        raise RequestValidationError(err.errors(include_url=False)) from None


def _form_id(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HTTPException(422, error_body("invalid_request", f"form field {name!r} is text"))
    try:
        return check_id(value, name)
    except ValueError as err:
        raise HTTPException(422, error_body("invalid_request", str(err))) from None


async def _form_image(form: Any) -> bytes:
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise HTTPException(
            422,
            error_body(
                "invalid_request",
                "multipart field 'image' is required and must be a file (curl -F image=@photo.jpg)",
            ),
        )
    return await upload.read()


def _unsupported(content_type: str) -> HTTPException:
    shown = content_type or "none"
    return HTTPException(
        415,
        error_body(
            "unsupported_media_type",
            f"Content-Type {shown!r} is not accepted: send multipart/form-data (a file field "
            "'image') or application/json (image_base64)",
        ),
    )


def _check_image(data: bytes, settings: ApiSettings) -> bytes:
    if not data:
        raise HTTPException(400, error_body("empty", "the photo is empty (0 bytes)"))
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(
            413,
            error_body(
                "too_large",
                f"the photo has {len(data)} bytes; the limit is {settings.max_upload_bytes}",
            ),
        )
    return data


# ------------------------------------------------------------------------------ routes
UserQuery = Annotated[
    str | None,
    Query(
        pattern=schemas.ID_PATTERN,
        description="the wardrobe's owner (optional with an API key: the key's user)",
    ),
]
GarmentPath = Annotated[str, Path(pattern=schemas.ID_PATTERN, description="a garment id")]
_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


async def api_key(request: Request, x_api_key: str | None = Depends(_key_header)) -> str | None:
    """The caller's key: ``X-API-Key`` or ``Authorization: Bearer`` (None when absent)."""
    return key_from_headers(x_api_key, request.headers.get("authorization"))


Key = Annotated[str | None, Depends(api_key)]


def build_router(dispatch: Dispatch, settings: ApiSettings) -> APIRouter:
    """Every ``/v1`` route, sending work to ``dispatch``."""
    keys = settings.api_keys

    async def run(payload: dict[str, Any]) -> JSONResponse:
        outcome = await dispatch(payload)
        return outcome.response()

    router = APIRouter(prefix="/v1")

    @router.post(
        "/garments",
        summary="Ingest one photo: every garment found, analysed and stored",
        response_model=schemas.IngestResponse,
        responses=IMAGE_RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["image"],
                            "properties": {
                                "image": {"type": "string", "format": "binary"},
                                "user_id": {"type": "string", "pattern": schemas.ID_PATTERN},
                                "photo_id": {"type": "string", "pattern": schemas.ID_PATTERN},
                            },
                        }
                    },
                    "application/json": {
                        "schema": schemas.IngestJSON.model_json_schema(
                            ref_template="#/components/schemas/{model}"
                        )
                    },
                },
            }
        },
    )
    async def ingest(request: Request, key: Key) -> JSONResponse:
        kind = _content_type(request)
        if kind == "multipart/form-data":
            async with request.form(max_files=1, max_fields=8) as form:
                user_id, photo_id = _form_id(form, "user_id"), _form_id(form, "photo_id")
                user = keys.caller(user_id, key)
                data = await _form_image(form)
        elif kind == "application/json" or kind.endswith("+json"):
            body = await _read_json(request, schemas.IngestJSON)
            user, photo_id = keys.caller(body.user_id, key), body.photo_id
            data = _decode_base64(body.image_base64, "image_base64")
        elif not kind and not await request.body():
            raise HTTPException(
                400,
                error_body(
                    "empty_body",
                    "the request body is empty: send a photo as multipart/form-data "
                    "(field 'image') or JSON {user_id, image_base64}",
                ),
            )
        else:
            raise _unsupported(kind)
        data = _check_image(data, settings)
        return await run({"op": "ingest", "user_id": user, "image": data, "photo_id": photo_id})

    @router.get(
        "/garments",
        summary="The user's garments, newest first, one page",
        response_model=schemas.GarmentPageOut,
        responses=ERROR_RESPONSES,
    )
    async def list_garments(
        key: Key,
        user_id: UserQuery = None,
        limit: Annotated[int, Query(ge=1, le=schemas.MAX_PAGE)] = 20,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> JSONResponse:
        user = keys.caller(user_id, key)
        return await run({"op": "list_garments", "user_id": user, "limit": limit, "offset": offset})

    @router.get(
        "/garments/{garment_id}",
        summary="One of the user's garments",
        response_model=schemas.GarmentOut,
        responses=ERROR_RESPONSES,
    )
    async def get_garment(
        garment_id: GarmentPath, key: Key, user_id: UserQuery = None
    ) -> JSONResponse:
        user = keys.caller(user_id, key)
        return await run({"op": "get_garment", "user_id": user, "garment_id": garment_id})

    @router.delete(
        "/garments/{garment_id}",
        summary="Delete one of the user's garments (records and vector)",
        response_model=schemas.DeletedResponse,
        responses=ERROR_RESPONSES,
    )
    async def delete_garment(
        garment_id: GarmentPath, key: Key, user_id: UserQuery = None
    ) -> JSONResponse:
        user = keys.caller(user_id, key)
        return await run({"op": "delete_garment", "user_id": user, "garment_id": garment_id})

    @router.post(
        "/recommend",
        summary="Top-K outfits from the user's wardrobe, with scores and explanations",
        response_model=schemas.RecommendResponse,
        responses=ERROR_RESPONSES,
    )
    async def recommend(body: schemas.RecommendRequest, key: Key) -> JSONResponse:
        user = keys.caller(body.user_id, key)
        constraints = body.constraints
        return await run(
            {
                "op": "recommend",
                "user_id": user,
                # only what the client set: the recommender fills the rest from the text
                "constraints": None
                if constraints is None
                else constraints.model_dump(mode="json", exclude_unset=True),
                "text": body.text,
                "k": body.k,
            }
        )

    @router.post(
        "/feedback",
        summary="Like, dislike, wear, skip or click on an outfit or garments",
        response_model=schemas.FeedbackResponse,
        responses=ERROR_RESPONSES,
    )
    async def feedback(body: schemas.FeedbackRequest, key: Key) -> JSONResponse:
        user = keys.caller(body.user_id, key)
        payload = body.model_dump(mode="json", exclude={"user_id"})
        return await run({"op": "feedback", "user_id": user, **payload})

    @router.post(
        "/search",
        summary="The user's garments most similar to a text or a photo",
        response_model=schemas.SearchResponse,
        responses=IMAGE_RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": schemas.SearchJSON.model_json_schema(
                            ref_template="#/components/schemas/{model}"
                        )
                    },
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["image"],
                            "properties": {
                                "image": {"type": "string", "format": "binary"},
                                "user_id": {"type": "string", "pattern": schemas.ID_PATTERN},
                                "n": {"type": "integer", "minimum": 1},
                            },
                        }
                    },
                },
            }
        },
    )
    async def search(request: Request, key: Key) -> JSONResponse:
        kind = _content_type(request)
        text, image = None, None
        if kind == "multipart/form-data":
            async with request.form(max_files=1, max_fields=8) as form:
                user = keys.caller(_form_id(form, "user_id"), key)
                n = _form_int(form, "n", 10, 1, schemas.MAX_SEARCH_N)
                image = _check_image(await _form_image(form), settings)
        elif kind in ("application/json", "") or kind.endswith("+json"):
            body = await _read_json(request, schemas.SearchJSON)
            user, n, text = keys.caller(body.user_id, key), body.n, body.text
            if body.image_base64 is not None:
                image = _check_image(_decode_base64(body.image_base64, "image_base64"), settings)
        else:
            raise _unsupported(kind)
        return await run({"op": "search", "user_id": user, "text": text, "image": image, "n": n})

    return router


def _form_int(form: Any, name: str, default: int, low: int, high: int) -> int:
    value = form.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise HTTPException(
            422, error_body("invalid_request", f"{name} must be an integer in {low}..{high}")
        )
    return number


def add_info_route(app: FastAPI, dispatch: Dispatch, settings: ApiSettings) -> None:
    """``GET /info``: model versions and deployment facts, from a worker."""
    keys = settings.api_keys

    @app.get(
        "/info",
        summary="Model versions, store and batching settings",
        response_model=schemas.InfoResponse,
        responses={401: ERROR_RESPONSES[401]},
        tags=["service"],
    )
    async def info(key: Key) -> JSONResponse:
        if keys.enabled:
            keys.caller(None, key)
        return (await dispatch({"op": "info"})).response()


def mount(app: FastAPI, dispatch: Dispatch, settings: ApiSettings) -> FastAPI:
    """Add the routes, error handlers and the body limit to ``app`` (LitServe's or a bare one)."""
    app.title, app.description, app.version = API_TITLE, API_DESCRIPTION, "1"
    install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(build_router(dispatch, settings), tags=["v1"])
    add_info_route(app, dispatch, settings)
    app.openapi_schema = None
    return app


def create_app(dispatch: Dispatch, settings: ApiSettings | None = None) -> FastAPI:
    """The API on a bare FastAPI app (no LitServe): for in-process tests and debugging.
    ``GET /health`` answers 200 at once (there is no worker to wait for)."""
    app = FastAPI()

    @app.get("/health", tags=["service"])
    async def health() -> JSONResponse:
        return JSONResponse("ok")

    return mount(app, dispatch, settings or ApiSettings())


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
    api = WardrobeAPI(
        plain, max_batch_size=plain["max_batch_size"], batch_timeout=plain["batch_timeout"]
    )
    server = ls.LitServer(
        api,
        accelerator=plain.get("accelerator", "auto"),
        devices=plain.get("devices", "auto"),
        workers_per_device=int(plain.get("workers_per_device", 1)),
        timeout=plain.get("timeout", 60),
    )
    workers = len(server.devices) * int(plain.get("workers_per_device", 1))
    store = plain["pipeline"]["store"]
    if workers > 1 and not store.get("process_safe", False):
        raise ConfigError(
            f"{workers} worker processes would each open the store, and this store is not "
            "process-safe (process_safe: false: a Chroma PersistentClient must be opened by one "
            "process). Use pipeline/store=chroma_server for several workers, or "
            "workers_per_device=1 on one device."
        )
    settings = ApiSettings.from_config(plain)
    # LitServe registers /info and a POST route for the worker; the API replaces both.
    server.app.router.routes = [
        r
        for r in server.app.router.routes
        if getattr(r, "path", None) not in (WORKER_PATH, "/info")
    ]
    mount(server.app, WorkerDispatch(server, api, settings.request_timeout), settings)
    server.workers_total = workers
    return server


def run_server(cfg: DictConfig | Mapping[str, Any]) -> None:
    """Build the server and serve until interrupted (SIGINT or SIGTERM)."""
    import signal

    plain = plain_config(cfg)
    server = build_server(plain)

    def _interrupt(signum, frame):  # SIGTERM shuts down as gracefully as Ctrl+C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
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
