"""Crawl-lifecycle extensions: the seen-store's bookkeeping and the record of each run."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.items import RawPage
from crawler.seen import SeenStore, listed_as, validators
from dfwatch.records import Article
from dfwatch.runs import RunLog
from dfwatch.settings import Settings
from dfwatch.store.es_index import index_run
from dfwatch.urls import canonical_url

logger = logging.getLogger(__name__)
# skips after which a listed page may still be missing: given up for now (5xx, 429, timeouts,
# lost connections, see crawler.middlewares) or left out by a page cap
INCOMPLETE = re.compile(r"^dfwatch/skipped/(http_(5\d\d|429|408)|timeout|connection_failed|\w*max_pages)$")


def incomplete(stats: dict[str, Any]) -> int:
    """Pages this crawl may have missed: transient failures, page caps, and errors."""
    return sum(int(v) for k, v in stats.items() if INCOMPLETE.match(k)) + int(stats.get("log_count/ERROR", 0))


class SeenStoreExtension:
    """Open the seen-store for the crawl (as `spider.seen`), note every page's outcome, commit at the end.

    An article that went through every pipeline is `indexed`; one that was dropped keeps
    its drop reason (`off_topic`, `no_article_text`, ...) so it is not fetched again
    either. Notes are keyed by every form of the page's URL: as discovered, after
    redirects, and the canonical URL the page declares.
    """

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self.crawler = crawler
        self.path = settings.state_file
        self.store: SeenStore | None = None
        crawler.signals.connect(self.spider_opened, signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signals.spider_closed)
        crawler.signals.connect(self.item_scraped, signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signals.item_dropped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeenStoreExtension:
        settings: Settings = crawler.settings["DFWATCH"]
        if not settings.crawl.incremental:
            raise NotConfigured("crawl.incremental is off")
        return cls(crawler, settings)

    def spider_opened(self, spider: Spider) -> None:
        self.store = SeenStore.open(self.path)
        spider.seen = self.store  # type: ignore[attr-defined]  # spiders' is_known() delegates to it

    def item_scraped(self, item: Any, response: Response) -> None:
        self._note(item, response, "indexed")

    def item_dropped(self, item: Any, response: Response, exception: BaseException) -> None:
        reason = str(exception).split(":", 1)[0].strip()[:40] or "dropped"
        if reason != "duplicate":  # a second copy of a page: the first one's note stands
            self._note(item, response, "indexed" if reason == "unchanged" else reason)

    def _note(self, item: Any, response: Response | None, outcome: str) -> None:
        if self.store is None or response is None or not isinstance(item, (Article, RawPage)):
            return
        request = response.request
        listed = listed_as(request) if request is not None else None
        discovered = (request.meta.get("redirect_urls") or [request.url])[0] if request is not None else response.url
        urls = {canonical_url(discovered), canonical_url(response.url)}
        changes: dict[str, Any] = {"outcome": outcome, **validators(response)}
        if isinstance(item, Article):
            urls.add(item.canonical_url)
            changes["content_hash"] = item.content_hash
        if listed is not None:
            changes.update(listed.dates())
        source_id = str(getattr(self.crawler.spider, "source_id", ""))
        for url in urls:
            self.store.note(url, source_id, "article", **changes)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.store is None:
            return
        missed = incomplete(self.crawler.stats.get_stats())
        clean = reason == "finished" and not missed
        if not clean:  # some listed page may be missing: read the feeds in full next time
            logger.info("crawl %s, %d pages missed or errors: feed validators not kept", reason, missed)
        self.store.commit(with_index=clean)
        self.store.close()
        self.store = None


class RunRecorder:
    """Append this crawl's counts to the run log (`dfwatch status` shows the latest per source),
    and copy them to the runs index when the store is Elasticsearch.

    Recorded here, at spider close, so that crawls started by `scrapy crawl` (the
    scheduler's way) are recorded as well as those of `dfwatch crawl`.
    """

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self.crawler = crawler
        self.path = settings.state_file
        self.store_settings = settings.store
        crawler.signals.connect(self.spider_closed, signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        return cls(crawler, crawler.settings["DFWATCH"])

    def spider_closed(self, spider: Spider, reason: str) -> None:
        from dfwatch.crawling import CrawlReport

        stats = {**self.crawler.stats.get_stats(), "finish_reason": reason}
        report = CrawlReport.from_stats(str(getattr(spider, "source_id", spider.name)), stats)
        run = report.to_run(finished_at=datetime.now(UTC))
        log = RunLog.open(self.path)
        try:
            log.record(run)
        finally:
            log.close()
        index_run(self.store_settings, run.as_dict())  # on Elasticsearch: a copy in <prefix>-runs; warns on failure
