"""The timeline and entity pages on the real app in headless chromium, against the crawled fixture corpus.

Must-show: the timeline's coverage bars match the search service (and the catalog), and a real mouse
click on a bar lands on the search page filtered to that bucket, listing exactly its stories; the
police-cases series shows 180 and 297 with the planted 279 marked as a conflict and its source named;
the entity page shows mentions over time, co-occurring entities and Korean aliases. Pages fit a phone,
and the hostile entity stays text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from test_fixture_corpus import TELEGRAM_MONTHS
from ui_support import HOSTILE_ENTITY, HOSTILE_TITLE, UiSite, hostile_doc, shot

from dfwatch.fixtureweb.catalog import PLANTED_CONFLICT
from dfwatch.search import SearchService
from dfwatch.search.model import Bucket, FigureQuery, Filters, SearchRequest
from dfwatch.web.params import with_articles
from dfwatch.web.ui import timeline
from dfwatch.web.ui.timeline import bucket_range, bucket_rows, period_label

KNPA = "Korean National Police Agency"
POLICE_SERIES = "Police cases reported in South Korea"


@pytest.fixture(scope="module")
def service(ui_site: UiSite) -> Iterator[SearchService]:
    with SearchService.open(ui_site.settings) as svc:
        yield svc


def month_of(published: str) -> str:
    return datetime.fromisoformat(published).astimezone(UTC).strftime("%Y-%m")


def texts(locator: Any) -> list[str]:
    """The text of each matched node (SVG elements have no innerText)."""
    return list(locator.evaluate_all("ns => ns.map(n => n.textContent)"))


def story_hrefs(svc: SearchService, req: SearchRequest) -> list[str]:
    return [f"/stories/{quote(h.story_id or '', safe='')}" if h.story_id else f"/articles/{quote(h.id, safe='')}"
            for h in svc.search(req).hits]


def test_timeline_bucket_click_through_lands_on_that_months_results(page: Any, ui_site: UiSite,
                                                                     service: SearchService) -> None:
    expected = {b.key[:7]: b.count for b in service.timeline(SearchRequest(q="telegram"), interval="month").buckets}
    catalog = TELEGRAM_MONTHS.copy()
    catalog[month_of(hostile_doc()["published_at"])] += 1  # ui_site's hostile article mentions Telegram
    assert expected == catalog

    page.goto(f"{ui_site.url}/timeline?q=telegram&interval=month")
    bars = page.locator("figure.coverage svg a")
    shown = dict(label.split(": ", 1) for label in bars.evaluate_all("as => as.map(a => a.getAttribute('aria-label'))"))
    assert {k: int(v.split()[0]) for k, v in shown.items()} == expected
    rows = page.locator("table.buckets tbody tr")
    assert {r.locator("th").inner_text(): int(r.locator("td.num").inner_text()) for r in rows.all()} == expected
    heights = {k: float(page.locator(f'figure.coverage svg a[aria-label^="{k}:"] rect.bar').get_attribute("height"))
               for k in expected}
    assert heights["2024-08"] / heights["2024-05"] == pytest.approx(expected["2024-08"] / expected["2024-05"])
    assert page.locator("figure.coverage svg[role=img] > title").text_content().startswith("Coverage over time")
    shot(page, "timeline")

    page.locator('figure.coverage svg a[aria-label^="2024-08:"] rect.bar').click()  # a real mouse click
    page.wait_for_url("**/?*")
    url = urlsplit(page.url)
    assert url.path == "/"
    assert parse_qs(url.query) == {"q": ["telegram"], "from": ["2024-08-01"], "to": ["2024-08-31"]}
    month = SearchRequest(q="telegram", filters=Filters(date_from=date(2024, 8, 1), date_to=date(2024, 8, 31)),
                          collapse=True, size=20, facets=False, highlight=False)
    listed = page.locator("ol.results > li.result")
    assert listed.locator("h3 a").evaluate_all("as => as.map(a => a.getAttribute('href'))") == story_hrefs(
        service, month)
    assert {month_of(d) for d in listed.locator("time").evaluate_all(
        "ts => ts.map(t => t.getAttribute('datetime'))")} == {"2024-08"}
    assert service.count(month) == expected["2024-08"]
    shot(page, "timeline-bucket")


def test_the_bucket_table_is_the_keyboard_path_to_the_same_links(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/timeline?q=telegram&interval=month&source=&from=")
    chart = page.locator("figure.coverage svg a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    table = page.locator("table.buckets tbody th a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert chart == table and len(chart) == 3
    assert all("source=" not in h and h.count("from=") == 1 for h in table)  # empty form fields dropped
    link = page.locator("table.buckets tbody th a").first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/?*")
    assert parse_qs(urlsplit(page.url).query)["from"] == ["2024-05-01"]


def test_bucket_links_keep_inside_the_requested_dates() -> None:
    buckets = [Bucket("2024-08-01", 3), Bucket("2024-10-01", 1)]
    rows = bucket_rows(buckets, "month", [("q", "x"), ("from", "2024-08-15")], date(2024, 8, 15), None)
    assert [(r.label, r.count) for r in rows] == [("2024-08", 3), ("2024-09", 0), ("2024-10", 1)]
    assert rows[0].href == "/?q=x&from=2024-08-15&to=2024-08-31" and rows[1].href is None
    assert bucket_range("2024-08-26", "week", None, date(2024, 8, 28)) == ("2024-08-26", "2024-08-28")
    assert bucket_range("2024-07-01", "quarter", None, None) == ("2024-07-01", "2024-09-30")
    assert (period_label("2023-01-01", "2023-12-31"), period_label("2024-01-01", "2024-07-31"),
            period_label("2024-08-01", "2024-08-31"), period_label(None, None)) == (
        "2023", "2024-01–2024-07", "2024-08", "undated")


def test_figure_series_shows_each_value_with_its_sources_and_the_planted_conflict(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/timeline?q=police")
    section = page.locator("section.series").filter(has=page.get_by_role("heading", name=POLICE_SERIES, exact=True))
    svg = section.locator("svg[role=img]")
    tips = texts(svg.locator("title"))
    assert any(t.startswith("2023: 180 cases") for t in tips)
    (conflict,) = texts(svg.locator("path.point.conflict > title"))
    assert "297 cases" in conflict and "conflict: sources disagree" in conflict
    others = texts(svg.locator("circle.point.other > title"))
    misprint = [t for t in others if f"{PLANTED_CONFLICT['value']} cases" in t]
    assert len(misprint) == 1 and "The Hanbit Times" in misprint[0]
    assert "conflict" in texts(svg.locator("text.flag"))  # in words, not colour alone

    table = section.locator("table.series-table")
    def row(value: object, css: str = "") -> Any:  # the row of a version, by its value cell
        return table.locator(f"tbody tr{css}").filter(has=page.locator("td.num", has_text=f"{value} cases"))

    y2023 = row(180)
    assert y2023.count() == 1 and "conflict" not in (y2023.get_attribute("class") or "")
    assert {"The Hanbit Times", "Asia Wire Today"} <= set(y2023.locator("td").nth(2).inner_text().split(", "))
    disagree = row(PLANTED_CONFLICT["value"], ".conflict.disagrees")
    assert disagree.count() == 1
    assert "conflict: sources disagree" in disagree.inner_text()
    assert disagree.locator("td").nth(2).inner_text() == "The Hanbit Times"
    sentence = disagree.locator("ul.sentences a")
    assert f"{PLANTED_CONFLICT['value']} deepfake sex crime cases" in sentence.inner_text()
    href = sentence.get_attribute("href")
    assert href.startswith("/articles/") and "?at=" in href
    majority = row(297, ".conflict:not(.disagrees)")
    assert majority.count() == 1 and int(majority.locator("td.num").nth(1).inner_text()) >= 3
    shot(page, "figure-series")

    sentence.click()  # the sentence in context, on the article page
    page.wait_for_url("**/articles/**")
    assert f"{PLANTED_CONFLICT['value']} deepfake sex crime cases" in page.locator(".sentence.focus").inner_text()


def test_series_drawn_on_the_page_are_the_services_own(ui_site: UiSite, service: SearchService) -> None:
    req = SearchRequest(q="police", facets=False, highlight=False)
    views, choices = timeline.series_views(service, req, [("q", "police")])
    assert choices == [] and [v.title for v in views][0] == POLICE_SERIES
    base = with_articles(FigureQuery(), req.filters, req.q)
    for view in views:
        assert view.series.place is not None
        assert view.series == service.figure_series(view.series.measure, view.series.place, base)


def test_when_there_are_more_figures_than_one_read_the_page_offers_complete_series_only(
        page: Any, ui_site: UiSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline, "SCAN", 5)  # the served app runs in this process
    page.goto(f"{ui_site.url}/timeline?q=police&interval=month")
    assert page.locator("section.series").count() == 0  # nothing drawn from part of the reports
    choice = page.locator("ul.choices a", has_text=POLICE_SERIES)
    choice.click()
    page.wait_for_url("**measure=police_cases_reported**")
    query = parse_qs(urlsplit(page.url).query)
    assert (query["q"], query["interval"], query["place"]) == (["police"], ["month"], ["South Korea"])
    section = page.locator("section.series")
    assert section.count() == 1 and section.locator("h3").inner_text() == POLICE_SERIES
    assert section.locator("tr.conflict.disagrees").filter(
        has=page.locator("td.num", has_text=f"{PLANTED_CONFLICT['value']} cases")).count() == 1
    assert page.locator("#f-interval").input_value() == "month"  # the form keeps the chosen series
    assert page.locator("input[type=hidden][name=measure]").get_attribute("value") == "police_cases_reported"


def test_when_many_matching_articles_have_figures_measures_of_the_dates_are_offered(
        page: Any, ui_site: UiSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline, "FEW", 0)  # every query with words is "many" now
    page.goto(f"{ui_site.url}/timeline?q=police&interval=month")
    assert page.locator("section.series").count() == 0
    choices = page.locator("ul.choices li")
    assert choices.filter(has_text=POLICE_SERIES).count() == 1
    assert page.locator("ul.choices .count").count() == 0  # counted over all coverage: no counts claimed
    choices.filter(has_text=POLICE_SERIES).locator("a").click()
    page.wait_for_url("**measure=police_cases_reported**")
    assert page.locator("section.series h3").inner_text() == POLICE_SERIES  # the chosen series, complete


def test_entity_page_shows_mentions_cooccurring_entities_and_korean_aliases(page: Any, ui_site: UiSite,
                                                                             service: SearchService) -> None:
    page.goto(f"{ui_site.url}/entities/{quote(KNPA)}")
    assert page.locator("h1").inner_text() == KNPA
    mentions = service.timeline(SearchRequest(filters=Filters(entity=(KNPA,))), interval="month").buckets
    labels = page.locator("figure.mentions svg a").evaluate_all("as => as.map(a => a.getAttribute('aria-label'))")
    assert labels == [f"{b.key[:7]}: {b.count} article{'s' if b.count != 1 else ''}" for b in mentions]
    first = page.locator("figure.mentions svg a").first.get_attribute("href")
    assert parse_qs(urlsplit(first).query) == {"entity": [KNPA], "from": [mentions[0].key[:10]],
                                               "to": [bucket_range(mentions[0].key, "month", None, None)[1]]}
    facet = service.search(SearchRequest(filters=Filters(entity=(KNPA,)))).facets["entities"]
    together = page.locator("table.cooccurring tbody tr")
    assert [r.locator("th").inner_text() for r in together.all()] == [f.value for f in facet if f.value != KNPA]
    assert page.locator("dd[lang=ko]").inner_text() == "경찰청"
    assert "KNPA" in page.locator("dd[lang=en]").inner_text()
    assert page.locator("ol.results > li").count() == min(10, service.count(SearchRequest(filters=Filters(
        entity=(KNPA,)))))
    shot(page, "entity")

    other = next(f.value for f in facet if f.value != KNPA)
    together.first.locator("a").click()
    page.wait_for_url(f"**/entities/{quote(other)}")
    assert page.locator("h1").inner_text() == other
    page.goto(f"{ui_site.url}/entities/telegram")  # any case; the page shows the stored name
    assert page.locator("h1").inner_text() == "Telegram" and "텔레그램" in page.locator("dd[lang=ko]").inner_text()
    assert httpx.get(f"{ui_site.url}/entities/{quote('No Such Entity Anywhere')}").status_code == 404


def test_phone_pages_do_not_scroll_sideways(phone: Any, ui_site: UiSite) -> None:
    for path in ("/timeline?q=telegram&interval=month", "/timeline?interval=day", f"/entities/{quote(KNPA)}",
                 "/entities/Telegram"):
        phone.goto(ui_site.url + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
        width = phone.locator("svg.chart").first.bounding_box()["width"]
        assert 200 < width <= 390, path  # the chart scales with the screen
    shot(phone, "timeline-phone")


def test_the_hostile_entity_and_title_stay_text(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/timeline?entity={quote(HOSTILE_ENTITY)}")
    trend = page.locator("table.trends tbody th a", has_text="Cyber Unit")
    assert trend.inner_text() == HOSTILE_ENTITY
    assert page.locator("ol.events a").inner_text() == HOSTILE_TITLE
    assert page.evaluate("document.querySelectorAll('script, img, b[onmouseover]').length") == 0
    trend.click()
    page.wait_for_url("**/entities/**")
    assert page.locator("h1").inner_text() == HOSTILE_ENTITY
    assert page.locator("ol.results a").first.inner_text() == HOSTILE_TITLE
    assert page.evaluate("document.querySelectorAll('script, img, b[onmouseover]').length") == 0
    assert page.locator("ol.results a").first.get_attribute("href") == "/stories/story-hostile"


def test_bad_input_is_an_inline_message_with_the_form_filled_in(page: Any, ui_site: UiSite) -> None:
    response = page.goto(f"{ui_site.url}/timeline?q=telegram&from=2024-09-01&to=2024-08-01&interval=month")
    assert response.status == 422
    assert "is after to" in page.locator(".error[role=alert]").inner_text()
    assert page.locator("#f-q").input_value() == "telegram" and page.locator("#f-from").input_value() == "2024-09-01"
    assert page.locator("#f-interval").input_value() == "month"
    response = page.goto(f"{ui_site.url}/timeline?from=2024-13-01&interval=hour")
    assert response.status == 422
    assert page.locator("#f-from").get_attribute("aria-invalid") == "true"
    assert page.locator("#e-interval").inner_text().startswith("choose one of")
