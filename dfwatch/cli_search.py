"""`dfwatch search | timeline | figures | export`: the search layer on the command line.

Every command goes through `dfwatch.search.SearchService`; `--json` prints what the JSON
API returns. Crawled text is printed through `terminal.safe_line`. Exit codes: 2 for bad
input (dates, cursors, sizes, options), 3 when the store cannot be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from dfwatch.cli import fail, settings_from
from dfwatch.search.model import FigureQuery, FigureSeries, Filters, SearchRequest, Timeline
from dfwatch.search.service import SearchService
from dfwatch.store.base import StoreError
from dfwatch.terminal import safe_line

QueryArg = Annotated[str, typer.Argument(help='Words, "phrases", OR, -exclude, field:value (source, type, '
                                              'country, lang, entity, topic).')]
FromOpt = Annotated[str | None, typer.Option("--from", help="Published on or after this UTC day (YYYY-MM-DD).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Published on or before this UTC day (YYYY-MM-DD).")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Source id (repeatable).")]
TypeOpt = Annotated[list[str] | None, typer.Option("--type", help="Source type: news, government, ngo, court.")]
CountryOpt = Annotated[list[str] | None, typer.Option("--country", help="Source country code, e.g. KR.")]
LangOpt = Annotated[list[str] | None, typer.Option("--lang", help="Article language, e.g. en, ko.")]
EntityOpt = Annotated[list[str] | None, typer.Option("--entity", help="A person, organisation or place.")]
TopicOpt = Annotated[list[str] | None, typer.Option("--topic", help="A relevance topic, e.g. enforcement.")]
FiguresOpt = Annotated[bool | None, typer.Option("--has-figures/--no-figures",
                                                 help="Only articles with/without figures.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON the API returns.")]


def register(app: typer.Typer) -> None:
    """Add search, timeline, figures and export to `app`."""
    app.command("search")(search)
    app.command("timeline")(timeline)
    app.command("figures")(figures)
    app.command("export")(export)


# ---------------------------------------------------------------- helpers
def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"invalid date for {flag}: {value!r} (use YYYY-MM-DD)") from None


def _filters(date_from: str | None, date_to: str | None, source: list[str] | None, source_type: list[str] | None,
             country: list[str] | None, lang: list[str] | None, entity: list[str] | None, topic: list[str] | None,
             has_figures: bool | None) -> Filters:
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    if start and end and start > end:
        raise fail(f"--from {start} is after --to {end}")
    return Filters(date_from=start, date_to=end, source=tuple(source or ()), source_type=tuple(source_type or ()),
                   country=tuple(country or ()), lang=tuple(lang or ()), entity=tuple(entity or ()),
                   topic=tuple(topic or ()), has_figures=has_figures)


def _build(cls: type, **kwargs: Any) -> Any:
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise fail(str(exc)) from None


@contextmanager
def _service(ctx: typer.Context) -> Iterator[SearchService]:
    settings = settings_from(ctx)
    try:
        service = SearchService.open(settings)
    except StoreError as exc:
        raise fail(str(exc), 3) from None
    try:
        yield service
    except StoreError as exc:
        raise fail(f"store unreachable or failing: {exc}", 3) from None
    except ValueError as exc:  # bad cursor, interval, ...
        raise fail(str(exc)) from None
    finally:
        service.close()


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _when(value: str | None) -> str:
    return (value or "")[:10] or "----------"


# ---------------------------------------------------------------- search
def search(
    ctx: typer.Context,
    query: QueryArg = "",
    date_from: FromOpt = None, date_to: ToOpt = None, source: SourceOpt = None, source_type: TypeOpt = None,
    country: CountryOpt = None, lang: LangOpt = None, entity: EntityOpt = None, topic: TopicOpt = None,
    has_figures: FiguresOpt = None,
    sort: Annotated[str, typer.Option(help="relevance or date (newest first).")] = "relevance",
    size: Annotated[int, typer.Option(help="Hits per page (0-100).")] = 10,
    after: Annotated[str | None, typer.Option("--after", help="Cursor from the previous page.")] = None,
    collapse: Annotated[bool, typer.Option("--collapse", help="One hit per story.")] = False,
    page: Annotated[int, typer.Option(help="With --collapse: 0-based page of stories.", min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Search indexed articles."""
    filters = _filters(date_from, date_to, source, source_type, country, lang, entity, topic, has_figures)
    req = _build(SearchRequest, q=query, filters=filters, sort=sort, size=size, after=after, collapse=collapse,
                 page=page, highlight=False)
    with _service(ctx) as service:
        result = service.search(req)
    if as_json:
        _print_json(result.as_dict())
        return
    typer.echo(f"{result.total} articles match {query!r}" + (", one hit per story" if collapse else ""))
    for hit in result.hits:
        story = f"  (story of {hit.story_size})" if hit.story_size and hit.story_size > 1 else ""
        typer.echo(f"- {_when(hit.published_at)}  {safe_line(hit.title)}  [{safe_line(hit.source.name)}]{story}")
        typer.echo(f"  {safe_line(hit.url)}")
    for name in ("sources", "entities"):
        values = result.facets.get(name) or []
        if values:
            typer.echo(f"{name}: " + ", ".join(f"{safe_line(v.value)} {v.count}" for v in values[:8]))
    if result.next_after:
        typer.echo(f"next page: --after {result.next_after}")
    elif collapse and len(result.hits) == size and size:
        typer.echo(f"next page: --page {page + 1}")


# ---------------------------------------------------------------- timeline
def _bucket_label(key: str, interval: str) -> str:
    if interval == "year":
        return key[:4]
    if interval == "quarter":
        return f"{key[:4]}-Q{(int(key[5:7]) - 1) // 3 + 1}"
    return key[:7] if interval == "month" else key[:10]


def print_timeline(t: Timeline) -> None:
    typer.echo(f"{t.total} articles match {t.query!r}, {t.date_from or '?'} to {t.date_to or '?'}, by {t.interval}")
    peak = max((b.count for b in t.buckets), default=0)
    for b in t.buckets:
        bar = "#" * max(1, round(30 * b.count / peak)) if peak else ""
        stories = " · ".join(f"{safe_line(s.title)[:60]}" + (f" ({s.count})" if s.count > 1 else "")
                             for s in b.stories)
        typer.echo(f"  {_bucket_label(b.key, t.interval):<10} {bar:<30} {b.count:>4}  {stories}")
    if t.events:
        typer.echo("\nevents (stories by first appearance):")
        for s in t.events:
            sources = ", ".join(map(safe_line, s.sources))
            size = f" ({s.article_count} articles: {sources})" if s.article_count > 1 else ""
            typer.echo(f"  {_when(s.first_seen)}  {safe_line(s.title)}{size}")
            if s.lead:
                typer.echo(f"              {safe_line(s.lead)[:160]}")
    if t.entity_trends:
        typer.echo("\nentity trends:")
        for trend in t.entity_trends:
            counts = " · ".join(f"{_bucket_label(k, t.interval)} {n}" for k, n in trend.buckets)
            typer.echo(f"  {safe_line(trend.entity)} ({trend.label}) {trend.total}: {counts}")


def timeline(
    ctx: typer.Context,
    query: QueryArg = "",
    date_from: FromOpt = None, date_to: ToOpt = None, source: SourceOpt = None, source_type: TypeOpt = None,
    country: CountryOpt = None, lang: LangOpt = None, entity: EntityOpt = None, topic: TopicOpt = None,
    has_figures: FiguresOpt = None,
    interval: Annotated[str | None, typer.Option(help="day, week, month, quarter or year; default: "
                                                      "chosen for the range.")] = None,
    top_stories: Annotated[int, typer.Option(help="Top stories per bucket.", min=0, max=20)] = 3,
    events: Annotated[int, typer.Option(help="How many first-seen stories to list.", min=0, max=200)] = 20,
    entities: Annotated[int, typer.Option(help="How many entity trends.", min=0, max=50)] = 8,
    as_json: JsonOpt = False,
) -> None:
    """Articles over time with their top stories, the events in order, and entity trends."""
    filters = _filters(date_from, date_to, source, source_type, country, lang, entity, topic, has_figures)
    req = _build(SearchRequest, q=query, filters=filters, size=0, facets=False, highlight=False)
    with _service(ctx) as service:
        result = service.timeline(req, interval, top_stories=top_stories, events=events, entities=entities)
    if as_json:
        _print_json(result.as_dict())
    else:
        print_timeline(result)


# ---------------------------------------------------------------- figures
def _period(start: str | None, end: str | None) -> str:
    return f"{start or '?'}..{end or '?'}" if start or end else "no period"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def print_series(series: FigureSeries) -> None:
    where = f" in {series.place}" if series.place else ""
    typer.echo(f"{series.measure}{where}: {len(series.points)} points")
    for p in series.points:
        flag = "  CONFLICT: sources disagree" if p.conflict else ""
        text = f" ({safe_line(p.period_text)})" if p.period_text else ""
        typer.echo(f"\n{_period(p.period_start, p.period_end)}{text}: {_number(p.value)} {p.unit}{flag}")
        for v in p.versions:
            sources = list(dict.fromkeys(r.source_name for r in v.reports))
            qualifier = f"{v.qualifier.replace('_', ' ')} " if v.qualifier else ""
            typer.echo(f"  {qualifier}{_number(v.value)} {v.unit}: {len(v.reports)} reports, {len(sources)} sources "
                       f"({', '.join(map(safe_line, sources))})")
            for r in v.reports:
                said = f" ({safe_line(r.attribution)})" if r.attribution else ""
                typer.echo(f"    - {_when(r.published_at)} [{safe_line(r.source_name)}] "
                           f"\"{safe_line(r.sentence)[:140]}\"{said}")
                typer.echo(f"      {safe_line(r.url)}")


def figures(
    ctx: typer.Context,
    query: QueryArg = "",
    measure: Annotated[str | None, typer.Option(help="e.g. police_cases_reported, people_charged.")] = None,
    place: Annotated[str | None, typer.Option(help='Where the figure applies, as stored ("South Korea").')] = None,
    source: SourceOpt = None,
    period_from: Annotated[str | None, typer.Option(help="Figures whose period ends on/after this day.")] = None,
    period_to: Annotated[str | None, typer.Option(help="Figures whose period starts on/before this day.")] = None,
    date_from: FromOpt = None, date_to: ToOpt = None, source_type: TypeOpt = None,
    country: CountryOpt = None, lang: LangOpt = None, entity: EntityOpt = None, topic: TopicOpt = None,
    size: Annotated[int, typer.Option(help="Figures per page (1-1000).", min=1, max=1000)] = 50,
    after: Annotated[str | None, typer.Option("--after", help="Cursor from the previous page.")] = None,
    series: Annotated[bool, typer.Option("--series", help="The measure over its periods, with every source "
                                                          "and conflicts flagged (needs --measure).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Figure records (statistics and penalties with their sentence and source), or a figure series."""
    if series and not measure:
        raise fail("--series needs --measure")
    filters = _filters(date_from, date_to, None, source_type, country, lang, entity, topic, None)
    fq = _build(FigureQuery, measure=measure, place=place, source=tuple(source or ()), q=query, filters=filters,
                period_from=_day(period_from, "--period-from"), period_to=_day(period_to, "--period-to"),
                size=size, after=after)
    with _service(ctx) as service:
        if series:
            result = service.figure_series(measure or "", place, fq)
        else:
            records, next_after = service.figures(fq)
    if series:
        _print_json(result.as_dict()) if as_json else print_series(result)
        return
    if as_json:
        _print_json({"figures": records, "next_after": next_after})
        return
    for fig in records:
        period = fig.get("period") or {}
        src = (fig.get("source") or {}).get("name", "")
        qualifier = f"{fig['qualifier'].replace('_', ' ')} " if fig.get("qualifier") else ""
        typer.echo(f"{qualifier}{_number(fig['value'])} {fig.get('unit', '')}  {fig.get('measure') or '-'}  "
                   f"{_period(period.get('start'), period.get('end'))}  {safe_line(fig.get('place')) or '-'}  "
                   f"[{safe_line(src)}] {_when(fig.get('published_at'))}")
        typer.echo(f"    \"{safe_line(fig.get('sentence'))[:160]}\"")
    if next_after:
        typer.echo(f"next page: --after {next_after}")


# ---------------------------------------------------------------- export
def export(
    ctx: typer.Context,
    out: Annotated[str, typer.Option("--out", "-o", help="File to write, or - for stdout.")],
    query: QueryArg = "",
    target: Annotated[str, typer.Option(help="articles or figures.")] = "articles",
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet.")] = "csv",
    date_from: FromOpt = None, date_to: ToOpt = None, source: SourceOpt = None, source_type: TypeOpt = None,
    country: CountryOpt = None, lang: LangOpt = None, entity: EntityOpt = None, topic: TopicOpt = None,
    has_figures: FiguresOpt = None,
    measure: Annotated[str | None, typer.Option(help="Figures only: this measure.")] = None,
    place: Annotated[str | None, typer.Option(help="Figures only: this place.")] = None,
) -> None:
    """Export every matching article or figure record (CSV, JSONL or Parquet), with the query and run time."""
    from dfwatch.search.export import FORMATS, TARGETS

    if target not in TARGETS:
        raise fail(f"--target must be one of {', '.join(TARGETS)}")
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}")
    if (measure or place) and target != "figures":
        raise fail("--measure and --place apply to --target figures")
    filters = _filters(date_from, date_to, source, source_type, country, lang, entity, topic, has_figures)
    req = _build(SearchRequest, q=query, filters=filters, sort="date", facets=False, highlight=False)
    fq = FigureQuery(measure=measure, place=place, q=query, filters=filters) if target == "figures" else None
    path = None if out == "-" else Path(out)
    with _service(ctx) as service:
        if path is None:
            info = service.export(target, fmt, sys.stdout.buffer, req=req, fq=fq)
            sys.stdout.buffer.flush()
        else:
            try:
                with path.open("wb") as stream:
                    info = service.export(target, fmt, stream, req=req, fq=fq)
            except BaseException:
                path.unlink(missing_ok=True)  # no half-written export left behind
                raise
    typer.echo(f"exported {info.rows} {target} as {fmt} to {out} (run at {info.run_at})", err=path is None)
