"""Elasticsearch store behaviour the shared contract (test_store_contract.py) does not cover,
on the real node: deep cursor paging, story collapsing, escaped highlights, Korean recall,
point-in-time exports that close their contexts, story updates reaching figure records,
and client errors as StoreError."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from dfwatch.search.highlight import POST, PRE
from dfwatch.search.model import FigureQuery, Filters, SearchRequest
from dfwatch.settings import StoreSettings
from dfwatch.store.base import StoreError
from dfwatch.store.elastic import ElasticsearchStore


def article(n: int, title: str = "", text: str = "", published: str | None = "2024-08-28T09:00:00+09:00",
            lang: str = "en", figures: int = 0, story: str | None = None) -> dict[str, Any]:
    return {
        "id": f"a{n:05d}", "url": f"http://127.0.0.1/a/{n}", "canonical_url": f"http://127.0.0.1/a/{n}",
        "source": {"id": f"src{n % 3}", "name": "Src", "type": "news", "country": "KR", "language": lang},
        "title": title or f"Article {n}", "text": text or f"Deepfake report number {n}.", "lead": text or title,
        "published_at": published, "modified_at": None, "crawled_at": "2024-10-01T00:00:00+00:00",
        "authors": [], "language": lang, "content_hash": f"h{n}",
        "relevance": {"score": 1.0, "matched_terms": [], "topics": []}, "entities": [],
        "figures": [{"value": 10 + i, "unit": "cases", "measure": "police_cases_reported", "qualifier": None,
                     "text": f"{10 + i} cases", "start": 10 * i, "end": 10 * i + 8, "sentence": "Police said.",
                     "place": "South Korea", "period": None, "attribution": None} for i in range(figures)],
        **({"story_id": story} if story else {}),
    }


def load(store: ElasticsearchStore, docs: list[dict[str, Any]]) -> None:
    assert store.upsert(docs) == len(docs)
    store.refresh()


def walk(store: ElasticsearchStore, req: SearchRequest) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = store.search(SearchRequest(q=req.q, sort=req.sort, size=req.size, after=after, facets=False))
        pages.append([h.id for h in page.hits])
        if page.next_after is None:
            return pages
        after = page.next_after


def test_cursor_paging_visits_250_articles_once_in_both_sorts(store: ElasticsearchStore) -> None:
    # many ties: 50 timestamps, repeated words for a spread of scores, and some undated articles
    docs = [article(n, text="deepfake " * (1 + n % 4) + f"report {n}.",
                    published=None if n % 25 == 0 else f"2024-08-{1 + n % 25:02d}T12:00:00+00:00")
            for n in range(250)]
    load(store, docs)
    everyone = sorted(d["id"] for d in docs)
    for sort in ("date", "relevance"):
        pages = walk(store, SearchRequest(q="deepfake", sort=sort, size=17))
        flat = [i for p in pages for i in p]
        assert sorted(flat) == everyone and len(flat) == len(set(flat)) == 250
        assert [len(p) for p in pages] == [17] * 14 + [12]
        one_page = store.search(SearchRequest(q="deepfake", sort=sort, size=100)).hits
        assert flat[:100] == [h.id for h in one_page]
    dated = [i for p in walk(store, SearchRequest(sort="date", size=40)) for i in p]
    assert dated[-10:] == sorted(d["id"] for d in docs if d["published_at"] is None)  # undated last, by id


def test_collapse_gives_one_hit_per_story_with_its_size(store: ElasticsearchStore) -> None:
    docs = [article(n, published=f"2024-08-{1 + n:02d}T00:00:00+00:00", story=f"s{n % 7}") for n in range(28)]
    load(store, docs)
    seen: list[str] = []
    for page_no in range(3):
        page = store.search(SearchRequest(sort="date", size=3, collapse=True, page=page_no))
        assert page.total == 28 and page.next_after is None
        assert all(h.story_size == 4 for h in page.hits)
        seen += [h.story_id or "" for h in page.hits]
    assert sorted(seen) == [f"s{i}" for i in range(7)]
    # each story is represented by its newest article
    first = store.search(SearchRequest(sort="date", size=7, collapse=True)).hits
    assert [h.id for h in first] == [f"a{n:05d}" for n in range(27, 20, -1)]
    narrowed = store.search(SearchRequest(q="number", filters=Filters(date_to=date(2024, 8, 14)), collapse=True))
    assert {h.story_size for h in narrowed.hits} == {2}  # matching articles only


def test_highlights_escape_crawled_markup(store: ElasticsearchStore) -> None:
    title = "<script>alert(1)</script> deepfake <img src=x onerror=alert(1)>"
    text = f'Deepfake & "quoted" <b>bold</b> text with a forged {PRE}mark{POST}.'
    load(store, [article(1, title=title, text=text)])
    (hit,) = store.search(SearchRequest(q="deepfake")).hits
    assert hit.title == title  # results are raw; only highlights are HTML
    assert hit.highlights["title"] == [
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>deepfake</mark> &lt;img src=x onerror=alert(1)&gt;"]
    (fragment,) = hit.highlights["text"]
    assert fragment.startswith("<mark>Deepfake</mark> &amp; &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt;")
    assert fragment.count("<mark>") == 1  # the sentinels in the crawled text were stripped at write time
    assert PRE not in (store.get("a00001") or {})["text"]
    (hit,) = store.search(SearchRequest(q="alert")).hits
    assert hit.highlights["title"][0].count("<mark>alert</mark>") == 2 and "<img" not in hit.highlights["title"][0]


def test_korean_recall_through_text_ko_and_readable_marks(store: ElasticsearchStore) -> None:
    load(store, [article(1, title="딥페이크를 이용한 범죄", text="경찰은 딥페이크를 이용한 성범죄가 늘었다고 밝혔다.", lang="ko"),
                 article(2, title="딥페이크 성범죄 대책", text="정부는 딥페이크 성범죄 대책을 발표했다.", lang="ko"),
                 article(3, title="Deepfake crimes", text="Police reported deepfake crimes.")])
    ids = lambda q: {h.id for h in store.search(SearchRequest(q=q)).hits}  # noqa: E731
    assert ids("딥페이크") == ids("딥페이크를") == ids("딥페이크가") == {"a00001", "a00002"}
    assert ids("성범죄") == ids("성범죄가") == {"a00001", "a00002"}
    assert ids('"딥페이크 성범죄"') == {"a00002"}  # stems in order: a00001 has 딥페이크를 이용한 성범죄가
    hit = next(h for h in store.search(SearchRequest(q="성범죄")).hits if h.id == "a00001")
    assert hit.highlights["text"] == ["경찰은 딥페이크를 이용한 <mark>성범죄가</mark> 늘었다고 밝혔다."]
    assert "text_ko" not in hit.highlights


def open_contexts(es: Elasticsearch, index: str) -> int:
    stats = es.indices.stats(index=index, metric="search")
    return int(stats["_all"]["total"]["search"]["open_contexts"])


def test_iter_articles_streams_3000_and_closes_its_point_in_time(store: ElasticsearchStore) -> None:
    docs = [article(n, published=f"2024-{1 + n % 12:02d}-01T00:00:00+00:00", figures=1 if n % 10 == 0 else 0)
            for n in range(3000)]
    for i in range(0, len(docs), 1000):
        store.upsert(docs[i:i + 1000])
    store.refresh()
    before = open_contexts(store.es, store.articles_alias)
    got = [d["id"] for d in store.iter_articles(SearchRequest())]
    assert len(got) == len(set(got)) == 3000
    assert open_contexts(store.es, store.articles_alias) == before
    # a consumer that stops early closes the point in time too
    it = store.iter_articles(SearchRequest(q="deepfake"))
    assert len([next(it) for _ in range(1500)]) == 1500
    assert open_contexts(store.es, store.articles_alias) == before + 1
    it.close()  # type: ignore[attr-defined]
    assert open_contexts(store.es, store.articles_alias) == before
    figures = list(store.iter_figures(FigureQuery(q="deepfake")))
    assert len(figures) == 300 and open_contexts(store.es, store.figures_alias) == 0


def test_set_stories_updates_articles_and_figures_before_a_refresh(store: ElasticsearchStore) -> None:
    store.upsert([article(1, figures=3), article(2, figures=1), article(3)])  # no refresh on purpose
    assert store.set_stories({"a00001": "S", "a00002": "S", "a00003": "S", "nope": "S"}) == 3
    assert store.set_stories({"a00001": "S"}) == 0
    store.refresh()
    records, _ = store.figures(FigureQuery())
    assert len(records) == 4 and {f["story_id"] for f in records} == {"S"}
    (story,) = store.stories(SearchRequest())
    assert (story.story_id, story.article_count) == ("S", 3)
    # a re-crawl keeps the story and replaces the figures, which keep it too
    store.upsert([dict(article(1, figures=2), story_id="S")])
    store.refresh()
    assert sorted(f["value"] for f in store.figures(FigureQuery(article_id="a00001"))[0]) == [10, 11]
    assert {f["story_id"] for f in store.figures(FigureQuery())[0]} == {"S"}


def test_errors_are_store_errors_that_say_what_to_do(es_url: str, es_prefix: str) -> None:
    missing = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=es_url, index_prefix=es_prefix))
    with pytest.raises(StoreError, match="dfwatch index setup"):
        missing.search(SearchRequest(q="x"))
    with pytest.raises(StoreError, match="dfwatch index setup"):
        missing.count()
    with pytest.raises(StoreError, match="dfwatch index setup"):
        missing.get("a00001")
    with pytest.raises(StoreError):
        list(missing.iter_articles(SearchRequest()))
    with pytest.raises(StoreError, match="dfwatch index setup"):  # never an index auto-created by a write
        missing.upsert([article(1)])
    with pytest.raises(StoreError, match="dfwatch index setup"):
        missing.set_stories({"a00001": "S"})
    assert dict(missing.es.indices.get(index=f"{es_prefix}-*")) == {}
    missing.close()
    down = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url="http://127.0.0.1:9", index_prefix="x",
                                                          request_timeout=2))
    with pytest.raises(StoreError, match="failed"):
        down.upsert([article(1)])
    down.close()


def test_a_text_longer_than_the_highlight_limit_does_not_fail_the_search(store: ElasticsearchStore) -> None:
    """index.highlight.max_analyzed_offset (1,000,000 characters) would otherwise turn the search into an error."""
    load(store, [article(1, text="deepfake " + "filler words here " * 62_000 + "telegram.")])
    (hit,) = store.search(SearchRequest(q="deepfake")).hits
    assert hit.highlights["text"][0].startswith("<mark>deepfake</mark>")
    (hit,) = store.search(SearchRequest(q="telegram")).hits  # past the limit: found, not marked
    assert hit.id == "a00001" and "<mark>" not in "".join(hit.highlights.get("text", []))
