"""Scrapy add-on that applies dfwatch's settings (config files + DFWATCH_* env) to a crawler."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from dfwatch.settings import load_settings


class DfwatchAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        dfw = settings.get("DFWATCH")
        if dfw is None:  # `scrapy crawl` run directly: load the same files the CLI would
            dfw = load_settings()
            settings.set("DFWATCH", dfw, priority="addon")
        crawl = dfw.crawl
        settings.set("USER_AGENT", crawl.full_user_agent, priority="addon")
        settings.set("DOWNLOAD_DELAY", crawl.download_delay, priority="addon")
        settings.set("AUTOTHROTTLE_START_DELAY", max(crawl.download_delay, 0.1), priority="addon")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", crawl.concurrent_per_domain, priority="addon")
        settings.set("DOWNLOAD_TIMEOUT", crawl.download_timeout, priority="addon")
        settings.set("DOWNLOAD_MAXSIZE", crawl.max_page_bytes, priority="addon")
        settings.set("DOWNLOAD_WARNSIZE", crawl.max_page_bytes // 2, priority="addon")
        settings.set("RETRY_TIMES", crawl.retry_times, priority="addon")
