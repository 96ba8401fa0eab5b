"""What spiders yield: a fetched page, untouched. Pipelines do everything else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RawPage:
    url: str  # the URL as discovered (feed link)
    final_url: str  # after redirects
    status: int
    encoding: str  # as detected by Scrapy: header, BOM, <meta charset>, then the bytes
    content_type: str
    source_id: str
    fetched_at: datetime
    body: bytes = field(default=b"", repr=False)
    feed_entry: dict[str, str] = field(default_factory=dict)  # title/published from the feed
