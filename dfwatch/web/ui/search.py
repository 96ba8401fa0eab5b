"""The search page (to be filled)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dfwatch.web.ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request) -> HTMLResponse:
    return page(request, "error.html", {"status": 200, "message": "search: to be built"})
