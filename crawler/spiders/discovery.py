"""Discovery strategy: a query API lists article URLs; here the GDELT DOC 2.0 API in ArtList mode.

Each query of `source.discovery` becomes one call to `<source.urls[0]>?query=…&mode=ArtList
&format=json&…&sort=DateDesc`. Calls go through a download slot of their own whose delay is
`min_interval_seconds` (no jitter, AutoThrottle kept off it), so they are paced without
blocking anything else. GDELT's plain-text answers are tolerated and counted:
`api_rate_limited` ("Please limit requests to one every 5 seconds", with HTTP 429 or 200;
the call is first repeated up to RETRY_TIMES, paced by the slot, as `dfwatch/api_retried`),
`api_malformed` (JSON that does not parse or has no article list) and `api_error` (any other
text). Each article's `url`, `title` and `seendate` go into the article request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Response

from crawler.spiders.base import SourceSpider
from dfwatch.sources import DiscoveryOptions

API_SLOT = "dfwatch-discovery-api"
RATE_LIMIT_TEXT = "limit requests"


def gdelt_artlist_url(base: str, query: str, opts: DiscoveryOptions) -> str:
    params = {"query": query, "mode": "ArtList", "format": "json", "maxrecords": str(opts.max_records),
              "timespan": opts.timespan, "sort": "DateDesc"}
    return base + ("&" if "?" in base else "?") + urlencode(params, quote_via=quote)


class DiscoverySpider(SourceSpider):
    name = "discovery"

    @property
    def options(self) -> DiscoveryOptions:
        assert self.source.discovery is not None  # the schema requires it for this strategy
        return self.source.discovery

    def entry_requests(self) -> Iterable[scrapy.Request]:
        opts = self.options
        # Scrapy's per-slot settings (DOWNLOAD_SLOTS), filled in once the source is known
        self.crawler.engine.downloader.per_slot_settings[API_SLOT] = {
            "delay": opts.min_interval_seconds, "concurrency": 1, "jitter": 0}
        meta = {"download_slot": API_SLOT, "autothrottle_dont_adjust_delay": True,
                "handle_httpstatus_list": [429]}
        base = str(self.source.urls[0])
        for query in opts.queries:
            yield self.index_request(gdelt_artlist_url(base, query, opts), callback=self.parse_artlist,
                                     meta=meta, cb_kwargs={"query": query})

    def parse_artlist(self, response: Response, query: str) -> Iterator[scrapy.Request]:
        text = response.body.decode("utf-8", errors="replace").strip()
        if response.status == 429 or (RATE_LIMIT_TEXT in text[:300].lower() and not text.startswith("{")):
            yield from self.rate_limited(response, query, text)
            return
        if not text.startswith(("{", "[")):
            self.skip("api_error", response.url)
            self.logger.warning("discovery %s: API said %r for %r", self.source.id, text[:200], query)
            return
        try:
            data = json.loads(text, strict=False)  # strict=False: raw control characters in titles
        except ValueError as exc:
            data, error = None, str(exc)
        else:
            error = "no article list"
        articles = data.get("articles", []) if isinstance(data, dict) else None  # {} = no results
        if not isinstance(articles, list):
            self.skip("api_malformed", response.url)
            self.logger.warning("discovery %s: malformed answer for %r: %s", self.source.id, query, error)
            return
        self.count("api_articles", len(articles))
        for article in articles:
            url = article.get("url") if isinstance(article, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                self.skip("entry_without_link")
                continue
            title = article.get("title")
            request = self.article_request(url, title=title if isinstance(title, str) else None,
                                           published=self.checked_when(str(article.get("seendate") or "")))
            if request is not None:
                yield request

    def rate_limited(self, response: Response, query: str, text: str) -> Iterator[scrapy.Request]:
        """Ask again, up to RETRY_TIMES, one slot interval later; then skip this query for this run."""
        request = response.request
        attempt = int(response.meta.get("dfwatch_api_attempt", 0))
        if request is not None and attempt < self.settings.getint("RETRY_TIMES"):
            self.count("api_retried")
            yield request.replace(dont_filter=True, meta={**request.meta, "dfwatch_api_attempt": attempt + 1})
            return
        self.skip("api_rate_limited", response.url)
        self.logger.warning("discovery %s: rate limited on %r: %s", self.source.id, query, text[:120])
