"""The hostile article renders inert: its `<script>` and `<img onerror>` payloads are text on every page.

The `page` fixture fails the test if any dialog fired or the CSP was broken; these tests also check
that the DOM holds the payload as text, and that no script, no event-handler attribute and no
injected element exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from docs_support import doc
from fastapi.testclient import TestClient
from ui_support import HOSTILE_ENTITY, HOSTILE_ID, HOSTILE_TEXT, HOSTILE_TITLE, UiSite, shot

from dfwatch.settings import load_settings
from dfwatch.store import open_store
from dfwatch.web import create_app

SCRIPT_TEXT = '<script>alert("t")</script>'
IMG_TEXT = "<img src=x onerror=alert(1)>"
HANDLERS = "[onerror], [onload], [onmouseover], [onclick], [onfocus]"


def inert(pg: Any) -> None:
    """No script element, no event-handler attribute, no element the payloads would have made."""
    assert pg.locator("script").count() == 0
    assert pg.locator(HANDLERS).count() == 0
    assert pg.locator("img").count() == 0
    assert pg.locator("b").count() == 0  # the entity's <b onmouseover> stays text


def test_search_results_and_facets_show_the_payloads_as_text(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/")
    page.get_by_label("Search words").fill("Telegram deepfake channel")
    page.get_by_label("Search words").press("Enter")
    page.wait_for_url(re.compile(r"q=Telegram"))
    hit = page.locator("ol.results > li", has=page.locator(f"a[href='/articles/{HOSTILE_ID}']"))
    heading = hit.get_by_role("heading")
    assert heading.inner_text() == HOSTILE_TITLE  # highlighted words, the rest text
    assert heading.locator("mark").count() >= 1
    assert page.get_by_text(SCRIPT_TEXT, exact=False).first.is_visible()
    assert page.get_by_text(IMG_TEXT, exact=False).first.is_visible()
    assert 'alert("b")' in hit.locator(".snippet").inner_text()
    facet = page.get_by_role("complementary").get_by_role("link", name=HOSTILE_ENTITY, exact=True)
    assert facet.is_visible()
    inert(page)
    shot(page, "hostile")

    facet.click()  # the entity as a filter: a chip and the form field hold it as text
    page.wait_for_url(re.compile(r"entity="))
    assert page.get_by_label("Entity", exact=True).input_value() == HOSTILE_ENTITY
    assert page.get_by_role("link", name=f"Remove filter Entity: {HOSTILE_ENTITY}").is_visible()
    assert page.locator("ol.results > li").count() == 1
    inert(page)


def test_a_hostile_query_is_echoed_as_text(page: Any, ui_site: UiSite) -> None:
    query = '"><script>alert("q")</script><img src=x onerror=alert(5)>'
    page.goto(f"{ui_site.url}/?q={quote(query)}")
    assert page.get_by_label("Search words").input_value() == query
    assert page.title() == f"{query} · search · dfwatch"
    inert(page)


def test_the_story_page_shows_the_payloads_as_text(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/?q={quote('Telegram deepfake channel')}")
    page.locator("ol.results > li", has=page.locator(f"a[href='/articles/{HOSTILE_ID}']")) \
        .get_by_role("heading").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/stories/"))
    assert page.get_by_role("heading", level=1).inner_text() == HOSTILE_TITLE
    assert page.title() == f"{HOSTILE_TITLE} · story · dfwatch"
    assert page.locator("ol.story-articles h3").inner_text() == HOSTILE_TITLE
    assert page.get_by_role("complementary").get_by_role("link", name=HOSTILE_ENTITY, exact=True).is_visible()
    figure = page.locator("ul.figures a").first
    assert figure.get_attribute("href") == f"/articles/{HOSTILE_ID}?at={HOSTILE_TEXT.index('45')}#focus"
    inert(page)
    shot(page, "hostile-story")


def test_the_article_page_shows_the_payloads_as_text(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/articles/{HOSTILE_ID}")
    assert page.get_by_role("heading", level=1).inner_text() == HOSTILE_TITLE
    assert page.get_by_text('<script>alert("b")</script>', exact=False).first.is_visible()
    assert page.get_by_text('<img src=x onerror="alert(2)">', exact=False).first.is_visible()
    inert(page)
    shot(page, "hostile-article")


def test_an_original_url_that_is_not_http_is_shown_as_text_never_linked(tmp_path: Path) -> None:
    settings = load_settings(data_dir=str(tmp_path))
    store = open_store(settings)
    store.setup()
    bad = doc("js-1", "asia-wire", "2024-08-29T03:00:00+00:00", "Deepfake link test", "A deepfake story.",
              story_id="story-js")
    bad["url"] = "javascript:alert(document.domain)"
    store.upsert([bad])
    store.close()
    client = TestClient(create_app(settings))
    for path in ("/?q=deepfake", "/stories/story-js"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "Original (not a web link): javascript:alert(document.domain)" in r.text
        assert 'href="javascript:' not in r.text.lower()
