"""Downloader middlewares that keep dfwatch text-only, polite, and away from places it must not go.

Every request refused and every page given up is counted under `dfwatch/skipped/<reason>`:

| reason | where |
| --- | --- |
| `bad_scheme`, `blocked_host`, `media_url`, `not_text`, `too_large` | SafetyMiddleware |
| `private_address` | PublicAddressMiddleware |
| `http_<status>`, `timeout`, `connection_failed` (after retries) | BackoffRetryMiddleware |
| `decompressed_too_large` | CountedCompressionMiddleware |
| `redirect_loop`, `too_many_redirects` | LoopSafeRedirectMiddleware |

Retries are counted under `dfwatch/retried/<status|timeout|connection_failed>`, and pages
whose declared charset was wrong or missing under `dfwatch/repaired/<reason>`.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Headers, HtmlResponse, Response
from scrapy.resolver import dnscache
from scrapy.utils.asyncio import run_in_thread, sleep
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from trafilatura.utils import detect_encoding
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

from dfwatch.urls import is_blocked_host

logger = logging.getLogger(__name__)

MEDIA_PATH = re.compile(
    r"\.(jpe?g|png|gif|webp|avif|bmp|svg|ico|tiff?|heic|mp4|m4v|mov|avi|mkv|webm|flv|wmv|m3u8|"
    r"mp3|m4a|wav|ogg|flac|zip|rar|7z|gz|tgz|bz2|xz|tar|torrent|exe|msi|apk|dmg|iso|bin|"
    r"pdf|docx?|xlsx?|pptx?|hwpx?|odt)$",
    re.I,
)


def _skip(crawler: Crawler, reason: str, request: Request) -> IgnoreRequest:
    crawler.stats.inc_value(f"dfwatch/skipped/{reason}")
    return IgnoreRequest(f"{reason}: {request.url}")


class SafetyMiddleware:
    """Refuse non-HTTP schemes, messaging apps, file hosts and media URLs; stop non-text downloads.

    A response whose Content-Type is not text is stopped as soon as its headers arrive,
    so no image, video or binary body is ever downloaded. Bodies over DOWNLOAD_MAXSIZE
    (declared or streamed) are cancelled by Scrapy and counted here as `too_large`.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.headers_received, signals.headers_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if urlparse_cached(request).scheme not in ("http", "https"):
            raise _skip(self.crawler, "bad_scheme", request)
        if is_blocked_host(request.url):
            raise _skip(self.crawler, "blocked_host", request)
        if MEDIA_PATH.search(urlparse_cached(request).path):
            raise _skip(self.crawler, "media_url", request)

    def headers_received(self, headers: Headers, request: Request, **kwargs: Any) -> None:
        if not _is_text(headers):
            raise StopDownload(fail=True)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == 200 and not _is_text(response.headers):
            raise _skip(self.crawler, "not_text", request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, StopDownload):
            raise _skip(self.crawler, "not_text", request)
        if isinstance(exception, DownloadCancelledError):  # DOWNLOAD_MAXSIZE reached
            raise _skip(self.crawler, "too_large", request)


def _is_text(headers: Headers) -> bool:
    """text/*, and application/ JSON or XML (RSS, Atom, XHTML, JSON Feed, API answers); no type = maybe."""
    ctype = (headers.get(b"Content-Type") or b"").decode("latin-1").split(";", 1)[0].strip().lower()
    major, _, minor = ctype.partition("/")
    return (not ctype or major == "text"
            or (major == "application" and (minor in ("json", "xml") or minor.endswith(("+json", "+xml")))))


Resolver = Callable[[str], Iterable[str]]


def system_resolver(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


def refused_address(address: str, allow_loopback: bool = False) -> bool:
    """True for addresses a crawler must not reach: private, loopback, link-local, multicast, reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return not allow_loopback
    return (not ip.is_global or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


class PublicAddressMiddleware:
    """Refuse targets that resolve to non-public addresses (`private_address`).

    Loopback is allowed only with `crawl.allow_loopback` (tests and `dfwatch demo`). The
    vetted IPv4 address is pinned in Scrapy's DNS cache, so the connection goes to the
    address that was checked rather than to a second, possibly different, answer.
    """

    def __init__(self, crawler: Crawler, allow_loopback: bool, resolve: Resolver = system_resolver) -> None:
        self.crawler = crawler
        self.allow_loopback = allow_loopback
        self.resolve = resolve
        self.verdicts: dict[str, bool] = {}  # host -> allowed, for this crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublicAddressMiddleware:
        return cls(crawler, crawler.settings["DFWATCH"].crawl.allow_loopback)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        if not host:
            return
        if host not in self.verdicts:
            try:
                ipaddress.ip_address(host)
                addresses = [host]
            except ValueError:
                try:
                    addresses = list(await run_in_thread(self.resolve, host))
                except OSError:
                    return  # unresolvable: the download fails and is counted there
            self.verdicts[host] = bool(addresses) and not any(
                refused_address(a, self.allow_loopback) for a in addresses)
            ipv4 = [a for a in addresses if ":" not in a]
            if self.verdicts[host] and ipv4 and ipv4[0] != host:
                dnscache[host] = ipv4[0]
        if not self.verdicts[host]:
            raise _skip(self.crawler, "private_address", request)


def retry_after(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware:
    """Retry 5xx, 429, timeouts and lost connections after a non-blocking wait.

    The wait is the server's Retry-After when it sends one (a longer one than
    `crawl.max_retry_after` gives the page up for this run), else `crawl.retry_backoff`
    doubled per attempt. A 429 or 503 also raises the host's download delay to that wait;
    AutoThrottle brings it down again as responses come back fast. Replaces Scrapy's
    RetryMiddleware (same RETRY_* settings and `retry/*` stats).
    """

    TIMEOUTS = ("scrapy.exceptions.DownloadTimeoutError", "twisted.internet.error.TimeoutError",
                "twisted.internet.error.TCPTimedOutError")

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        crawl = settings["DFWATCH"].crawl
        self.crawler = crawler
        self.codes = {int(c) for c in settings.getlist("RETRY_HTTP_CODES")}
        self.backoff: float = crawl.retry_backoff
        self.max_retry_after: float = crawl.max_retry_after
        self.timeouts = tuple(load_object(p) for p in self.TIMEOUTS)
        self.exceptions = tuple(e if isinstance(e, type) else load_object(e)
                                for e in settings.getlist("RETRY_EXCEPTIONS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        if not crawler.settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in self.codes or request.meta.get("dont_retry") or _handled(request, response):
            return response
        reason = f"http_{response.status}"
        wait = retry_after(response.headers.get(b"Retry-After"))
        if wait is not None and wait > self.max_retry_after:
            logger.warning("%s asks to wait %.0fs (over crawl.max_retry_after): given up for this run",
                           request.url, wait)
            raise _skip(self.crawler, reason, request)
        if wait is not None and response.status in (429, 503):
            self._slow_down(request, wait)
        return await self._retry(request, str(response.status), reason, wait)

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, self.timeouts):
            kind = "timeout"
        elif isinstance(exception, self.exceptions):
            kind = "connection_failed"
        else:
            return None
        if request.meta.get("dont_retry"):
            raise _skip(self.crawler, kind, request)
        return await self._retry(request, kind, kind, None)

    async def _retry(self, request: Request, kind: str, reason: str, wait: float | None) -> Request:
        attempt = int(request.meta.get("retry_times", 0))
        spider = self.crawler.spider
        assert spider is not None
        retry = get_retry_request(request, spider=spider, reason=reason, give_up_log_level=logging.WARNING)
        if retry is None:
            raise _skip(self.crawler, reason, request)
        self.crawler.stats.inc_value(f"dfwatch/retried/{kind}")
        await sleep(wait if wait is not None else self.backoff * 2 ** attempt)
        return retry

    def _slow_down(self, request: Request, wait: float) -> None:
        slot_key = request.meta.get("download_slot")
        slot = self.crawler.engine.downloader.slots.get(slot_key) if slot_key else None
        if slot is not None:
            slot.delay = max(slot.delay, wait)


def _handled(request: Request, response: Response) -> bool:
    """The spider asked for this status itself (e.g. a 429 from a rate-limited API): no retry."""
    return bool(request.meta.get("handle_httpstatus_all")
                or response.status in request.meta.get("handle_httpstatus_list", ()))


class CharsetMiddleware:
    """Decode HTML in the charset its bytes are in, when the declared one is wrong.

    Valid UTF-8 with non-ASCII bytes is UTF-8 whatever the page says; otherwise the charset
    of the Content-Type header or `<meta>` stands if the bytes decode in it, and is else
    detected from the bytes (`dfwatch/repaired/charset_mismatch`, e.g. EUC-KR sent as
    UTF-8). A page that declares nothing and is not UTF-8 is counted as
    `dfwatch/repaired/charset_undeclared`: Scrapy detects its charset from the bytes.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CharsetMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, HtmlResponse) or response.status != 200 or response.body.isascii():
            return response
        body = response.body
        declared = (http_content_type_encoding((response.headers.get(b"Content-Type") or b"").decode("latin-1"))
                    or html_body_declared_encoding(body))
        if declared is None:
            if not _is_utf8(body):
                self.crawler.stats.inc_value("dfwatch/repaired/charset_undeclared")
            return response
        best = "utf-8" if _is_utf8(body) else declared if _fits(body, declared) else next(
            (guess for guess in detect_encoding(body) if _fits(body, guess)), None)
        if best is None or resolve_encoding(best) == resolve_encoding(response.encoding):
            return response
        self.crawler.stats.inc_value("dfwatch/repaired/charset_mismatch")
        return response.replace(encoding=best)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _fits(body: bytes, encoding: str) -> bool:
    """The bytes decode in this charset, bar a stray invalid byte or two."""
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        return False
    return text.count("\ufffd") <= max(2, len(text) // 1000)


class CountedCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, which already enforces DOWNLOAD_MAXSIZE on the inflated body, counted."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest:  # raised only when the inflated body passes DOWNLOAD_MAXSIZE
            assert self.stats is not None
            self.stats.inc_value("dfwatch/skipped/decompressed_too_large")
            raise IgnoreRequest(f"decompressed_too_large: {request.url}") from None


class LoopSafeRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, capped by REDIRECT_MAX_TIMES, with loops given up at the first repeat."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        location = response.headers.get(b"Location")
        if location and 300 <= response.status < 400 and not request.meta.get("dont_redirect"):
            target = urljoin(request.url, location.decode("latin-1").strip())
            if target in {*request.meta.get("redirect_urls", []), request.url}:
                raise _skip(self.crawler, "redirect_loop", request)
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            raise _skip(self.crawler, "too_many_redirects", request) from None
