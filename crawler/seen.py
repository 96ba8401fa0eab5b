"""The seen-store: every page a source's crawls have handled, and the middleware that consults it.

A row per canonical URL (`pages` in `<data_dir>/state.sqlite3`): its kind, what became of
it (`indexed`, `off_topic`, `no_article_text`, ...), its content hash, the published and
modified dates its feed, sitemap or listing declared, the validators (ETag,
Last-Modified) of its last 200 response, and when it was first and last seen.

How a re-crawl decides what to download:

- feeds, sitemaps and listings (`kind: index`) are fetched with a conditional GET; a 304
  ends there (`dfwatch/skipped/not_modified`);
- a known article is fetched again only when its index declares it newer than stored
  (Atom `<updated>`, sitemap `<lastmod>`, ...), or when it was published within
  `crawl.recheck_days` (a conditional GET, for silent corrections under an RSS
  `pubDate` that never moves); otherwise `dfwatch/skipped/known_unchanged`.

Writes wait in memory and are committed when the crawl closes (crawler.extensions), so
a crawl that dies half-way leaves the store as it was and nothing is skipped next time
that was not handled. Feed validators are committed only after a clean crawl: a feed
whose articles failed to download is read in full again next time.
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from dfwatch.runs import connect_state
from dfwatch.urls import canonical_url

Kind = Literal["article", "index"]

PAGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,       -- canonical URL
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,         -- article | index
    outcome TEXT,               -- articles: indexed, or the reason they were dropped
    content_hash TEXT,
    published TEXT,             -- as the feed/sitemap/listing declared it (ISO 8601)
    modified TEXT,
    etag TEXT,                  -- validators of the last 200 response
    last_modified TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Page:
    url: str
    source_id: str
    kind: str
    outcome: str | None = None
    content_hash: str | None = None
    published: str | None = None
    modified: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    first_seen: str = ""
    last_seen: str = ""

    @property
    def stamp(self) -> datetime | None:
        return latest(when(self.published), when(self.modified))


COLUMNS = [f.name for f in fields(Page)]


class SeenStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.execute(PAGES_SCHEMA)
        self.pending: dict[str, Page] = {}

    @classmethod
    def open(cls, path: Path) -> SeenStore:
        return cls(connect_state(path))

    def get(self, url: str) -> Page | None:
        """The page stored under a canonical URL, including this crawl's uncommitted notes."""
        if url in self.pending:
            return self.pending[url]
        return self.stored(url)

    def stored(self, url: str) -> Page | None:
        """The page as earlier crawls left it."""
        row = self.conn.execute("SELECT * FROM pages WHERE url = ?", (url,)).fetchone()
        return Page(**dict(row)) if row else None

    def is_known(self, url: str) -> bool:
        """Whether an earlier crawl handled this URL (in any form: it is canonicalised here).

        What spiders ask to stop paginating: pages of this crawl do not count, so a first
        crawl reads a listing to its end.
        """
        return self.stored(canonical_url(url)) is not None

    def note(self, url: str, source_id: str, kind: str, **changes: Any) -> Page:
        """Record what this crawl learnt about a page; committed when the crawl closes."""
        now = datetime.now(UTC).isoformat()
        page = self.get(url) or Page(url, source_id, kind, first_seen=now)
        page = replace(page, source_id=source_id, kind=kind, last_seen=now, **changes)
        self.pending[url] = page
        return page

    def commit(self, with_index: bool = True) -> int:
        """Write this crawl's notes in one transaction; index validators only if `with_index`."""
        rows = [astuple(p) for p in self.pending.values() if with_index or p.kind != "index"]
        marks = ", ".join("?" * len(COLUMNS))
        with self.conn:
            self.conn.executemany(f"INSERT OR REPLACE INTO pages ({', '.join(COLUMNS)}) VALUES ({marks})", rows)  # noqa: S608
        self.pending.clear()
        return len(rows)

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class Listed:
    """What the spider knew of a page when it asked for it: `request.meta["dfwatch"]`."""

    kind: Kind
    published: datetime | None = None
    modified: datetime | None = None

    @property
    def stamp(self) -> datetime | None:
        return latest(self.published, self.modified)

    def dates(self) -> dict[str, str]:
        """The declared dates to store (only those the index gave)."""
        found = {"published": self.published, "modified": self.modified}
        return {k: v.isoformat() for k, v in found.items() if v is not None}


def listed_as(request: Request) -> Listed | None:
    """The request's kind and declared dates; None for requests that are neither (robots.txt)."""
    meta = request.meta.get("dfwatch")
    if isinstance(meta, dict) and meta.get("kind") in ("article", "index"):
        return Listed(meta["kind"], when(meta.get("published")), when(meta.get("modified")))
    return None


def when(value: object) -> datetime | None:
    """An ISO 8601 or RFC 822 date (indexes use both) as an aware datetime; None if unreadable."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def latest(*dates: datetime | None) -> datetime | None:
    known = [d for d in dates if d is not None]
    return max(known) if known else None


class IncrementalMiddleware:
    """Skip known, unchanged articles; ask for feeds and re-checked articles conditionally.

    Works through `spider.seen` (set by crawler.extensions.SeenStoreExtension); counts
    `dfwatch/skipped/{known_unchanged,not_modified}` and
    `dfwatch/fetched/{article,index}` (200 responses).
    """

    def __init__(self, crawler: Crawler, recheck_days: float) -> None:
        self.crawler = crawler
        self.recheck = timedelta(days=recheck_days)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        crawl = crawler.settings["DFWATCH"].crawl
        if not crawl.incremental:
            raise NotConfigured("crawl.incremental is off")
        return cls(crawler, crawl.recheck_days)

    def _seen(self) -> SeenStore | None:
        return getattr(self.crawler.spider, "seen", None)

    def _source_id(self) -> str:
        return str(getattr(self.crawler.spider, "source_id", ""))

    def _skip(self, reason: str, request: Request) -> IgnoreRequest:
        self.crawler.stats.inc_value(f"dfwatch/skipped/{reason}")
        return IgnoreRequest(f"{reason}: {request.url}")

    def process_request(self, request: Request) -> None:
        listed, seen = listed_as(request), self._seen()
        if listed is None or seen is None or request.meta.get("dfwatch_admitted"):
            return  # robots.txt, or a retry / redirect of a request already admitted
        url = canonical_url(request.url)
        page = seen.get(url)
        if listed.kind == "article" and page is not None and page.kind == "article" \
                and not self._worth_checking(listed, page):
            seen.note(url, self._source_id(), "article")  # last seen in an index: now
            raise self._skip("known_unchanged", request)
        if page is not None and page.kind == listed.kind and (page.etag or page.last_modified):
            if page.etag:
                request.headers[b"If-None-Match"] = page.etag
            if page.last_modified:
                request.headers[b"If-Modified-Since"] = page.last_modified
            request.meta["dfwatch_conditional"] = True
        request.meta["dfwatch_admitted"] = True

    def _worth_checking(self, listed: Listed, page: Page) -> bool:
        stored = page.stamp
        if listed.stamp is not None and (stored is None or listed.stamp > stored):
            return True  # the index says it changed (or gives a date we never had)
        published = latest(when(page.published), listed.published) or stored
        now = getattr(self.crawler.spider, "now", None)  # the spider's clock (frozen in tests)
        now = now if isinstance(now, datetime) else datetime.now(UTC)
        return bool(self.recheck) and published is not None and published >= now - self.recheck

    def process_response(self, request: Request, response: Response) -> Response:
        listed, seen = listed_as(request), self._seen()
        if listed is None or seen is None:
            return response
        url = canonical_url((request.meta.get("redirect_urls") or [request.url])[0])
        if response.status == 304 and request.meta.get("dfwatch_conditional"):
            seen.note(url, self._source_id(), listed.kind, **listed.dates())
            raise self._skip("not_modified", request)
        if response.status == 200:
            self.crawler.stats.inc_value(f"dfwatch/fetched/{listed.kind}")
            if listed.kind == "index":
                seen.note(url, self._source_id(), "index", **validators(response))
        return response


def validators(response: Response) -> dict[str, str | None]:
    def header(name: bytes) -> str | None:
        value = response.headers.get(name)
        return value.decode("latin-1") if value else None
    return {"etag": header(b"ETag"), "last_modified": header(b"Last-Modified")}
