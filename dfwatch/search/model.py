"""What the search layer is asked and what it answers, the same for both stores.

Requests are frozen dataclasses built by the CLI, the JSON API, digests and the web UI.
Results are plain dataclasses whose `as_dict()` is the JSON the API returns. Crawled text
in results is raw, except highlights: those are HTML, escaped before `<mark>` was added.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, Literal

from dfwatch.query import Parsed, parse

MAX_PAGE = 100
FACETS = ("sources", "entities", "topics", "countries")
INTERVALS = ("day", "week", "month", "quarter", "year")
# query-syntax field -> Filters attribute
FIELD_FILTERS = {"source": "source", "type": "source_type", "country": "country", "lang": "lang",
                 "entity": "entity", "topic": "topic"}


@dataclass(frozen=True)
class Filters:
    """Exact-match filters; values in one tuple are ORed, different filters ANDed.

    `entity` values match an entity's normalised name case-insensitively (`entity_keys`);
    `country`, `source_type`, `lang` and `topic` compare as given (codes are upper/lower as stored).
    """

    date_from: date | None = None
    date_to: date | None = None  # inclusive, UTC days
    source: tuple[str, ...] = ()
    source_type: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    lang: tuple[str, ...] = ()
    entity: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    has_figures: bool | None = None
    story_id: str | None = None
    exclude: tuple[tuple[str, str], ...] = ()  # (filter attribute, value) pairs to leave out


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: Filters = Filters()
    sort: Literal["relevance", "date"] = "relevance"
    size: int = 20
    after: str | None = None  # opaque cursor from SearchPage.next_after
    collapse: bool = False  # one hit per story (then `after` is not supported; use `page`)
    page: int = 0  # only with collapse: 0-based page of `size` stories
    facets: bool = True
    highlight: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.size <= MAX_PAGE:
            raise ValueError(f"size must be between 0 and {MAX_PAGE}")
        if self.sort not in ("relevance", "date"):
            raise ValueError("sort must be 'relevance' or 'date'")
        if self.collapse and self.after:
            raise ValueError("search_after cursors do not combine with collapse; use page")

    @property
    def parsed(self) -> Parsed:
        return parse(self.q)

    def effective_filters(self) -> Filters:
        """The request's filters plus the `field:value` terms of its query text."""
        parsed = self.parsed
        f = self.filters
        updates: dict[str, Any] = {}
        for name, values in parsed.fields.items():
            attr = FIELD_FILTERS[name]
            updates[attr] = tuple(dict.fromkeys((*getattr(f, attr), *values)))
        excluded = [(FIELD_FILTERS[n], v) for n, vs in parsed.excluded_fields.items() for v in vs]
        if excluded:
            updates["exclude"] = (*f.exclude, *excluded)
        return replace(f, **updates) if updates else f

    def sorted_by_date(self) -> bool:
        """Date order when asked, or when there are no words to score."""
        return self.sort == "date" or not self.parsed


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort values of a cursor; ValueError (a 4xx for the API) if it was not one of ours."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(values, list) or not all(isinstance(v, (str, int, float)) or v is None for v in values):
        raise ValueError("invalid cursor")
    return values


@dataclass
class SourceInfo:
    id: str
    name: str
    type: str
    country: str
    language: str


@dataclass
class ArticleHit:
    id: str
    title: str
    url: str
    source: SourceInfo
    published_at: str | None
    lead: str
    language: str
    score: float
    story_id: str | None = None
    story_size: int | None = None  # articles in the story (collapsed results only)
    topics: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)  # distinct normalised names
    figure_count: int = 0
    highlights: dict[str, list[str]] = field(default_factory=dict)  # field -> escaped HTML with <mark>


@dataclass
class FacetValue:
    value: str
    count: int


@dataclass
class SearchPage:
    total: int  # articles matching (not stories, even when collapsed)
    hits: list[ArticleHit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)  # keys from FACETS
    next_after: str | None = None  # cursor for the next page; None on the last

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StoryRef:
    story_id: str
    count: int  # articles of the story in the bucket/query
    title: str  # of its earliest article
    article_id: str


@dataclass
class Bucket:
    key: str  # ISO date of the bucket's first day (UTC)
    count: int
    stories: list[StoryRef] = field(default_factory=list)  # top stories in the bucket, biggest first


@dataclass
class Story:
    story_id: str
    first_seen: str | None  # earliest published_at of its articles
    last_seen: str | None
    article_count: int
    sources: list[str]  # source ids, by first appearance
    title: str  # of the earliest article
    lead: str
    article_id: str  # the earliest article


@dataclass
class FigureQuery:
    measure: str | None = None
    place: str | None = None
    source: tuple[str, ...] = ()
    article_id: str | None = None
    period_from: date | None = None  # figures whose period ends on/after this day
    period_to: date | None = None  # ... and starts on/before this day
    q: str = ""  # articles matching this search (and the request filters) only
    filters: Filters = Filters()
    size: int = 100
    after: str | None = None


@dataclass
class EntityTrend:
    entity: str
    label: str
    total: int
    buckets: list[tuple[str, int]]  # (bucket key, count)


@dataclass
class Timeline:
    query: str
    interval: str  # chosen for the range unless asked
    date_from: str | None  # the range shown (UTC days)
    date_to: str | None
    total: int
    buckets: list[Bucket]
    events: list[Story]  # stories in order of first appearance, with their lead sentence
    entity_trends: list[EntityTrend]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """One article's statement of a figure: where it was said, by whom, in which sentence."""

    figure_id: str
    article_id: str
    source_id: str
    source_name: str
    url: str
    title: str
    published_at: str | None
    sentence: str
    text: str  # the figure as written ("297 cases", "297건")
    attribution: str | None


@dataclass
class Version:
    value: float
    unit: str
    qualifier: str | None
    reports: list[Report]


@dataclass
class SeriesPoint:
    period_start: str | None
    period_end: str | None
    period_text: str  # as the earliest report wrote it
    value: float  # the version most sources report (ties: earliest reported)
    unit: str
    conflict: bool  # sources disagree on the value for this measure, place and period
    versions: list[Version]  # the majority version first


@dataclass
class FigureSeries:
    measure: str
    place: str | None
    points: list[SeriesPoint]  # by period start

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StoryDetail:
    story: Story
    articles: list[dict[str, Any]]  # article documents (without `text`, `signature`), oldest first
    figures: list[dict[str, Any]]
    entities: list[FacetValue]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExportInfo:
    target: str  # "articles" or "figures"
    format: str  # "csv", "jsonl" or "parquet"
    query: dict[str, Any]  # the request, as JSON
    run_at: str  # ISO 8601 UTC
    rows: int
