"""Enrich stage: spaCy entities, run in batches (nlp.pipe) rather than one page at a time.

Items wait in a buffer until it holds `nlp.batch_size` articles or `nlp.flush_seconds`
have passed. With the setting nlp.processes = 0 (the default) the batch runs in a worker
thread of the crawl process; with N > 0 it runs in one of N worker processes
(nlp.workers.AnalyzerPool), so that NLP, the costliest stage, no longer shares the crawl
process's interpreter with fetching and extraction. Fetching goes on meanwhile either way.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from scrapy.crawler import Crawler

from dfwatch.records import Article, Entity
from dfwatch.search.korean import has_hangul
from nlp.pipeline import Analysis, Analyzer, Passage
from nlp.workers import AnalyzerPool


class EnrichPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings["DFWATCH"]
        cfg = settings.nlp
        self.crawler = crawler
        # the setting nlp.processes (DFWATCH_NLP__PROCESSES); the Scrapy setting DFWATCH_NLP_PROCESSES overrides it
        self.processes = crawler.settings.getint("DFWATCH_NLP_PROCESSES", cfg.processes)
        self.analyzer = Analyzer(cfg.model, cfg.batch_size, settings.relevance.threshold)
        self.pool: AnalyzerPool | None = None
        self.batch_size = cfg.batch_size
        self.flush_seconds = cfg.flush_seconds
        self.pending: list[tuple[Article, asyncio.Future[Article]]] = []
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EnrichPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        if self.processes > 0:  # started now, so the workers load spaCy while the first pages download
            self.pool = AnalyzerPool.shared(self.analyzer.model, self.batch_size, self.analyzer.threshold,
                                            self.processes)

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

    async def _analyze(self, passages: list[Passage]) -> list[Analysis]:
        if self.pool is not None:
            return await asyncio.wrap_future(self.pool.submit(passages))
        return await asyncio.to_thread(self.analyzer.analyze, passages)

    async def _korean_stems(self, articles: list[Article]) -> None:
        """With NLP in worker processes, the Korean articles' search stems are made there too (the
        store would otherwise run Kiwi on them again in the crawl process)."""
        korean = [a for a in articles if a.language == "ko" or has_hangul(a.title)]
        if self.pool is None or not korean:
            return
        bodies = [f"{a.title}\n{a.text}" for a in korean]
        stems: list[str] = await asyncio.wrap_future(self.pool.stems(bodies))
        for article, text_ko in zip(korean, stems, strict=True):
            article.text_ko = text_ko

    async def _run(self, batch: list[tuple[Article, asyncio.Future[Article]]]) -> None:
        stats = self.crawler.stats
        passages = [Passage(a.text, a.published_at.date() if a.published_at else a.crawled_at.date(),
                            a.language, _country_name(a.source.country)) for a, _ in batch]
        try:
            results, _ = await asyncio.gather(self._analyze(passages), self._korean_stems([a for a, _ in batch]))
        except Exception as exc:  # noqa: BLE001 - fail the batch's items, not the crawl
            for _, future in batch:
                future.set_exception(exc)
            return
        for (article, _), passage, result in zip(batch, passages, results, strict=True):
            article.entities = result.entities
            place = _figure_place(passage.place, result.entities)
            for fig in result.figures:
                if fig.place == passage.place:  # the default, not a place the figure named
                    fig.place = place
            article.figures = [f.as_dict() for f in result.figures]
        stats.inc_value("dfwatch/nlp/batches")
        stats.inc_value("dfwatch/nlp/articles", len(batch))
        stats.inc_value("dfwatch/nlp/figures", sum(len(r.figures) for r in results))
        for article, future in batch:
            future.set_result(article)


COUNTRIES = {"KR": "South Korea", "US": "United States", "GB": "United Kingdom", "AU": "Australia",
             "JP": "Japan", "SG": "Singapore", "FR": "France", "ES": "Spain"}


COUNTRY_NAMES = frozenset(COUNTRIES.values())


def _figure_place(home: str | None, entities: list[Entity]) -> str | None:
    """Where an article's figures apply: the country it names most (a Singapore wire quoting
    Korean police data reports Korean figures); its source's country on a tie or when none is named."""
    named = Counter(e.norm for e in entities if e.label == "GPE" and e.norm in COUNTRY_NAMES)
    if not named:
        return home
    top = max(named.values())
    leaders = [country for country, n in named.most_common() if n == top]
    return home if home in leaders else leaders[0]


def _country_name(code: str) -> str | None:
    """A figure's default place: its source's country (national statistics, national law)."""
    return COUNTRIES.get(code.upper())
