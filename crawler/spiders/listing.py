"""Listing strategy: HTML press-release lists read with the source's selectors, page by page.

`listing.rows` selects the rows of a page; `link` and `date` are read inside each row and
`next_page` on the page. Selectors are CSS, or XPath when prefixed `xpath:`; one that
selects an element yields its `href` (links) or its text (dates). Pagination stops after
`listing.max_pages` pages (`listing_max_pages`), at a page seen before (`pagination_loop`),
at a page with no link that is neither known (`is_known`) nor already offered, and at a
page whose dated rows are all older than `since` (lists are newest first).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import scrapy
from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse

from crawler.spiders.base import SourceSpider
from dfwatch.sources import ListingOptions
from dfwatch.urls import canonical_url

XPATH = "xpath:"


def select(node: Selector | TextResponse, expr: str) -> SelectorList[Selector]:
    return node.xpath(expr[len(XPATH):]) if expr.startswith(XPATH) else node.css(expr)


def first_value(node: Selector | TextResponse, expr: str, attribute: str | None = None) -> str | None:
    """The first match as a string: text or attribute values as they are, else the element's
    `attribute` (e.g. href), else its whitespace-normalised text."""
    found = select(node, expr)
    if not found:
        return None
    first = found[0]
    if isinstance(first.root, str):
        value = first.root
    elif attribute:
        value = first.attrib.get(attribute, "")
    else:
        value = " ".join(" ".join(first.xpath(".//text()").getall()).split())
    return value.strip() or None


class ListingSpider(SourceSpider):
    name = "listing"

    @property
    def options(self) -> ListingOptions:
        assert self.source.listing is not None  # the schema requires it for this strategy
        return self.source.listing

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: set[str] = set()  # canonical URLs of the listing pages requested

    def entry_requests(self) -> Iterable[scrapy.Request]:
        for url in self.source.urls:
            if request := self.page_request(str(url), 1):
                yield request

    def page_request(self, url: str, number: int) -> scrapy.Request | None:
        key = canonical_url(url)
        if key in self._pages:
            self.skip("pagination_loop", url)
            return None
        if number > self.options.max_pages:
            self.skip("listing_max_pages", url)
            return None
        self._pages.add(key)
        return self.index_request(url, callback=self.parse_listing, cb_kwargs={"number": number})

    def parse_listing(self, response: Response, number: int) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            self.skip("listing_not_html", response.url)
            return
        opts = self.options
        rows = select(response, opts.rows)
        if not rows:
            self.skip("listing_without_rows", response.url)
            return
        self.count("listing_rows", len(rows))
        unknown = dated = old = 0
        for row in rows:
            href = first_value(row, opts.link, "href")
            if not href:
                self.skip("entry_without_link")
                continue
            url = response.urljoin(href)
            when = self.checked_when(first_value(row, opts.date), opts.date_format) if opts.date else None
            dated += when is not None
            old += self.before_since(when)
            unknown += not (self.is_known(url) or canonical_url(url) in self._offered)
            if request := self.article_request(url, title=_link_text(row, href), published=when):
                yield request
        yield from self.next_page(response, number, unknown, dated > 0 and old == dated)

    def next_page(self, response: TextResponse, number: int, unknown: int, all_old: bool) -> Iterator[scrapy.Request]:
        if not self.options.next_page:
            return
        href = first_value(response, self.options.next_page, "href")
        if not href:
            return  # the last page
        if unknown == 0:
            self.count("listing_stopped/no_unknown_links")
            self.logger.info("listing %s: nothing new on page %d, stopping", self.source.id, number)
            return
        if all_old:
            self.count("listing_stopped/date_cutoff")
            self.logger.info("listing %s: page %d is older than %s, stopping", self.source.id, number,
                             self.source.since)
            return
        if request := self.page_request(response.urljoin(href), number + 1):
            yield request


def _link_text(row: Selector, href: str) -> str | None:
    text = " ".join(" ".join(row.xpath(".//a[@href=$href]//text()", href=href).getall()).split())
    return text or None
