"""Enrich stage: spaCy entities, run in batches (nlp.pipe) rather than one page at a time.

Items wait in a buffer until it holds `nlp.batch_size` articles or `nlp.flush_seconds`
have passed. With the setting nlp.processes = 0 (the default) the batch runs in a worker
thread of the crawl process; with N > 0 it runs in one of N worker processes
(nlp.workers.AnalyzerPool), so that NLP, the costliest stage, no longer shares the crawl
process's interpreter with fetching and extraction. Fetching goes on meanwhile either way.

At most N + 2 batches (3 with a thread) are out at a time: one per worker and two queued
behind them, so a worker never waits for work even when the crawl's event loop is slow to
hear that a batch came back (seconds, on a loaded machine). Articles that arrive meanwhile
stay in the buffer and leave, up to `nlp.batch_size` at a time, as each batch comes back: a
crawl that outruns NLP sends full batches and one task per batch, instead of queueing a small
batch every `flush_seconds` (docs/performance.md, "Handing work to the NLP worker").
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
        self.out = 0  # batches sent and not yet back
        self.max_out = max(1, self.processes) + 2

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
        """Send the buffer, `batch_size` articles at a time, while fewer than `max_out` batches are out;
        what is left goes when one comes back (`_run`)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        while self.pending and self.out < self.max_out:
            batch, self.pending = self.pending[:self.batch_size], self.pending[self.batch_size:]
            self.out += 1
            loop.create_task(self._run(batch))

    async def _analyze(self, articles: list[Article], passages: list[Passage]) -> list[Analysis]:
        """The analyses of `passages`. With NLP in worker processes, the Korean articles' search
        stems are made there too, in the same task (the store would otherwise run Kiwi on them
        again in the crawl process)."""
        if self.pool is None:
            return await asyncio.to_thread(self.analyzer.analyze, passages)
        korean = [a for a in articles if a.language == "ko" or has_hangul(a.title)]
        bodies = [f"{a.title}\n{a.text}" for a in korean]
        results, stems = await asyncio.wrap_future(self.pool.analyze_and_stem(passages, bodies))
        for article, text_ko in zip(korean, stems, strict=True):
            article.text_ko = text_ko
        return results

    async def _run(self, batch: list[tuple[Article, asyncio.Future[Article]]]) -> None:
        articles = [a for a, _ in batch]
        passages = [_passage(a) for a in articles]
        try:
            self._finish(batch, passages, await self._analyze(articles, passages))
        except Exception as exc:  # noqa: BLE001 - fail the batch's items, not the crawl
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self.out -= 1
            if self.pending:
                self._schedule_flush(asyncio.get_running_loop())

    def _finish(self, batch: list[tuple[Article, asyncio.Future[Article]]], passages: list[Passage],
                results: list[Analysis]) -> None:
        stats = self.crawler.stats
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


def _passage(article: Article) -> Passage:
    published = article.published_at.date() if article.published_at else article.crawled_at.date()
    return Passage(article.text, published, article.language, _country_name(article.source.country))


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
