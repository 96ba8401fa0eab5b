"""The synthetic benchmark corpus (benchmarks/synthetic.py): deterministic, shaped like real
news, and made of documents both stores accept and answer queries about."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import synthetic
from benchmarks.synthetic_web import page_html, rss_feed, site_pages, sitemap
from dfwatch.records import ENTITY_FACETS, Article, content_hash
from dfwatch.search import FigureQuery, Filters, SearchRequest, SearchService
from dfwatch.settings import StoreSettings
from dfwatch.store.base import Store
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.prepare import prepare
from dfwatch.store.sqlite import SqliteStore
from dfwatch.urls import article_id

ROOT = Path(__file__).resolve().parents[1]
N = 2000


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    return list(synthetic.articles(N))


def test_documents_depend_only_on_seed_and_index(corpus: list[dict[str, Any]]) -> None:
    assert list(synthetic.articles(5, start=40)) == corpus[40:45]  # any slice alone, same documents
    assert synthetic.article(7) == corpus[7]
    assert synthetic.article(7, seed=8) != corpus[7]
    # and across processes, whatever the string-hash seed
    code = ("import json; from benchmarks.synthetic import articles; "
            "print(json.dumps([d['content_hash'] + d['id'] + d['story_id'] for d in articles(30)]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         check=True).stdout
    assert json.loads(out) == [d["content_hash"] + d["id"] + d["story_id"] for d in corpus[:30]]


def test_documents_have_the_stored_shape(corpus: list[dict[str, Any]]) -> None:
    fields = {f.name for f in dataclasses.fields(Article)} - {"text_ko"}  # to_doc() leaves an unset text_ko out
    keys = fields | set(ENTITY_FACETS.values()) | {"story_id"}  # as to_doc()
    for doc in corpus[:300]:
        assert set(doc) - {"text_ko"} == keys
        assert doc["id"] == article_id(doc["url"]) and doc["content_hash"] == content_hash(doc["text"])
        assert doc["source"]["language"] == doc["language"] and doc["lead"] and doc["text"].startswith(doc["lead"])
        for ent in doc["entities"]:
            assert doc["text"][ent["start"]:ent["end"]] == ent["text"]
            assert ent["norm"] in doc[ENTITY_FACETS[ent["label"]]]
        for fig in doc["figures"]:
            assert doc["text"][fig["start"]:fig["end"]] == fig["text"] and fig["sentence"] in doc["text"]
            assert fig["measure"] and fig["place"] and fig["unit"]


def test_korean_stems_are_what_prepare_computes(corpus: list[dict[str, Any]]) -> None:
    korean = [d for d in corpus if d["language"] == "ko"][:15]
    assert korean
    for doc in korean:
        given = {k: v for k, v in doc.items() if k != "text_ko"}
        assert prepare(given)["text_ko"] == doc["text_ko"]


def test_corpus_looks_like_the_news_it_stands_for(corpus: list[dict[str, Any]]) -> None:
    stats = synthetic.stats(corpus)
    assert 0.33 <= stats["language"]["ko"] / N <= 0.47
    assert 0.25 <= stats["on_topic"] <= 0.35
    assert 0.12 <= stats["with_figures"] <= 0.3
    assert 380 <= stats["words_median"] <= 620 and 1500 <= stats["words_p99"] and stats["words_max"] <= 3200
    assert set(stats["source_type"]) == {"news", "government", "ngo", "court"}
    assert len({d["source"]["id"] for d in corpus}) == 40
    assert set(stats["years"]) == {str(y) for y in range(2019, 2027)}
    months = Counter(d["published_at"][:7] for d in corpus if d["relevance"]["topics"])
    assert months["2024-09"] > 3 * statistics.median(months.values())  # the August-September 2024 burst
    assert stats["conflicting_points"] >= 1  # some outlets report a different value for the same figure


def test_search_terms_have_realistic_selectivity(corpus: list[dict[str, Any]]) -> None:
    def share(word: str) -> float:
        return sum(word in d["text"].casefold() for d in corpus) / N

    assert 0.2 <= share("deepfake") + share("딥페이크") <= 0.45  # on-topic, plus scam/election/film stories
    assert 0.03 <= share("telegram") + share("텔레그램") <= 0.2
    assert share("halcyon motors") < 0.05


def test_rewrites_share_a_story_with_an_earlier_article(corpus: list[dict[str, Any]]) -> None:
    stories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in corpus:
        stories[doc["story_id"]].append(doc)
    sizes = Counter(len(v) for v in stories.values())
    assert sizes[1] > 0.7 * len(stories) and max(sizes) >= 4
    for story_id, docs in stories.items():
        first = docs[0]
        assert first["id"] == story_id  # the story is named after its first article
        for doc in docs[1:]:
            assert doc["language"] == first["language"] and doc["source"]["id"] != first["source"]["id"]
            assert doc["published_at"] > first["published_at"][:10]
            assert doc["relevance"]["topics"] == first["relevance"]["topics"]


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "store.sqlite3")
    else:
        url, prefix = request.getfixturevalue("es_url"), request.getfixturevalue("es_prefix")
        s = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=url, index_prefix=prefix))
    s.setup()
    yield s
    s.close()


def test_both_stores_take_the_documents_and_answer(store: Store, corpus: list[dict[str, Any]]) -> None:
    docs = corpus[:400]
    assert store.upsert(docs[:200]) == 200 and store.upsert(docs[200:]) == 200
    store.refresh()
    assert store.count() == 400
    assert store.get(docs[3]["id"])["title"] == docs[3]["title"]  # type: ignore[index]
    service = SearchService(store)

    def expected(word: str, **where: Any) -> set[str]:
        return {d["id"] for d in docs if word in d["title"] + d["text"]
                and all(d["source"][k] == v for k, v in where.items())}

    korean = service.search(SearchRequest(q="텔레그램", size=100, facets=False, highlight=False))
    assert {h.id for h in korean.hits} == expected("텔레그램") and korean.total > 5
    gov = service.search(SearchRequest(q="Telegram type:government", size=100, facets=False))
    assert {h.id for h in gov.hits} == expected("Telegram", type="government")
    with_figures = {d["id"] for d in docs if d["figures"]}
    page = service.search(SearchRequest(filters=Filters(has_figures=True), size=100, facets=False))
    assert page.total == len(with_figures) and {h.id for h in page.hits} <= with_figures
    stored = [f for f in store.iter_figures(FigureQuery(measure="police_cases_reported"))]
    assert len(stored) == sum(f["measure"] == "police_cases_reported" for d in docs for f in d["figures"])


def test_the_corpus_renders_as_a_web(corpus: list[dict[str, Any]]) -> None:
    doc = dict(corpus[0], title="<b>Bold</b> & co", text="One <script>x</script>.\nTwo.")
    page = page_html(doc)
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page and "<script>x" not in page and page.count("<p>") == 2
    (url, html), = site_pages([corpus[1]], "http://127.0.0.1:8000")
    assert url.startswith(f"http://127.0.0.1:8000/{corpus[1]['source']['id']}/news/") and corpus[1]["lead"] in html
    rss = ET.fromstring(rss_feed(corpus[:20], "http://127.0.0.1:8000", "All"))
    assert [i.findtext("title") for i in rss.iter("item")] == [d["title"] for d in corpus[:20]]
    urls = ET.fromstring(sitemap(corpus[:20], "http://127.0.0.1:8000"))
    assert len(list(urls)) == 20
