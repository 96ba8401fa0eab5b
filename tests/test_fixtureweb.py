"""Tests for the offline fixture web (dfwatch.fixtureweb). Only 127.0.0.1 is contacted."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest

from dfwatch.fixtureweb import ARTICLES, SITES, FixtureWeb, articles
from dfwatch.fixtureweb.server import SITES_DIR

REPO = Path(__file__).resolve().parents[1]
EUC_KR_PAGE = "/press/view/2024082801.html"
MALFORMED_PAGE = "/news/2024/08/30/live-updates.html"
SOURCE_KEYS = {"id", "name", "type", "country", "language", "strategy", "urls"}
NEWS_SITES = [s.id for s in SITES if s.feeds]  # every site but the GDELT API stand-in


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fw:
        yield fw


def fetch(url: str, method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request without following redirects; returns (status, headers, body)."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", url  # never leave the machine
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""))
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def raw_get(web: FixtureWeb, site: str, raw_path: str) -> int:
    """Send a request line with an un-normalised path (for traversal tests)."""
    parts = urlsplit(web.base_urls[site])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", parts.netloc)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def site_of(web: FixtureWeb, url: str) -> str:
    matches = [s for s, base in web.base_urls.items() if url.startswith(base + "/")]
    assert len(matches) == 1, url
    return matches[0]


def hrefs(html: str, base: str) -> set[str]:
    return {urljoin(base + "/", h) for h in re.findall(r'href="([^"]+)"', html)}


def test_sources_shape(web: FixtureWeb) -> None:
    sources = web.sources()
    assert [s["id"] for s in sources] == ["hanbit-times", "asia-wire", "police-press"]
    for src in sources:
        assert set(src) == SOURCE_KEYS
        assert src["strategy"] == "feed"
        assert src["type"] in {"news", "government"}
        assert src["urls"] and all(u.startswith(web.base_urls[src["id"]] + "/") for u in src["urls"])
    by_id = {s["id"]: s for s in sources}
    assert by_id["police-press"]["type"] == "government"
    assert by_id["police-press"]["language"] == "ko"
    assert (by_id["asia-wire"]["country"], by_id["hanbit-times"]["country"]) == ("SG", "KR")
    assert web.url("asia-wire", "feeds/atom.xml") == by_id["asia-wire"]["urls"][0]


def test_feeds_parse_and_every_entry_resolves(web: FixtureWeb) -> None:
    expected_types = {"hanbit-times": "application/rss+xml", "asia-wire": "application/atom+xml",
                      "police-press": "application/rss+xml"}
    for src in web.sources():
        status, headers, body = fetch(src["urls"][0])
        assert status == 200
        assert headers["Content-Type"] == expected_types[src["id"]]
        feed = feedparser.parse(body)
        assert not feed.bozo, feed.get("bozo_exception")
        paths = set()
        for entry in feed.entries:
            assert entry.title and entry.get("author") and entry.get("summary")
            assert entry.get("published_parsed") or entry.get("updated_parsed")
            assert site_of(web, entry.link) == src["id"]
            assert fetch(entry.link)[0] == 200, entry.link
            paths.add(urlsplit(entry.link).path)
        assert paths == {a.path for a in articles(site=src["id"])}


def test_catalog_counts() -> None:
    assert len(ARTICLES) >= 14
    kinds = {a.kind for a in ARTICLES}
    assert {"on_topic", "decoy", "malformed", "robots_blocked"} <= kinds
    assert len({(a.site, a.path) for a in ARTICLES}) == len(ARTICLES)
    assert {a.site for a in ARTICLES} == set(NEWS_SITES)  # the API stand-in has no pages of its own


def test_home_and_listing_pages_link_articles(web: FixtureWeb) -> None:
    pages = {"hanbit-times": "/", "asia-wire": "/", "police-press": "/press/list.html"}
    for site, path in pages.items():
        status, _, body = fetch(web.url(site, path))
        assert status == 200
        links = hrefs(body.decode("utf-8"), web.base_urls[site])
        for art in articles(site=site):
            assert web.url(site, art.path) in links, (site, art.path)
    _, _, body = fetch(web.url("police-press", "/press/list.html"))
    assert body.count(b"<tr>") == len(articles(site="police-press")) + 1  # header row


def test_sitemaps_list_articles(web: FixtureWeb) -> None:
    ns = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
          "news": "http://www.google.com/schemas/sitemap-news/0.9"}
    for site in NEWS_SITES:
        status, headers, body = fetch(web.url(site, "/sitemap.xml"))
        assert status == 200 and headers["Content-Type"] == "application/xml"
        root = ET.fromstring(body)
        locs = {u.findtext("sm:loc", namespaces=ns): u for u in root.findall("sm:url", ns)}
        for art in articles(site=site):
            url = web.url(site, art.path)
            if art.kind == "robots_blocked":
                assert url not in locs
                continue
            assert url in locs, url
            news = locs[url].find("news:news", ns)
            assert news is not None
            assert news.findtext("news:publication_date", namespaces=ns) == art.published
            assert news.findtext("news:title", namespaces=ns) == art.title


def test_robots_txt(web: FixtureWeb) -> None:
    for site in NEWS_SITES:
        status, headers, body = fetch(web.url(site, "/robots.txt"))
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert f"Sitemap: {web.url(site, '/sitemap.xml')}" in body.decode()
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(body.decode().splitlines())
        for art in articles(site=site):
            allowed = parser.can_fetch("dfwatch/0.1", web.url(site, art.path))
            assert allowed == (art.kind != "robots_blocked"), art.path
        assert parser.can_fetch("dfwatch/0.1", web.url(site, "/sitemap.xml"))
        if site == "hanbit-times":
            assert not parser.can_fetch("dfwatch/0.1", web.url(site, "/members/2024/08/x.html"))
        if site == "asia-wire":
            assert not parser.can_fetch("dfwatch/0.1", web.url(site, "/search?q=deepfake"))


def test_article_markup(web: FixtureWeb) -> None:
    for art in ARTICLES:
        if art.kind == "malformed":
            continue
        url = web.url(art.site, art.path)
        status, _, body = fetch(url)
        assert status == 200
        html = body.decode(art.encoding)
        assert html.lower().startswith("<!doctype html>")
        assert f'<html lang="{art.language}' in html
        assert f'<link rel="canonical" href="{url}">' in html
        assert f'<meta property="og:url" content="{url}">' in html
        assert '<meta property="og:type" content="article">' in html
        assert f'<meta property="article:published_time" content="{art.published}">' in html
        assert re.search(r"<h1[^>]*>", html) and "<article" in html
        assert f'<time datetime="{art.published}"' in html or f'datetime="{art.published}"' in html
        ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
        assert ld, url
        data = json.loads(ld.group(1))
        assert data["@type"] == "NewsArticle" and data["url"] == url
        assert data["headline"] == art.title and data["datePublished"] == art.published
        assert data["author"] and data["publisher"]["name"] and data["dateModified"]
        assert "ADVERTISEMENT" in html
        assert 'href="https://t.me/+' in html and 'href="https://mega.nz/' in html
        main = re.search(r"<article.*?</article>", html, re.S).group(0)
        assert 4 <= main.count("<p>") <= 9, url  # body paragraphs (captions etc. have classes)
        aside = re.search(r"<aside.*?</aside>", html, re.S).group(0)
        assert 3 <= aside.count("<a href=") <= 5, url
        assert "privacy" in html.lower() and "&copy;" in html


def test_malformed_page_is_truncated_garbage(web: FixtureWeb) -> None:
    status, headers, body = fetch(web.url("hanbit-times", MALFORMED_PAGE))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"\x00" in body and b"</html>" not in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_trafilatura_extraction(web: FixtureWeb) -> None:
    import trafilatura

    for art in ARTICLES:
        url = web.url(art.site, art.path)
        _, _, body = fetch(url)
        text = trafilatura.extract(body, url=url)
        if art.kind == "malformed":
            assert text is None, url
        else:
            assert text and len(text) > 300, url
    _, _, body = fetch(web.url("hanbit-times",
                               "/news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html"))
    text = trafilatura.extract(body)
    assert "220,000" in text and "297" in text and "180" in text
    _, _, body = fetch(web.url("police-press", EUC_KR_PAGE))
    text = trafilatura.extract(body)
    assert "딥페이크" in text and "297건" in text


def test_euc_kr_page(web: FixtureWeb) -> None:
    url = web.url("police-press", EUC_KR_PAGE)
    status, headers, body = fetch(url)
    assert status == 200
    assert headers["Content-Type"] == "text/html"  # no charset: clients must sniff
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    html = body.decode("euc-kr")
    assert '<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">' in html
    assert "경찰청, 딥페이크 성범죄 7개월간 특별 집중단속 착수" in html
    assert "297건" in html and "180건" in html and "113명" in html
    assert (SITES_DIR / "police-press" / EUC_KR_PAGE.lstrip("/")).read_bytes().count(b"{{base}}") > 0
    from scrapy.http import HtmlResponse

    resp = HtmlResponse(url, body=body, headers={"Content-Type": "text/html"})
    assert resp.encoding.lower() in {"cp949", "euc-kr", "euc_kr"}
    assert resp.css("h1::text").get() == "경찰청, 딥페이크 성범죄 7개월간 특별 집중단속 착수"


def test_images_are_never_served(web: FixtureWeb) -> None:
    images: set[str] = set()
    for art in ARTICLES:
        url = web.url(art.site, art.path)
        html = fetch(url)[2].decode(art.encoding, errors="replace")
        images |= {urljoin(url, s) for s in re.findall(r'<img[^>]+src="([^"]+)"', html)}
        images |= set(re.findall(r'<meta property="og:image" content="([^"]+)"', html))
    assert len(images) >= 14
    for img in images:
        assert urlsplit(img).path.startswith("/img/")
        assert fetch(img)[0] == 404, img
        assert fetch(img, "HEAD")[0] == 404, img
    assert not any(p.suffix in {".jpg", ".jpeg", ".png", ".gif", ".webp"}
                   for p in SITES_DIR.rglob("*"))


def test_requests_are_logged(web: FixtureWeb) -> None:
    fetch(web.url("asia-wire", "/feeds/atom.xml?probe=1"))
    fetch(web.url("hanbit-times", "/img/never-there.jpg"))
    assert ("asia-wire", "/feeds/atom.xml?probe=1") in web.requests
    assert ("hanbit-times", "/img/never-there.jpg") in web.requests
    assert all(isinstance(s, str) and p.startswith("/") for s, p in web.requests)


def test_no_placeholder_in_any_served_file(web: FixtureWeb) -> None:
    served = 0
    for site in web.base_urls:
        root = SITES_DIR / site
        for file in root.rglob("*"):
            if not file.is_file() or file.name.startswith("_"):
                continue
            rel = "/" + file.relative_to(root).as_posix()
            if rel.endswith("/index.html"):
                rel = rel[: -len("index.html")]
            status, _, body = fetch(web.url(site, rel))
            assert status == int(overrides(site).get(rel, {}).get(":status", 200)), rel
            assert b"{{base}}" not in body, rel
            if b"{{base}}" in file.read_bytes():
                assert web.base_urls[site].encode() in body
            served += 1
    assert served >= 14 + 3 * 3


def overrides(site: str) -> dict[str, dict[str, str]]:
    path = SITES_DIR / site / "_headers.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


def test_strategy_sources_are_valid_and_stay_home(web: FixtureWeb) -> None:
    from dfwatch.sources import Source

    sources = web.strategy_sources()
    assert {s["strategy"] for s in sources.values()} == {"feed", "sitemap", "listing", "discovery"}
    for src in sources.values():
        Source.model_validate(src)
        assert all(fetch(u)[0] in (200, 429) for u in src["urls"]), src["id"]


def test_gdelt_stand_in(web: FixtureWeb) -> None:
    status, headers, body = fetch(web.url("gdelt-api", "/api/v2/doc/doc?query=deepfake&mode=ArtList&format=json"))
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    found = json.loads(body)["articles"]
    assert {"url", "title", "seendate", "domain", "language", "sourcecountry"} <= set(found[0])
    local = [a["url"] for a in found if a["url"].startswith("http://127.0.0.1:")]
    assert len(local) == len(found) - 1 and all(fetch(u)[0] == 200 for u in local)  # and one t.me link
    status, headers, body = fetch(web.url("gdelt-api", "/throttled/api/v2/doc/doc?query=x"))
    assert status == 429 and headers["Content-Type"].startswith("text/plain")
    assert body.startswith(b"Please limit requests to one every 5 seconds")
    status, _, body = fetch(web.url("gdelt-api", "/broken/api/v2/doc/doc?query=x"))
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_http_behaviour(web: FixtureWeb) -> None:
    article = "/asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/"
    status, headers, body = fetch(web.url("asia-wire", article), "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000
    status, headers, _ = fetch(web.url("asia-wire", article.rstrip("/")))
    assert status == 301 and headers["Location"] == article
    assert fetch(web.url("hanbit-times", "/index.html"))[0] == 200
    assert fetch(web.url("hanbit-times", "/no/such/page.html"))[0] == 404
    assert fetch(web.url("police-press", "/_headers.json"))[0] == 404
    for raw in ("/../server.py", "/../../fixtureweb/server.py", "/%2e%2e/server.py",
                "/press/../../__init__.py", "/..%2f..%2fcatalog.py", "//etc/passwd"):
        assert raw_get(web, "police-press", raw) == 404, raw


def test_server_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    with FixtureWeb() as fw:
        fetch(fw.url("hanbit-times", "/rss.xml"))
        fetch(fw.url("hanbit-times", "/missing"))
        raw_get(fw, "hanbit-times", "/../x")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_stop_releases_ports() -> None:
    fw = FixtureWeb().start()
    url = fw.url("hanbit-times", "/robots.txt")
    assert fetch(url)[0] == 200
    fw.stop()
    with pytest.raises(OSError):
        fetch(url)


def test_module_main_serves_until_interrupted() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "dfwatch.fixtureweb"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(len(SITES))]
        bases = [re.search(r"http://127\.0\.0\.1:\d+", line).group(0) for line in lines]
        assert fetch(bases[0] + "/robots.txt")[0] == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0  # generous: CI machines are loaded
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_conditional_get_and_changed_pages(web: FixtureWeb) -> None:
    import urllib.request

    url = web.url("hanbit-times", "/rss.xml")
    with urllib.request.urlopen(url) as resp:  # noqa: S310 - loopback
        etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
    req = urllib.request.Request(url, headers={"If-None-Match": etag})
    try:
        urllib.request.urlopen(req)  # noqa: S310
        raise AssertionError("expected 304")
    except urllib.error.HTTPError as exc:
        assert exc.code == 304
    web.change("hanbit-times", "/rss.xml", b"<rss version='2.0'><channel><title>x</title></channel></rss>")
    with urllib.request.urlopen(urllib.request.Request(url, headers={"If-None-Match": etag})) as resp:  # noqa: S310
        assert resp.status == 200 and resp.headers["ETag"] != etag and resp.headers["Last-Modified"] != modified
        assert b"<title>x</title>" in resp.read()
