"""Run Scrapy crawls in this process and summarise their stats by outcome and reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from dfwatch.settings import Settings


@dataclass
class CrawlReport:
    source_id: str
    stats: dict[str, Any]
    skipped: dict[str, int] = field(default_factory=dict)  # not fetched, by reason
    dropped: dict[str, int] = field(default_factory=dict)  # fetched, not indexed, by reason

    @classmethod
    def from_stats(cls, source_id: str, stats: dict[str, Any]) -> CrawlReport:
        skipped = {k.removeprefix("dfwatch/skipped/"): int(v) for k, v in stats.items()
                   if k.startswith("dfwatch/skipped/")}
        if stats.get("robotstxt/forbidden"):
            skipped["robots_disallowed"] = int(stats["robotstxt/forbidden"])
        dropped = {k.removeprefix("dfwatch/dropped/"): int(v) for k, v in stats.items()
                   if k.startswith("dfwatch/dropped/")}
        return cls(source_id, stats, dict(sorted(skipped.items())), dict(sorted(dropped.items())))

    @property
    def indexed(self) -> int:
        return int(self.stats.get("dfwatch/indexed", 0))

    @property
    def spooled(self) -> int:
        return int(self.stats.get("dfwatch/spooled", 0))

    @property
    def pages(self) -> int:
        return int(self.stats.get("response_received_count", 0))

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source_id, "pages_fetched": self.pages, "indexed": self.indexed,
                "spooled": self.spooled, "skipped": self.skipped, "dropped": self.dropped,
                "errors": int(self.stats.get("log_count/ERROR", 0)),
                "finish_reason": self.stats.get("finish_reason")}


def scrapy_settings(settings: Settings, log_level: str = "WARNING") -> ScrapySettings:
    s = ScrapySettings()
    s.setmodule("crawler.settings", priority="project")
    s.set("DFWATCH", settings, priority="cmdline")
    s.set("LOG_LEVEL", log_level, priority="cmdline")
    return s


def run_crawls(settings: Settings, sources: dict[str, str], log_level: str = "WARNING") -> list[CrawlReport]:
    """Crawl each {source_id: strategy} once, all in one reactor run; blocks until done."""
    process = CrawlerProcess(scrapy_settings(settings, log_level))
    crawlers = []
    for source_id, strategy in sources.items():
        crawler = process.create_crawler(strategy)  # the spider named after the strategy
        process.crawl(crawler, source=source_id)
        crawlers.append((source_id, crawler))
    process.start()
    return [CrawlReport.from_stats(sid, c.stats.get_stats()) for sid, c in crawlers]
