"""`dfwatch crawl-worker`: a crawl worker sharing a Redis frontier (scrapy-redis) with other workers.

Run one on each machine (or several on one) against the same Redis: they share each source's
request queue and dupefilter (crawler/frontier.py), so a page is fetched once whichever worker
gets it; each indexes what it fetched into the configured store. docs/scale-out.md has the how.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `crawl-worker` command to `app`."""

    @app.command("crawl-worker")
    def crawl_worker(
        ctx: typer.Context,
        frontier: Annotated[str, typer.Option(
            help="The shared frontier: redis://HOST:PORT/DB (password in $DFWATCH_FRONTIER_PASSWORD).")],
        source: Annotated[list[str] | None, typer.Option(
            "--source", "-s", help="Source id (repeatable); default: every configured source.")] = None,
        idle_timeout: Annotated[float, typer.Option(
            min=1, help="Stop after the frontier has been empty this many seconds on end.")] = 60.0,
        seed: Annotated[bool, typer.Option(
            "--seed", help="Start a new round first: empty the sources' frontier, push their start URLs.")] = False,
        seed_only: Annotated[bool, typer.Option(
            "--seed-only", help="Start a new round and exit (the workers do the crawling).")] = False,
        stats_json: Annotated[Path | None, typer.Option(help="Also write this worker's crawl report here.")] = None,
        log_level: Annotated[str, typer.Option(help="Scrapy log level.")] = "WARNING",
    ) -> None:
        """Crawl sources from a frontier shared with other workers, until it stays empty."""
        import redis

        from crawler.frontier import PASSWORD_ENV, Frontier
        from crawler.frontier import seed as seed_round
        from dfwatch.cli import fail, print_report, settings_from, strategies

        settings = settings_from(ctx)
        sources = strategies(settings, source)
        try:
            shared = Frontier(frontier, os.environ.get(PASSWORD_ENV) or None)
            shared.check()
        except ValueError as exc:
            raise fail(str(exc)) from None
        except redis.RedisError as exc:
            raise fail(f"cannot reach the frontier at {frontier}: {exc}", 1) from None
        if seed or seed_only:
            for source_id, pushed in seed_round(settings, shared, sources).items():
                typer.echo(f"{source_id}: new round, {pushed} start request(s) pushed")
            if seed_only:
                return

        from crawler.frontier import run_worker

        reports = run_worker(settings, shared, sources, idle_timeout, log_level)
        for report in reports:
            print_report(report.as_dict())
        if stats_json:
            stats_json.write_text(json.dumps([r.as_dict() for r in reports], indent=2))
        if any(r.stats.get("finish_reason") not in ("finished", None) for r in reports):
            raise typer.Exit(1)
