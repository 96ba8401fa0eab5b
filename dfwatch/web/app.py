"""The FastAPI app: the JSON API under /api and the web UI's pages, on one app.

Layout of the URL space (so pages and API never collide):
- `/api/...`   JSON (this package's `api` module); `/api/health` needs no key;
- `/openapi.json` the spec, `/docs` the spec as a plain HTML page (no CDN, no script);
- `/`, `/timeline`, `/stories/{id}`, ... and `/static/...`: the web UI (`dfwatch.web.ui`), which
  calls the same service through `dfwatch.web.deps.get_service`.

Every response gets nosniff, Referrer-Policy: no-referrer, frame denial and, unless the
route set its own (UI pages do: no script at all), `Content-Security-Policy: default-src 'none'`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dfwatch import __version__
from dfwatch.settings import Settings
from dfwatch.web import api, docs, errors, ui
from dfwatch.web.auth import check_binding
from dfwatch.web.deps import ServiceHolder

log = logging.getLogger(__name__)

API_CSP = "default-src 'none'; frame-ancestors 'none'"
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Cross-Origin-Resource-Policy": "same-origin"}
DESCRIPTION = (
    "Search news and government releases about deepfake sexual crimes: articles, timelines, stories, "
    "figures with their sources, and exports. Every route but /api/health takes the API key as X-API-Key "
    "or Authorization: Bearer when the server has one (always, off loopback). Errors are JSON "
    '{"error": code, "detail": message}.'
)


class SecurityHeaders:
    """Pure ASGI middleware (it does not buffer streamed exports). It also answers unhandled errors
    (a JSON 500) itself, so that those responses get the headers too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/")

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = API_CSP
                if is_api and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error on %s", scope["path"])
            if started:
                raise
            body = {"error": "internal_error", "detail": "an unexpected error occurred"}
            await JSONResponse(body, status_code=500)(scope, receive, send_with_headers)


def create_app(settings: Settings, host: str | None = None) -> FastAPI:
    """The app for a server bound to `host` (default: the `web.host` setting).

    Raises `auth.KeyRequired` for a non-loopback host without `web.api_key`. The search
    service is opened at startup (or on first use, if the store was down then) and closed
    at shutdown.
    """
    key = settings.web.api_key.get_secret_value() if settings.web.api_key else None
    check_binding(host or settings.web.host, key)
    from dfwatch.search import SearchService

    holder = ServiceHolder(lambda: SearchService.open(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await anyio.to_thread.run_sync(holder.get)
        except Exception as exc:  # keep serving: requests answer 503 until the store is back
            log.warning("dfwatch: the store is not reachable yet (%s); requests get 503 until it is", exc)
        yield
        holder.close()

    app = FastAPI(title="dfwatch", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.api_key = key.encode("utf-8") if key else None
    app.state.services = holder
    app.state.exports = threading.BoundedSemaphore(settings.web.max_exports)
    errors.install(app)
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    app.include_router(api.open_router)
    app.include_router(docs.router)
    ui.mount(app)
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `dfwatch serve --reload`): settings from the environment."""
    from dfwatch.settings import load_settings

    return create_app(load_settings())
