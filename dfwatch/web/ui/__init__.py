"""The web UI: server-rendered pages for researchers, on the same app as the JSON API.

Pages (one module each, each with its own `router`):
- `/` search (search.py): query, filters, results collapsed by story, facets, export links;
- `/stories/{id}` (story.py); `/articles/{id}` an article with its sentences anchored (article.py);
- `/timeline` coverage, events, figure series, entity trends (timeline.py); `/entities/{name}` (entity.py);
- `/figures` the figure ledger and its CSV (figures.py); `/sources` crawl state per source (sources.py).

Every page is HTML rendered by Jinja2 with autoescape (render.py); charts are SVG drawn on the
server (no chart script, nothing from a CDN); the only static files are under `/static`. The
pages' Content-Security-Policy allows no script at all (`script-src 'none'`), so crawled text
can never run, and no user data is ever put into a script.
"""

from __future__ import annotations

import importlib

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from dfwatch.web.ui.access import require_page_key
from dfwatch.web.ui.render import STATIC_DIR

PAGES = ("search", "story", "article", "timeline", "entity", "figures", "sources")


def mount(app: FastAPI) -> None:
    """Add every page's router (each page behind `require_page_key`) and the static files to `app`."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for name in PAGES:
        module = importlib.import_module(f"dfwatch.web.ui.{name}")
        app.include_router(module.router, dependencies=[Depends(require_page_key)])
