"""A tiny offline "web" of fictional news/government sites, served on 127.0.0.1.

Each site is a directory under ``sites/<site-id>/`` whose files mirror URL paths and
is served by its own ``ThreadingHTTPServer`` on an ephemeral port.  Text files may
contain the placeholder ``{{base}}`` (``{{site:ID}}`` for another site); it is replaced (as bytes, so EUC-KR files work)
by the site's base URL, e.g. ``http://127.0.0.1:40123``, when the file is served.
A site's ``_headers.json`` overrides response headers per file; its ``:status`` key sets
the status code (e.g. ``"429"`` for a rate-limited API).  Query strings are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

SITES_DIR = Path(__file__).resolve().parent / "sites"
PLACEHOLDER = b"{{base}}"
SITE_PLACEHOLDER = re.compile(rb"\{\{site:([a-z0-9-]+)\}\}")  # another site's base URL
FIXED_MTIME = 1725000000.0  # 2024-08-30: every fixture file's Last-Modified until changed
TEXT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
}
TEXTUAL = ("text/", "application/json", "application/feed+json", "application/xml",
           "application/rss+xml", "application/atom+xml")


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    type: str  # "news" | "government" | "discovery"
    country: str
    language: str
    feeds: tuple[str, ...]  # empty for the stand-in API, which has no feed


SITES: tuple[Site, ...] = (
    Site("hanbit-times", "The Hanbit Times", "news", "KR", "en", ("/rss.xml",)),
    Site("asia-wire", "Asia Wire Today", "news", "SG", "en", ("/feeds/atom.xml",)),
    Site("police-press", "Korean National Police Agency — Press Room", "government", "KR", "ko",
         ("/press/rss.xml",)),
    Site("gdelt-api", "GDELT DOC 2.0 API (offline stand-in)", "discovery", "XX", "mul", ()),
)


def content_type(path: Path, body: bytes) -> str:
    """Content-Type by extension; XML and JSON are sniffed so feeds get their specific types."""
    ctype = TEXT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    if ctype == "application/json" and b'"https://jsonfeed.org/version/' in body[:1024]:
        return "application/feed+json"
    if ctype == "application/xml":
        head = body[:1024]
        if b"<rss" in head:
            return "application/rss+xml"
        if b"<feed" in head:
            return "application/atom+xml"
    return ctype


class _Handler(BaseHTTPRequestHandler):
    """Serves one site's directory; configured per site by a subclass (see _make_handler)."""

    site_id: str = ""
    root: Path = SITES_DIR
    base: bytes = b""
    overrides: dict[str, dict[str, str]] = {}
    record: FixtureWeb
    server_version = "fixtureweb/1.0"

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # quiet: no per-request lines on stderr

    def _resolve(self, url_path: str) -> tuple[Path | None, str | None]:
        """Return (file, None), (None, redirect location) or (None, None) for 404."""
        rel = unquote(url_path).lstrip("/")
        if "\x00" in rel or any(part.startswith((".", "_")) for part in rel.split("/") if part):
            return None, None  # hidden files (_headers.json) and traversal attempts
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root):
            return None, None
        if target.is_dir():
            if not url_path.endswith("/"):
                return None, url_path + "/"
            target = target / "index.html"
        return (target, None) if target.is_file() else (None, None)

    def _serve(self, with_body: bool) -> None:
        self.record._record(self.site_id, self.path, self.headers.get("User-Agent", ""))
        url_path = urlsplit(self.path).path or "/"
        file, location = self._resolve(url_path)
        if location is not None:
            self._reply(301, b"", {"Location": location, "Content-Type": "text/plain"}, with_body)
            return
        if file is None:
            body = b"<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n"
            self._reply(404, body, {"Content-Type": "text/html; charset=utf-8"}, with_body)
            return
        key = "/" + file.relative_to(self.root).as_posix()
        body = self.record._changed.get((self.site_id, key)) or file.read_bytes()
        headers = {"Content-Type": content_type(file, body)}
        headers.update(self.overrides.get(key, {}) or self.overrides.get(url_path, {}))
        status = int(headers.pop(":status", "200"))
        if headers["Content-Type"].startswith(TEXTUAL):
            body = self.record._expand(body.replace(PLACEHOLDER, self.base))
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'  # noqa: S324
        modified = formatdate(self.record._mtime.get((self.site_id, key), FIXED_MTIME), usegmt=True)
        headers.update({"ETag": etag, "Last-Modified": modified})
        if status == 200 and (self.headers.get("If-None-Match") == etag or (
                not self.headers.get("If-None-Match") and self.headers.get("If-Modified-Since") == modified)):
            self._reply(304, b"", {"ETag": etag, "Last-Modified": modified}, with_body=False)
            return
        self._reply(status, body, headers, with_body)

    def _reply(self, code: int, body: bytes, headers: dict[str, str], with_body: bool) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # e.g. client hung up mid-response; stay quiet


class FixtureWeb:
    """Serve every fixture site on its own ephemeral 127.0.0.1 port.

    >>> with FixtureWeb() as web:
    ...     feed = web.url("hanbit-times", "/rss.xml")
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.base_urls: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.request_times: list[tuple[float, str, str]] = []  # (time.monotonic(), site, path)
        self.user_agents: set[str] = set()  # every User-Agent header seen
        self._changed: dict[tuple[str, str], bytes] = {}
        self._mtime: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._servers: list[tuple[_QuietServer, threading.Thread]] = []

    def change(self, site: str, path: str, body: bytes) -> None:
        """Serve `body` instead of the file at `path` from now on (new ETag and Last-Modified)."""
        with self._lock:
            self._changed[(site, path)] = body
            self._mtime[(site, path)] = time.time()

    def _expand(self, body: bytes) -> bytes:
        return SITE_PLACEHOLDER.sub(lambda m: self.base_urls[m.group(1).decode()].encode(), body)

    def _record(self, site: str, path: str, user_agent: str = "") -> None:
        with self._lock:
            self.requests.append((site, path))
            self.request_times.append((time.monotonic(), site, path))
            self.user_agents.add(user_agent)

    def _make_handler(self, site: Site, base: str) -> type[_Handler]:
        root = (SITES_DIR / site.id).resolve()
        headers_file = root / "_headers.json"
        overrides = json.loads(headers_file.read_text("utf-8")) if headers_file.is_file() else {}
        attrs = {"site_id": site.id, "root": root, "base": base.encode("ascii"),
                 "overrides": overrides, "record": self}
        return type(f"Handler_{site.id.replace('-', '_')}", (_Handler,), attrs)

    def start(self) -> FixtureWeb:
        if self._servers:
            return self
        for site in SITES:
            server = _QuietServer((self.host, 0), _Handler)
            port = server.server_address[1]
            base = f"http://{self.host}:{port}"
            server.RequestHandlerClass = self._make_handler(site, base)
            thread = threading.Thread(target=server.serve_forever, name=f"fixtureweb-{site.id}",
                                      daemon=True)
            thread.start()
            self._servers.append((server, thread))
            self.base_urls[site.id] = base
        return self

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()

    def __enter__(self) -> FixtureWeb:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def url(self, site: str, path: str) -> str:
        return self.base_urls[site] + "/" + path.lstrip("/")

    def sources(self) -> list[dict]:
        """One crawl-source dict per site with a feed (feed strategy, absolute feed URLs)."""
        return [self._source(s.id, s.id, "feed", s.feeds) for s in SITES if s.feeds]

    def strategy_sources(self) -> dict[str, dict]:
        """Crawl-source dicts, by id, for the other strategies and the hostile feeds (see README)."""
        board = {"rows": "div.board_list tbody tr", "link": "td.subject a", "date": "td.date::text",
                 "date_format": "%Y.%m.%d", "next_page": "div.paging a.next::attr(href)", "max_pages": 5}
        archive = {"rows": "xpath://ul[@class='bbs-list']/li", "link": "xpath:.//a[@class='tit']/@href",
                   "date": "xpath:.//span[@class='reg-date']", "next_page": "xpath://a[@rel='next']"}
        queries = ["deepfake (sex OR sexual OR porn) sourcecountry:KS", "(딥페이크 OR 허위영상물) sourcelang:korean"]
        gdelt = {"api": "gdelt-doc", "timespan": "1d", "max_records": 250, "min_interval_seconds": 5,
                 "queries": queries}
        sources = [
            self._source("asia-wire-json", "asia-wire", "feed", ["/feeds/feed.json"]),
            self._source("asia-wire-sitemaps", "asia-wire", "sitemap", ["/sitemap_index.xml"]),
            self._source("hanbit-times-sitemap", "hanbit-times", "sitemap", ["/robots.txt"]),
            self._source("police-press-board", "police-press", "listing", ["/press/board/1.html"], listing=board),
            self._source("police-press-archive", "police-press", "listing", ["/press/archive/1.html"],
                         listing=archive),
            self._source("police-press-duplicates", "police-press", "feed", ["/press/feeds/duplicates.xml"]),
            self._source("police-press-wrong-dates", "police-press", "feed", ["/press/feeds/wrong-dates.xml"]),
            self._source("police-press-ill-formed", "police-press", "feed",
                         ["/press/feeds/ill-formed.xml", "/press/feeds/maintenance.xml"]),
            self._source("gdelt-doc", "gdelt-api", "discovery", ["/api/v2/doc/doc"], discovery=gdelt),
            self._source("gdelt-doc-throttled", "gdelt-api", "discovery", ["/throttled/api/v2/doc/doc"],
                         discovery={**gdelt, "queries": queries[:1]}),
            self._source("gdelt-doc-broken", "gdelt-api", "discovery", ["/broken/api/v2/doc/doc"],
                         discovery={**gdelt, "queries": queries[:1]}),
        ]
        return {s["id"]: s for s in sources}

    def _source(self, source_id: str, site_id: str, strategy: str, paths: Iterable[str], **extra: object) -> dict:
        site = next(s for s in SITES if s.id == site_id)
        name = site.name if source_id == site_id else f"{site.name} ({source_id.removeprefix(site_id + '-')})"
        return {"id": source_id, "name": name, "type": site.type, "country": site.country,
                "language": site.language, "strategy": strategy, "urls": [self.url(site_id, p) for p in paths],
                **extra}


def main() -> None:
    """``python -m dfwatch.fixtureweb``: serve until Ctrl-C, printing the base URLs."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    web = FixtureWeb().start()
    try:
        for site in SITES:
            entry = f"feed: {web.url(site.id, site.feeds[0])}" if site.feeds else site.name
            print(f"{site.id:<14} {web.base_urls[site.id]}  {entry}", flush=True)
        print("Serving the fixture web; press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.2):
            pass
        print("\nstopped.", flush=True)
    finally:
        web.stop()
