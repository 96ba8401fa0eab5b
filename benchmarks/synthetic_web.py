"""The synthetic corpus as a news web for crawl benchmarks on loopback (issue 8).

Every document becomes a page at /<source id>/news/<yyyy>/<mm>/<dd>/<n>.html in a realistic
layout (navigation, byline, related links, footer); each source gets an RSS feed and a
sitemap. Text is escaped: these pages are served to the real crawler.

`python -m benchmarks.synthetic_web --docs N` serves it on 127.0.0.1 (a single-threaded
asyncio HTTP/1.1 server with keep-alive, in its own process; benchmarks/pipeline.py starts it).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


# ------------------------------------------------------------------ the loopback web
class SyntheticWeb:
    """The first `docs` documents as a web: pages, and per source /<id>/feed.xml and
    /<id>/sitemap.xml (newest first; `?n=K` lists only documents 0..K-1, so one server
    holds the web of every size a benchmark crawls), plus /robots.txt."""

    def __init__(self, docs: int, seed: int = 7) -> None:
        from benchmarks.synthetic import articles, sources

        self.pages: dict[str, bytes] = {}
        # every source has a feed, if an empty one: a small web may have no article of a rare source
        self.by_source: dict[str, list[tuple[int, dict[str, Any]]]] = {s.id: [] for s in sources()}
        for i, doc in enumerate(articles(docs, seed)):
            self.pages[loopback_path(doc)] = page_html(doc).encode("utf-8")
            meta = {k: doc[k] for k in ("url", "title", "published_at")} | {"source": doc["source"]}
            self.by_source.setdefault(doc["source"]["id"], []).append((i, meta))
        for entries in self.by_source.values():
            entries.sort(key=lambda e: e[1]["published_at"], reverse=True)

    def answer(self, target: str, base: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request target such as /hanbit-times/feed.xml?n=1000."""
        path, _, query = target.partition("?")
        limit = int(query[2:]) if query.startswith("n=") and query[2:].isdigit() else None
        if path in self.pages:
            return 200, "text/html; charset=utf-8", self.pages[path]
        if path == "/robots.txt":
            maps = "".join(f"Sitemap: {base}/{s}/sitemap.xml\n" for s in self.by_source)
            return 200, "text/plain", f"User-agent: *\nAllow: /\n{maps}".encode()
        source, _, name = path.strip("/").partition("/")
        if source in self.by_source and name in ("feed.xml", "sitemap.xml"):
            docs = [d for i, d in self.by_source[source] if limit is None or i < limit]
            if name == "feed.xml":
                return 200, "application/rss+xml", rss_feed(docs, base, source).encode("utf-8")
            return 200, "application/xml", sitemap(docs, base).encode("utf-8")
        return 404, "text/plain", b"not found"


async def _serve_connection(web: SyntheticWeb, base: str, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 with keep-alive, GET only: all a crawler of this web needs, at little CPU per page."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *headers = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            close = any(h.lower().replace(" ", "") == "connection:close" for h in headers)
            status, ctype, body = web.answer(target, base) if method == "GET" else (405, "text/plain", b"")
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n".encode() + body)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def _serve(web: SyntheticWeb) -> None:
    holder: dict[str, str] = {}
    server = await asyncio.start_server(lambda r, w: _serve_connection(web, holder["base"], r, w),
                                        "127.0.0.1", 0, backlog=1024)
    holder["base"] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    print(holder["base"], flush=True)  # the parent waits for this line
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


@contextmanager
def served(docs: int, seed: int = 7) -> Iterator[str]:
    """This web for the first `docs` documents, served by `main` in a child process; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.synthetic_web", "--docs", str(docs), "--seed",
                             str(seed)], stdout=subprocess.PIPE, text=True)
    try:
        base = (proc.stdout.readline() if proc.stdout else "").strip()
        if not base.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"synthetic web did not start (exit {proc.poll()})")
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    """`python -m benchmarks.synthetic_web --docs N`: serve the web on 127.0.0.1 until SIGTERM; the
    first line printed is its base URL (benchmarks start it as a subprocess, so that the server's
    CPU and memory are not counted in the crawl process)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(_serve(SyntheticWeb(args.docs, args.seed)))


if __name__ == "__main__":
    main()
