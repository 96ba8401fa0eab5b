"""The search page, the story page and the export downloads, in headless chromium on the fixture corpus.

Must show: search → filter → open story (screenshots ui-search, ui-search-filtered, ui-story), and
exports whose content is checked against the search layer's answer for the same request.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from ui_support import UiSite, shot

from dfwatch.search import SearchService
from dfwatch.search.model import Filters, SearchPage, SearchRequest

SEEDS = ("/news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html",  # Hanbit Times, 28 Aug 2024
         "/asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/")  # Asia Wire Today, 29 Aug 2024: one story
LABELS = ("Search words", "From", "To", "Source type", "Source", "Country", "Language", "Entity", "Topic",
          "Figures", "Sort")
CONTROLS = ("f-q", "f-from", "f-to", "f-type", "f-source", "f-country", "f-lang", "f-entity", "f-topic",
            "f-has_figures", "f-sort")


@pytest.fixture(scope="module")
def svc(ui_site: UiSite) -> Iterator[SearchService]:
    service = SearchService.open(ui_site.settings)
    try:
        yield service
    finally:
        service.close()


def page_request(q: str = "", **filters: Any) -> SearchRequest:
    """What the page asks the service for (first page, collapsed by story)."""
    return SearchRequest(q=q, filters=Filters(**filters), size=20, collapse=True)


def listed(pg: Any) -> list[str]:
    """The article ids the results list shows, in order."""
    return [href.removeprefix("/articles/") for href in
            pg.locator("ol.results .links a[href^='/articles/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")]


def shown_total(pg: Any) -> int:
    return int(pg.locator("#total").get_attribute("data-total"))


def expect(pg: Any, result: SearchPage) -> None:
    assert shown_total(pg) == result.total
    assert listed(pg) == [h.id for h in result.hits]


def test_search_then_filter_then_open_the_story(page: Any, ui_site: UiSite, svc: SearchService) -> None:
    page.goto(f"{ui_site.url}/")
    assert page.get_by_role("heading", name="Newest coverage").is_visible()  # no words: newest first
    newest = svc.search(page_request())
    expect(page, newest)
    assert [h.published_at for h in newest.hits] == sorted((h.published_at for h in newest.hits), reverse=True)

    box = page.get_by_label("Search words")
    box.fill("deepfake")
    box.press("Enter")  # submitted with the keyboard
    page.wait_for_url(re.compile(r"/\?q=deepfake"))
    everything = svc.search(page_request("deepfake"))
    expect(page, everything)
    assert everything.total > len(everything.hits) > 1  # several stories, some with several articles
    assert page.locator("ol.results mark").count() > 0  # highlights, as <mark> elements
    seed = next(h for h in everything.hits if h.story_id and (h.story_size or 0) > 1)
    more = page.locator("ol.results > li", has=page.locator(f"a[href='/articles/{seed.id}']")) \
        .get_by_role("link", name=f"+{(seed.story_size or 0) - 1} more in this story")
    assert more.get_attribute("href") == f"/?q=deepfake&story={seed.story_id}"
    shot(page, "search")

    facets = page.get_by_role("complementary")
    count = next(v.count for v in everything.facets["sources"] if v.value == "asia-wire")
    facet = facets.get_by_role("link", name=re.compile("^Asia Wire Today"))
    assert facet.locator("xpath=..").locator(".count").inner_text() == str(count)
    facet.click()
    page.wait_for_url(re.compile(r"source=asia-wire"))
    narrowed = svc.search(page_request("deepfake", source=("asia-wire",)))
    expect(page, narrowed)
    assert narrowed.total == count < everything.total
    active = facets.get_by_role("link", name=re.compile("^Asia Wire Today"))
    assert active.get_attribute("aria-current") == "true"
    assert active.get_attribute("href") == "/?q=deepfake"  # a second click removes the filter
    chip = page.get_by_role("link", name="Remove filter Source: Asia Wire Today")
    assert chip.is_visible()
    shot(page, "search-filtered")

    seed = next(h for h in narrowed.hits if h.url.rstrip("/").endswith(SEEDS[1].rstrip("/")))
    assert seed.story_id
    result = page.locator("ol.results > li", has=page.locator(f"a[href='/articles/{seed.id}']"))
    result.get_by_role("heading").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/stories/"))
    story = svc.story(seed.story_id)
    assert story is not None
    assert page.get_by_role("heading", level=1).inner_text() == story.story.title
    articles = page.locator("ol.story-articles > li")
    assert articles.count() == len(story.articles) == story.story.article_count
    assert [a.locator("h3").inner_text() for a in articles.all()] == [a["title"] for a in story.articles]
    sources = [a.locator(".source").inner_text() for a in articles.all()]
    assert {"The Hanbit Times", "Asia Wire Today"} <= set(sources)
    urls = {a.locator("a.url").get_attribute("href") for a in articles.all()}
    assert any(u.endswith(SEEDS[0]) for u in urls) and any(u.rstrip("/").endswith(SEEDS[1].rstrip("/")) for u in urls)
    days = [a.locator("time").get_attribute("datetime") for a in articles.all()]
    assert days == [a["published_at"] for a in story.articles]  # first seen first
    figure_links = page.locator("ul.figures a")
    assert figure_links.count() > 0
    assert all(re.fullmatch(r"/articles/[^?]+\?at=\d+#focus", h) for h in
               figure_links.evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    assert page.get_by_role("complementary").get_by_role("link", name="Telegram").first.get_attribute("href") \
        == "/entities/Telegram"
    shot(page, "story")


def _download(pg: Any, name: str, tmp_path: Path) -> Path:
    with pg.expect_download() as info:
        pg.locator(".exports").get_by_role("link", name=name).click()
    download = info.value
    assert re.fullmatch(r"dfwatch-articles-\d{8}T\d{6}Z\.(csv|jsonl|parquet)", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return path


def test_exports_hold_exactly_the_articles_of_the_search(page: Any, ui_site: UiSite, svc: SearchService,
                                                         tmp_path: Path) -> None:
    page.goto(f"{ui_site.url}/?q=telegram")
    every = svc.search(SearchRequest(q="telegram", size=100))
    expected = {h.id for h in every.hits}
    assert len(expected) == every.total > 2
    assert set(listed(page)) <= expected

    text = _download(page, "CSV", tmp_path).read_text(encoding="utf-8")
    header, rows = text.split("\n", 1)
    assert json.loads(header.removeprefix("# dfwatch export "))["query"]["q"] == "telegram"
    assert sorted(r["id"] for r in csv.DictReader(io.StringIO(rows))) == sorted(expected)

    table = pq.read_table(_download(page, "Parquet", tmp_path))
    assert sorted(table.column("id").to_pylist()) == sorted(expected)

    # the same with a filter set on the page: the download follows it
    page.goto(f"{ui_site.url}/?q=telegram&source=hanbit-times&has_figures=true")
    filtered = svc.search(SearchRequest(q="telegram", size=100,
                                        filters=Filters(source=("hanbit-times",), has_figures=True)))
    assert 0 < filtered.total < every.total
    lines = _download(page, "JSONL", tmp_path).read_text(encoding="utf-8").splitlines()
    meta, *records = map(json.loads, lines)
    assert meta["_export"]["query"]["filters"]["source"] == ["hanbit-times"]
    assert sorted(r["id"] for r in records) == sorted(h.id for h in filtered.hits)


def test_phone_viewport_has_no_sideways_scroll(phone: Any, ui_site: UiSite, svc: SearchService) -> None:
    phone.goto(f"{ui_site.url}/?q=deepfake")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "search-phone")
    story_id = next(h.story_id for h in svc.search(page_request("deepfake")).hits if (h.story_size or 0) > 1)
    phone.goto(f"{ui_site.url}/stories/{story_id}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "story-phone")


def test_every_filter_is_labelled_and_reached_by_keyboard(page: Any, ui_site: UiSite, svc: SearchService) -> None:
    page.goto(f"{ui_site.url}/")
    ids = [page.get_by_label(label, exact=True).get_attribute("id") for label in LABELS]
    assert ids == list(CONTROLS)
    page.get_by_label("Search words").focus()
    reached = ["f-q"]
    for _ in range(60):  # a date input takes a Tab per part (day, month, year)
        page.keyboard.press("Tab")
        current = page.evaluate("document.activeElement.id")
        if current and current != reached[-1] and current.startswith("f-"):
            reached.append(current)
        if current == "f-sort":
            break
    assert reached == list(CONTROLS)  # in reading order

    page.get_by_label("Search words").focus()
    page.keyboard.type("deepfake")
    while page.evaluate("document.activeElement.id") != "f-entity":
        page.keyboard.press("Tab")
    page.keyboard.type("Telegram")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"entity=Telegram"))
    expect(page, svc.search(page_request("deepfake", entity=("Telegram",))))
    assert page.get_by_label("Entity", exact=True).input_value() == "Telegram"


def test_an_invalid_date_range_is_explained_beside_the_form_which_keeps_the_query(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/")
    page.get_by_label("Search words").fill("telegram")
    page.get_by_label("From", exact=True).fill("2024-09-01")
    page.get_by_label("To", exact=True).fill("2024-08-01")
    with page.expect_response(re.compile(r"/\?")) as answer:
        page.get_by_label("Search words").press("Enter")
    assert answer.value.status == 422
    alert = page.get_by_role("alert")
    assert "2024-09-01 is after to (2024-08-01)" in alert.inner_text()
    assert page.get_by_label("Search words").input_value() == "telegram"
    start = page.get_by_label("From", exact=True)
    assert start.input_value() == "2024-09-01" and start.get_attribute("aria-invalid") == "true"
    assert page.locator("#err-from").is_visible()
    assert page.locator("ol.results").count() == 0


def test_pages_and_errors_without_a_browser(ui_site: UiSite, svc: SearchService) -> None:
    r = httpx.get(f"{ui_site.url}/", params={"q": "", "from": "", "sort": "date", "type": ""})
    assert r.status_code == 200  # empty fields, as forms send them, are dropped
    stories = svc.search(page_request()).hits
    assert 0 < len(stories) < 20 and 'rel="next"' not in r.text  # one page of stories: no pager
    beyond = httpx.get(f"{ui_site.url}/", params={"q": "deepfake", "page": "1"})
    assert beyond.status_code == 200 and "No more results" in beyond.text
    assert '<a href="/?q=deepfake" rel="prev">Previous</a>' in beyond.text
    story = next(h.story_id for h in svc.search(page_request("deepfake")).hits if (h.story_size or 0) > 1)
    within = httpx.get(f"{ui_site.url}/", params={"q": "deepfake", "story": story})
    matches = svc.search(SearchRequest(q="deepfake", filters=Filters(story_id=story), size=100))
    assert within.text.count('class="result"') == len(matches.hits) == matches.total > 1  # every match listed
    bad = httpx.get(f"{ui_site.url}/export.csv", params={"from": "2024-9-1"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "write days as YYYY-MM-DD" in bad.text
    missing = httpx.get(f"{ui_site.url}/stories/no-such-story")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no story with id" in missing.text
