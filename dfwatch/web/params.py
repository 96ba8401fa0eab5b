"""Query parameters → the search layer's requests (SearchRequest, FigureQuery), declared once.

Each function is a FastAPI dependency, so the parameters, their types and limits appear in
the OpenAPI spec, and the web UI's pages can reuse them. Types and ranges are checked by
FastAPI (422); what spans parameters (from ≤ to, collapse vs. after) is checked here (422),
and a cursor that is not one of ours is a 400.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import AfterValidator, BeforeValidator

from dfwatch.search.model import INTERVALS, MAX_PAGE, FigureQuery, Filters, SearchRequest, decode_cursor
from dfwatch.web.errors import bad_request, invalid

Strs = tuple[str, ...]
MAX_QUERY = 2000  # characters of query text
MAX_WINDOW = 10_000  # collapsed paging reaches (page + 1) * size results at most (Elasticsearch's result window)
Interval = Literal[INTERVALS]  # type: ignore[valid-type]
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)  # dates outside are typos, not searches
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """Days are YYYY-MM-DD (pydantic alone would also take `0` as 1970-01-01)."""
    if isinstance(value, str) and not ISO_DAY.fullmatch(value):
        raise ValueError("write days as YYYY-MM-DD")
    return value


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"days run from {FIRST_DAY} to {LAST_DAY}")
    return day


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range)]


def _day(description: str, alias: str | None = None) -> object:
    return Query(alias=alias, description=f"{description} YYYY-MM-DD, {FIRST_DAY.year}-{LAST_DAY.year}.")


def _strs(description: str) -> object:
    return Query(description=description + " Repeatable; values of one parameter are ORed.")


def filters(
    date_from: Annotated[Day | None, _day("Published on or after this UTC day.", "from")] = None,
    date_to: Annotated[Day | None, _day("Published on or before this UTC day.", "to")] = None,
    source: Annotated[Strs, _strs("Source id, e.g. yonhap-en.")] = (),
    type: Annotated[Strs, _strs("Source type: news, government, ngo, court.")] = (),
    country: Annotated[Strs, _strs("Source country code, e.g. KR.")] = (),
    lang: Annotated[Strs, _strs("Article language code, e.g. ko.")] = (),
    entity: Annotated[Strs, _strs("Normalised entity name (case-insensitive), e.g. Telegram.")] = (),
    topic: Annotated[Strs, _strs("Relevance topic.")] = (),
    has_figures: Annotated[bool | None, Query(description="Only articles with (true) or without (false) "
                                                          "figures.")] = None,
    story: Annotated[str | None, Query(max_length=200, description="Only articles of this story.")] = None,
) -> Filters:
    """Filters on articles; the same fields may also be written in the query text (`source:yonhap-en`)."""
    if date_from and date_to and date_from > date_to:
        raise invalid("from", f"{date_from} is after to ({date_to})")
    for name, values in (("source", source), ("type", type), ("country", country), ("lang", lang),
                         ("entity", entity), ("topic", topic)):
        _check_values(name, values)
    return Filters(date_from=date_from, date_to=date_to, source=source, source_type=type, country=country,
                   lang=lang, entity=entity, topic=topic, has_figures=has_figures, story_id=story)


def _check_values(name: str, values: Strs) -> None:
    if len(values) > 50:
        raise invalid(name, "at most 50 values")
    if any(len(v) > 200 for v in values):
        raise invalid(name, "values are at most 200 characters")


QueryText = Annotated[str, Query(max_length=MAX_QUERY, description=(
    'Search words (ANDed), "phrases", a OR b, -exclude or NOT word, and field:value for source, type, '
    "country, lang, entity and topic."))]
Sort = Annotated[Literal["relevance", "date"], Query(description="relevance (the default; date when there "
                                                                 "are no words) or date, newest first.")]


def search_request(
    f: Annotated[Filters, Depends(filters)],
    q: QueryText = "",
    sort: Sort = "relevance",
    size: Annotated[int, Query(ge=0, le=MAX_PAGE, description=f"Hits per page, at most {MAX_PAGE}.")] = 20,
    after: Annotated[str | None, Query(max_length=2000, description="The `next_after` cursor of the previous "
                                                                    "page.")] = None,
    collapse: Annotated[bool, Query(description="One hit per story (page with `page`, not `after`).")] = False,
    page: Annotated[int, Query(ge=0, le=MAX_WINDOW, description="0-based page of stories, with collapse.")] = 0,
    facets: Annotated[bool, Query(description="Count sources, entities, topics and countries.")] = True,
    highlight: Annotated[bool, Query(description="Escaped HTML fragments with <mark> around matches.")] = True,
) -> SearchRequest:
    if after is not None:
        if collapse:
            raise invalid("after", "a cursor does not combine with collapse; use page")
        try:
            decode_cursor(after)
        except ValueError:
            raise bad_request("after: not a cursor from this API (use a page's next_after as is)") from None
    if page and not collapse:
        raise invalid("page", "page applies to collapsed results only; page on with the after cursor")
    if (page + 1) * size > MAX_WINDOW:
        raise invalid("page", f"collapsed paging reaches at most {MAX_WINDOW} results ((page + 1) * size)")
    return SearchRequest(q=q, filters=f, sort=sort, size=size, after=after, collapse=collapse, page=page,
                         facets=facets, highlight=highlight)


Place = Annotated[str | None, Query(max_length=200, description="Place as stored, e.g. South Korea.")]
PeriodFrom = Annotated[Day | None, _day("Figures whose period ends on or after this day.")]
PeriodTo = Annotated[Day | None, _day("Figures whose period starts on or before this day.")]
MEASURE = "Normalised measure, e.g. police_cases_reported."


def _figure_query(measure: str | None, place: str | None, period_from: date | None, period_to: date | None,
                  article_id: str | None = None) -> FigureQuery:
    if period_from and period_to and period_from > period_to:
        raise invalid("period_from", f"{period_from} is after period_to ({period_to})")
    return FigureQuery(measure=measure, place=place, period_from=period_from, period_to=period_to,
                       article_id=article_id)


def figure_filters(
    measure: Annotated[str | None, Query(max_length=200, description=MEASURE)] = None,
    place: Place = None,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    article_id: Annotated[str | None, Query(max_length=200, description="Figures of this article.")] = None,
) -> FigureQuery:
    """What selects figures; `source` and the article filters come from `filters` (see with_articles)."""
    return _figure_query(measure, place, period_from, period_to, article_id)


def series_filters(
    measure: Annotated[str, Query(min_length=1, max_length=200, description=MEASURE)],
    place: Place = None,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
) -> FigureQuery:
    return _figure_query(measure, place, period_from, period_to)


def with_articles(fq: FigureQuery, f: Filters, q: str) -> FigureQuery:
    """`source` selects the figure's source; the other filters and `q` select the articles it came from."""
    return replace(fq, source=f.source, filters=replace(f, source=()), q=q)


def figure_query(
    fq: Annotated[FigureQuery, Depends(figure_filters)],
    f: Annotated[Filters, Depends(filters)],
    q: QueryText = "",
    size: Annotated[int, Query(ge=0, le=MAX_PAGE, description=f"Figures per page, at most {MAX_PAGE}.")] = 100,
    after: Annotated[str | None, Query(max_length=2000, description="The `next_after` cursor of the previous "
                                                                    "page.")] = None,
) -> FigureQuery:
    if after is not None:
        try:
            decode_cursor(after)
        except ValueError:
            raise bad_request("after: not a cursor from this API (use a page's next_after as is)") from None
    return replace(with_articles(fq, f, q), size=size, after=after)


Target = Literal["articles", "figures"]
Format = Literal["csv", "jsonl", "parquet"]
FIGURE_ONLY = ("measure", "place", "period_from", "period_to", "article_id")


def export_request(
    target: Annotated[Target, Query(description="articles or figures.")],
    format: Annotated[Format, Query(description="csv, jsonl or parquet.")],
    fq: Annotated[FigureQuery, Depends(figure_filters)],
    f: Annotated[Filters, Depends(filters)],
    q: QueryText = "",
    sort: Sort = "relevance",
) -> tuple[Target, Format, SearchRequest | None, FigureQuery | None]:
    """What to export: every article (or figure) matching the query and filters, no paging."""
    if target == "figures":
        return target, format, None, with_articles(fq, f, q)
    for name in FIGURE_ONLY:
        if getattr(fq, name) is not None:
            raise invalid(name, "applies to target=figures only")
    return target, format, SearchRequest(q=q, filters=f, sort=sort, facets=False, highlight=False), None
