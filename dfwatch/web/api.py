"""The JSON API under /api: search, timeline, figures, stories, articles, export, health.

Every route calls the search layer (`dfwatch.search.SearchService`) and nothing else. The
service is synchronous, so the routes are plain `def`s that FastAPI runs in its threadpool
(the SQLite store keeps one connection per thread; Elasticsearch's client is thread-safe).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, Any, BinaryIO, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from dfwatch import __version__
from dfwatch.search import SearchService
from dfwatch.search.model import (
    FigureQuery,
    FigureSeries,
    Filters,
    SearchPage,
    SearchRequest,
    StoryDetail,
    Timeline,
)
from dfwatch.web import streaming
from dfwatch.web.auth import require_api_key
from dfwatch.web.deps import ServiceHolder, get_service
from dfwatch.web.errors import ApiError, bad_input, not_found, responses
from dfwatch.web.params import (
    Format,
    Interval,
    QueryText,
    Target,
    export_request,
    figure_query,
    filters,
    search_request,
    series_filters,
    with_articles,
)
from dfwatch.web.schemas import Article, FiguresPage, Health

Service = Annotated[SearchService, Depends(get_service)]
Id = Annotated[str, Path(min_length=1, max_length=200)]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson",
               "parquet": "application/vnd.apache.parquet"}

router = APIRouter(prefix="/api", dependencies=[Depends(require_api_key)], responses=responses(401, 422, 503))
open_router = APIRouter(prefix="/api")


@router.get("/search", response_model=SearchPage, responses=responses(400, 422), tags=["search"])
def search(svc: Service, req: Annotated[SearchRequest, Depends(search_request)]) -> SearchPage:
    """Articles matching the query and filters: a page of hits (with escaped highlights), facets, and the
    cursor to the next page. With `collapse`, one hit per story."""
    with bad_input():
        return svc.search(req)


def timeline_request(f: Annotated[Filters, Depends(filters)], q: QueryText = "") -> SearchRequest:
    return SearchRequest(q=q, filters=f, facets=False, highlight=False)


@router.get("/timeline", response_model=Timeline, responses=responses(400, 422), tags=["search"])
def timeline(
    svc: Service,
    req: Annotated[SearchRequest, Depends(timeline_request)],
    interval: Annotated[Interval | None, Query(description="Bucket size; chosen for the range when "
                                                           "omitted.")] = None,
    top_stories: Annotated[int, Query(ge=0, le=10, description="Stories listed per bucket.")] = 3,
    events: Annotated[int, Query(ge=0, le=100, description="First-seen stories in the event list.")] = 20,
    entities: Annotated[int, Query(ge=0, le=50, description="Entities with trends.")] = 8,
) -> Timeline:
    """Articles per interval with their top stories, the event list, and entity trends."""
    with bad_input():
        return svc.timeline(req, interval=interval, top_stories=top_stories, events=events, entities=entities)


@router.get("/figures", response_model=FiguresPage, responses=responses(400, 422), tags=["figures"])
def figures(svc: Service, fq: Annotated[FigureQuery, Depends(figure_query)]) -> FiguresPage:
    """Figure records (each with its sentence, source and period), oldest article first, and the cursor to
    the next page. `source` selects the figures' source; the other article filters and `q` select the
    articles they came from."""
    with bad_input():
        records, cursor = svc.figures(fq)
    return FiguresPage.model_validate({"figures": records, "next_after": cursor})


@router.get("/figures/series", response_model=FigureSeries, responses=responses(400, 422), tags=["figures"])
def figure_series(
    svc: Service,
    fq: Annotated[FigureQuery, Depends(series_filters)],
    f: Annotated[Filters, Depends(filters)],
    q: QueryText = "",
) -> FigureSeries:
    """A measure (in a place) over its periods; each point lists every version reported and every report of
    it, and is flagged when sources disagree."""
    with bad_input():
        return svc.figure_series(fq.measure or "", fq.place, with_articles(fq, f, q))


@router.get("/stories/{story_id}", response_model=StoryDetail, responses=responses(404), tags=["documents"])
def story(svc: Service, story_id: Id) -> StoryDetail:
    """A story: its articles (oldest first, without text), their figures and entities."""
    found = svc.story(story_id)
    if found is None:
        raise not_found("story", story_id)
    return found


@router.get("/articles/{article_id}", response_model=Article, responses=responses(404), tags=["documents"])
def article(svc: Service, article_id: Id) -> Any:
    """A stored article with its text, entities and figures (raw text: escape it before rendering HTML)."""
    doc = svc.article(article_id)
    if doc is None:
        raise not_found("article", article_id)
    return doc


EXPORT_CONTENT = {m.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for m in MEDIA_TYPES.values()}


@router.get("/export", response_class=StreamingResponse, tags=["export"],
            responses={200: {"content": EXPORT_CONTENT, "description": "The export file, streamed."},
                       **responses(400, 422, 429)})
def export(
    request: Request,
    svc: Service,
    what: Annotated[tuple[Target, Format, SearchRequest | None, FigureQuery | None], Depends(export_request)],
) -> StreamingResponse:
    """Every article or figure record matching the query, as CSV, JSONL or Parquet, streamed at constant memory.
    The file's header (CSV's first line, JSONL's first object, Parquet metadata `dfwatch.export`) holds the
    query and the time it was run."""
    target, fmt, req, fq = what
    slots: threading.BoundedSemaphore = request.app.state.exports
    if not slots.acquire(blocking=False):
        raise ApiError(429, "too many exports are running; try again shortly", headers={"Retry-After": "10"})
    with bad_input():  # the slot is released when the export's thread ends
        pipe, first = streaming.start(lambda out: svc.export(target, fmt, cast(BinaryIO, out), req=req, fq=fq),
                                      slots.release)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"dfwatch-{target}-{stamp}.{fmt}"
    return StreamingResponse(streaming.body(pipe, first), media_type=MEDIA_TYPES[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@open_router.get("/health", response_model=Health, responses={503: {"model": Health}}, tags=["health"])
def health(request: Request) -> Any:
    """Whether the store answers, how many articles it holds, and the version. Needs no API key."""
    holder: ServiceHolder = request.app.state.services
    backend = request.app.state.settings.store.backend
    try:
        articles = holder.get().store.count()
    except Exception as exc:  # any failure to answer is "unavailable", never a 500
        body = Health(status="unavailable", store=backend, version=__version__,
                      detail=f"the store could not answer ({type(exc).__name__})")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "30"})
    return Health(status="ok", store=backend, articles=articles, version=__version__)
