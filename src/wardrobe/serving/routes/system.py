"""``GET /info``: model versions and deployment facts, from a worker."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from wardrobe.serving import schemas
from wardrobe.serving.routes.common import ERROR_RESPONSES, Key, RouteContext


def router(ctx: RouteContext) -> APIRouter:
    """The service routes (outside ``/v1``)."""
    routes = APIRouter(tags=["service"])

    @routes.get(
        "/info",
        summary="Model versions, store and batching settings",
        response_model=schemas.InfoResponse,
        responses={401: ERROR_RESPONSES[401]},
    )
    async def info(key: Key) -> Response:
        if ctx.settings.api_keys.enabled:
            ctx.caller(None, key)
        return await ctx.run({"op": "info"})

    return routes
