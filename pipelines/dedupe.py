"""Dedupe stage: is this article new, an update of a stored one, or the same text again?

Ids come from canonical URLs, so a re-fetched article replaces its stored document; this
stage decides whether that is worth doing. Against the seen-store (`spider.seen`):
never indexed before → `dfwatch/new`; indexed with another content hash →
`dfwatch/updated` (re-enriched and re-indexed in place); same hash → `dfwatch/unchanged`,
not indexed again. A second copy of one canonical URL in a crawl is dropped as `duplicate`.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from dfwatch.records import Article
from dfwatch.urls import canonical_url
from pipelines.common import drop


class DedupePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.this_crawl: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        if not crawler.settings["DFWATCH"].crawl.incremental:
            raise NotConfigured("crawl.incremental is off: every fetched article is indexed")
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        if item.canonical_url in self.this_crawl:
            raise drop(self.crawler, "duplicate", item.url)
        self.this_crawl.add(item.canonical_url)
        seen = getattr(self.crawler.spider, "seen", None)
        before = None
        if seen is not None:
            before = seen.get(item.canonical_url) or seen.get(canonical_url(item.url))
        stats = self.crawler.stats
        if before is None or before.outcome != "indexed" or not before.content_hash:
            stats.inc_value("dfwatch/new")
        elif before.content_hash != item.content_hash:
            stats.inc_value("dfwatch/updated")
        else:
            stats.inc_value("dfwatch/unchanged")
            raise DropItem(f"unchanged: {item.url}")
        return item
