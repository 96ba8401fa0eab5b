"""Run Scrapy crawls in this process and summarise their stats by outcome and reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from dfwatch.runs import Run
from dfwatch.settings import Settings


def _by_reason(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    return dict(sorted((k.removeprefix(prefix), int(v)) for k, v in stats.items() if k.startswith(prefix)))


@dataclass
class CrawlReport:
    source_id: str
    stats: dict[str, Any]
    skipped: dict[str, int] = field(default_factory=dict)  # not fetched, by reason
    dropped: dict[str, int] = field(default_factory=dict)  # fetched, not indexed, by reason

    @classmethod
    def from_stats(cls, source_id: str, stats: dict[str, Any]) -> CrawlReport:
        skipped = _by_reason(stats, "dfwatch/skipped/")
        if stats.get("robotstxt/forbidden"):
            skipped["robots_disallowed"] = int(stats["robotstxt/forbidden"])
        return cls(source_id, stats, dict(sorted(skipped.items())), _by_reason(stats, "dfwatch/dropped/"))

    def _count(self, key: str) -> int:
        return int(self.stats.get(key, 0))

    @property
    def indexed(self) -> int:
        return self._count("dfwatch/indexed")

    @property
    def spooled(self) -> int:
        return self._count("dfwatch/spooled")

    @property
    def pages(self) -> int:
        """Responses received: robots.txt, feeds and pages (not 304s, nor answers that were retried)."""
        return self._count("response_received_count")

    @property
    def articles_fetched(self) -> int:
        """Article pages downloaded (200); 0 on a re-crawl of an unchanged web."""
        return self._count("dfwatch/fetched/article")

    @property
    def errors(self) -> int:
        return self._count("log_count/ERROR")

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source_id, "pages_fetched": self.pages, "articles_fetched": self.articles_fetched,
                "new": self._count("dfwatch/new"), "updated": self._count("dfwatch/updated"),
                "unchanged": self._count("dfwatch/unchanged"), "indexed": self.indexed,
                "spooled": self.spooled, "skipped": self.skipped, "dropped": self.dropped,
                "retried": _by_reason(self.stats, "dfwatch/retried/"),
                "repaired": _by_reason(self.stats, "dfwatch/repaired/"),
                "errors": self.errors, "finish_reason": self.stats.get("finish_reason")}

    def to_run(self, finished_at: datetime | None = None) -> Run:
        finished = finished_at or self.stats.get("finish_time") or datetime.now(UTC)
        started = self.stats.get("start_time") or finished
        return Run(source_id=self.source_id, started_at=_aware(started), finished_at=_aware(finished),
                   finish_reason=self.stats.get("finish_reason"), fetched=self.pages,
                   articles_fetched=self.articles_fetched, new=self._count("dfwatch/new"),
                   updated=self._count("dfwatch/updated"), unchanged=self._count("dfwatch/unchanged"),
                   indexed=self.indexed, spooled=self.spooled, errors=self.errors, skipped=self.skipped,
                   dropped=self.dropped, retried=_by_reason(self.stats, "dfwatch/retried/"))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def scrapy_settings(settings: Settings, log_level: str = "WARNING",
                    overrides: dict[str, Any] | None = None) -> ScrapySettings:
    s = ScrapySettings()
    s.setmodule("crawler.settings", priority="project")
    s.set("DFWATCH", settings, priority="cmdline")
    s.set("LOG_LEVEL", log_level, priority="cmdline")
    for key, value in (overrides or {}).items():  # benchmarks: raw Scrapy settings, above everything
        s.set(key, value, priority="cmdline")
    return s


def run_crawls(settings: Settings, sources: dict[str, str], log_level: str = "WARNING",
               overrides: dict[str, Any] | None = None) -> list[CrawlReport]:
    """Crawl each {source_id: strategy} once, all in one reactor run; blocks until done.

    Each crawl is recorded in the run log (`dfwatch status`) by crawler.extensions.RunRecorder
    as it closes, so that `scrapy crawl` runs are recorded the same way.
    """
    process = CrawlerProcess(scrapy_settings(settings, log_level, overrides))
    crawlers = []
    for source_id, strategy in sources.items():
        crawler = process.create_crawler(strategy)  # the spider named after the strategy
        process.crawl(crawler, source=source_id)
        crawlers.append((source_id, crawler))
    process.start()
    return [CrawlReport.from_stats(sid, c.stats.get_stats()) for sid, c in crawlers]
