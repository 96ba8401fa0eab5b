"""The sources page `/sources`: each configured source's last crawl, its articles in the store, and its next run.

The last crawl comes from the run log in the state file and the next run from the
scheduler's job store, read the way `dfwatch status` reads them (`dfwatch.schedule.state`);
"not scheduled" when no `dfwatch schedule` ever ran or the source has no job. Article counts
are the store's own, one count per source through the search layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from dfwatch.search import SearchService
from dfwatch.search.model import Filters, SearchRequest
from dfwatch.sources import Source, load_sources
from dfwatch.web.deps import get_service
from dfwatch.web.ui.render import page
from dfwatch.yamlconf import ConfigError

if TYPE_CHECKING:
    from dfwatch.runs import Run
    from dfwatch.schedule.outcomes import JobRun
    from dfwatch.schedule.state import SchedulerState
    from dfwatch.settings import Settings

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> dict[str, Source]:
    return load_sources(path)


def configured_sources(settings: Settings) -> dict[str, Source]:
    """The sources file's sources by id, parsed again only when the file changes; ConfigError if it is invalid."""
    path = settings.sources_path
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sources file ({exc.strerror})") from None
    return _load(path, mtime)


@dataclass
class SourceRow:
    source: Source
    articles: int  # in the store
    last: Run | None  # the latest crawl run
    job: str  # the scheduler's crawl job: "not scheduled", "paused" or its next run time
    job_outcome: JobRun | None  # how the latest scheduled crawl ended


def schedule_text(source: Source) -> str:
    s = source.schedule
    when = f"every {s.interval_minutes} min" if s.interval_minutes is not None else f"cron {s.cron} ({s.timezone})"
    return when + (f", jitter {s.jitter_seconds} s" if s.jitter_seconds else "")


def _next_run(state: SchedulerState | None, source_id: str) -> str:
    job_id = f"crawl:{source_id}"
    if state is None or job_id not in state.jobs:
        return "not scheduled"
    when = state.next_run(job_id)
    return utc(when) if when else "paused"


def rows(svc: SearchService, settings: Settings, sources: dict[str, Source]) -> tuple[list[SourceRow], Any]:
    """One row per configured source, and the scheduler's state (None if no scheduler ever ran)."""
    from dfwatch.schedule.state import last_crawls, scheduler_state

    runs = last_crawls(settings)
    state = scheduler_state(settings)
    out = []
    for source_id, source in sources.items():
        summary = state.summaries.get(f"crawl:{source_id}") if state else None
        count = svc.count(SearchRequest(filters=Filters(source=(source_id,)), facets=False, highlight=False))
        out.append(SourceRow(source=source, articles=count, last=runs.get(source_id),
                             job=_next_run(state, source_id), job_outcome=summary.last if summary else None))
    return out, state


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, svc: Annotated[SearchService, Depends(get_service)]) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    try:
        configured = configured_sources(settings)
    except ConfigError as exc:
        return page(request, "sources.html", {"config_error": str(exc), "rows": [], "state": None,
                                              "total": svc.count(SearchRequest()), "now": _now()},
                    title="Sources · dfwatch")
    found, state = rows(svc, settings, configured)
    return page(request, "sources.html", {"config_error": None, "rows": found, "state": state,
                                          "total": svc.count(SearchRequest()), "now": _now(),
                                          "schedule_text": schedule_text, "utc": utc}, title="Sources · dfwatch")


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _now() -> str:
    return utc(datetime.now(UTC))
