"""Extract stage: trafilatura turns a RawPage into an Article (text + metadata)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import lxml.html
import trafilatura
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import run_in_thread
from trafilatura.settings import Document

from crawler.items import RawPage
from dfwatch.records import Article, SourceRef, content_hash
from dfwatch.urls import article_id, canonical_url
from nlp.language import detect_language
from pipelines.common import drop

MIN_TEXT_CHARS = 200


@dataclass
class Extracted:
    title: str
    text: str
    lead: str
    published_at: datetime | None
    modified_at: datetime | None
    authors: list[str]
    language: str
    canonical_url: str | None
    sitename: str | None


def extract_html(html: str, url: str | None = None) -> Extracted | None:
    """Main text and metadata of an article page; None when there is no article text."""
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True,
        include_images=False, include_links=False, favor_precision=True, fast=True,
    )
    if not isinstance(doc, Document) or len((doc.text or "").strip()) < MIN_TEXT_CHARS:
        return None
    text = (doc.text or "").strip()
    published, modified = _page_dates(html)
    if published is None and doc.date:
        published = _parse_date(doc.date)
    return Extracted(
        title=(doc.title or "").strip(),
        text=text,
        lead=_lead(text),
        published_at=published,
        modified_at=modified,
        authors=[a.strip() for a in re.split(r";|\band\b", doc.author or "") if a.strip()],
        language=detect_language(text),
        canonical_url=doc.url,
        sitename=doc.sitename,
    )


def _lead(text: str) -> str:
    first = text.split("\n", 1)[0].strip()
    return first if len(first) <= 400 else first[:397].rsplit(" ", 1)[0] + "…"


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _page_dates(html: str) -> tuple[datetime | None, datetime | None]:
    """Full timestamps from article:* meta tags or JSON-LD (trafilatura keeps only the day)."""
    try:
        tree = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None, None
    found: dict[str, datetime | None] = {}
    for key, prop in (("published", "article:published_time"), ("modified", "article:modified_time")):
        values = tree.xpath(f'//meta[@property="{prop}"]/@content')
        found[key] = _parse_date(values[0]) if values else None
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for obj in data if isinstance(data, list) else [data]:
            if isinstance(obj, dict):
                if not found["published"] and obj.get("datePublished"):
                    found["published"] = _parse_date(str(obj["datePublished"]))
                if not found["modified"] and obj.get("dateModified"):
                    found["modified"] = _parse_date(str(obj["dateModified"]))
    return found["published"], found["modified"]


class ExtractPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        # pages without text are counted by reason below; trafilatura's own warning is noise
        logging.getLogger("trafilatura").setLevel(logging.ERROR)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    async def process_item(self, item: RawPage) -> Article:
        try:
            html = item.body.decode(item.encoding or "utf-8", errors="replace")
            # in a worker thread: a slow page must not stall every download (and time them out)
            extracted = await run_in_thread(extract_html, html, item.final_url)
        except Exception as exc:  # a hostile page must never crash the crawl  # noqa: BLE001
            raise drop(self.crawler, "malformed", f"{item.final_url}: {exc!r}") from None
        if extracted is None:
            raise drop(self.crawler, "no_article_text", item.final_url)
        source = self.crawler.spider.source  # type: ignore[union-attr]
        canonical = canonical_url(_same_site(extracted.canonical_url, item.final_url))
        return Article(
            id=article_id(canonical),
            url=item.final_url,
            canonical_url=canonical,
            source=SourceRef(source.id, source.name, source.type, source.country, source.language),
            title=extracted.title or item.feed_entry.get("title", ""),
            text=extracted.text,
            lead=extracted.lead,
            published_at=extracted.published_at,
            modified_at=extracted.modified_at,
            crawled_at=item.fetched_at,
            authors=extracted.authors,
            language=extracted.language,
            content_hash=content_hash(extracted.text),
        )


def _same_site(candidate: str | None, fetched: str) -> str:
    """The page's declared canonical URL, unless it points at another host."""
    if candidate and urlsplit(candidate).netloc == urlsplit(fetched).netloc:
        return candidate
    return fetched
