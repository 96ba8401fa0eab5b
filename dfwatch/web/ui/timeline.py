"""The timeline page `/timeline`: coverage over time, the event list, figure series, entity trends.

It takes the search page's parameters (q and the filters, the API's names) plus `interval`.
- Coverage: one bar per bucket (empty buckets between the first and last drawn as gaps); each
  bar, and each row of the bucket table beside it, links to the search page `/` with the same
  query and that bucket's from/to (clipped to the request's own dates).
- Events: the stories in order of first appearance; each bucket's top stories in the table.
- Figure series: the measures (with place) most reported in the matching articles (or the one
  named by `measure` and `place`), each with every version, report, source and sentence in a
  table; a point where sources disagree is marked in the chart and in the table, in words.
  Series are drawn only from all of their reports (`series_views`).
- Entity trends: the most mentioned entities, with their counts per bucket.

Form input comes as strings (empty fields as ""): `read_form` drops empty values and checks the
rest with the API's own rules (`dfwatch.web.params`), so bad input is an inline message on the
page (422) with the form still filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError

from dfwatch.search import SearchService
from dfwatch.search.model import (
    INTERVALS,
    Bucket,
    FigureQuery,
    FigureSeries,
    Filters,
    SearchRequest,
    SeriesPoint,
    Timeline,
)
from dfwatch.search.series import build_series
from dfwatch.web.deps import get_service
from dfwatch.web.errors import ApiError
from dfwatch.web.params import MAX_QUERY, Day, filters, with_articles
from dfwatch.web.ui.article import sentence_link
from dfwatch.web.ui.charts import Bar, Point, bar_chart, number, point_chart, sparkline
from dfwatch.web.ui.render import page, query_string

router = APIRouter(include_in_schema=False)
Service = Annotated[SearchService, Depends(get_service)]

MULTI = ("source", "type", "country", "lang", "entity", "topic")
SEARCH_KEYS = ("q", "from", "to", *MULTI, "has_figures")  # the search page's parameters
MAX_FILLED = 400  # empty buckets are drawn between the first and last unless there would be more bars
SERIES = 4  # figure series charts at most
SCAN = 500  # figure records read (one request) to find the measures most reported
FEW = 300  # matching articles with figures whose records the page reads (more: measures are offered instead)
SENTENCES = 5  # sentences listed per value and period (the rest are in the ledger)
_DAY = TypeAdapter(Day)
_BOOL = TypeAdapter(bool)


@dataclass
class QueryForm:
    """A search form as submitted: what to show back in it, the clean parameters, and what was wrong."""

    values: dict[str, Any]  # field -> str (multi-valued fields: list[str])
    pairs: list[tuple[str, str]]  # the search parameters without empty ones (for links)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (parameter, message)
    request: SearchRequest | None = None
    interval: str | None = None


def _message(exc: ValidationError) -> str:
    return "; ".join(str(e.get("msg", "invalid")).removeprefix("Value error, ") for e in exc.errors())


def read_form(request: Request) -> QueryForm:
    """The query form of `request`: empty values dropped, the rest checked by the API's rules."""
    items = [(k, v.strip()) for k, v in request.query_params.multi_items() if v.strip()]
    pairs = [(k, v) for k, v in items if k in SEARCH_KEYS]
    one = {k: v for k, v in items}
    values: dict[str, Any] = {k: one.get(k, "") for k in ("q", "from", "to", "has_figures", "interval", "measure",
                                                          "place")}
    values.update({k: [v for key, v in items if key == k] for k in MULTI})
    form = QueryForm(values=values, pairs=pairs)
    days: dict[str, date | None] = {}
    for key in ("from", "to"):
        try:
            days[key] = _DAY.validate_python(one[key]) if key in one else None
        except ValidationError as exc:
            form.errors.append((key, _message(exc)))
    has_figures = None
    if "has_figures" in one:
        try:
            has_figures = _BOOL.validate_python(one["has_figures"])
        except ValidationError:
            form.errors.append(("has_figures", "choose yes or no"))
    if len(values["q"]) > MAX_QUERY:
        form.errors.append(("q", f"at most {MAX_QUERY} characters"))
    form.errors += [(k, "at most 200 characters") for k in ("measure", "place") if len(values[k]) > 200]
    interval = one.get("interval")
    if interval and interval not in INTERVALS:
        form.errors.append(("interval", f"choose one of {', '.join(INTERVALS)}"))
    form.interval = interval or None
    if form.errors:
        return form
    try:
        v = {k: tuple(values[k]) for k in MULTI}
        f = filters(date_from=days["from"], date_to=days["to"], source=v["source"], type=v["type"],
                    country=v["country"], lang=v["lang"], entity=v["entity"], topic=v["topic"], has_figures=has_figures)
    except ApiError as exc:
        form.errors.extend([(e.param, e.message) for e in exc.fields] if exc.fields else [("request", exc.detail)])
        return form
    form.request = SearchRequest(q=values["q"], filters=f, facets=False, highlight=False)
    return form


# ---------------------------------------------------------------- buckets
def next_key(key: str, interval: str) -> date:
    """The first day after the bucket that starts on `key`."""
    d = date.fromisoformat(key[:10])
    if interval in ("day", "week"):
        return d + timedelta(days=1 if interval == "day" else 7)
    months = {"month": 1, "quarter": 3, "year": 12}[interval]
    years, month = divmod(d.month - 1 + months, 12)
    return date(d.year + years, month + 1, 1)


def bucket_label(key: str, interval: str) -> str:
    """A bucket as people write it: 2024-08-28, week of 2024-08-26, 2024-08, 2024 Q3, 2024."""
    if interval == "month":
        return key[:7]
    if interval == "quarter":
        return f"{key[:4]} Q{(int(key[5:7]) - 1) // 3 + 1}"
    if interval == "year":
        return key[:4]
    return f"week of {key[:10]}" if interval == "week" else key[:10]


def bucket_range(key: str, interval: str, date_from: date | None, date_to: date | None) -> tuple[str, str]:
    """The bucket's first and last day, inside the request's own dates."""
    start, end = date.fromisoformat(key[:10]), next_key(key, interval) - timedelta(days=1)
    if date_from:
        start = max(start, date_from)
    if date_to:
        end = min(end, date_to)
    return start.isoformat(), end.isoformat()


def filled(buckets: list[Bucket], interval: str) -> list[Bucket]:
    """The buckets with empty ones between the first and the last (unless that makes too many)."""
    if not buckets:
        return []
    have = {b.key[:10]: b for b in buckets}
    keys = [buckets[0].key[:10]]
    while keys[-1] < buckets[-1].key[:10] and len(keys) <= MAX_FILLED:
        keys.append(next_key(keys[-1], interval).isoformat())
    if len(keys) > MAX_FILLED:
        return buckets
    return [have.get(k) or Bucket(key=k, count=0) for k in keys]


@dataclass
class BucketRow:
    key: str
    label: str
    count: int
    href: str | None  # the search page for this bucket
    stories: list[Any]


def bucket_rows(buckets: list[Bucket], interval: str, pairs: list[tuple[str, str]], date_from: date | None,
                date_to: date | None) -> list[BucketRow]:
    rows = []
    for b in filled(buckets, interval):
        start, end = bucket_range(b.key, interval, date_from, date_to)
        href = "/" + query_string(pairs, **{"from": start, "to": end, "page": None}) if b.count else None
        rows.append(BucketRow(b.key[:10], bucket_label(b.key, interval), b.count, href, b.stories))
    return rows


def coverage_chart(rows: list[BucketRow], what: str, interval: str) -> Any:
    bars = [Bar(r.label if interval != "week" else r.key, r.count,
                f"{r.label}: {r.count} article{'s' if r.count != 1 else ''}", r.href) for r in rows]
    desc = (f"Articles per {interval}{' ' + what if what else ''}: "
            + (", ".join(f"{r.label} {r.count}" for r in rows if r.count) or "none")
            + ". Each bar links to the search results for its dates; the table below has the same links.")
    return bar_chart(bars, f"Coverage over time{' ' + what if what else ''}", desc)


def entity_href(name: str) -> str:
    return "/entities/" + quote(name, safe="")


def story_href(story_id: str) -> str:
    return "/stories/" + quote(story_id, safe="")


# ---------------------------------------------------------------- figure series
def measure_name(measure: str) -> str:
    return measure.replace("_", " ").capitalize()


@dataclass
class SeriesView:
    series: FigureSeries
    title: str
    chart: Any
    ledger: str  # the figure ledger for this measure and place
    starts: dict[str, int]  # figure id -> character offset (for links to the sentence)

    def link(self, article_id: str, figure_id: str) -> str:
        """The report's sentence in its article (the article's top when its offset is unknown)."""
        return sentence_link(article_id, self.starts.get(figure_id))

    def period_ledger(self, point: SeriesPoint) -> str:
        """The figure ledger for this measure and place, narrowed to the point's period."""
        return "/figures" + query_string({"measure": self.series.measure, "place": self.series.place or "",
                                          "period_from": point.period_start or "", "period_to": point.period_end or ""})


@dataclass
class SeriesChoice:
    """A measure found in the matching articles, linking to its complete series on this page."""

    title: str
    reports: int | None  # among the records read (None: counted in all coverage of the dates, not these articles)
    href: str


def series_view(series: FigureSeries, starts: dict[str, int]) -> SeriesView:
    title = measure_name(series.measure) + (f" in {series.place}" if series.place else "")
    ledger = "/figures" + query_string({"measure": series.measure, "place": series.place or ""})
    return SeriesView(series, title, series_chart(series, title), ledger, starts)


def series_views(svc: SearchService, req: SearchRequest, page_pairs: list[tuple[str, str]],
                 limit: int = SERIES) -> tuple[list[SeriesView], list[SeriesChoice]]:
    """The `limit` measures (with place) most reported in the articles `req` matches, as series.

    The matching figure records are read in one request (at most SCAN). When that was all of them,
    each series is built from them by the search layer's own `build_series` (what `figure_series`
    does with the same records). When there are more, no series is drawn from part of its reports:
    the measures found come back as choices, each linking to this page with `measure` and `place`,
    which asks `SearchService.figure_series` for that one series, complete.
    """
    base = with_articles(FigureQuery(), req.filters, req.q)
    after: str | None
    if needs_articles(req) and svc.count(replace(req, filters=replace(req.filters, has_figures=True))) > FEW:
        # Many matching articles have figures: finding their records means listing every one of
        # those articles first (seconds at 100k). Offer the measures reported in the same dates
        # instead (figure records alone answer that), each linking to its complete series.
        dates = Filters(date_from=req.filters.date_from, date_to=req.filters.date_to)
        records, _ = svc.figures(replace(with_articles(FigureQuery(), dates, ""), size=SCAN))
        after = ""  # not all of this query's reports: offer choices, draw nothing
    else:
        records, after = svc.figures(replace(base, size=SCAN))
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for fig in records:
        if fig.get("measure"):
            groups.setdefault((fig["measure"], fig.get("place")), []).append(fig)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0][0], kv[0][1] or ""))[:limit]
    if after is None:
        starts = figure_starts(records)
        return [series_view(build_series(m, p, figs), starts) for (m, p), figs in ranked], []
    return [], [SeriesChoice(measure_name(m) + (f" in {p}" if p else ""), len(figs) if after else None,
                             "/timeline" + query_string(page_pairs, measure=m, place=p or "") + "#h-series")
                for (m, p), figs in ranked]


def needs_articles(req: SearchRequest) -> bool:
    """Whether the figures of `req` can only be found through its matching articles (words, or
    filters on what only articles carry), rather than from the figure records alone."""
    f = req.filters
    return bool(req.q.strip() or f.entity or f.topic or f.has_figures is not None)


def chosen_series(svc: SearchService, req: SearchRequest, measure: str, place: str | None) -> SeriesView:
    """The one series asked for (`measure`, `place`), complete, from `SearchService.figure_series`."""
    base = with_articles(FigureQuery(), req.filters, req.q)
    series = svc.figure_series(measure, place, base)
    starts: dict[str, int] = {}
    if series.points:  # the sentence offsets of its reports, for links into the articles
        records, _ = svc.figures(replace(base, measure=measure, place=place, size=SCAN))
        starts = figure_starts(records)
    return series_view(series, starts)


def figure_starts(records: list[dict[str, Any]]) -> dict[str, int]:
    return {f["id"]: f["start"] for f in records if f.get("id") and isinstance(f.get("start"), int)}


def _sources(version: Any) -> str:
    return ", ".join(dict.fromkeys(r.source_name or r.source_id for r in version.reports))


def series_chart(series: FigureSeries, title: str) -> Any:
    points = []
    for p in series.points:
        label = period_label(p.period_start, p.period_end)
        written = f" ({p.period_text})" if p.period_text else ""
        top, *others = p.versions
        tip = (f"{label}: {number(p.value)} {p.unit}{written} — {_sources(top)}"
               + (" — conflict: sources disagree" if p.conflict else ""))
        points.append(Point(label, p.value, tip, p.conflict,
                            tuple((v.value, f"{label}: {number(v.value)} {v.unit} — {_sources(v)} (disagrees)")
                                  for v in others)))
    desc = "; ".join(
        f"{period_label(p.period_start, p.period_end)}: {number(p.value)} {p.unit}"
        + (" (conflict: " + " vs ".join(f"{number(v.value)} from {_sources(v)}" for v in p.versions) + ")"
           if p.conflict else "") for p in series.points)
    return point_chart(points, title, desc + ". The table below lists every value with its sources and sentences.")


def period_label(start: str | None, end: str | None) -> str:
    """2023 for a whole year, 2024-01–2024-07 for whole months, else the days; "undated" for none."""
    if not start or not end:
        return start or end or "undated"
    s, e = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    whole_months = s.day == 1 and (e + timedelta(days=1)).day == 1
    if whole_months and s.month == 1 and e.month == 12 and s.year == e.year:
        return str(s.year)
    if whole_months:
        first, last = s.isoformat()[:7], e.isoformat()[:7]
        return first if first == last else f"{first}–{last}"
    return s.isoformat() if s == e else f"{s.isoformat()}–{e.isoformat()}"


# ---------------------------------------------------------------- entity trends
@dataclass
class TrendRow:
    entity: str
    label: str
    total: int
    href: str
    counts: list[int]  # per bucket row
    chart: Any


def trend_rows(timeline: Timeline, rows: list[BucketRow]) -> list[TrendRow]:
    out = []
    for t in timeline.entity_trends:
        per = {k[:10]: n for k, n in t.buckets}
        counts = [per.get(r.key, 0) for r in rows]
        text = f"{t.entity}: " + ", ".join(f"{r.label} {n}" for r, n in zip(rows, counts, strict=True) if n)
        out.append(TrendRow(t.entity, t.label, t.total, entity_href(t.entity), counts, sparkline(counts, text)))
    return out


# ---------------------------------------------------------------- the page
@router.get("/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, svc: Service) -> HTMLResponse:
    form = read_form(request)
    context: dict[str, Any] = {"form": form, "intervals": INTERVALS, "timeline": None, "rows": [], "chart": None,
                               "series": [], "choices": [], "trends": [], "entity_href": entity_href,
                               "story_href": story_href, "period_label": period_label,
                               "sentences": SENTENCES}
    if form.request is not None:
        try:
            timeline = svc.timeline(form.request, interval=form.interval, top_stories=3, events=20, entities=8)
        except ValueError as exc:
            form.errors.append(("q", str(exc) or "invalid request"))
        else:
            f = form.request.filters
            rows = bucket_rows(timeline.buckets, timeline.interval, form.pairs, f.date_from, f.date_to)
            what = f"matching “{form.request.q}”" if form.request.q else ""
            page_pairs = [*form.pairs, ("interval", form.interval or "")]
            if form.values["measure"]:
                series = [chosen_series(svc, form.request, form.values["measure"], form.values["place"] or None)]
                choices: list[SeriesChoice] = []
            else:
                series, choices = series_views(svc, form.request, page_pairs)
            context.update(timeline=timeline, rows=rows, chart=coverage_chart(rows, what, timeline.interval),
                           series=series, choices=choices, trends=trend_rows(timeline, rows),
                           all_series="/timeline" + query_string(page_pairs) + "#h-series")
    return page(request, "timeline.html", context, status=422 if form.errors else 200,
                title="Timeline · dfwatch")
