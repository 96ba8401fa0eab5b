"""The figure ledger and the article page in headless chromium, on the crawled fixture corpus.

Must-show: ledger → source sentence (filter to the police case counts for South Korea, open the
planted 279 misprint's sentence, land on it marked in its article), and the ledger's CSV download
holding the ledger's rows. Also: invalid filters shown inline, phones, hostile text kept as text.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from docs_support import doc, fig
from fastapi.testclient import TestClient
from ui_support import HOSTILE_ID, HOSTILE_TEXT, HOSTILE_TITLE, UiSite, shot

from dfwatch.search import SearchService
from dfwatch.search.model import FigureQuery
from dfwatch.settings import load_settings
from dfwatch.store import open_store
from dfwatch.web import create_app
from dfwatch.web.ui.article import Sentence, sentence_at, sentence_link

MEASURE, PLACE = "police_cases_reported", "South Korea"
ROW = "table.ledger tbody tr"


def store_figures(site: UiSite, **query: Any) -> list[dict[str, Any]]:
    with SearchService.open(site.settings) as svc:
        records, _ = svc.figures(FigureQuery(size=50, **query))
    return records


def ledger_rows(page: Any) -> list[dict[str, Any]]:
    """(article id, offset, value, sentence) of every row the ledger shows."""
    rows = page.eval_on_selector_all(ROW, """rows => rows.map(r => ({
        href: r.querySelector('a.sentence-link').getAttribute('href'),
        value: r.querySelector('td.num').firstChild.textContent.trim(),
        sentence: r.querySelector('a.sentence-link').textContent}))""")
    out = []
    for r in rows:
        parts = urlsplit(r["href"])
        out.append({"article_id": unquote(parts.path.removeprefix("/articles/")),
                    "at": int(parse_qs(parts.query)["at"][0]), "fragment": parts.fragment,
                    "value": float(r["value"].replace(",", "")), "sentence": r["sentence"]})
    return out


def filter_ledger(page: Any, site: UiSite) -> None:
    page.goto(f"{site.url}/figures")
    page.get_by_label("Measure").select_option(MEASURE)
    page.get_by_label("Place").fill(PLACE)
    page.get_by_role("button", name="Show figures").click()
    page.wait_for_url(re.compile(r"/figures\?"))


def test_figure_ledger_to_the_source_sentence(page: Any, ui_site: UiSite) -> None:
    filter_ledger(page, ui_site)
    expected = store_figures(ui_site, measure=MEASURE, place=PLACE)
    shown = ledger_rows(page)
    assert [(r["article_id"], r["at"], r["value"], r["sentence"]) for r in shown] == [
        (f["article_id"], f["start"], float(f["value"]), f["sentence"]) for f in expected]
    assert all(r["fragment"] == "focus" for r in shown)

    misprint = page.locator(ROW).filter(has=page.locator("td.num", has_text=re.compile(r"^\s*279\s*$")))
    assert misprint.count() == 1
    assert misprint.locator(".badge.conflict").count() == 1  # the planted conflict is flagged
    assert "297" in misprint.inner_text() and "The Hanbit Times" in misprint.inner_text()
    agreeing = page.locator(ROW).filter(has=page.locator("td.num", has_text=re.compile(r"^\s*180\s*$")))
    assert agreeing.count() >= 2 and agreeing.locator(".badge.conflict").count() == 0  # 2023: all agree
    shot(page, "figures")

    misprint.locator("a.sentence-link").click()
    page.wait_for_url(re.compile(r"/articles/[^?]+\?at=\d+#focus$"))
    assert page.evaluate("location.hash") == "#focus"
    assert "Durov" in page.locator("h1").inner_text()
    focused = page.locator("#focus")
    assert "279" in focused.inner_text()
    assert page.evaluate("document.querySelector(':target') === document.getElementById('focus')")
    marked = page.locator(".sentence.focus")
    assert marked.count() == 1 and re.fullmatch(r"s-\d+", marked.get_attribute("id") or "")
    assert "279 deepfake sex crime cases" in marked.inner_text()
    # the article's own figure list points at the same sentence
    assert page.locator("#figures-h ~ .table-wrap a[href^='#s-']").first.get_attribute("href") == (
        "#" + (marked.get_attribute("id") or ""))
    shot(page, "figure-sentence")


def test_the_csv_download_holds_the_ledger_rows(page: Any, ui_site: UiSite, tmp_path: Path) -> None:
    filter_ledger(page, ui_site)
    shown = ledger_rows(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download these figures as CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("dfwatch-figures-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / "figures.csv"
    download.save_as(path)
    first, rest = path.read_text(encoding="utf-8").split("\n", 1)
    header = json.loads(first.removeprefix("# dfwatch export "))
    assert header["query"]["measure"] == MEASURE and header["query"]["place"] == PLACE
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert rows and [(r["article_id"], float(r["value"]), r["sentence"]) for r in rows] == [
        (r["article_id"], r["value"], r["sentence"]) for r in shown]
    assert {float(r["value"]) for r in rows} >= {180.0, 297.0, 279.0}


def test_invalid_filters_are_shown_beside_the_form_which_keeps_them(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/figures")
    page.get_by_label("Period ends on or after").fill("2024-13-01")
    page.get_by_label("Place").fill(PLACE)
    page.get_by_role("button", name="Show figures").click()
    page.wait_for_url(re.compile(r"period_from=2024-13-01"))
    assert "period_from" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Period ends on or after").input_value() == "2024-13-01"
    assert page.get_by_label("Place").input_value() == PLACE
    r = httpx.get(f"{ui_site.url}/figures", params={"period_from": "2024-08-01", "period_to": "2024-01-01"})
    assert r.status_code == 422 and "is after period_to" in r.text and "text/html" in r.headers["content-type"]
    r = httpx.get(f"{ui_site.url}/figures", params={"measure": "", "place": "", "period_from": ""})
    assert r.status_code == 200  # the empty fields of a submitted form are no filter


def test_paging_with_the_cursor_reaches_every_figure(ui_site: UiSite) -> None:
    with SearchService.open(ui_site.settings) as svc:
        everything = [(f["article_id"], str(f["start"])) for f in svc.store.iter_figures(FigureQuery(size=100))]
    seen: list[tuple[str, str]] = []
    url: str | None = f"{ui_site.url}/figures?size=20"
    pages = 0
    while url:
        r = httpx.get(url)
        assert r.status_code == 200
        pages += 1
        seen += re.findall(r'class="sentence-link" href="/articles/([^"?]+)\?at=(\d+)#focus"', r.text)
        found = re.search(r'<a href="([^"]+)" rel="next">', r.text)
        url = f"{ui_site.url}{found.group(1).replace('&amp;', '&')}" if found else None
    assert pages == -(-len(everything) // 20) and pages > 1
    assert seen == everything


def test_phone_has_no_sideways_scroll_the_table_scrolls_in_its_box(phone: Any, ui_site: UiSite) -> None:
    phone.goto(f"{ui_site.url}/figures?measure={MEASURE}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.evaluate("(() => { const w = document.querySelector('.table-wrap');"
                          " return w.scrollWidth > w.clientWidth; })()")
    shot(phone, "figures-phone")
    (article_id, at) = (store_figures(ui_site, measure=MEASURE)[0][k] for k in ("article_id", "start"))
    phone.goto(f"{ui_site.url}{sentence_link(article_id, at)}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "article-phone")


def test_hostile_text_stays_text_in_the_ledger_and_the_article(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/figures?source=hanbit-times&q=moderator")
    (row,) = ledger_rows(page)
    assert row["article_id"] == HOSTILE_ID and '<script>alert("f")</script>' in row["sentence"]
    assert page.evaluate("document.querySelectorAll('script, img, [onerror], [onmouseover]').length") == 0

    page.goto(f"{ui_site.url}/articles/{HOSTILE_ID}")
    assert page.locator("h1").inner_text() == HOSTILE_TITLE
    text = page.locator(".text").inner_text()
    assert '<script>alert("b")</script>' in text and '<img src=x onerror="alert(2)">' in text
    assert page.get_by_role("link", name='<b onmouseover="alert(4)">Cyber Unit</b>').count() == 1
    assert page.evaluate("document.querySelectorAll('script, img, b, [onerror], [onmouseover]').length") == 0
    page.goto(f"{ui_site.url}{sentence_link(HOSTILE_ID, HOSTILE_TEXT.index('45'))}")
    assert page.locator("#focus").inner_text().startswith("Investigators said 45 cases")
    shot(page, "article-hostile")


def test_unknown_article_is_a_404_page(ui_site: UiSite) -> None:
    r = httpx.get(f"{ui_site.url}/articles/no-such-article")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"] and "no article with id" in r.text


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = load_settings(data_dir=str(tmp_path))
    text = "Police said 297 cases were reported.\nThey also said 180 cases came in 2023. A third sentence."
    docs = [doc("js-url", "hanbit-times", "2024-08-28T09:00:00+09:00", "A javascript: URL", text,
                figures=(fig(297, text.index("297")), fig(180, text.index("180")))),
            doc("plain", "asia-wire", "2024-08-29T09:00:00+00:00", "Plain", text)]
    docs[0]["url"] = "javascript:alert(document.domain)"
    store = open_store(settings)
    store.setup()
    store.upsert(docs)
    store.refresh()
    store.close()
    return TestClient(create_app(settings))


def test_article_page_links_only_http_urls_and_anchors_every_sentence(client: TestClient) -> None:
    r = client.get("/articles/js-url", params={"at": 60})
    assert r.status_code == 200
    assert 'href="javascript:' not in r.text and "javascript:alert(document.domain)" in r.text
    assert re.findall(r'id="s-(\d+)"', r.text) == ["0", "1", "2"]
    assert r.text.count("<p><span class=\"sentence") == 2  # the line break starts a paragraph
    assert re.search(r'class="sentence focus" id="s-1"><span id="focus"[^>]*>They also said 180', r.text)
    assert '<a href="#s-0">297 cases</a>' in r.text and '<a href="#s-1">180 cases</a>' in r.text
    plain = client.get("/articles/plain").text
    assert 'href="http://127.0.0.1/asia-wire/plain" rel="noopener noreferrer nofollow"' in plain
    assert 'id="focus"' not in plain


def test_sentence_at_finds_the_sentence_of_an_offset() -> None:
    spans = [Sentence(0, 0, 10, ""), Sentence(1, 12, 20, ""), Sentence(2, 21, 30, "")]
    assert [sentence_at(spans, o) for o in (0, 9, 10, 11, 12, 20, 29, 30, 99)] == [0, 0, 1, 1, 1, 2, 2, None, None]
    assert sentence_at([], 0) is None
    assert sentence_link("a/b c", 12) == "/articles/a%2Fb%20c?at=12#focus"
    assert sentence_link("x", None) == "/articles/x"
