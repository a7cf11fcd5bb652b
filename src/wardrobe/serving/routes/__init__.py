"""The HTTP routes, one module per resource; :func:`mount_routes` adds them all to an app.

Each module has ``router(ctx) -> APIRouter``: it parses the request (:mod:`..parsing`), asks
:class:`~.common.RouteContext` who the caller is, and sends a plain dict to the worker.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from wardrobe.serving.routes import feedback, garments, recommend, search, session, system
from wardrobe.serving.routes.common import RouteContext
from wardrobe.serving.routes.web import mount_web

V1_MODULES = (garments, recommend, feedback, search, session)


def v1_router(ctx: RouteContext) -> APIRouter:
    """Every ``/v1`` route."""
    router = APIRouter(prefix="/v1")
    for module in V1_MODULES:
        router.include_router(module.router(ctx))
    return router


def mount_routes(app: FastAPI, ctx: RouteContext) -> None:
    """The ``/v1`` API, the service routes and the web page on ``app``."""
    app.include_router(v1_router(ctx), tags=["v1"])
    app.include_router(system.router(ctx))
    mount_web(app)


__all__ = ["RouteContext", "mount_routes", "v1_router"]
