"""Index stage: bulk writes to the configured store; batches it cannot write are spooled."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from dfwatch.records import Article
from dfwatch.spool import Spool
from dfwatch.store import Store, StoreError, open_store


class IndexPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings["DFWATCH"]
        self.crawler = crawler
        self.settings = settings
        self.bulk_size = settings.store.bulk_size
        self.spool = Spool(settings.data_path / "spool")
        self.buffer: list[dict[str, Any]] = []
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.store = open_store(self.settings)
        try:
            self.store.setup()
        except StoreError as exc:  # keep crawling; everything goes to the spool
            self.crawler.spider.logger.error("store unavailable, spooling: %s", exc)  # type: ignore[union-attr]

    def process_item(self, item: Article) -> Article:
        self.buffer.append(item.to_doc())
        if len(self.buffer) >= self.bulk_size:
            self._flush()
        return item

    def close_spider(self) -> None:
        self._flush()
        if self.store is not None:
            self.store.close()

    def _flush(self) -> None:
        batch, self.buffer = self.buffer, []
        if not batch or self.store is None:
            return
        stats = self.crawler.stats
        try:
            written = self.store.upsert(batch)
            self.store.refresh()
            stats.inc_value("dfwatch/indexed", written)
        except (StoreError, OSError) as exc:
            path = self.spool.write(batch)
            stats.inc_value("dfwatch/spooled", len(batch))
            self.crawler.spider.logger.error(  # type: ignore[union-attr]
                "store write failed (%s); %d documents spooled to %s", exc, len(batch), path)
