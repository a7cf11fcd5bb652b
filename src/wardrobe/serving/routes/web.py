"""The web app: ``/`` serves the page, ``/static/...`` its CSS and ES modules (files shipped in
the package, no build step, nothing from a CDN). The page talks only to the public ``/v1`` API.

The page and its files carry a strict Content-Security-Policy: scripts and styles from this
origin only (no inline script, no ``eval``), images from this origin or ``blob:`` (crops are
fetched with the API key and shown as blob URLs: a key is never put in a URL), no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
PAGE_PATHS = ("/", "/static/", "/favicon.ico")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
}


class PageSecurityHeaders:
    """Add :data:`PAGE_HEADERS` to the responses of the page and its static files (the API's
    JSON answers and ``/docs`` are left as they are)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path.startswith(PAGE_PATHS[1:])):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in PAGE_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in PAGE_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def mount_web(app: FastAPI) -> None:
    """``/`` (the page), ``/static`` (its files) and the security headers on ``app``."""
    app.add_middleware(PageSecurityHeaders)
    app.mount("/static", StaticFiles(directory=WEB_ROOT / "static"), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        # no-cache: a new release of the page is picked up at once (it is small)
        return FileResponse(WEB_ROOT / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> RedirectResponse:
        return RedirectResponse("/static/icon.svg")
