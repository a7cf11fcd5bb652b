"""Reading requests: the body limit, JSON and multipart bodies, base64 photos, form fields.

Every failure is an ``HTTPException`` with the API's error body (``errors.error_body``), so a
route reads as "parse, authorise, dispatch" and a bad request never reaches the worker.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wardrobe.serving.errors import error_body
from wardrobe.serving.settings import ApiSettings
from wardrobe.store.schema import check_id, check_photo_id

_DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,", re.IGNORECASE)


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


def content_type(request: Request) -> str:
    """The request's media type, lower case, without parameters ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(kind: str) -> bool:
    return kind == "application/json" or kind.endswith("+json")


def decode_base64(value: str, field_name: str) -> bytes:
    """The bytes of a base64 string or a ``data:`` URL; 422 when it is not base64."""
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


async def read_json(request: Request, model: type[BaseModel]) -> Any:
    """The body validated as ``model``: 400 when empty, 422 (field by field) when invalid."""
    body = await request.body()
    if not body:
        raise HTTPException(400, error_body("empty_body", "the request body is empty"))
    try:
        return model.model_validate_json(body)
    except ValidationError as err:
        raise RequestValidationError(err.errors(include_url=False)) from None


def form_id(form: Any, name: str) -> str | None:
    """An optional id field of a multipart form (None when absent or empty)."""
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HTTPException(422, error_body("invalid_request", f"form field {name!r} is text"))
    try:
        return check_photo_id(value) if name == "photo_id" else check_id(value, name)
    except ValueError as err:
        raise HTTPException(422, error_body("invalid_request", str(err))) from None


def form_int(form: Any, name: str, default: int, low: int, high: int) -> int:
    """An optional integer field of a multipart form, in ``low..high``."""
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


async def form_image(form: Any) -> bytes:
    """The bytes of the form's file field ``image``."""
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


def unsupported(kind: str) -> HTTPException:
    """415 for a body that is neither multipart nor JSON."""
    shown = kind or "none"
    return HTTPException(
        415,
        error_body(
            "unsupported_media_type",
            f"Content-Type {shown!r} is not accepted: send multipart/form-data (a file field "
            "'image') or application/json (image_base64)",
        ),
    )


def empty_upload() -> HTTPException:
    """400 for an upload route called without a body."""
    return HTTPException(
        400,
        error_body(
            "empty_body",
            "the request body is empty: send a photo as multipart/form-data "
            "(field 'image') or JSON {user_id, image_base64}",
        ),
    )


def check_image(data: bytes, settings: ApiSettings) -> bytes:
    """The photo's bytes, or 400 (empty) / 413 (over ``max_upload_bytes``)."""
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
