"""What every route module shares: the caller's key, path/query parameters, error docs, and
:class:`RouteContext` (the dispatch to the worker and the HTTP settings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import APIKeyHeader

from wardrobe.serving import schemas
from wardrobe.serving.auth import API_KEY_HEADER, key_from_headers
from wardrobe.serving.dispatch import Dispatch
from wardrobe.serving.settings import ApiSettings

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
