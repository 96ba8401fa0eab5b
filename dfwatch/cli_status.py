"""`dfwatch status`: the last crawl run of every configured source, from the run log.

dfwatch.cli imports this module to register the command, so its helpers are imported in
the command (importing this module first must not re-enter a half-initialised dfwatch.cli).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from dfwatch.runs import Run, RunLog
from dfwatch.sources import load_sources
from dfwatch.yamlconf import ConfigError


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False,
) -> None:
    """Show the last crawl run of every source in the sources file ("never" if not crawled yet)."""
    from dfwatch.cli import fail, settings_from

    settings = settings_from(ctx)
    try:
        sources = load_sources(settings.sources_path)
    except ConfigError as exc:
        raise fail(f"sources error:\n{exc}") from None
    runs: dict[str, Run] = {}
    if settings.state_file.is_file():  # no crawl yet: nothing to read, and nothing to create
        log = RunLog.open(settings.state_file)
        try:
            runs = log.last_runs()
        finally:
            log.close()
    for source_id in sources:
        run = runs.get(source_id)
        if as_json:
            typer.echo(json.dumps({"source": source_id, "last_run": run.as_dict() if run else None}))
        else:
            typer.echo(describe(source_id, run))


def describe(source_id: str, run: Run | None, now: datetime | None = None) -> str:
    if run is None:
        return f"{source_id}: never"
    age = _age((now or datetime.now(UTC)) - run.finished_at)
    line = (f"{source_id}: {run.finished_at.isoformat(timespec='seconds')} ({age} ago, {run.finish_reason}) "
            f"fetched {run.fetched} ({run.articles_fetched} articles), new {run.new}, updated {run.updated}, "
            f"unchanged {run.unchanged}, indexed {run.indexed}, spooled {run.spooled}, errors {run.errors}")
    details = [f"\n  {kind} {reason}={n}" for kind, counts in
                          (("skipped", run.skipped), ("dropped", run.dropped), ("retried", run.retried))
                          for reason, n in counts.items()]
    return line + "".join(details)


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
