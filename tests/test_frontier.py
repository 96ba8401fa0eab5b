"""Two `dfwatch crawl-worker` processes on one scrapy-redis frontier: no page fetched twice (the
loopback server's own counts), robots.txt and the User-Agent kept, the same articles indexed
as a one-process `dfwatch crawl`, and a second round that the shared seen-store turns into
feed-only fetching.

Debian's redis-server is started on a free loopback port for this module (no persistence,
its own directory) and killed at the end; if it cannot start, the tests fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import scrapy
from conftest import ROOT, run_dfwatch
from scrapy.utils.request import request_from_dict

from benchmarks.redis_crawl import PRIVATE_PAGES, LoopbackSite, RedisNode, free_port, write_sources
from crawler.frontier import Frontier, JsonRequests, dupefilter_key, frontier_settings, queue_key, seed
from crawler.spiders.sitemap import SitemapSpider
from dfwatch.search import SearchRequest
from dfwatch.settings import load_settings
from dfwatch.store.sqlite import SqliteStore

PAGES = 150
NEW_PAGE = "/extra/new-page.html"
UA = "dfwatch/0.1 (research crawler; +https://github.com/dfwatch/dfwatch#crawler)"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with RedisNode() as node:  # raises (the tests error) if redis-server cannot start
        yield node.url


FILLER = ("the council said on monday that budgets for roads schools and parks would be reviewed by regional "
          "offices after local elections and that reports would follow").split()
ON_TOPIC = ("Police said {n} deepfake sex crime cases were reported in the first seven months of the year, and "
            "that Telegram rooms sharing sexually explicit deepfakes of students were being investigated.")


def page(i: int) -> str:
    """A news page; every third one is on topic (deepfake sexual crime), the rest are dropped as off topic."""
    paras = [" ".join(FILLER[(i + j + k) % len(FILLER)] for k in range(60)).capitalize() + "." for j in range(5)]
    if i % 3 == 0:
        paras.insert(1, ON_TOPIC.format(n=100 + i))
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<!doctype html><html lang=en><head><title>Story {i}</title>"
            f"<meta property='article:published_time' content='2024-08-{1 + i % 28:02d}T10:00:00+09:00'></head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>Story {i}: what the council and police said</h1>"
            f"{body}</article><footer>Test Daily</footer></body></html>")


@pytest.fixture(scope="module")
def site() -> Iterator[LoopbackSite]:
    pages = {f"/news/2024/08/{i:04d}.html": page(i) for i in range(PAGES)}
    with LoopbackSite(pages, [f"/private/{i}.html" for i in range(PRIVATE_PAGES)]) as s:
        yield s


def worker_env(env: dict[str, str], tmp_path: Path, site: LoopbackSite, data: str) -> dict[str, str]:
    sources = tmp_path / "sources.yaml"
    write_sources(sources, site.base)
    return {**env, "DFWATCH_DATA_DIR": str(tmp_path / data), "DFWATCH_SOURCES_FILE": str(sources),
            "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0", "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true"}


def start_workers(env: dict[str, str], redis_url: str, outs: list[Path],
                  idle: float = 4) -> list[subprocess.Popen[str]]:
    return [subprocess.Popen([sys.executable, "-m", "dfwatch", "crawl-worker", "--frontier", redis_url,
                              "--source", "bench", "--idle-timeout", str(idle), "--stats-json", str(out)],
                             env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for out in outs]


def finish(procs: list[subprocess.Popen[str]], outs: list[Path]) -> list[dict[str, Any]]:
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
    return [json.loads(out.read_text())[0] for out in outs]


def indexed_paths(data_dir: Path) -> set[str]:
    store = SqliteStore(data_dir / "dfwatch.sqlite3")
    try:
        return {urlsplit(doc["url"]).path for doc in store.iter_articles(SearchRequest())}
    finally:
        store.close()


def test_two_workers_fetch_each_page_once_and_index_what_one_crawl_does(
        env: dict[str, str], tmp_path: Path, site: LoopbackSite, redis_url: str) -> None:
    e = worker_env(env, tmp_path, site, "shared")
    seeded = run_dfwatch("crawl-worker", "--frontier", redis_url, "--source", "bench", "--seed-only", env=e)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    assert "bench: new round, 1 start request(s) pushed" in seeded.stdout  # the sitemap
    site.reset_counts()
    outs = [tmp_path / f"round1-{i}.json" for i in range(2)]
    # on a loaded machine one worker may be ready seconds before the other, and an idle worker looks
    # at the queue every 5 s: the sitemap waits for both to start (each waits up to 20 s for work),
    # and the pages outlast one look
    site.sitemap_delay, site.page_delay = 8.0, 0.1
    workers = start_workers(e, redis_url, outs, idle=20)
    # meanwhile, one ordinary `dfwatch crawl` process crawls a twin of the site: the oracle
    (tmp_path / "single").mkdir()
    with LoopbackSite(site.pages_html(), site.private) as twin:
        single = worker_env(env, tmp_path / "single", twin, "data")
        crawled = run_dfwatch("crawl", "--source", "bench", env=single)
        assert crawled.returncode == 0, crawled.stderr[-3000:]
    reports = finish(workers, outs)
    site.sitemap_delay, site.page_delay = 0.0, 0.0

    gets = site.article_gets()
    assert len(gets) == PAGES and set(gets.values()) == {1}, "every article page fetched exactly once"
    assert site.duplicates() == {}, "no path fetched twice, the sitemap included"
    assert site.gets["/robots.txt"] == 2, "each worker reads robots.txt itself"
    assert site.gets["/sitemap.xml"] == 1
    assert not [p for p in site.gets if p.startswith("/private/")], "robots.txt Disallow obeyed"
    assert set(site.user_agents) == {UA}
    fetched = [r["articles_fetched"] for r in reports]
    assert sum(fetched) == PAGES and all(n > 0 for n in fetched), f"both workers took pages: {fetched}"
    assert sum(r["skipped"].get("robots_disallowed", 0) for r in reports) == len(site.private)
    assert all(r["finish_reason"] == "finished" and r["errors"] == 0 for r in reports)
    client = redis.Redis.from_url(redis_url)
    assert client.zcard(queue_key("bench")) == 0
    assert client.scard(dupefilter_key("bench")) == 1 + PAGES + len(site.private)  # sitemap, pages, bait
    shared = indexed_paths(tmp_path / "shared")
    assert shared == indexed_paths(tmp_path / "single" / "data"), "same pipelines, same articles indexed"
    assert sum(r["indexed"] for r in reports) == len(shared) > 0

    # round 2, one new page on the site: the seen-store both workers wrote skips every known article
    seed(load_settings(None, data_dir=e["DFWATCH_DATA_DIR"], sources_file=e["DFWATCH_SOURCES_FILE"]),
         Frontier(redis_url), {"bench": "sitemap"})
    site.reset_counts()
    site.pages[NEW_PAGE] = b"<html><body><p>Weather: light rain tomorrow.</p></body></html>"
    try:
        outs = [tmp_path / f"round2-{i}.json" for i in range(2)]
        again = finish(start_workers(e, redis_url, outs), outs)
    finally:
        del site.pages[NEW_PAGE]
    assert site.article_gets() == {} and site.gets[NEW_PAGE] == 1, "only the new page fetched"
    assert site.gets["/sitemap.xml"] == 1 and site.duplicates() == {}
    assert sum(r["skipped"].get("known_unchanged", 0) for r in again) == PAGES


def test_requests_travel_as_json_and_come_back_with_their_callback() -> None:
    spider = SitemapSpider(source="bench")
    request = scrapy.Request("http://127.0.0.1/sitemap.xml", callback=spider.parse_sitemap, cb_kwargs={"depth": 1},
                             headers={"If-None-Match": '"abc"'}, body=b"\x00\xff",
                             meta={"dfwatch": {"kind": "index"}}, priority=3)
    data = JsonRequests.dumps(request.to_dict(spider=spider))
    assert json.loads(data)["meta"] == {"dfwatch": {"kind": "index"}}  # plain JSON: nothing to unpickle
    back = request_from_dict(JsonRequests.loads(data), spider=spider)
    assert (back.url, back.callback, back.cb_kwargs, back.body, back.priority) == \
        (request.url, spider.parse_sitemap, {"depth": 1}, b"\x00\xff", 3)
    assert back.headers[b"If-None-Match"] == b'"abc"'
    with pytest.raises(TypeError):
        JsonRequests.dumps({"meta": {"when": object()}})


def test_frontier_settings_refuse_passwords_in_urls_and_idle_forever() -> None:
    with pytest.raises(ValueError, match="DFWATCH_FRONTIER_PASSWORD"):
        Frontier("redis://:secret@127.0.0.1:6379/0")
    with pytest.raises(ValueError, match="not a Redis URL"):
        Frontier("http://127.0.0.1:6379/0")
    with pytest.raises(ValueError, match="idle_timeout"):
        frontier_settings(Frontier("redis://127.0.0.1:6379/0"), "bench", 0)


def test_worker_fails_loudly_without_its_redis(env: dict[str, str], tmp_path: Path, site: LoopbackSite) -> None:
    e = worker_env(env, tmp_path, site, "data")
    before = sum(site.gets.values())
    proc = run_dfwatch("crawl-worker", "--frontier", f"redis://127.0.0.1:{free_port()}/0", "--source", "bench",
                       env=e, timeout=60)
    assert proc.returncode == 1
    assert "cannot reach the frontier" in proc.stderr
    assert sum(site.gets.values()) == before, "nothing fetched without a frontier"


def test_worker_stops_when_its_redis_goes_away(env: dict[str, str], tmp_path: Path, site: LoopbackSite) -> None:
    with LoopbackSite(site.pages_html(), site.private) as twin:
        e = worker_env(env, tmp_path, twin, "data")
        node = RedisNode().__enter__()
        try:
            seed(load_settings(None, sources_file=e["DFWATCH_SOURCES_FILE"]), Frontier(node.url), {"bench": "sitemap"})
            out = tmp_path / "report.json"
            [worker] = start_workers(e, node.url, [out])
            deadline = time.monotonic() + 120
            while not twin.article_gets() and time.monotonic() < deadline and worker.poll() is None:
                time.sleep(0.1)
            assert twin.article_gets(), "the worker began crawling"
        finally:
            node.__exit__()  # Redis goes away mid-crawl
        _, err = worker.communicate(timeout=120)
    assert worker.returncode == 1
    assert "unreachable" in err and "worker stops" in err
    [report] = json.loads(out.read_text())
    assert report["finish_reason"] == "frontier_lost"
    assert 0 < report["articles_fetched"] < PAGES
