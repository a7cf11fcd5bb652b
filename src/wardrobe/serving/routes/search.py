"""``POST /v1/search``: the user's garments nearest to a text or a photo."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from wardrobe.serving import parsing, schemas
from wardrobe.serving.routes.common import (
    ID_FIELD,
    UPLOAD_RESPONSES,
    Key,
    RouteContext,
    upload_body,
)

_SEARCH_BODY = upload_body(
    schemas.SearchJSON, user_id=ID_FIELD, n={"type": "integer", "minimum": 1}
)


def router(ctx: RouteContext) -> APIRouter:
    """The search route, sending work to ``ctx.dispatch``."""
    routes = APIRouter()

    @routes.post(
        "/search",
        summary="The user's garments most similar to a text or a photo",
        response_model=schemas.SearchResponse,
        responses=UPLOAD_RESPONSES,
        openapi_extra=_SEARCH_BODY,
    )
    async def search(request: Request, key: Key) -> Response:
        kind = parsing.content_type(request)
        text, image = None, None
        if kind == "multipart/form-data":
            async with request.form(max_files=1, max_fields=8) as form:
                user = ctx.caller(parsing.form_id(form, "user_id"), key)
                n = parsing.form_int(form, "n", 10, 1, schemas.MAX_SEARCH_N)
                image = parsing.check_image(await parsing.form_image(form), ctx.settings)
        elif kind == "" or parsing.is_json(kind):
            body = await parsing.read_json(request, schemas.SearchJSON)
            user, n, text = ctx.caller(body.user_id, key), body.n, body.text
            if body.image_base64 is not None:
                data = parsing.decode_base64(body.image_base64, "image_base64")
                image = parsing.check_image(data, ctx.settings)
        else:
            raise parsing.unsupported(kind)
        payload = {"op": "search", "user_id": user, "text": text, "image": image, "n": n}
        return await ctx.run(payload)

    return routes
