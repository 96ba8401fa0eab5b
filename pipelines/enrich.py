"""Enrich stage: spaCy entities, run in batches (nlp.pipe) rather than one page at a time.

Items wait in a buffer until it holds `nlp.batch_size` articles or `nlp.flush_seconds`
have passed; the batch then runs in a worker thread so fetching goes on meanwhile.
"""

from __future__ import annotations

import asyncio

from scrapy.crawler import Crawler

from dfwatch.records import Article
from nlp.entities import EntityExtractor


class EnrichPipeline:
    def __init__(self, crawler: Crawler) -> None:
        cfg = crawler.settings["DFWATCH"].nlp
        self.crawler = crawler
        self.extractor = EntityExtractor(cfg.model, cfg.batch_size)
        self.batch_size = cfg.batch_size
        self.flush_seconds = cfg.flush_seconds
        self.pending: list[tuple[Article, asyncio.Future[Article]]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.lock = asyncio.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EnrichPipeline:
        return cls(crawler)

    async def process_item(self, item: Article) -> Article:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Article] = loop.create_future()
        self.pending.append((item, future))
        if len(self.pending) >= self.batch_size:
            self._schedule_flush(loop)
        elif self.timer is None:
            self.timer = loop.call_later(self.flush_seconds, self._schedule_flush, loop)
        return await future

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if batch:
            loop.create_task(self._run(batch))

    async def _run(self, batch: list[tuple[Article, asyncio.Future[Article]]]) -> None:
        stats = self.crawler.stats
        english = [(a, f) for a, f in batch if a.language == "en"]
        try:
            async with self.lock:  # one spaCy batch at a time
                results = await asyncio.to_thread(self.extractor.extract, [a.text for a, _ in english])
        except Exception as exc:  # noqa: BLE001 - fail the batch's items, not the crawl
            for _, future in batch:
                future.set_exception(exc)
            return
        for (article, _), entities in zip(english, results, strict=True):
            article.entities = entities
        stats.inc_value("dfwatch/nlp/batches")
        stats.inc_value("dfwatch/nlp/articles", len(english))
        for article, future in batch:
            future.set_result(article)
