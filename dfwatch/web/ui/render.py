"""Rendering pages: one Jinja2 environment (autoescape on), the pages' CSP, and small helpers.

Crawled text is untrusted. Templates print it with `{{ }}` (escaped); the only markup that
comes from the server is built here, from escaped parts: `highlight` (engine fragments →
`<mark>`), and the SVG charts (charts.py), which escape every label themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from dfwatch import __version__
from dfwatch.search.highlight import to_html

STATIC_DIR = Path(__file__).resolve().parent / "static"
# No script of any kind; styles and images only from us (SVG is inline markup, not script).
UI_CSP = ("default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
          "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
NAV = (("/", "Search"), ("/timeline", "Timeline"), ("/figures", "Figures"), ("/sources", "Sources"))

Params = Mapping[str, Any] | Iterable[tuple[str, Any]]


def query_string(params: Params, **changes: Any) -> str:
    """`?a=1&b=2` from params (a mapping or pairs; list values repeat the key), with `changes` applied
    (None or "" removes a key). Empty values are dropped so links stay short."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        if key in changes:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        out.extend((key, str(v)) for v in values if v not in (None, ""))
    for key, value in changes.items():
        values = value if isinstance(value, list | tuple) else [value]
        out.extend((key, str(v)) for v in values if v not in (None, ""))
    return "?" + urlencode(out) if out else ""


def request_pairs(request: Request) -> list[tuple[str, str]]:
    """The request's query parameters as pairs (repeated keys kept), for `query_string`."""
    return list(request.query_params.multi_items())


def highlight(fragment: str) -> Markup:
    """An engine fragment (sentinel-marked) → escaped HTML with <mark>; safe to print."""
    return Markup(to_html(fragment))  # noqa: S704 - to_html escapes the whole fragment first


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("dfwatch.web.ui", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(nav=NAV, version=__version__, query_string=query_string)
    env.filters["highlight"] = highlight
    env.filters["day"] = lambda v: (v or "")[:10]
    env.filters["number"] = lambda v: f"{v:,.0f}" if isinstance(v, int | float) and float(v).is_integer() else (
        f"{v:,}" if isinstance(v, int | float) else v)
    return env


ENV = _environment()


def page(request: Request, template: str, context: dict[str, Any], status: int = 200,
         title: str = "dfwatch") -> HTMLResponse:
    """Render `template` with `context` (+ request, title, the current path) as a page with the UI's CSP."""
    html = ENV.get_template(template).render(request=request, title=title, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": UI_CSP,
                                                           "Cache-Control": "no-store"})


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An HTML error page (UI routes answer errors as pages, the API as JSON)."""
    return page(request, "error.html", {"status": status, "message": message}, status=status,
                title=f"{status} · dfwatch")
