"""The four strategy spiders (feed, sitemap, listing, discovery) on the fixture web.

Each strategy family has saved pages served by dfwatch.fixtureweb and a real crawl
(`dfwatch crawl` in a subprocess) whose fetched pages, skips by reason and indexed counts
are checked; the hostile cases (ill-formed feed, wrong dates, an item listed twice, a
looping pagination, a rate-limited or broken API) must end with the crawl finished, the
case counted and nothing good lost. A few parse-level tests pin the request metadata
other components rely on. "Now" is frozen at NOW (DFWATCH_NOW) so the 2024 fixtures stay
inside relative date windows.
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from conftest import run_dfwatch
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.spiders.base import SourceSpider, keyword_match, parse_when
from crawler.spiders.discovery import DiscoverySpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.listing import ListingSpider
from crawler.spiders.sitemap import SitemapSpider, read_sitemap
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.fixtureweb.catalog import articles
from dfwatch.fixtureweb.server import SITES_DIR
from dfwatch.sources import Source

NOW = "2024-10-01"
POLICE = {a.path for a in articles(site="police-press")}
ASIA_ON_TOPIC = {a.path for a in articles(site="asia-wire", kind="on_topic")}


def crawl(env: dict[str, str], tmp_path: Path, *sources: dict[str, Any], **extra_env: str) -> tuple[dict, str]:
    """Crawl `sources` once in a fresh data dir; (reports by source id, the INFO log with stats)."""
    run = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    run.mkdir()
    (run / "sources.yaml").write_text(yaml.safe_dump({"sources": list(sources)}, allow_unicode=True))
    e = {**env, "DFWATCH_SOURCES_FILE": str(run / "sources.yaml"), "DFWATCH_DATA_DIR": str(run / "data"),
         "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0", "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true", "DFWATCH_NOW": NOW,
         **extra_env}
    args = [a for s in sources for a in ("--source", s["id"])]
    proc = run_dfwatch("crawl", *args, "--stats-json", str(run / "report.json"), "--log-level", "INFO", env=e)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = {r["source"]: r for r in json.loads((run / "report.json").read_text())}
    assert all(r["finish_reason"] == "finished" for r in reports.values()), reports
    return reports, proc.stderr


def stat(log: str, key: str) -> int:
    """A counter from Scrapy's stats dump in the log (one crawl per log)."""
    found = re.findall(rf"'dfwatch/{re.escape(key)}': (\d+)", log)
    assert len(found) <= 1, found
    return int(found[0]) if found else 0


def fetched(web: FixtureWeb, site: str) -> list[str]:
    """Paths requested from `site`, without robots.txt and without query strings."""
    return [p.split("?", 1)[0] for s, p in web.requests if s == site and p != "/robots.txt"]


def source(web: FixtureWeb, source_id: str, **changes: Any) -> dict[str, Any]:
    return {**web.strategy_sources()[source_id], **changes}


def feed_source(web: FixtureWeb, site: str, **changes: Any) -> dict[str, Any]:
    return {**next(s for s in web.sources() if s["id"] == site), **changes}


# --- helpers every strategy uses ---------------------------------------------------------------

def test_dates_as_indexes_write_them() -> None:
    assert parse_when("Wed, 28 Aug 2024 10:00:00 +0900") == datetime.fromisoformat("2024-08-28T10:00:00+09:00")
    assert parse_when("2024-08-28T10:00:00+09:00") == datetime.fromisoformat("2024-08-28T10:00:00+09:00")
    assert parse_when("20240828T013000Z") == datetime(2024, 8, 28, 1, 30, tzinfo=UTC)  # GDELT seendate
    assert parse_when("2024-08-28") == date(2024, 8, 28)
    assert parse_when("2024.08.28") == date(2024, 8, 28)
    assert parse_when("2024년 8월 28일") == date(2024, 8, 28)
    assert parse_when("28/08/2024", "%d/%m/%Y") == date(2024, 8, 28)
    assert parse_when("등록일 2024-08-28 (수)", "%Y-%m-%d") == date(2024, 8, 28)  # more than the format
    for wrong in ("Fri, 30 Feb 2024 25:61:00 +0900", "0000-00-00 00:00:00", "yesterday", "", None):
        assert parse_when(wrong) is None, wrong


def test_keywords_are_case_insensitive_and_hangul_matches_inside_words() -> None:
    assert keyword_match(["Deepfake"], "South Korea's DEEPFAKES crisis")
    assert keyword_match(["sex"], None, "sexually explicit images")  # the summary counts too
    assert not keyword_match(["AI"], "the minister said")  # Latin terms start a word
    assert keyword_match(["성범죄"], "딥페이크 성범죄물 삭제")
    assert keyword_match(["범죄"], "딥페이크성범죄")  # Hangul: anywhere, particles and compounds
    assert not keyword_match(["deepfake", "딥페이크"], "Telegram drug ring")


def test_gzipped_sitemaps_are_read_and_capped() -> None:
    body = (SITES_DIR / "asia-wire/post-sitemap.xml").read_bytes()
    kind, entries = read_sitemap(gzip.compress(body))
    assert kind == "urlset" and read_sitemap(body) == (kind, entries) and len(entries) == 4
    assert entries[0].lastmod == "2024-09-27T11:00:00+08:00"
    with pytest.raises(ValueError):
        read_sitemap(gzip.compress(body * 50), max_size=len(body) * 10)
    assert read_sitemap(b"") == ("", [])
    assert read_sitemap(b"<html><body>Not found</body></html>")[1] == []


# --- request metadata (what the incremental middleware reads) -----------------------------------

def spider(cls: type[SourceSpider], src: dict[str, Any]) -> SourceSpider:
    crawler = get_crawler(cls, {"DOWNLOAD_MAXSIZE": 5_000_000})
    made = cls.from_crawler(crawler, source=src["id"])
    made.source = Source.model_validate(src)
    made.now = datetime(2024, 10, 1, tzinfo=UTC)
    return made


def served(web: FixtureWeb, url: str, cls: type[Response] = XmlResponse) -> Response:
    with urllib.request.urlopen(url) as resp:  # noqa: S310 - the loopback fixture web
        return cls(url, body=resp.read(), headers={"Content-Type": resp.headers["Content-Type"]})


def test_every_strategy_marks_index_and_article_requests(web: FixtureWeb) -> None:
    police = feed_source(web, "police-press")
    feed = spider(FeedSpider, police)
    [entry] = feed.entry_requests()
    assert entry.meta["dfwatch"] == {"kind": "index"}
    first = next(iter(feed.parse_feed(served(web, police["urls"][0]))))
    assert first.meta["dfwatch"] == {
        "kind": "article", "title": "Police to enforce new penalties for possessing or viewing deepfake sexual material",
        "published": "2024-09-27T10:00:00+09:00", "modified": None}

    sitemap = spider(SitemapSpider, source(web, "asia-wire-sitemaps"))
    reqs = list(sitemap.parse_sitemap(served(web, web.url("asia-wire", "/sitemap.xml")), depth=1))
    assert reqs[0].meta["dfwatch"] == {
        "kind": "article", "title": "Seoul tightens deepfake laws as Telegram's image in Korea takes another hit",
        "published": "2024-09-27T09:30:00+08:00", "modified": "2024-09-27T11:00:00+08:00"}

    listing = spider(ListingSpider, source(web, "police-press-board"))
    page = served(web, web.url("police-press", "/press/board/1.html"), HtmlResponse)
    reqs = list(listing.parse_listing(page, number=1))
    assert [r.meta["dfwatch"] for r in reqs] == [
        {"kind": "article", "title": "Police to enforce new penalties for possessing or viewing deepfake sexual material",
         "published": "2024-09-27", "modified": None},
        {"kind": "article", "title": "경찰청·방심위, 딥페이크 성범죄물 신속 삭제·차단 협력 강화",
         "published": "2024-09-05", "modified": None},
        {"kind": "index"}]
    assert reqs[-1].url == web.url("police-press", "/press/board/2.html")

    gdelt = spider(DiscoverySpider, source(web, "gdelt-doc"))
    api = served(web, web.url("gdelt-api", "/api/v2/doc/doc?query=x"))
    first = next(iter(gdelt.parse_artlist(api, query="x")))
    assert first.meta["dfwatch"] == {
        "kind": "article", "title": "Yoon orders crackdown as deepfake porn 'emergency' grips South Korea",
        "published": "2024-08-28T06:00:00+00:00", "modified": None}
    assert gdelt.is_known(first.url) is False


# --- feed ------------------------------------------------------------------------------------------

def test_rss_feed_keywords_and_date_window(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    src = feed_source(web, "hanbit-times", keywords=["sex", "성범죄"], since="2024-08-27")
    reports, _ = crawl(env, tmp_path, src)
    report = reports["hanbit-times"]
    # the celebrity-scam decoy says nothing of sex crimes; Durov (26 Aug) and the drug ring are too old
    assert report["skipped"] == {"keyword_filter": 1, "outside_date_window": 2, "robots_disallowed": 1}
    assert set(fetched(web, "hanbit-times")) == {
        "/rss.xml", "/news/2024/09/26/assembly-passes-deepfake-possession-bill.html",
        "/news/2024/08/30/live-updates.html", "/news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html"}
    assert report["indexed"] == 2 and report["dropped"] == {"no_article_text": 1}


def test_json_feed_with_a_page_cap(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    with urllib.request.urlopen(web.url("asia-wire", "/feeds/feed.json")) as resp:  # noqa: S310
        assert resp.headers["Content-Type"] == "application/feed+json"
    web.requests.clear()
    src = source(web, "asia-wire-json", politeness={"max_pages": 3})
    reports, _ = crawl(env, tmp_path, src)
    report = reports["asia-wire-json"]
    assert report["skipped"] == {"max_pages": 1}  # the fourth item, the election decoy
    assert sorted(fetched(web, "asia-wire")) == sorted(["/feeds/feed.json", *ASIA_ON_TOPIC])
    assert report["indexed"] == 3 and report["dropped"] == {} and report["errors"] == 0
    assert not any(p.startswith("/img/") for _, p in web.requests)  # the items' images are never fetched


def test_ill_formed_feed_is_read_loosely(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    reports, log = crawl(env, tmp_path, source(web, "police-press-ill-formed"))
    report = reports["police-press-ill-formed"]
    assert report["skipped"] == {"feed_without_entries": 1}  # the HTML maintenance page at a feed URL
    assert stat(log, "feed_bozo") == 1  # raw "&", &nbsp;, unclosed tags, cut off mid-item: still 4 entries
    assert sorted(p for p in fetched(web, "police-press") if p.startswith("/press/view/")) == sorted(POLICE)
    assert report["indexed"] == 4 and report["errors"] == 0


def test_feed_with_wrong_dates_loses_nothing(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    reports, log = crawl(env, tmp_path, source(web, "police-press-wrong-dates", since="2024-08-01"))
    report = reports["police-press-wrong-dates"]
    # 2099-12-31 and 30 February are ignored (counted), "2024-09-05 09:00:00" is read, 2023 is out
    assert stat(log, "bad_date") == 2
    assert report["skipped"] == {"outside_date_window": 1}
    views = [p for p in fetched(web, "police-press") if p.startswith("/press/view/")]
    assert sorted(views) == sorted(POLICE) and "/press/view/2023121101.html" not in views
    assert report["indexed"] == 4 and report["errors"] == 0


def test_feed_listing_the_same_item_twice(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    reports, _ = crawl(env, tmp_path, source(web, "police-press-duplicates"))
    report = reports["police-press-duplicates"]
    assert report["skipped"] == {"duplicate_entry": 2}  # same link twice; same link plus utm_* tags
    views = [p for p in fetched(web, "police-press") if p.startswith("/press/view/")]
    assert sorted(views) == sorted(POLICE)  # each once
    assert report["indexed"] == 4


# --- sitemap ---------------------------------------------------------------------------------------

def test_sitemap_index_news_sitemap_and_lastmod(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    src = source(web, "asia-wire-sitemaps", lastmod_days=45)  # 45 days before NOW: 17 August 2024
    reports, _ = crawl(env, tmp_path, src)
    report = reports["asia-wire-sitemaps"]
    assert report["skipped"] == {
        "duplicate_entry": 2,  # news sitemap and post sitemap list the same two recent articles
        "outside_date_window": 6,  # page-sitemap and posts-2024-01 (whole files), May and January twice
        "site_root": 1,  # the home page in the news sitemap
        "sitemap_loop": 1,  # the archive index lists the main index again
    }
    paths = fetched(web, "asia-wire")
    assert sorted(p for p in paths if p.endswith(".xml")) == [
        "/post-sitemap.xml", "/sitemap.xml", "/sitemap_index.xml", "/sitemaps/archive-index.xml"]
    assert sorted(p for p in paths if not p.endswith(".xml")) == [
        "/asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/",
        "/asia/2024/09/27/korea-deepfake-law-telegram-reputation/"]
    assert report["indexed"] == 2 and report["errors"] == 0

    web.requests.clear()  # "now" is real without DFWATCH_NOW: two years later, nothing is recent
    reports, _ = crawl(env, tmp_path, src, DFWATCH_NOW="")
    assert fetched(web, "asia-wire") == ["/sitemap_index.xml"]
    assert reports["asia-wire-sitemaps"]["skipped"] == {"outside_date_window": 4}


def test_news_sitemap_found_through_robots_txt(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    reports, _ = crawl(env, tmp_path, source(web, "hanbit-times-sitemap", since="2024-08-27"))
    report = reports["hanbit-times-sitemap"]
    assert report["skipped"] == {"outside_date_window": 2, "site_root": 1}  # Durov, the drug ring; home
    assert sorted(fetched(web, "hanbit-times")) == [
        "/business/2024/09/12/deepfake-celebrity-investment-scam-ads.html",
        "/news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html",
        "/news/2024/08/30/live-updates.html",
        "/news/2024/09/26/assembly-passes-deepfake-possession-bill.html",
        "/sitemap.xml"]  # the members-only briefing is not in the sitemap
    assert report["indexed"] == 2 and report["dropped"] == {"no_article_text": 1, "off_topic": 1}


# --- listing ---------------------------------------------------------------------------------------

def test_listing_pages_through_a_press_board(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    reports, _ = crawl(env, tmp_path, source(web, "police-press-board"))
    report = reports["police-press-board"]
    paths = fetched(web, "police-press")
    assert [p for p in paths if p.startswith("/press/board/")] == [f"/press/board/{n}.html" for n in (1, 2, 3)]
    assert sorted(p for p in paths if p.startswith("/press/view/")) == sorted(POLICE)
    assert not any(p.startswith("/files/") for p in paths)  # attachment links are not article links
    assert report["skipped"] == {} and report["indexed"] == 4

    web.requests.clear()
    reports, log = crawl(env, tmp_path, source(web, "police-press-board", since="2024-09-01"))
    paths = fetched(web, "police-press")
    assert [p for p in paths if p.startswith("/press/board/")] == ["/press/board/1.html", "/press/board/2.html"]
    assert sorted(p for p in paths if p.startswith("/press/view/")) == [
        "/press/view/2024090501.html", "/press/view/2024092701.html"]
    assert reports["police-press-board"]["skipped"] == {"outside_date_window": 1}  # page 2: 28 August
    assert stat(log, "listing_stopped/date_cutoff") == 1  # so page 3 is never asked for


def test_listing_whose_pagination_loops(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    reports, _ = crawl(env, tmp_path, source(web, "police-press-archive"))  # XPath selectors
    report = reports["police-press-archive"]
    paths = fetched(web, "police-press")
    # page 3's "next" points back to page 2: the crawl ends, the loop is counted, nothing is lost
    assert [p for p in paths if p.startswith("/press/archive/")] == [f"/press/archive/{n}.html" for n in (1, 2, 3)]
    assert report["skipped"] == {"pagination_loop": 1}
    assert sorted(p for p in paths if p.startswith("/press/view/")) == sorted(POLICE)
    assert report["indexed"] == 4 and report["errors"] == 0


def test_listing_stops_at_a_page_of_known_links(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    state = str(tmp_path / "state")  # both crawls share the seen-store: the second is incremental
    crawl(env, tmp_path, source(web, "police-press-board"), DFWATCH_DATA_DIR=state)
    page = SITES_DIR / "police-press/press/board/1.html"
    web.change("police-press", "/press/board/1.html", page.read_bytes().replace(b">212<", b">480<"))  # views
    web.requests.clear()
    _, log = crawl(env, tmp_path, source(web, "police-press-board"), DFWATCH_DATA_DIR=state)
    assert [p for p in fetched(web, "police-press") if p.startswith("/press/board/")] == ["/press/board/1.html"]
    assert stat(log, "listing_stopped/no_unknown_links") == 1


def test_listing_stops_at_its_page_cap(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    board = {**web.strategy_sources()["police-press-board"]["listing"], "max_pages": 2}
    reports, _ = crawl(env, tmp_path, source(web, "police-press-board", listing=board))
    assert reports["police-press-board"]["skipped"] == {"listing_max_pages": 1}
    assert [p for p in fetched(web, "police-press") if p.startswith("/press/board/")] == [
        "/press/board/1.html", "/press/board/2.html"]
    assert reports["police-press-board"]["indexed"] == 3


# --- discovery -------------------------------------------------------------------------------------

def test_gdelt_discovery_paced_and_tolerant(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    gdelt = source(web, "gdelt-doc", since="2024-08-01")
    throttled, broken = source(web, "gdelt-doc-throttled"), source(web, "gdelt-doc-broken")
    reports, log = crawl(env, tmp_path, gdelt, throttled, broken)

    calls = [(t, urlsplit(p)) for t, s, p in web.request_times if s == "gdelt-api" and p != "/robots.txt"]
    main = [(t, u) for t, u in calls if u.path == "/api/v2/doc/doc"]
    assert [parse_qs(u.query)["query"][0] for _, u in main] in (gdelt["discovery"]["queries"],
                                                                 gdelt["discovery"]["queries"][::-1])
    assert {k: v for k, v in parse_qs(main[0][1].query).items() if k != "query"} == {
        "mode": ["ArtList"], "format": ["json"], "maxrecords": ["250"], "timespan": ["1d"], "sort": ["DateDesc"]}
    assert main[1][0] - main[0][0] >= 4.9  # min_interval_seconds: 5
    asked = [t for t, u in calls if u.path == "/throttled/api/v2/doc/doc"]
    assert len(asked) == 3 and asked[1] - asked[0] >= 4.9 and asked[2] - asked[1] >= 4.9  # RETRY_TIMES: 2

    report = reports["gdelt-doc"]
    # both queries return the same seven articles: a t.me link, a May article, a robots-blocked
    # page, a decoy and three on-topic pages
    assert report["skipped"] == {"blocked_host": 1, "duplicate_entry": 7, "outside_date_window": 1,
                                 "robots_disallowed": 1}
    assert report["indexed"] == 3 and report["dropped"] == {"off_topic": 1} and report["errors"] == 0
    assert reports["gdelt-doc-throttled"]["skipped"] == {"api_rate_limited": 1}  # 429, plain text
    assert reports["gdelt-doc-throttled"]["errors"] == 0 and stat(log, "api_retried") == 2
    assert reports["gdelt-doc-broken"]["skipped"] == {"api_malformed": 1}  # JSON cut off mid-record
    assert reports["gdelt-doc-broken"]["errors"] == 0
    assert not any(p.startswith(("/img/", "/members/")) for _, p in web.requests)
