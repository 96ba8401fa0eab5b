"""Polite and safe: per-source pace, retries, the public-address guard (stubbed resolver), text only, redaction."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import run_dfwatch
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Headers, HtmlResponse, Response
from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.test import get_crawler

from crawler.addon import DfwatchAddon
from crawler.middlewares import (
    BackoffRetryMiddleware,
    CharsetMiddleware,
    PublicAddressMiddleware,
    SafetyMiddleware,
    refused_address,
    retry_after,
)
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.fixtureweb.hostile import KO_TITLE, PLAIN_PAGES, HostileWeb, korean_article
from dfwatch.records import Article, SourceRef, content_hash
from dfwatch.settings import load_settings
from dfwatch.yamlconf import ConfigError
from pipelines.redact import FILE_LINK, INVITE, RedactPipeline, redact


def crawler_for_tests(**crawl: object) -> Crawler:
    settings = load_settings(crawl=crawl) if crawl else load_settings()
    return get_crawler(settings_dict={"DFWATCH": settings})


def skipped(crawler: Crawler) -> dict[str, int]:
    return {k.removeprefix("dfwatch/skipped/"): v for k, v in crawler.stats.get_stats().items()
            if k.startswith("dfwatch/skipped/")}


# --- the public-address guard, with a stubbed resolver: no traffic is ever sent ---------------

@pytest.mark.parametrize(("address", "refused"), [
    ("10.1.2.3", True), ("172.16.0.9", True), ("192.168.1.1", True), ("169.254.169.254", True),  # cloud metadata
    ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.251", True), ("240.0.0.1", True),  # shared, any, multicast, reserved
    ("127.0.0.1", True), ("::1", True), ("fe80::1%eth0", True), ("fc00::1", True), ("ff02::1", True),
    ("::ffff:10.0.0.1", True), ("::ffff:127.0.0.1", True),
    ("93.184.216.34", False), ("2606:2800:220:1:248:1893:25c8:1946", False), ("::ffff:93.184.216.34", False),
])
def test_non_public_addresses_are_refused(address: str, refused: bool) -> None:
    assert refused_address(address) is refused


def test_loopback_is_allowed_only_in_test_and_demo_mode() -> None:
    assert refused_address("127.0.0.1", allow_loopback=True) is False
    assert refused_address("::1", allow_loopback=True) is False
    assert refused_address("10.0.0.1", allow_loopback=True) is True  # private stays refused


def test_guard_refuses_hosts_that_resolve_to_private_addresses(env: dict[str, str]) -> None:
    answers = {"intranet.example": ["93.184.216.34", "10.0.0.7"], "news.example": ["93.184.216.34"],
               "localhost.example": ["127.0.0.1"], "metadata.example": ["169.254.169.254"]}
    asked: list[str] = []

    def stub(host: str) -> list[str]:
        asked.append(host)
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    for allow_loopback in (False, True):
        crawler = crawler_for_tests()
        guard = PublicAddressMiddleware(crawler, allow_loopback=allow_loopback, resolve=stub)

        def outcome(url: str) -> str:
            try:
                asyncio.run(guard.process_request(Request(url)))  # noqa: B023 - called right away
            except IgnoreRequest:
                return "refused"
            return "allowed"

        assert outcome("http://intranet.example/a") == "refused"  # one private answer is enough
        assert outcome("http://intranet.example/b") == "refused"
        assert outcome("http://metadata.example/latest/meta-data/") == "refused"
        assert outcome("http://10.0.0.1/") == "refused"
        assert outcome("http://[fe80::1]/") == "refused"
        assert outcome("http://news.example/story") == "allowed"
        assert outcome("http://unknown.example/") == "allowed"  # unresolvable: the download fails on its own
        loopback = "allowed" if allow_loopback else "refused"
        assert outcome("http://localhost.example/") == loopback and outcome("http://127.0.0.1:8080/") == loopback
        assert skipped(crawler) == {"private_address": 5 if allow_loopback else 7}
    assert asked.count("intranet.example") == 2  # once per crawl, then remembered
    assert "10.0.0.1" not in asked  # IP literals are not resolved


def test_production_mode_refuses_the_loopback_fixture_web_without_a_request(
        env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": web.sources()}, allow_unicode=True))
    out = tmp_path / "report.json"
    proc = run_dfwatch("crawl", "--source", "asia-wire", "--stats-json", str(out),
                       env={**env, "DFWATCH_SOURCES_FILE": str(sources)})  # allow_loopback: false, the default
    assert proc.returncode == 0, proc.stderr[-3000:]
    [report] = json.loads(out.read_text())
    assert report["skipped"] == {"private_address": 1} and report["pages_fetched"] == 0
    assert web.requests == []


# --- retries -----------------------------------------------------------------------------

def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2024, 8, 28, 12, 0, tzinfo=UTC)
    assert retry_after(b"120", now) == 120
    assert retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0  # in the past: no wait
    assert retry_after(b"soon", now) is None and retry_after(None, now) is None


def test_a_status_the_spider_handles_itself_is_not_retried(env: dict[str, str]) -> None:
    retry = BackoffRetryMiddleware(crawler_for_tests())
    request = Request("https://api.example/doc", meta={"handle_httpstatus_list": [429]})
    response = Response(request.url, status=429, request=request)
    assert asyncio.run(retry.process_response(request, response)) is response


# --- text only ---------------------------------------------------------------------------

def test_non_http_schemes_messaging_apps_and_media_urls_are_refused(env: dict[str, str]) -> None:
    crawler = crawler_for_tests()
    safety = SafetyMiddleware(crawler)
    for url in ("file:///etc/passwd", "ftp://files.example/a.txt", "https://t.me/+AbCd", "https://open.kakao.com/o/x",
                "https://news.example/photo.JPG", "https://gov.example/attach/report.hwp",
                "https://news.example/clip.mp4?w=1", "https://gov.example/a.pdf"):
        with pytest.raises(IgnoreRequest):
            safety.process_request(Request(url))
    assert safety.process_request(Request("https://news.example/2024/story.html")) is None
    assert skipped(crawler) == {"bad_scheme": 2, "blocked_host": 2, "media_url": 4}


def test_a_non_text_download_is_stopped_at_its_headers(env: dict[str, str]) -> None:
    crawler = crawler_for_tests()
    safety = SafetyMiddleware(crawler)
    request = Request("https://news.example/download?id=3")
    for ctype in ("image/jpeg", "image/svg+xml", "video/mp4", "audio/mpeg", "application/octet-stream",
                  "application/pdf", "application/zip", "font/woff2"):
        with pytest.raises(StopDownload):
            safety.headers_received(Headers({"Content-Type": ctype}), request)
    for ctype in ("text/html; charset=utf-8", "application/rss+xml", "application/atom+xml", "text/xml",
                  "application/feed+json", "application/json", "application/problem+json", "application/xhtml+xml"):
        assert safety.headers_received(Headers({"Content-Type": ctype}), request) is None
    with pytest.raises(IgnoreRequest):
        safety.process_exception(request, StopDownload(fail=True))
    assert skipped(crawler) == {"not_text": 1}


def test_a_wrong_or_missing_charset_is_corrected_from_the_bytes(env: dict[str, str]) -> None:
    crawler = crawler_for_tests()
    charset = CharsetMiddleware(crawler)
    request = Request("https://gov.example/press/1.html")
    cases = [({"Content-Type": "text/html; charset=utf-8"}, korean_article("utf-8"), "cp949"),
             ({"Content-Type": "text/html"}, korean_article(None), "cp949"),
             ({"Content-Type": "text/html"}, korean_article("euc-kr"), "cp949"),  # declared in <meta>: fine
             ({"Content-Type": "text/html; charset=utf-8"}, "<p>딥페이크</p>".encode(), "utf-8"),
             ({"Content-Type": "text/html; charset=iso-8859-1"}, "<p>딥페이크 café</p>".encode(), "utf-8")]
    for headers, body, expected in cases:
        response = charset.process_response(request, HtmlResponse(request.url, headers=headers, body=body))
        assert isinstance(response, HtmlResponse) and response.encoding == expected
    assert KO_TITLE in charset.process_response(
        request, HtmlResponse(request.url, headers=cases[0][0], body=cases[0][1])).text  # type: ignore[attr-defined]
    stats = crawler.stats.get_stats()
    assert stats["dfwatch/repaired/charset_mismatch"] == 3 and stats["dfwatch/repaired/charset_undeclared"] == 1


# --- invite links are redacted in stored text --------------------------------------------

def test_invite_and_file_host_links_are_redacted() -> None:
    text = ("Join t.me/+AbCdEf12 or https://telegram.me/joinchat/XyZ, open.kakao.com/o/gAbC1, "
            "discord.gg/abc and https://discord.com/invite/abc. Files: https://mega.nz/file/Q1#k, "
            "www.mediafire.com/file/x/y.zip. Telegram said it removed the rooms; see https://news.example/t.me.")
    redacted, n = redact(text)
    assert n == 7
    assert redacted == (f"Join {INVITE} or {INVITE}, {INVITE}, {INVITE} and {INVITE}. Files: {FILE_LINK}, "
                        f"{FILE_LINK}. Telegram said it removed the rooms; see https://news.example/t.me.")
    assert redact("tg://join?invite=AbC and kakao.com as a word") == (f"{INVITE} and kakao.com as a word", 1)


def test_the_redact_pipeline_cleans_title_lead_and_text_and_rehashes(env: dict[str, str]) -> None:
    crawler = crawler_for_tests()
    text = "Police said the room at t.me/+SeCrEt had 220,000 members.\nSecond paragraph."
    article = Article(id="x", url="https://news.example/a", canonical_url="https://news.example/a",
                      source=SourceRef("s", "S", "news", "KR", "en"), title="Room t.me/+SeCrEt shut",
                      text=text, lead=text.split("\n")[0], published_at=None, modified_at=None,
                      crawled_at=datetime.now(UTC), authors=[], language="en", content_hash=content_hash(text))
    out = RedactPipeline(crawler).process_item(article)
    assert "t.me" not in out.title + out.lead + out.text and INVITE in out.text
    assert out.content_hash == content_hash(out.text)
    assert crawler.stats.get_value("dfwatch/redacted/links") == 3


# --- per-source politeness ---------------------------------------------------------------

def test_a_sources_politeness_becomes_its_crawlers_delay_and_concurrency(env: dict[str, str], tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    base = {"type": "news", "country": "KR", "language": "en", "strategy": "feed"}
    sources.write_text(yaml.safe_dump({"sources": [
        {**base, "id": "slow-site", "name": "Slow", "urls": ["https://slow.example/rss"],
         "politeness": {"download_delay": 7.5, "concurrent_requests": 1}},
        {**base, "id": "plain-site", "name": "Plain", "urls": ["https://plain.example/rss"]},
    ]}))
    dfw = load_settings(sources_file=sources)
    for source_id, delay, concurrency in (("slow-site", 7.5, 1), ("plain-site", 0.5, 2), ("unknown", 0.5, 2)):
        settings = ScrapySettings({"DFWATCH": dfw})
        DfwatchAddon(SimpleNamespace(spider=SimpleNamespace(source_id=source_id))).update_settings(  # type: ignore[arg-type]
            settings)
        assert settings.getfloat("DOWNLOAD_DELAY") == delay
        assert settings.getfloat("AUTOTHROTTLE_START_DELAY") == delay
        assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == concurrency
        assert settings.getint("REDIRECT_MAX_TIMES") == 5 and settings.getint("DOWNLOAD_MAXSIZE") == 5_000_000


def test_more_than_two_requests_per_host_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "greedy.yaml"
    f.write_text("crawl:\n  concurrent_per_domain: 3\n")
    with pytest.raises(ConfigError, match="crawl.concurrent_per_domain"):
        load_settings(f)


def test_a_per_source_delay_spaces_the_requests_to_a_host(env: dict[str, str], tmp_path: Path) -> None:
    with HostileWeb() as web:
        sources = tmp_path / "sources.yaml"
        source = web.plain_source(download_delay=0.4, concurrent_requests=1)
        sources.write_text(yaml.safe_dump({"sources": [source]}))
        e = {**env, "DFWATCH_SOURCES_FILE": str(sources), "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true",
             "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0"}  # the global setting is overridden by the source
        proc = run_dfwatch("crawl", "--source", "hostile-plain", env=e)
        assert proc.returncode == 0, proc.stderr[-3000:]
        times = sorted(t for path, ts in web.times.items() if path.startswith("/plain/") for t in ts)
    assert len(times) == PLAIN_PAGES + 1  # the feed and its articles
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.4 * 0.5  # DOWNLOAD_DELAY with Scrapy's ±50% jitter
