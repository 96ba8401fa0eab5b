"""Feed strategy: RSS and Atom feeds (feedparser) list the article pages to fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import scrapy
from scrapy.http import Response, TextResponse

from crawler.items import RawPage
from dfwatch.sources import Source, get_source


class FeedSpider(scrapy.Spider):
    name = "feed"

    def __init__(self, source: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source_id = source

    source: Source

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # settings are complete only now (the dfwatch add-on runs after spider creation)
        self.source = get_source(Path(self.settings["DFWATCH"].sources_path), self.source_id)
        for url in self.source.urls:
            yield scrapy.Request(str(url), callback=self.parse_feed)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        parsed = feedparser.parse(
            response.body,
            response_headers={"content-location": response.url,
                              "content-type": _header(response, b"Content-Type")},
        )
        if not parsed.entries:
            stats.inc_value("dfwatch/skipped/feed_without_entries")
            self.logger.warning("feed %s has no entries (%s)", response.url, parsed.get("bozo_exception"))
            return
        stats.inc_value("dfwatch/feed_entries", len(parsed.entries))
        for entry in parsed.entries:
            link = entry.get("link")
            if not link:
                stats.inc_value("dfwatch/skipped/entry_without_link")
                continue
            meta = {k: str(entry[k]) for k in ("title", "published", "updated") if entry.get(k)}
            yield response.follow(link, callback=self.parse_page, cb_kwargs={"entry": meta})

    def parse_page(self, response: Response, entry: dict[str, str]) -> Iterator[RawPage]:
        encoding = response.encoding if isinstance(response, TextResponse) else "utf-8"
        yield RawPage(
            url=response.request.url if response.request else response.url,
            final_url=response.url,
            status=response.status,
            body=response.body,
            encoding=encoding,
            content_type=_header(response, b"Content-Type"),
            source_id=self.source.id,
            fetched_at=datetime.now(UTC),
            feed_entry=entry,
        )


def _header(response: Response, name: bytes) -> str:
    return (response.headers.get(name) or b"").decode("latin-1")
