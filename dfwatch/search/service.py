"""The search service: the one layer the CLI, the JSON API, digests and the web UI call.

It composes the store's primitives (`dfwatch.store.base.Store`) into what users ask for:
a page of hits, a timeline, figure records and series, a story, an article, an export.
It never builds a store query of its own, so both stores answer the same way.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from dfwatch.search.model import (
    MAX_PAGE,
    ArticleHit,
    ExportInfo,
    FacetValue,
    FigureQuery,
    FigureSeries,
    Filters,
    SearchPage,
    SearchRequest,
    StoryDetail,
    Timeline,
)
from dfwatch.search.series import build_series
from dfwatch.search.timeline import TimelineParts, check_interval, choose_interval, time_range

if TYPE_CHECKING:
    from dfwatch.settings import Settings
    from dfwatch.store.base import Store

HIDDEN = ("signature", "text_ko")  # store internals, never shown
STORY_ARTICLES = 500  # a story page lists at most this many articles (and their figures)


class SearchService:
    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, settings: Settings) -> SearchService:
        from dfwatch.store import open_store

        return cls(open_store(settings))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> SearchService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ search
    def search(self, req: SearchRequest) -> SearchPage:
        return self.store.search(req)

    def hits(self, req: SearchRequest) -> Iterator[ArticleHit]:
        """Every hit of `req` (newest first, no highlights, facets or total) at constant memory: the
        store's `iter_hits` where it has one (Elasticsearch: big uncounted pages), else page by page."""
        walk = getattr(self.store, "iter_hits", None)
        if walk is not None:
            walked: Iterator[ArticleHit] = walk(replace(req, sort="date", after=None, collapse=False, page=0))
            yield from walked
            return
        req = replace(req, sort="date", size=MAX_PAGE, collapse=False, page=0, facets=False, highlight=False)
        while True:
            page = self.store.search(req)
            yield from page.hits
            if not page.next_after or not page.hits:
                return
            req = replace(req, after=page.next_after)

    def count(self, req: SearchRequest) -> int:
        """How many articles match `req` (collapse and paging ignored)."""
        bare = replace(req, size=0, after=None, collapse=False, page=0, facets=False, highlight=False)
        return self.store.search(bare).total

    # ------------------------------------------------------------ timeline
    def timeline(self, req: SearchRequest, interval: str | None = None, top_stories: int = 3,
                 events: int = 20, entities: int = 8) -> Timeline:
        """Articles per interval with their top stories, the first-seen stories, and entity trends.

        The range is the request's dates where given, else the span of the matching articles;
        the interval is chosen for that range (`timeline.choose_interval`) unless named.
        """
        filters = req.effective_filters()

        def pick(span: tuple[str | None, str | None]) -> str:
            start, end = time_range(filters.date_from, filters.date_to, span)
            return check_interval(interval) if interval else choose_interval(start, end)

        span: tuple[str | None, str | None] = (None, None)
        dated = filters.date_from is not None and filters.date_to is not None
        spanned = getattr(self.store, "timeline_spanned", None)  # Elasticsearch: the span in the first round
        if spanned is not None and not dated:
            span, chosen, parts = spanned(req, pick, top_stories, events, entities)
        else:
            if not dated:
                span = self.store.date_span(req)
            chosen = pick(span)
            parts = self._timeline_parts(req, chosen, top_stories, events, entities)
        start, end = time_range(filters.date_from, filters.date_to, span)
        return Timeline(
            query=req.q, interval=chosen,
            date_from=start.isoformat() if start else None, date_to=end.isoformat() if end else None,
            total=parts.total, buckets=parts.buckets, events=parts.events, entity_trends=parts.entity_trends,
        )

    def _timeline_parts(self, req: SearchRequest, interval: str, top_stories: int, events: int,
                        entities: int) -> TimelineParts:
        """The store's own `timeline_parts` where it has one (Elasticsearch: the primitives' requests
        folded into two round trips), else the primitives one after another; the answers are the same."""
        folded = getattr(self.store, "timeline_parts", None)
        if folded is not None:
            parts: TimelineParts = folded(req, interval, top_stories, events, entities)
            return parts
        return TimelineParts(
            total=self.count(req), buckets=self.store.histogram(req, interval, top_stories),
            events=self.store.stories(req, size=events, order="first_seen") if events else [],
            entity_trends=self.store.entity_trends(req, interval, size=entities) if entities else [])

    # ------------------------------------------------------------ figures
    def figures(self, fq: FigureQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of figure records (oldest article first) and the cursor to the next."""
        return self.store.figures(fq)

    def figure_series(self, measure: str, place: str | None = None, fq: FigureQuery | None = None) -> FigureSeries:
        """`measure` (in `place`, as stored, e.g. "South Korea") over its periods, every report
        with its source, conflicts flagged (see `dfwatch.search.series`). `fq` narrows the
        figures further (sources, periods, matching articles); all of them are read."""
        base = fq or FigureQuery()
        query = replace(base, measure=measure, place=place if place is not None else base.place, after=None)
        return build_series(measure, query.place, self.store.iter_figures(query))

    # ------------------------------------------------------------ documents
    def article(self, article_id: str) -> dict[str, Any] | None:
        doc = self.store.get(article_id)
        if doc is None:
            return None
        return {k: v for k, v in doc.items() if k not in HIDDEN}

    def story(self, story_id: str) -> StoryDetail | None:
        """A story with its articles (oldest first, without text), their figures and entities."""
        req = SearchRequest(filters=Filters(story_id=story_id), sort="date", facets=False, highlight=False)
        found = self.store.stories(req, size=1)
        if not found:
            return None
        articles: list[dict[str, Any]] = []
        entities: Counter[str] = Counter()
        for doc in self.store.iter_articles(req):
            entities.update({e["norm"] for e in doc.get("entities") or [] if e.get("norm")})
            articles.append({k: v for k, v in doc.items() if k not in (*HIDDEN, "text")})
            if len(articles) >= STORY_ARTICLES:
                break
        articles.sort(key=lambda d: (d.get("published_at") or "~", d["id"]))
        figures = []
        for fig in self.store.iter_figures(FigureQuery(filters=Filters(story_id=story_id), size=100)):
            figures.append(fig)
            if len(figures) >= STORY_ARTICLES:
                break
        return StoryDetail(story=found[0], articles=articles, figures=figures,
                           entities=[FacetValue(name, n) for name, n in entities.most_common()])

    # ------------------------------------------------------------ export
    def export(self, target: str, fmt: str, out: BinaryIO, req: SearchRequest | None = None,
               fq: FigureQuery | None = None) -> ExportInfo:
        """Stream every matching article or figure record to `out` as CSV, JSONL or Parquet.

        Figures follow `fq`, else the articles `req` matches. The file carries the request
        and the time it was run (`dfwatch.search.export`).
        """
        from dfwatch.search import export as exporting  # pyarrow loads only when exporting

        if target not in exporting.TARGETS:
            raise ValueError(f"target must be one of {', '.join(exporting.TARGETS)}")
        if fmt not in exporting.FORMATS:
            raise ValueError(f"format must be one of {', '.join(exporting.FORMATS)}")
        run_at = datetime.now(UTC).isoformat(timespec="seconds")
        request: SearchRequest | FigureQuery
        if target == "articles":
            request = req or SearchRequest()
            rows: Iterator[dict[str, Any]] = map(exporting.article_row, self.store.iter_articles(request))
        else:
            request = fq or (FigureQuery(q=req.q, filters=req.filters) if req else FigureQuery())
            rows = self._figure_rows(request)
        query = exporting.query_json(request)
        header = {"target": target, "format": fmt, "query": query, "run_at": run_at}
        n = exporting.write(fmt, target, out, rows, header)
        return ExportInfo(target=target, format=fmt, query=query, run_at=run_at, rows=n)

    def _figure_rows(self, fq: FigureQuery) -> Iterator[dict[str, Any]]:
        from dfwatch.search.export import figure_row

        stories: OrderedDict[str, str | None] = OrderedDict()  # article id -> story id, recent ones
        for fig in self.store.iter_figures(fq):
            story_id = fig.get("story_id")
            article_id = fig.get("article_id", "")
            if story_id is None:
                if article_id not in stories:
                    doc = self.store.get(article_id)
                    stories[article_id] = (doc.get("story_id") or article_id) if doc else None
                    if len(stories) > 1024:
                        stories.popitem(last=False)
                story_id = stories[article_id]
            yield figure_row(fig, story_id)
