"""The synthetic corpus as a news web for crawl benchmarks on loopback (issue 8).

Every document becomes a page at /<source id>/news/<yyyy>/<mm>/<dd>/<n>.html in a realistic
layout (navigation, byline, related links, footer); each source gets an RSS feed and a
sitemap. Text is escaped: these pages are served to the real crawler.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any


def loopback_path(doc: dict[str, Any]) -> str:
    return f"/{doc['source']['id']}" + doc["url"].split(".example", 1)[1]


def page_html(doc: dict[str, Any]) -> str:
    e = html.escape
    src = doc["source"]
    paras = "".join(f"<p>{e(p)}</p>" for p in doc["text"].split("\n"))
    byline = f"<p class=byline>{e(', '.join(doc['authors']))}</p>" if doc["authors"] else ""
    home = f"/{src['id']}/"
    return (
        f"<!doctype html><html lang={doc['language']}><head><meta charset=utf-8>"
        f"<title>{e(doc['title'])} | {e(src['name'])}</title>"
        f"<meta property='article:published_time' content='{doc['published_at']}'>"
        f"<link rel=canonical href='{e(loopback_path(doc))}'></head><body>"
        f"<header><nav><a href='{home}'>{e(src['name'])}</a> <a href='{home}news/'>News</a> "
        f"<a href='{home}about'>About</a></nav></header><main><article><h1>{e(doc['title'])}</h1>{byline}"
        f"<time datetime='{doc['published_at']}'>{doc['published_at'][:10]}</time>{paras}</article>"
        f"<aside><h2>Most read</h2><ul><li><a href='{home}news/'>More news</a></li></ul></aside></main>"
        f"<footer>&copy; {e(src['name'])}. Synthetic benchmark page.</footer></body></html>"
    )


def site_pages(docs: Iterable[dict[str, Any]], base: str) -> Iterator[tuple[str, str]]:
    """(URL on the loopback web at `base`, HTML) for every document."""
    for doc in docs:
        yield base + loopback_path(doc), page_html(doc)


def rss_feed(docs: Iterable[dict[str, Any]], base: str, title: str) -> str:
    """An RSS 2.0 feed listing the documents in the order given (newest first, usually)."""
    items = []
    for d in docs:
        link = base + loopback_path(d)
        when = datetime.fromisoformat(d["published_at"]).strftime("%a, %d %b %Y %H:%M:%S %z")
        items.append(f"<item><title>{html.escape(d['title'])}</title><link>{link}</link><guid>{link}</guid>"
                     f"<pubDate>{when}</pubDate></item>")
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{html.escape(title)}"
            f"</title><link>{base}/</link>{''.join(items)}</channel></rss>")


def sitemap(docs: Iterable[dict[str, Any]], base: str) -> str:
    urls = "".join(f"<url><loc>{base}{loopback_path(d)}</loc><lastmod>{d['published_at'][:10]}</lastmod></url>"
                   for d in docs)
    return ("<?xml version='1.0' encoding='utf-8'?>"
            f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>")
