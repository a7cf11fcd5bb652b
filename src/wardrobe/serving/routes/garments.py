"""``/v1/garments``: ingest a photo; list, read, correct and delete the user's garments; their
crops and source photos."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from wardrobe.serving import parsing, schemas
from wardrobe.serving.routes.common import (
    ERROR_RESPONSES,
    ID_FIELD,
    IMAGE_RESPONSES,
    JSON_ONLY,
    JSON_RESPONSES,
    PHOTO_ID_FIELD,
    GarmentPath,
    Key,
    RouteContext,
    UserQuery,
    upload_body,
)

_IMAGE_OK = {
    200: {
        "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
        "description": "the image; `ETag` and `Cache-Control: private` set",
    },
    304: {"description": "not modified (the `If-None-Match` ETag is current)"},
}
_INGEST_BODY = upload_body(schemas.IngestJSON, user_id=ID_FIELD, photo_id=PHOTO_ID_FIELD)
_IMAGE_SUMMARY = {
    "image": ("crop", "The garment's crop (JPEG thumbnail)"),
    "photo": ("photo", "The photo the garment was found in, as uploaded (its box is `box`)"),
}


def router(ctx: RouteContext) -> APIRouter:
    """The garment routes, sending work to ``ctx.dispatch``."""
    routes = APIRouter()

    @routes.post(
        "/garments",
        summary="Ingest one photo: every garment found, analysed and stored",
        response_model=schemas.IngestResponse,
        responses=IMAGE_RESPONSES,
        openapi_extra=_INGEST_BODY,
    )
    async def ingest(request: Request, key: Key) -> Response:
        kind = parsing.content_type(request)
        if kind == "multipart/form-data":
            async with request.form(max_files=1, max_fields=8) as form:
                user_id = parsing.form_id(form, "user_id")
                photo_id = parsing.form_id(form, "photo_id")
                user = ctx.caller(user_id, key)
                data = await parsing.form_image(form)
        elif parsing.is_json(kind):
            body = await parsing.read_json(request, schemas.IngestJSON)
            user, photo_id = ctx.caller(body.user_id, key), body.photo_id
            data = parsing.decode_base64(body.image_base64, "image_base64")
        elif not kind and not await request.body():
            raise parsing.empty_upload()
        else:
            raise parsing.unsupported(kind)
        data = parsing.check_image(data, ctx.settings)
        return await ctx.run({"op": "ingest", "user_id": user, "image": data, "photo_id": photo_id})

    @routes.get(
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
        slot: Annotated[schemas.Slot | None, Query(description="only this outfit slot")] = None,
        category: Annotated[
            schemas.Category | None, Query(description="only this fine category")
        ] = None,
        colour: Annotated[
            schemas.Colour | None, Query(description="only garments with this colour")
        ] = None,
    ) -> Response:
        user = ctx.caller(user_id, key)
        filters = {"slot": slot, "category": category, "colour": colour}
        payload = {"op": "list_garments", "user_id": user, "limit": limit, "offset": offset}
        return await ctx.run(payload | {k: v for k, v in filters.items() if v is not None})

    @routes.get(
        "/garments/{garment_id}",
        summary="One of the user's garments",
        response_model=schemas.GarmentOut,
        responses=ERROR_RESPONSES,
    )
    async def get_garment(garment_id: GarmentPath, key: Key, user_id: UserQuery = None) -> Response:
        user = ctx.caller(user_id, key)
        return await ctx.run({"op": "get_garment", "user_id": user, "garment_id": garment_id})

    @routes.patch(
        "/garments/{garment_id}",
        summary="Correct a garment's category or attributes (kept apart from the prediction)",
        response_model=schemas.GarmentOut,
        responses=JSON_RESPONSES,
        dependencies=JSON_ONLY,
    )
    async def correct_garment(
        garment_id: GarmentPath, body: schemas.GarmentPatch, key: Key
    ) -> Response:
        user = ctx.caller(body.user_id, key)
        payload = {"op": "correct_garment", "user_id": user, "garment_id": garment_id}
        return await ctx.run(payload | {"patch": body.merge_patch(), "by": user})

    def image_route(path: str, kind: str, summary: str) -> None:
        @routes.get(
            f"/garments/{{garment_id}}/{path}",
            summary=summary,
            response_class=Response,
            responses={**_IMAGE_OK, **ERROR_RESPONSES},
            name=f"garment_{kind}",
        )
        async def garment_image(
            garment_id: GarmentPath,
            key: Key,
            user_id: UserQuery = None,
            if_none_match: Annotated[str | None, Header()] = None,
        ) -> Response:
            user = ctx.caller(user_id, key)
            payload = {"op": "garment_image", "user_id": user, "garment_id": garment_id}
            return await ctx.run(payload | {"kind": kind, "etag": if_none_match})

    for path, (kind, summary) in _IMAGE_SUMMARY.items():
        image_route(path, kind, summary)

    @routes.delete(
        "/garments/{garment_id}",
        summary="Delete one of the user's garments (records and vector)",
        response_model=schemas.DeletedResponse,
        responses=ERROR_RESPONSES,
    )
    async def delete_garment(
        garment_id: GarmentPath, key: Key, user_id: UserQuery = None
    ) -> Response:
        user = ctx.caller(user_id, key)
        return await ctx.run({"op": "delete_garment", "user_id": user, "garment_id": garment_id})

    return routes
