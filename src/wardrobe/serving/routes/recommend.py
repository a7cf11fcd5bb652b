"""``POST /v1/recommend``: top-K outfits from the user's wardrobe."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from wardrobe.serving import schemas
from wardrobe.serving.routes.common import JSON_ONLY, JSON_RESPONSES, Key, RouteContext


def router(ctx: RouteContext) -> APIRouter:
    """The recommendation route, sending work to ``ctx.dispatch``."""
    routes = APIRouter()

    @routes.post(
        "/recommend",
        summary="Top-K outfits from the user's wardrobe, with scores and explanations",
        response_model=schemas.RecommendResponse,
        responses=JSON_RESPONSES,
        dependencies=JSON_ONLY,
    )
    async def recommend(body: schemas.RecommendRequest, key: Key) -> Response:
        user = ctx.caller(body.user_id, key)
        constraints = body.constraints
        return await ctx.run(
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

    return routes
