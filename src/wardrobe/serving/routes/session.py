"""``/v1/me`` (who the caller is) and ``/v1/vocabulary`` (the taxonomy for forms). Both are
answered by the HTTP process: neither needs a model or a store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wardrobe import taxonomy
from wardrobe.serving import schemas
from wardrobe.serving.routes.common import ERROR_RESPONSES, Key, RouteContext


def vocabulary() -> schemas.VocabularyResponse:
    """The taxonomy as the API speaks it (one vocabulary: nothing is spelt a second time)."""
    return schemas.VocabularyResponse(
        slots=list(taxonomy.SLOTS),
        categories=[{"name": c.name, "slot": c.slot} for c in taxonomy.CATEGORIES],
        colours={
            name: "#{:02x}{:02x}{:02x}".format(*rgb) for name, rgb in taxonomy.COLOUR_RGB.items()
        },
        patterns=list(taxonomy.PATTERNS),
        fits=list(taxonomy.FITS),
        seasons=list(taxonomy.SEASONS),
        style_tags=list(taxonomy.STYLE_TAGS),
        occasions=list(taxonomy.OCCASIONS),
        feedback_signals=list(taxonomy.FEEDBACK_SIGNALS),
    )


def router(ctx: RouteContext) -> APIRouter:
    """The session and vocabulary routes."""
    routes = APIRouter()
    words = vocabulary()

    @routes.get(
        "/me",
        summary="Who the caller is: the API key's user, or the user_id named (keys off)",
        response_model=schemas.MeResponse,
        responses={401: ERROR_RESPONSES[401], 403: ERROR_RESPONSES[403]},
    )
    async def me(
        key: Key,
        user_id: Annotated[str | None, Query(pattern=schemas.ID_PATTERN)] = None,
    ) -> schemas.MeResponse:
        keys, limit = ctx.settings.api_keys, ctx.settings.max_upload_bytes
        user = None if not keys.enabled and user_id is None else ctx.caller(user_id, key)
        return schemas.MeResponse(user_id=user, auth=keys.enabled, max_upload_bytes=limit)

    @routes.get(
        "/vocabulary",
        summary="Categories (with slots), colours (with sRGB), patterns, fits, seasons, tags",
        response_model=schemas.VocabularyResponse,
    )
    async def get_vocabulary() -> schemas.VocabularyResponse:
        return words

    return routes
