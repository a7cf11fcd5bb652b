"""``POST /v1/feedback``: like, dislike, wear, skip or click."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from wardrobe.serving import schemas
from wardrobe.serving.routes.common import JSON_ONLY, JSON_RESPONSES, Key, RouteContext


def router(ctx: RouteContext) -> APIRouter:
    """The feedback route, sending work to ``ctx.dispatch``."""
    routes = APIRouter()

    @routes.post(
        "/feedback",
        summary="Like, dislike, wear, skip or click on an outfit or garments",
        response_model=schemas.FeedbackResponse,
        responses=JSON_RESPONSES,
        dependencies=JSON_ONLY,
    )
    async def feedback(body: schemas.FeedbackRequest, key: Key) -> Response:
        user = ctx.caller(body.user_id, key)
        payload = body.model_dump(mode="json", exclude={"user_id"})
        return await ctx.run({"op": "feedback", "user_id": user, **payload})

    return routes
