"""Incremental crawling over the fixture web: re-runs fetch nothing new; a changed article is updated once.

How an update is noticed (see crawler/seen.py): the feed is re-read only when it changed
(conditional GET); a known article is fetched again when its entry's modified date is newer
than stored (Atom `<updated>`, sitemap `<lastmod>`), or, for articles published within
`crawl.recheck_days`, with a conditional GET of its own (RSS `pubDate` never moves).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from conftest import run_dfwatch

from crawler.seen import SeenStore
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.fixtureweb.catalog import articles
from dfwatch.fixtureweb.hostile import HostileWeb
from dfwatch.fixtureweb.server import SITES_DIR
from dfwatch.store.sqlite import SqliteStore
from dfwatch.urls import article_id, canonical_url

SITES = ("hanbit-times", "asia-wire", "police-press")
YOON = "/asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/"
BILL = "/news/2024/09/26/assembly-passes-deepfake-possession-bill.html"
KEPT = len(articles()) - len(articles(kind="decoy")) - 2  # minus robots-blocked and malformed


def crawl_env(env: dict[str, str], web: FixtureWeb, tmp_path: Path, **extra: str) -> dict[str, str]:
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": web.sources()}, allow_unicode=True))
    return {**env, "DFWATCH_SOURCES_FILE": str(sources), "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0",
            "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true", "DFWATCH_NOW": "2024-10-01T00:00:00+00:00", **extra}


def crawl(env: dict[str, str], tmp_path: Path) -> dict[str, dict[str, Any]]:
    out = tmp_path / "report.json"
    proc = run_dfwatch("crawl", *[a for s in SITES for a in ("--source", s)], "--stats-json", str(out), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = {r["source"]: r for r in json.loads(out.read_text())}
    assert all(r["finish_reason"] == "finished" and r["errors"] == 0 for r in reports.values()), reports
    return reports


def served(web: FixtureWeb, since: int) -> list[str]:
    return [path for _, path in web.requests[since:]]


def stored(env: dict[str, str], url: str) -> dict[str, Any] | None:
    store = SqliteStore(Path(env["DFWATCH_DATA_DIR"]) / "dfwatch.sqlite3")
    try:
        return store.get(article_id(url))
    finally:
        store.close()


def test_second_run_over_an_unchanged_web_fetches_no_article_page(
        env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    e = crawl_env(env, web, tmp_path)
    first = crawl(e, tmp_path)
    assert sum(r["new"] for r in first.values()) == sum(r["indexed"] for r in first.values()) == KEPT
    assert sum(r["articles_fetched"] for r in first.values()) == len(articles()) - 1  # all but robots-blocked

    before = len(web.requests)
    second = crawl(e, tmp_path)
    assert {s: r["articles_fetched"] for s, r in second.items()} == dict.fromkeys(SITES, 0)
    assert all(r["skipped"] == {"not_modified": 1} for r in second.values()), second  # each feed: a 304
    assert sum(r["indexed"] + r["new"] + r["updated"] for r in second.values()) == 0
    feeds = {"/rss.xml", "/feeds/atom.xml", "/press/rss.xml"}
    assert sorted(served(web, before)) == sorted([*feeds, *["/robots.txt"] * len(SITES)])

    # dropped pages are remembered with their reason, so they are not fetched again either
    seen = SeenStore.open(Path(e["DFWATCH_DATA_DIR"]) / "state.sqlite3")
    try:
        outcomes = {a.kind: seen.get(canonical_url(web.url(a.site, a.path))) for a in articles()}
        assert outcomes["decoy"] is not None and outcomes["decoy"].outcome == "off_topic"
        assert outcomes["malformed"] is not None and outcomes["malformed"].outcome == "no_article_text"
        assert outcomes["on_topic"] is not None and outcomes["on_topic"].outcome == "indexed"
        assert outcomes["robots_blocked"] is None
        assert seen.is_known(web.url("asia-wire", YOON) + "?utm_source=x")  # any form of the URL
    finally:
        seen.close()


def test_an_article_whose_feed_entry_is_updated_is_re_extracted_once(
        env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    e = crawl_env(env, web, tmp_path)
    crawl(e, tmp_path)
    page = (SITES_DIR / "asia-wire" / YOON.strip("/") / "index.html").read_bytes()
    correction = b" Update: ministers met again on Friday to agree measures against deepfake sexual abuse."
    changed = page.replace(b"He called for thorough investigations.", b"He called for thorough investigations."
                           + correction)
    assert changed != page
    feed = (SITES_DIR / "asia-wire" / "feeds" / "atom.xml").read_bytes()
    newer = feed.replace(b"<updated>2024-08-29T15:40:00+08:00</updated>", b"<updated>2024-08-30T09:00:00+08:00</updated>")
    assert newer != feed
    web.change("asia-wire", YOON + "index.html", changed)
    web.change("asia-wire", "/feeds/atom.xml", newer)

    before = len(web.requests)
    third = crawl(e, tmp_path)
    asia = third["asia-wire"]
    assert (asia["articles_fetched"], asia["updated"], asia["new"], asia["unchanged"]) == (1, 1, 0, 0), asia
    assert asia["skipped"] == {"known_unchanged": 3}  # incl. the off-topic decoy, remembered
    assert third["hanbit-times"]["articles_fetched"] == third["police-press"]["articles_fetched"] == 0
    assert served(web, before).count(YOON) == 1
    doc = stored(e, web.url("asia-wire", YOON))
    assert doc is not None and "ministers met again on Friday" in doc["text"]
    proc = run_dfwatch("search", "", "--json", "--size", "100", env=e)
    assert len(json.loads(proc.stdout)["hits"]) == KEPT  # updated in place, never duplicated

    fourth = crawl(e, tmp_path)
    assert sum(r["articles_fetched"] for r in fourth.values()) == 0


def test_recent_articles_are_rechecked_so_a_silent_correction_is_caught(
        env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    """An RSS feed whose pubDate never moves: the correction is found by re-checking recent articles."""
    e = crawl_env(env, web, tmp_path, DFWATCH_CRAWL__RECHECK_DAYS="30")
    crawl(e, tmp_path)
    page = (SITES_DIR / "hanbit-times" / BILL.strip("/")).read_bytes()
    changed = page.replace(b"widening the law beyond those who create and spread it.",
                           b"widening the law beyond those who create and spread it, with up to three years in prison.")
    assert changed != page
    feed = (SITES_DIR / "hanbit-times" / "rss.xml").read_bytes()
    web.change("hanbit-times", BILL, changed)
    web.change("hanbit-times", "/rss.xml", feed.replace(b"<lastBuildDate>Thu, 26 Sep 2024 17:45:00",
                                                          b"<lastBuildDate>Mon, 30 Sep 2024 08:00:00"))

    again = crawl(e, tmp_path)
    hanbit = again["hanbit-times"]
    assert (hanbit["articles_fetched"], hanbit["updated"], hanbit["new"]) == (1, 1, 0), hanbit
    # the other article published in the 30 days before 2024-10-01 (the scam-ad decoy) was asked
    # conditionally and answered 304; the four older ones were not asked at all
    assert hanbit["skipped"] == {"not_modified": 1, "known_unchanged": 4, "robots_disallowed": 1}, hanbit
    doc = stored(e, web.url("hanbit-times", BILL))
    assert doc is not None and "up to three years in prison" in doc["text"]


def test_a_page_given_up_for_now_is_asked_for_again_next_run(env: dict[str, str], tmp_path: Path) -> None:
    """After a transient failure (here a 429 asking for an hour) the feed's validators are not kept:
    the next run reads the feed in full and asks for the missing page again, and only for it."""
    with HostileWeb() as web:
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": web.sources()}))
        e = {**env, "DFWATCH_SOURCES_FILE": str(sources), "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true",
             "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0", "DFWATCH_CRAWL__MAX_RETRY_AFTER": "5"}
        reports = []
        for _ in range(2):
            out = tmp_path / "report.json"
            proc = run_dfwatch("crawl", "--source", "hostile-retry-after", "--stats-json", str(out), env=e)
            assert proc.returncode == 0, proc.stderr[-3000:]
            reports.extend(json.loads(out.read_text()))
        first, second = reports
        assert first["skipped"] == {"http_429": 1} and first["new"] == 3
        assert second["skipped"] == {"http_429": 1, "known_unchanged": 3} and second["articles_fetched"] == 0
        assert web.hits["/retry-after/feed.xml"] == 2 and web.hits["/retry-after/too-long.html"] == 2
        assert web.hits["/retry-after/good.html"] == 1
