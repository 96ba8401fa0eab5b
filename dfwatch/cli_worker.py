"""`dfwatch crawl-worker`: a crawl worker sharing a Redis frontier (scrapy-redis). Filled in by issue 8."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `crawl-worker` command to `app` (issue 8 fills this module)."""
