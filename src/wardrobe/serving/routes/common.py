"""What every route module shares: the caller's key, path/query parameters, error docs, and
:class:`RouteContext` (the dispatch to the worker and the HTTP settings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import APIKeyHeader

from wardrobe.serving import parsing, schemas
from wardrobe.serving.auth import API_KEY_HEADER, key_from_headers
from wardrobe.serving.dispatch import Dispatch
from wardrobe.serving.errors import MAX_ERROR_DETAILS, error_body
from wardrobe.serving.settings import ApiSettings
from wardrobe.store.schema import PHOTO_ID_PATTERN


def _errors(**texts: str) -> dict[int | str, dict[str, Any]]:
    return {
        int(code[1:]): {"model": schemas.ErrorResponse, "description": text}
        for code, text in texts.items()
    }


ERROR_RESPONSES = _errors(
    e401="missing or wrong API key",
    e403="the API key's user differs from user_id",
    e404="unknown user or garment (another user's garment reads as unknown)",
    e413="the request body is over the size limit (or the photo over the pixel limit)",
    e422="invalid request (the message says which field and why; at most "
    f"{MAX_ERROR_DETAILS} problems in detail)",
    e503="a store is unavailable (retry after `Retry-After` seconds)",
    e504="the worker did not answer in time",
)
WRITE_RESPONSES = {
    **ERROR_RESPONSES,
    **_errors(e409="the write contradicts what is stored (e.g. an event_id reused)"),
}
JSON_RESPONSES = {
    **WRITE_RESPONSES,
    **_errors(e415="the Content-Type is not application/json"),
}
UPLOAD_RESPONSES = {  # a route reading a photo (search)
    **ERROR_RESPONSES,
    **_errors(
        e400="empty upload",
        e415="not a JPEG, PNG or WebP image, or a Content-Type other than multipart/JSON",
    ),
}
IMAGE_RESPONSES = {  # a route storing a photo (ingest)
    **UPLOAD_RESPONSES,
    **WRITE_RESPONSES,
    **_errors(e507="the server's disk is full: nothing was stored (retry later)"),
}


async def _json_only(request: Request) -> None:
    """415 for a JSON route called with another ``Content-Type`` (FastAPI would otherwise
    read the body anyway and answer a puzzling 422). No ``Content-Type`` reads as JSON."""
    kind = parsing.content_type(request)
    if kind and not parsing.is_json(kind):
        raise HTTPException(
            415,
            error_body(
                "unsupported_media_type",
                f"Content-Type {kind!r} is not accepted: send application/json",
            ),
        )


JSON_ONLY = [Depends(_json_only)]

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


def upload_body(json_model: type, **form_fields: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads a photo as multipart (a file ``image`` and
    ``form_fields``) or as JSON (``json_model``): FastAPI cannot infer either from the
    ``Request`` the route parses itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["image"],
                        "properties": {
                            "image": {"type": "string", "format": "binary"},
                            **form_fields,
                        },
                    }
                },
                "application/json": {
                    "schema": json_model.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    )
                },
            },
        }
    }


ID_FIELD = {"type": "string", "pattern": schemas.ID_PATTERN}
PHOTO_ID_FIELD = {"type": "string", "pattern": PHOTO_ID_PATTERN}


@dataclass(frozen=True)
class RouteContext:
    """The worker (``dispatch``) and the HTTP settings the routes of one app share."""

    dispatch: Dispatch
    settings: ApiSettings

    def caller(self, requested_user: str | None, key: str | None) -> str:
        """The user a request acts for (401/403/422 otherwise); see :mod:`..auth`."""
        return self.settings.api_keys.caller(requested_user, key)

    async def run(self, payload: dict[str, Any]) -> Response:
        """Send ``payload`` to the worker; its Outcome as the HTTP response."""
        outcome = await self.dispatch(payload)
        return outcome.response()
