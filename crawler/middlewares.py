"""Downloader middleware that keeps dfwatch text-only and away from places it must not go."""

from __future__ import annotations

import re

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from dfwatch.urls import is_blocked_host

MEDIA_PATH = re.compile(
    r"\.(jpe?g|png|gif|webp|avif|bmp|svg|ico|tiff?|heic|mp4|m4v|mov|avi|mkv|webm|flv|wmv|"
    r"mp3|m4a|wav|ogg|zip|rar|7z|torrent|exe|apk|dmg)$",
    re.I,
)
TEXT_TYPES = ("text/html", "application/xhtml", "application/xml", "text/xml",
              "application/rss", "application/atom", "application/feed+json",
              "application/json", "text/plain")


class SafetyMiddleware:
    """Refuse media files, messaging apps and file hosts; drop non-text responses.

    Every refusal is counted in the crawl stats under `dfwatch/skipped/<reason>`.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        return cls(crawler)

    def _skip(self, reason: str, request: Request) -> IgnoreRequest:
        self.stats.inc_value(f"dfwatch/skipped/{reason}")
        return IgnoreRequest(f"{reason}: {request.url}")

    def process_request(self, request: Request) -> None:
        if is_blocked_host(request.url):
            raise self._skip("blocked_host", request)
        if MEDIA_PATH.search(request.url.split("?", 1)[0]):
            raise self._skip("media_url", request)

    def process_response(self, request: Request, response: Response) -> Response:
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if response.status == 200 and ctype and not ctype.startswith(TEXT_TYPES):
            raise self._skip("not_text", request)
        return response
