"""What every strategy spider shares: the source, the filters, the request metadata, the item.

A strategy spider reads an index (feed, sitemap, listing page, API answer) and offers each
entry it finds to `article_request`, which applies the source's filters in one order —
duplicate, blocked host, date window, keywords, page cap — and counts every skip in the
crawl stats as `dfwatch/skipped/<reason>`. Index requests carry `meta["dfwatch"] =
{"kind": "index"}`; article requests carry what the index said about the article.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import scrapy
from scrapy.http import Response, TextResponse

from crawler.items import RawPage
from dfwatch.sources import Source, get_source
from dfwatch.urls import canonical_url, is_blocked_host

When = datetime | date  # a date as an index gave it: with a time, or a day only
EARLIEST = date(1995, 1, 1)  # older "dates" are CMS defaults (epoch 0, 0000-00-00), not dates
FUTURE_SLACK = timedelta(days=2)  # time zones and clock skew; later dates are wrong
NOW_ENV = "DFWATCH_NOW"  # freezes "now" (ISO date or datetime) for tests, like the `now` argument
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_GDELT_STAMP = re.compile(r"^(\d{8})T(\d{6})Z$")
_DAY_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL_DAY = re.compile(r"(?<!\d)(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})(?!\d)")


def parse_when(text: str | None, fmt: str | None = None) -> When | None:
    """`fmt` (strptime) if given and it fits, else ISO 8601, RFC 822, GDELT's 20240828T013000Z,
    or a day such as 2024.08.28 / 2024년 8월 28일 anywhere in the text; None if nothing fits."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if fmt:
            with suppress(ValueError):  # a cell with more than the date: the readers below
                parsed = datetime.strptime(text, fmt)
                return parsed if re.search(r"%[HIMSp]", fmt) else parsed.date()
        if m := _GDELT_STAMP.match(text):
            return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        return date.fromisoformat(text) if _DAY_ONLY.match(text) else datetime.fromisoformat(text)
    except ValueError:
        pass
    with suppress(TypeError, ValueError, IndexError):
        return parsedate_to_datetime(text)
    if m := _LOCAL_DAY.search(text):
        with suppress(ValueError):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return None


def day_of(when: When) -> date:
    return when.date() if isinstance(when, datetime) else when


def keyword_match(keywords: Iterable[str], *texts: str | None) -> bool:
    """Case-insensitive: Hangul terms match anywhere, other terms at the start of a word."""
    haystack = " ".join(t for t in texts if t).casefold()
    for kw in keywords:
        term = kw.casefold().strip()
        if _HANGUL.search(term):
            if term in haystack:
                return True
        elif re.search(r"(?<!\w)" + re.escape(term), haystack):
            return True
    return False


class SeenLike(Protocol):
    def is_known(self, url: str) -> bool: ...


class SourceSpider(scrapy.Spider):
    """Base of the strategy spiders: `scrapy crawl <strategy> -a source=ID [-a now=ISO]`."""

    source: Source
    now: datetime

    def __init__(self, source: str, now: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source_id = source
        self._now_arg = now
        self._offered: set[str] = set()  # canonical URLs offered this crawl
        self._article_requests = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # settings are complete only now (the dfwatch add-on runs after spider creation)
        self.source = get_source(Path(self.settings["DFWATCH"].sources_path), self.source_id)
        self.now = self._resolve_now()
        for request in self.entry_requests():
            yield request

    def entry_requests(self) -> Iterable[scrapy.Request]:
        raise NotImplementedError

    def is_known(self, url: str) -> bool:
        """Whether the seen-store (`self.seen`, set by crawler.extensions when the crawl is
        incremental) holds this URL; False without one."""
        seen: SeenLike | None = getattr(self, "seen", None)
        return seen is not None and seen.is_known(url)

    # --- counting -------------------------------------------------------------------------

    def skip(self, reason: str, url: str = "", count: int = 1) -> None:
        self.crawler.stats.inc_value(f"dfwatch/skipped/{reason}", count)
        if url:
            self.logger.debug("skipped (%s): %s", reason, url)

    def count(self, key: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(f"dfwatch/{key}", count)

    # --- dates ----------------------------------------------------------------------------

    def _resolve_now(self) -> datetime:
        frozen = self._now_arg or os.environ.get(NOW_ENV)
        when = parse_when(frozen) if frozen else None
        if when is None:
            return datetime.now(UTC)
        return when if isinstance(when, datetime) else datetime(when.year, when.month, when.day, tzinfo=UTC)

    def checked_when(self, text: str | None, fmt: str | None = None, fallback: When | None = None) -> When | None:
        """A plausible date from an index, or None; an unreadable or impossible one is counted."""
        if not (text or "").strip():
            return None
        when = parse_when(text, fmt) or fallback
        if when is None or not EARLIEST <= day_of(when) <= (self.now + FUTURE_SLACK).date():
            self.count("bad_date")
            self.logger.info("ignored a wrong date %r on %s", text, self.source.id)
            return None
        return when

    def before_since(self, when: When | None) -> bool:
        return bool(when is not None and self.source.since and day_of(when) < self.source.since)

    # --- requests -------------------------------------------------------------------------

    def index_request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        meta = {**kwargs.pop("meta", {}), "dfwatch": {"kind": "index"}}
        return scrapy.Request(url, callback=callback, meta=meta, **kwargs)

    def article_request(self, url: str, *, title: str | None = None, summary: str | None = None,
                        published: When | None = None, modified: When | None = None,
                        undated_ok: bool = True) -> scrapy.Request | None:
        """The request for an article an index listed, or None after counting why it is skipped."""
        key = canonical_url(url)
        if key in self._offered:
            self.skip("duplicate_entry", url)
            return None
        self._offered.add(key)
        if is_blocked_host(url):
            self.skip("blocked_host", url)
            return None
        if self.before_since(published or modified):
            self.skip("outside_date_window", url)
            return None
        if not undated_ok and published is None and modified is None:
            self.skip("undated", url)
            return None
        if self.source.keywords and (title or summary) and not keyword_match(self.source.keywords, title, summary):
            self.skip("keyword_filter", url)
            return None
        cap = self.source.politeness.max_pages
        if cap is not None and self._article_requests >= cap:
            self.skip("max_pages", url)
            return None
        self._article_requests += 1
        meta = {"kind": "article", "title": title or None,
                "published": published.isoformat() if published else None,
                "modified": modified.isoformat() if modified else None}
        return scrapy.Request(url, callback=self.parse_page, meta={"dfwatch": meta})

    def parse_page(self, response: Response) -> Iterable[RawPage]:
        encoding = response.encoding if isinstance(response, TextResponse) else "utf-8"
        said = response.meta.get("dfwatch", {})
        entry = {k: str(said[k]) for k in ("title", "published", "modified") if said.get(k)}
        yield RawPage(
            url=(response.meta.get("redirect_urls") or [response.url])[0],
            final_url=response.url,
            status=response.status,
            body=response.body,
            encoding=encoding,
            content_type=header(response, b"Content-Type"),
            source_id=self.source.id,
            fetched_at=datetime.now(UTC),
            feed_entry=entry,
        )


def header(response: Response, name: bytes) -> str:
    return (response.headers.get(name) or b"").decode("latin-1")
