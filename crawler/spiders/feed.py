"""Feed strategy: RSS and Atom (feedparser) and JSON Feed 1/1.1 (json) list the articles to fetch.

Ill-formed feeds are read as far as feedparser's loose parser gets (counted as
`dfwatch/feed_bozo`); a feed with no entries is skipped as `feed_without_entries`; an
unreadable or impossible entry date is ignored (`dfwatch/bad_date`) so it can neither drop
nor admit an entry through the date window.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import scrapy
from scrapy.http import Response

from crawler.spiders.base import SourceSpider, When, header

JSON_FEED_VERSION = "https://jsonfeed.org/version/1"  # 1 and 1.1


@dataclass(frozen=True)
class Entry:
    link: str | None
    title: str | None = None
    summary: str | None = None
    published: str | None = None
    modified: str | None = None
    published_fallback: When | None = None  # feedparser's own reading of the date, in UTC
    modified_fallback: When | None = None


class FeedSpider(SourceSpider):
    name = "feed"

    def entry_requests(self) -> Iterable[scrapy.Request]:
        for url in self.source.urls:
            yield self.index_request(str(url), callback=self.parse_feed)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        entries = self.json_feed_entries(response) if _is_json(response) else self.xml_feed_entries(response)
        if not entries:
            self.skip("feed_without_entries", response.url)
            self.logger.warning("feed %s has no entries", response.url)
            return
        self.count("feed_entries", len(entries))
        for entry in entries:
            if not entry.link:
                self.skip("entry_without_link")
                continue
            request = self.article_request(
                response.urljoin(entry.link), title=entry.title, summary=entry.summary,
                published=self.checked_when(entry.published, fallback=entry.published_fallback),
                modified=self.checked_when(entry.modified, fallback=entry.modified_fallback),
            )
            if request is not None:
                yield request

    def xml_feed_entries(self, response: Response) -> list[Entry]:
        parsed = feedparser.parse(
            response.body,
            response_headers={"content-location": response.url, "content-type": header(response, b"Content-Type")},
        )
        if parsed.bozo and parsed.entries:
            self.count("feed_bozo")
            self.logger.info("ill-formed feed %s read loosely: %s", response.url, parsed.get("bozo_exception"))
        # `key in e`, not e.get(key): feedparser answers a missing `updated` with `published`
        return [Entry(link=e.get("link"), title=e.get("title"), summary=e.get("summary"),
                      published=e.get("published"), modified=e["updated"] if "updated" in e else None,
                      published_fallback=_utc(e.get("published_parsed")),
                      modified_fallback=_utc(e["updated_parsed"] if "updated_parsed" in e else None))
                for e in parsed.entries]

    def json_feed_entries(self, response: Response) -> list[Entry]:
        try:
            feed = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            self.logger.warning("JSON feed %s is not JSON: %s", response.url, exc)
            return []
        if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith(JSON_FEED_VERSION):
            self.logger.warning("%s is JSON but not a JSON Feed", response.url)
            return []
        items = feed.get("items")
        return [Entry(link=_str(item.get("url")) or _str(item.get("external_url")),
                      title=_str(item.get("title")),
                      summary=_str(item.get("summary")) or _str(item.get("content_text")),
                      published=_str(item.get("date_published")), modified=_str(item.get("date_modified")))
                for item in (items if isinstance(items, list) else []) if isinstance(item, dict)]


def _is_json(response: Response) -> bool:
    ctype = header(response, b"Content-Type").lower()
    return "json" in ctype or response.body.lstrip()[:1] == b"{"


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _utc(parsed: Any) -> datetime | None:
    """feedparser's struct_time (UTC) as a datetime."""
    try:
        return datetime(*tuple(parsed)[:6]).replace(tzinfo=UTC) if parsed else None
    except (TypeError, ValueError):
        return None
