"""Scrapy add-on that applies dfwatch's settings (config files + DFWATCH_* env) to a crawler.

Each crawler crawls one source, so the source's `politeness` delay and concurrency
become that crawler's DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN: every download
slot (host) the crawl opens gets them, and AutoThrottle never goes below the delay.
(`politeness.max_pages` is enforced by the spiders, crawler.spiders.base.)
"""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from dfwatch.settings import load_settings
from dfwatch.sources import Politeness, get_source
from dfwatch.yamlconf import ConfigError


class DfwatchAddon:
    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DfwatchAddon:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        dfw = settings.get("DFWATCH")
        if dfw is None:  # `scrapy crawl` run directly: load the same files the CLI would
            dfw = load_settings()
            settings.set("DFWATCH", dfw, priority="addon")
        crawl = dfw.crawl
        polite = self._politeness(dfw.sources_path)
        delay = crawl.download_delay if polite.download_delay is None else polite.download_delay
        settings.set("USER_AGENT", crawl.full_user_agent, priority="addon")
        settings.set("DOWNLOAD_DELAY", delay, priority="addon")
        settings.set("AUTOTHROTTLE_START_DELAY", max(delay, 0.1), priority="addon")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", polite.concurrent_requests or crawl.concurrent_per_domain,
                     priority="addon")
        settings.set("DOWNLOAD_TIMEOUT", crawl.download_timeout, priority="addon")
        settings.set("DNS_TIMEOUT", crawl.download_timeout, priority="addon")
        settings.set("DOWNLOAD_MAXSIZE", crawl.max_page_bytes, priority="addon")
        settings.set("DOWNLOAD_WARNSIZE", crawl.max_page_bytes // 2, priority="addon")
        settings.set("RETRY_TIMES", crawl.retry_times, priority="addon")
        settings.set("REDIRECT_MAX_TIMES", crawl.max_redirects, priority="addon")

    def _politeness(self, sources_path: Path) -> Politeness:
        """The crawled source's overrides; none if unknown here (the spider reports a bad source id)."""
        source_id = getattr(self.crawler.spider if self.crawler else None, "source_id", None)
        if not source_id:
            return Politeness()
        try:
            return get_source(sources_path, str(source_id)).politeness
        except (ConfigError, OSError):
            return Politeness()
