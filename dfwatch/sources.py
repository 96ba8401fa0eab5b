"""Crawl sources as data: `sources.yaml` validated with file/line/field errors.

A source names what it is (type, country, language), how to discover its articles
(`strategy` plus that strategy's options), when to crawl (`schedule`), how politely
(`politeness`), and what to keep (`keywords` pre-filter, `since` date window).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator, model_validator

from dfwatch.yamlconf import ConfigError, check_timezone, describe_errors, load_yaml

SourceType = Literal["news", "government", "regulator", "ngo", "court", "discovery"]
Strategy = Literal["feed", "sitemap", "listing", "discovery"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    """Either every `interval_minutes`, or a 5-field `cron` expression, in `timezone`."""

    interval_minutes: Annotated[int, Field(ge=5, le=7 * 24 * 60)] | None = None
    cron: str | None = Field(default=None, pattern=r"^\S+ \S+ \S+ \S+ \S+$")
    timezone: str = "Asia/Seoul"
    jitter_seconds: int = Field(default=300, ge=0, le=3600)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str | None) -> str | None:
        if cron is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        day_of_week = cron.split()[4]
        if any(ch.isdigit() for ch in day_of_week):
            raise ValueError("write days of the week as names (mon-fri): APScheduler counts "
                             "them from Monday = 0, crontab from Sunday = 0")
        try:
            CronTrigger.from_crontab(cron, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a valid cron expression: {exc}") from None
        return cron

    _valid_timezone = field_validator("timezone")(check_timezone)

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.interval_minutes is None) == (self.cron is None):
            raise ValueError("give exactly one of interval_minutes or cron")
        return self


class Politeness(_Strict):
    """Per-source overrides of the crawl settings (None = the global setting)."""

    download_delay: float | None = Field(default=None, ge=0, le=120)
    concurrent_requests: int | None = Field(default=None, ge=1, le=2)
    max_pages: int | None = Field(default=None, ge=1, le=100_000)


class ListingOptions(_Strict):
    """HTML press-release lists: CSS or XPath (prefix `xpath:`) selectors, relative to each row."""

    rows: str
    link: str
    date: str | None = None
    date_format: str | None = None  # strptime format; None = ISO or dateparser-free heuristics
    next_page: str | None = None
    max_pages: int = Field(default=5, ge=1, le=100)


class DiscoveryOptions(_Strict):
    """A query API that returns article URLs (e.g. the GDELT DOC 2.0 API in ArtList mode)."""

    api: Literal["gdelt-doc"]
    queries: list[Annotated[str, Field(min_length=3)]] = Field(min_length=1)
    timespan: str = "1d"
    max_records: int = Field(default=250, ge=1, le=250)
    min_interval_seconds: float = Field(default=6.0, ge=5.0)  # GDELT asks for one request per 5 s


class Source(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    type: SourceType
    country: str = Field(pattern=r"^[A-Z]{2}$|^XX$")  # ISO 3166 alpha-2; XX = international
    language: str = Field(pattern=r"^[a-z]{2}$|^mul$")  # ISO 639-1; mul = several
    strategy: Strategy
    urls: list[HttpUrl] = Field(min_length=1)
    schedule: Schedule = Schedule(interval_minutes=360)
    politeness: Politeness = Politeness()
    # pre-filter on feed/list titles; empty = keep all
    keywords: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    since: date | None = None  # ignore items published before this date
    lastmod_days: int | None = Field(default=None, ge=1)  # sitemaps: only URLs modified this recently
    listing: ListingOptions | None = None
    discovery: DiscoveryOptions | None = None
    verified: bool = False  # true only after a live crawl fetched it and found dated items
    notes: str | None = None

    @field_validator("urls")
    @classmethod
    def _http_only(cls, urls: list[HttpUrl]) -> list[HttpUrl]:
        for url in urls:
            if url.scheme not in ("http", "https"):
                raise ValueError("only http(s) URLs can be crawled")
        return urls

    @model_validator(mode="after")
    def _strategy_options(self) -> Source:
        if self.strategy == "listing" and self.listing is None:
            raise ValueError("strategy 'listing' needs a 'listing' block with selectors")
        if self.strategy == "discovery" and self.discovery is None:
            raise ValueError("strategy 'discovery' needs a 'discovery' block")
        for block in ("listing", "discovery"):
            if getattr(self, block) is not None and self.strategy != block:
                raise ValueError(f"a '{block}' block is used only by strategy '{block}', not {self.strategy!r}")
        if self.lastmod_days is not None and self.strategy != "sitemap":
            raise ValueError("'lastmod_days' is used only by strategy 'sitemap'")
        return self


class SourcesFile(_Strict):
    """The file: `sources:` plus optional `x-…` keys that hold YAML anchors (shared keyword lists)."""

    sources: list[Source]

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, sources: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for s in sources:
            if s.id in seen:
                raise ValueError(f"duplicate source id {s.id!r}")
            seen.add(s.id)
        return sources


def load_sources(path: Path) -> dict[str, Source]:
    """All sources of a file by id; ConfigError names the file, line and field on error."""
    located = load_yaml(path)
    try:
        parsed = SourcesFile.model_validate(located.data or {})
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, [located])) from None
    return {s.id: s for s in parsed.sources}


def get_source(path: Path, source_id: str) -> Source:
    sources = load_sources(path)
    if source_id not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise ConfigError(f"{path}: no source with id {source_id!r} (known: {known})")
    return sources[source_id]


@dataclass(frozen=True)
class Coverage:
    """What a sources file covers, and the minimums the project promises (issue 3)."""

    total: int
    by_type: dict[str, int]
    by_language: dict[str, int]
    by_country: dict[str, int]
    by_strategy: dict[str, int]
    verified: int

    MIN_TOTAL = 30
    MIN_KOREAN = 8
    MIN_OFFICIAL = 8  # government or regulator
    MIN_DISCOVERY = 1

    @classmethod
    def of(cls, sources: dict[str, Source]) -> Coverage:
        def count(values: list[str]) -> dict[str, int]:
            return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))

        ss = list(sources.values())
        return cls(len(ss), count([s.type for s in ss]), count([s.language for s in ss]),
                   count([s.country for s in ss]), count([s.strategy for s in ss]),
                   sum(s.verified for s in ss))

    def checks(self) -> list[tuple[bool, str]]:
        """(passed, description) for each minimum."""
        korean = self.by_language.get("ko", 0)
        official = self.by_type.get("government", 0) + self.by_type.get("regulator", 0)
        discovery = self.by_strategy.get("discovery", 0)
        return [
            (self.total >= self.MIN_TOTAL, f"at least {self.MIN_TOTAL} sources: {self.total}"),
            (korean >= self.MIN_KOREAN, f"at least {self.MIN_KOREAN} in Korean (ko): {korean}"),
            (official >= self.MIN_OFFICIAL, f"at least {self.MIN_OFFICIAL} government or regulator: {official}"),
            (discovery >= self.MIN_DISCOVERY, f"at least {self.MIN_DISCOVERY} discovery API: {discovery}"),
        ]
