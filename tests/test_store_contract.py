"""One contract, two stores: SQLite (embedded default) and Elasticsearch (the real node)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dfwatch.settings import StoreSettings
from dfwatch.store import Query, Store
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.sqlite import SqliteStore


def doc(n: int, title: str, text: str, published: str | None, source: str = "hanbit-times") -> dict[str, Any]:
    return {
        "id": f"doc{n}", "url": f"http://127.0.0.1/a/{n}", "canonical_url": f"http://127.0.0.1/a/{n}",
        "source": {"id": source, "name": source.title(), "type": "news", "country": "KR", "language": "en"},
        "title": title, "text": text, "lead": text.split(".")[0], "published_at": published,
        "modified_at": None, "crawled_at": "2024-09-30T00:00:00+00:00", "authors": ["A. Writer"],
        "language": "en", "content_hash": f"h{n}", "relevance": {"score": 2.0, "matched_terms": ["deepfake"]},
        "entities": [{"text": "Telegram", "label": "ORG", "norm": "Telegram", "start": 0, "end": 8}],
        "people": [], "orgs": ["Telegram"], "places": [],
    }


def fig(value: float, start: int, measure: str = "police_cases_reported") -> dict[str, Any]:
    return {"value": value, "unit": "cases", "measure": measure, "qualifier": None, "text": f"{value} cases",
            "start": start, "end": start + 9, "sentence": "Police said ...", "place": "South Korea",
            "period": {"start": "2024-01-01", "end": "2024-07-31", "text": "the first seven months"},
            "attribution": "Police"}


DOCS = [
    doc(1, "Police count 297 deepfake cases", "Police said 297 deepfake sex crime cases were reported in "
        "the first seven months. Telegram rooms had 220,000 members.", "2024-08-28T09:00:00+09:00"),
    doc(2, "Telegram founder arrested", "Pavel Durov, who founded Telegram, was arrested in France.",
        "2024-08-26T10:00:00+00:00", source="asia-wire"),
    doc(3, "Assembly passes possession ban", "Lawmakers voted to punish possession of deepfake sexual "
        "material. Telegram removed videos.", "2024-09-26T15:00:00+09:00"),
    # 00:30 on 1 September in Seoul is still 31 August in UTC: both stores bucket in UTC
    doc(4, "Late-night update", "Telegram said it would cooperate with regulators on deepfake content.",
        "2024-09-01T00:30:00+09:00"),
    doc(5, "Election commission bans deepfakes", "The election commission banned deepfake campaign videos.",
        "2024-01-29T12:00:00+09:00"),
]


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "store.sqlite3")
    else:
        url = request.getfixturevalue("es_url")
        prefix = request.getfixturevalue("es_prefix")
        s = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=url, index_prefix=prefix))
    s.setup()
    s.setup()  # idempotent
    s.upsert(DOCS)
    s.refresh()
    yield s
    s.close()


def ids(store: Store, text: str, **kw: Any) -> set[str]:
    return {h.id for h in store.search(Query(text, **kw), size=50).hits}


def test_upsert_is_idempotent_by_id(store: Store) -> None:
    assert store.count() == 5
    changed = dict(DOCS[0], title="Police count 297 deepfake cases (updated)")
    store.upsert([changed])
    store.refresh()
    assert store.count() == 5
    got = store.get("doc1")
    assert got is not None and got["title"].endswith("(updated)")
    assert got["entities"][0]["label"] == "ORG"
    assert store.get("missing") is None


def test_words_are_anded_and_ranked(store: Store) -> None:
    assert ids(store, "telegram") == {"doc1", "doc2", "doc3", "doc4"}
    assert ids(store, "telegram arrested") == {"doc2"}
    result = store.search(Query("297 deepfake"), size=5)
    assert result.total == 1 and result.hits[0].title == "Police count 297 deepfake cases"
    assert result.hits[0].source_name == "Hanbit-Times"


def test_phrase_or_and_exclusion(store: Store) -> None:
    assert ids(store, '"seven months"') == {"doc1"}
    assert ids(store, '"months seven"') == set()
    assert ids(store, "durov OR possession") == {"doc2", "doc3"}
    assert ids(store, "telegram -durov") == {"doc1", "doc3", "doc4"}


def test_hostile_query_text_is_searched_not_executed(store: Store) -> None:
    for text in ['title:telegram', 'NEAR(telegram durov)', '"unbalanced', "*", "); DROP TABLE articles; --"]:
        store.search(Query(text))  # never raises
    assert store.count() == 5


def test_date_range_is_inclusive_in_utc(store: Store) -> None:
    assert ids(store, "telegram", date_from=date(2024, 9, 1)) == {"doc3"}
    assert ids(store, "", date_from=date(2024, 8, 26), date_to=date(2024, 8, 31)) == {"doc1", "doc2", "doc4"}


def test_monthly_counts(store: Store) -> None:
    assert store.monthly_counts(Query("telegram")) == [("2024-08", 3), ("2024-09", 1)]
    assert store.monthly_counts(Query("")) == [("2024-01", 1), ("2024-08", 3), ("2024-09", 1)]
    assert store.monthly_counts(Query("nothingmatchesthis")) == []


def test_figures_are_records_of_their_own(store: Store) -> None:
    with_figures = dict(DOCS[0], figures=[fig(297, 12), fig(180, 80), fig(113, 120, "people_charged")])
    store.upsert([with_figures])
    store.refresh()
    cases = store.figures(measure="police_cases_reported")
    assert [f["value"] for f in cases] == [297, 180]
    assert all(f["article_id"] == "doc1" and f["source"]["id"] == "hanbit-times" for f in cases)
    assert cases[0]["period"]["end"] == "2024-07-31" and cases[0]["published_at"].startswith("2024-08-28")
    assert len({f["id"] for f in store.figures(article_id="doc1")}) == 3
    # a re-crawl whose text lost a figure replaces the article's figure records
    store.upsert([dict(with_figures, figures=[fig(297, 12)])])
    store.refresh()
    assert [f["value"] for f in store.figures(article_id="doc1")] == [297]
    assert store.get("doc1")["figures"][0]["value"] == 297  # type: ignore[index]


def test_empty_query_lists_newest_first(store: Store) -> None:
    hits = store.search(Query(""), size=2).hits
    assert [h.id for h in hits] == ["doc3", "doc4"]
