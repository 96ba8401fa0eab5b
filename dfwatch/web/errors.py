"""Every error the API answers is JSON `{"error": code, "detail": message}`; bad input is never a 5xx."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from dfwatch.search.model import MAX_PAGE
from dfwatch.store.base import StoreError

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         422: "invalid_parameter", 429: "too_many_requests", 503: "store_unavailable"}
HINTS = {"size": f" (pages hold at most {MAX_PAGE} results; page on with the `after` cursor)"}


class FieldError(BaseModel):
    param: str
    message: str


class ErrorBody(BaseModel):
    error: str  # a short code: bad_request, unauthorized, not_found, invalid_parameter, store_unavailable, ...
    detail: str  # what was wrong, for a person
    fields: list[FieldError] | None = None  # one per invalid parameter (422 only)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the error statuses a route can answer."""
    return {s: {"model": ErrorBody, "description": CODES.get(s, "error").replace("_", " ")} for s in statuses}


class ApiError(Exception):
    def __init__(self, status: int, detail: str, error: str | None = None, headers: dict[str, str] | None = None,
                 fields: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.fields = status, detail, headers, fields
        self.error = error or CODES.get(status, "error")


def bad_request(detail: str) -> ApiError:
    return ApiError(400, detail)


def invalid(param: str, message: str) -> ApiError:
    """A 422 naming one parameter, shaped like the answer to FastAPI's own validation errors."""
    return ApiError(422, f"{param}: {message}", fields=[FieldError(param=param, message=message)])


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"no {what} with id {ident!r}")


@contextmanager
def bad_input() -> Iterator[None]:
    """The search layer raises ValueError for input it cannot use (a cursor that is not ours, ...): a 400."""
    try:
        yield
    except ValueError as exc:
        raise bad_request(str(exc) or "invalid request") from None


def _json(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _page(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response | None:
    """For a web UI page (any path but /api, /openapi.json and /docs): the error as an HTML page."""
    path = request.url.path
    if path.startswith(("/api/", "/openapi.json", "/docs", "/static/")):
        return None
    from dfwatch.web.ui.render import error_page

    response = error_page(request, status, detail)
    response.headers.update(headers or {})
    return response


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into an ErrorBody (an HTML page on UI routes)."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if (html := _page(request, exc.status, exc.detail, exc.headers)) is not None:
            return html
        return _json(exc.status, ErrorBody(error=exc.error, detail=exc.detail, fields=exc.fields),
                     exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "path", "header", "body")]
            param = ".".join(loc) or "request"
            message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
            fields.append(FieldError(param=param, message=message + HINTS.get(param, "")))
        detail = "; ".join(f"{f.param}: {f.message}" for f in fields) or "invalid request"
        if (html := _page(request, 422, detail)) is not None:
            return html
        return _json(422, ErrorBody(error="invalid_parameter", detail=detail, fields=fields))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if (html := _page(request, exc.status_code, detail, getattr(exc, "headers", None))) is not None:
            return html
        return _json(exc.status_code, ErrorBody(error=CODES.get(exc.status_code, "error"), detail=detail),
                     getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        log.warning("store error on %s: %s", request.url.path, exc)
        busy = _page(request, 503, "the store could not answer; try again later", {"Retry-After": "30"})
        if busy is not None:
            return busy
        return _json(503, ErrorBody(error="store_unavailable", detail="the store could not answer; try again later"),
                     {"Retry-After": "30"})
