"""What every dfwatch pipeline shares: counted drops."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem


def drop(crawler: Crawler, reason: str, detail: str) -> DropItem:
    """Count the drop under `dfwatch/dropped/<reason>` and return the DropItem to raise."""
    assert crawler.stats is not None
    crawler.stats.inc_value(f"dfwatch/dropped/{reason}")
    return DropItem(f"{reason}: {detail}")
