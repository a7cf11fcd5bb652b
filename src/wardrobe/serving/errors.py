"""One mapping from what went wrong to an HTTP status and a JSON error body.

Worker side: :func:`outcome_from_exception` turns an exception raised while serving one request
into an :class:`Outcome` (status + body), so that one bad photo in a server-side batch fails
alone and nothing but a real server fault becomes a 500. API side: :func:`install_handlers`
gives FastAPI's validation errors, ``HTTPException`` and unexpected exceptions the same body
``{"error": {"code", "message", "detail"}}``.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from wardrobe.ingestion.decode import ImageDecodeError
from wardrobe.store.errors import Conflict, DimensionMismatch, NotFound, StoreUnavailable

log = logging.getLogger(__name__)

# Why a photo was refused -> HTTP status. 413: the file or its pixel count is over the limit;
# 415: not an image type we read; 422: an image, but unusable (damaged, too small); 400: nothing.
IMAGE_ERROR_STATUS: dict[str, int] = {
    "empty": 400,
    "too_large": 413,
    "too_many_pixels": 413,
    "not_an_image": 415,
    "unsupported_format": 415,
    "truncated": 422,
    "corrupt": 422,
    "too_small": 422,
    "unreadable": 422,
    "not_found": 422,
}

_STATUS_CODE = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
    504: "timeout",
}


class UnknownUser(LookupError):
    """A user the stores have never seen (no garment ingested yet)."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"unknown user {user_id!r}: it has no wardrobe yet (ingest a photo first)")
        self.user_id = user_id


@dataclass
class Outcome:
    """What the worker answers for one request: an HTTP status and a JSON-able body.

    It crosses the process boundary (pickled), so it holds plain data only."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None  # a binary answer (an image) instead of the JSON ``body``
    media_type: str | None = None

    def response(self) -> Response:
        if self.content is not None or self.status == 304:
            return Response(
                self.content or b"",
                status_code=self.status,
                headers=self.headers,
                media_type=self.media_type,
            )
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


# An error answer stays small whatever the request: the first problems, and how many in all.
MAX_ERROR_DETAILS = 20
MAX_MESSAGE_CHARS = 2000


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{message[:MAX_MESSAGE_CHARS]}... ({len(message)} characters in all)"
    return {"error": {"code": code, "message": message, "detail": detail}}


def error(status: int, code: str, message: str, detail: Any = None) -> Outcome:
    return Outcome(status, error_body(code, message, detail))


def image_error(code: str, message: str) -> Outcome:
    """A refused photo (decode or quality error code from ingestion)."""
    return error(IMAGE_ERROR_STATUS.get(code, 422), code, message)


RETRY_AFTER_S = 2  # what a 503/507 asks a client to wait: stores come back in seconds
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_DISK_FULL_TEXT = (
    "database or disk is full",
    "no space left on device",
    "disk quota exceeded",
    "os error 28",  # ENOSPC as Rust (Chroma) reports it
)


def disk_full(err: BaseException) -> bool:
    """Whether ``err`` (or what caused it: SQLite, Chroma and file writes each wrap it their
    own way) is a full disk."""
    for cause in _causes(err):
        if isinstance(cause, OSError) and cause.errno in _DISK_FULL_ERRNOS:
            return True
        if any(text in str(cause).lower() for text in _DISK_FULL_TEXT):
            return True
    return False


def _causes(err: BaseException):
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def store_unreachable(err: BaseException) -> bool:
    """Whether ``err`` comes from a store server that cannot be reached right now: a refused
    or reset connection (the Chroma server's HTTP client), or a database connection lost
    (SQLAlchemy's ``OperationalError``, e.g. PostgreSQL restarting)."""
    for cause in _causes(err):
        if isinstance(cause, (StoreUnavailable, ConnectionError, TimeoutError)):
            return True
        for cls in type(cause).__mro__:
            if (cls.__module__.split(".")[0], cls.__name__) in _UNREACHABLE:
                return True
    return False


_UNREACHABLE = {
    ("httpx", "TransportError"),  # Chroma's HTTP client: connect/read errors, timeouts
    ("httpcore", "NetworkError"),
    ("sqlalchemy", "OperationalError"),  # the database went away (a full disk: 507, above)
    ("sqlalchemy", "InterfaceError"),
    ("psycopg", "OperationalError"),
}


def outcome_from_exception(err: BaseException) -> Outcome:
    """Map an exception raised while serving one request to its answer.

    Client mistakes the HTTP layer cannot see (unknown ids, refused images, invalid
    constraints) are 4xx; a store that cannot be reached is 503; anything else is a 500 with
    no internals in the body (the traceback goes to the log)."""
    if disk_full(err):
        log.error("disk full while serving a request: %s", err)
        return Outcome(
            507,
            error_body(
                "insufficient_storage",
                "the server's disk is full: nothing was stored; retry later (reads still work)",
            ),
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    if isinstance(err, ImageDecodeError):
        return image_error(err.code, err.message)
    if isinstance(err, UnknownUser):
        return error(404, "unknown_user", str(err))
    if isinstance(err, NotFound):
        return error(404, "not_found", str(err))
    if isinstance(err, Conflict):
        return error(409, "conflict", str(err))
    if store_unreachable(err):
        log.error("store unavailable: %s: %s", type(err).__name__, err)
        outcome = error(503, "store_unavailable", f"a backing store is unavailable: {err}")
        outcome.headers["Retry-After"] = str(RETRY_AFTER_S)
        return outcome
    if isinstance(err, DimensionMismatch):  # a deployment fault, not the client's
        log.error("embedding dimension mismatch: %s", err)
        return error(500, "internal_error", "the server's models and store do not match")
    if isinstance(err, ValidationError):
        return error(422, "invalid_request", _validation_message(err.errors()), _plain(err))
    if isinstance(err, ValueError):
        # ValueError is how the libraries refuse arguments (an id, a constraint); logged with
        # its traceback so that a bug raising ValueError is still seen.
        log.warning("request refused: %s", err, exc_info=True)
        return error(422, "invalid_request", str(err))
    log.exception("internal error while serving a request", exc_info=err)
    return error(500, "internal_error", "internal server error (see the server log)")


def _plain(err: ValidationError) -> Any:
    return validation_detail(err.errors(include_url=False, include_context=False))


def validation_detail(errors: Any) -> list[dict[str, Any]]:
    """The first :data:`MAX_ERROR_DETAILS` validation errors, without the input they refused
    (which may be huge); the message says how many there were."""
    shown = []
    for e in list(errors)[:MAX_ERROR_DETAILS]:
        item = {k: v for k, v in e.items() if k in ("type", "loc", "msg")}
        item["loc"] = [str(p)[:80] for p in item.get("loc", ())]  # a 100 KB key is no location
        shown.append(item)
    return jsonable_encoder(shown)


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p)[:80] for p in e.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
    more = ""
    if len(errors) > 5:
        more = f" (and {len(errors) - 5} more; {len(errors)} problems in all"
        more += (
            f", the first {MAX_ERROR_DETAILS} in detail)"
            if len(errors) > MAX_ERROR_DETAILS
            else ")"
        )
    return "invalid request: " + "; ".join(parts) + more


# -------------------------------------------------------------------------------- API side
def install_handlers(app: FastAPI) -> None:
    """Give every error of the app the body of :class:`~wardrobe.serving.schemas.ErrorResponse`."""

    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        body = error_body("invalid_request", _validation_message(errors), validation_detail(errors))
        return JSONResponse(body, status_code=422)

    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's "error parsing the body": a JSON body that is not UTF-8 is malformed
            # JSON, a 422 like any other (the README's table)
            message = "invalid request: the body is not valid JSON (not UTF-8 text)"
            detail = [{"type": "json_invalid", "loc": ["body"], "msg": str(exc.__cause__)}]
            return JSONResponse(error_body("invalid_request", message, detail), status_code=422)
        detail = exc.detail
        if isinstance(detail, dict) and "error" in detail:
            body = detail
        else:
            code = _STATUS_CODE.get(exc.status_code, "error")
            if exc.status_code >= 500 and exc.status_code != 503:
                code = "internal_error"
            body = error_body(code, str(detail))
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the API process (pid %d)", os.getpid(), exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "internal server error (see the server log)"),
            status_code=500,
        )

    async def on_disconnect(request: Request, _: ClientDisconnect) -> Response:
        # a phone that lost its network mid-upload: nobody to answer, nothing to debug
        log.info(
            "client disconnected before its request body was read: %s %s",
            request.method,
            request.url.path,
        )
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
