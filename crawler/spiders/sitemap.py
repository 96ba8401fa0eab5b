"""Sitemap strategy: sitemap indexes, urlsets and Google news sitemaps (also gzipped, or via robots.txt).

Indexes are followed to `MAX_DEPTH` levels; a sitemap seen before in this crawl is a loop
(`sitemap_loop`). Entries and whole child sitemaps whose date is older than the source's
`lastmod_days` (counted back from the spider's `now`) or `since` are skipped as
`outside_date_window`; when either window is set, a URL with no date at all is skipped as
`undated`, since a sitemap lists everything a site ever published. A site's home page is
listed in many sitemaps but is no article (`site_root`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import scrapy
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawler.spiders.base import SourceSpider, When, day_of
from dfwatch.urls import canonical_url

MAX_DEPTH = 3  # index → index → index → urlset


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: str | None = None
    published: str | None = None  # news:publication_date
    title: str | None = None  # news:title


def read_sitemap(body: bytes, max_size: int = 0) -> tuple[str, list[SitemapEntry]]:
    """("urlset" | "sitemapindex" | other root name, entries); ("", []) if it is not XML at all."""
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, max_size=max_size)
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True,
                                  remove_comments=True, remove_pis=True, huge_tree=False)
    root = lxml.etree.fromstring(body, parser=parser) if body.strip() else None
    if root is None:
        return "", []
    entries = []
    for item in root:
        fields = {_local(child.tag): child for child in item if isinstance(child.tag, str)}
        loc = (fields["loc"].text or "").strip() if "loc" in fields else ""
        if not loc:
            continue
        news = {_local(c.tag): (c.text or "").strip() for c in fields.get("news", []) if isinstance(c.tag, str)}
        lastmod = fields["lastmod"].text if "lastmod" in fields else None
        entries.append(SitemapEntry(loc, lastmod, news.get("publication_date"), news.get("title") or None))
    return _local(root.tag), entries


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class SitemapSpider(SourceSpider):
    name = "sitemap"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sitemaps: set[str] = set()  # canonical URLs of the sitemaps requested

    def entry_requests(self) -> Iterable[scrapy.Request]:
        for url in map(str, self.source.urls):
            if urlsplit(url).path.endswith("/robots.txt"):
                yield self.index_request(url, callback=self.parse_robots)
            elif request := self.sitemap_request(url, 0):
                yield request

    @property
    def windowed(self) -> bool:
        return self.source.lastmod_days is not None or self.source.since is not None

    def stale(self, when: When | None) -> bool:
        days = self.source.lastmod_days
        if when is not None and days is not None and day_of(when) < (self.now - timedelta(days=days)).date():
            return True
        return self.before_since(when)

    def sitemap_request(self, url: str, depth: int) -> scrapy.Request | None:
        key = canonical_url(url)
        if key in self._sitemaps:
            self.skip("sitemap_loop", url)
            return None
        if depth > MAX_DEPTH:
            self.skip("sitemap_depth", url)
            return None
        self._sitemaps.add(key)
        return self.index_request(url, callback=self.parse_sitemap, cb_kwargs={"depth": depth})

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        text = response.body.decode("utf-8", errors="replace")
        for url in sitemap_urls_from_robots(text, base_url=response.url):
            if request := self.sitemap_request(url, 0):
                yield request

    def parse_sitemap(self, response: Response, depth: int) -> Iterator[scrapy.Request]:
        try:
            kind, entries = read_sitemap(response.body, self.settings.getint("DOWNLOAD_MAXSIZE"))
        except (OSError, EOFError, ValueError, lxml.etree.LxmlError) as exc:  # bad gzip, past the size cap
            self.skip("sitemap_unreadable", response.url)
            self.logger.warning("sitemap %s unreadable: %s", response.url, exc)
            return
        if kind not in ("urlset", "sitemapindex") or not entries:
            self.skip("sitemap_without_entries", response.url)
            return
        self.count("sitemap_entries", len(entries))
        for entry in entries:
            url = response.urljoin(entry.loc)
            modified = self.checked_when(entry.lastmod)
            published = self.checked_when(entry.published)
            if self.stale(modified or published):
                self.skip("outside_date_window", url)
                continue
            if kind == "urlset" and urlsplit(url).path in ("", "/"):
                self.skip("site_root", url)  # the home page: listed in sitemaps, never an article
                continue
            request = (self.sitemap_request(url, depth + 1) if kind == "sitemapindex" else
                       self.article_request(url, title=entry.title, published=published, modified=modified,
                                            undated_ok=not self.windowed))
            if request is not None:
                yield request
