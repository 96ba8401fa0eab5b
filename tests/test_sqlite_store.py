"""Behaviour only the embedded store has: migrating old files, atomic batches, query plans, batching.

What both stores share is in test_store_contract.py.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_store_contract import CORPUS, KNPA, fig

from dfwatch.search.highlight import POST, PRE
from dfwatch.search.model import FigureQuery, Filters, SearchRequest
from dfwatch.store import sqlite as sqlite_module
from dfwatch.store.base import StoreError
from dfwatch.store.sqlite import SqliteStore
from dfwatch.store.sqlite_schema import VERSION

# the schema dfwatch wrote before the search layer (v1, PRAGMA user_version 0)
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, published_at TEXT, source_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published_at);
CREATE TABLE IF NOT EXISTS figures (
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL, measure TEXT NOT NULL, published_at TEXT,
    start INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS figures_article ON figures(article_id);
CREATE INDEX IF NOT EXISTS figures_measure ON figures(measure, published_at);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    id UNINDEXED, title, lead, text, tokenize = 'unicode61 remove_diacritics 2');
"""


def v1_file(path: Path, docs: list[dict[str, Any]]) -> None:
    """A file as the v1 store wrote it: documents without story_id, entity_keys or stems."""
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    for d in docs:
        old = {k: v for k, v in d.items() if k not in ("story_id", "signature")}
        db.execute("INSERT INTO articles VALUES (?, ?, ?, ?)", (d["id"], d["published_at"], d["source"]["id"],
                                                                json.dumps(old, ensure_ascii=False)))
        db.execute("INSERT INTO articles_fts VALUES (?, ?, ?, ?)", (d["id"], d["title"], d["lead"], d["text"]))
        for f in d["figures"]:
            db.execute("INSERT INTO figures VALUES (?, ?, ?, ?, ?, ?)", (f"{d['id']}-{f['start']}", d["id"],
                                                                         f["measure"], d["published_at"],
                                                                         f["start"], json.dumps(f)))
    db.commit()
    db.close()


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "store.sqlite3")
    s.setup()
    s.upsert(CORPUS)
    return s


def test_setup_migrates_a_v1_file_idempotently(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    v1_file(path, CORPUS)
    s = SqliteStore(path)
    s.setup()
    s.setup()
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert s.count() == 10
    assert {h.id for h in s.search(SearchRequest(q="딥페이크")).hits} == {"d06"}  # stems were derived
    assert {h.id for h in s.search(SearchRequest(q="telegram", filters=Filters(entity=("telegram",)))).hits} \
        == {"d01", "d03", "d04", "d05"}
    assert s.get("d01")["story_id"] == "d01"  # type: ignore[index]  # v1 had no stories: a story of one each
    records, _ = s.figures(FigureQuery(measure="police_cases_reported"))
    assert [(f["article_id"], f["value"]) for f in records] == [("d01", 297), ("d06", 297), ("d02", 297),
                                                                 ("d02", 180)]
    assert len(records[0]["id"]) == 40  # re-derived by records.figure_docs
    tables = {r[0] for r in s.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "articles_v1" not in tables
    s.close()
    again = SqliteStore(path)
    again.setup()
    assert again.count() == 10


def test_a_fresh_file_answers_as_an_empty_store(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "new" / "store.sqlite3")  # no setup(): opening makes the schema
    assert s.count() == 0
    assert s.search(SearchRequest(q="telegram")).hits == []
    assert s.figures(FigureQuery(measure="police_cases_reported")) == ([], None)
    s.close()


def test_a_failed_batch_writes_nothing(store: SqliteStore) -> None:
    broken = dict(CORPUS[2], id="new", source={**CORPUS[2]["source"], "id": None})
    with pytest.raises(StoreError):
        store.upsert([dict(CORPUS[0], title="changed"), broken])
    assert store.get("d01")["title"] == CORPUS[0]["title"]  # type: ignore[index]
    assert store.get("new") is None and store.count() == 10


def test_sentinels_in_crawled_text_cannot_forge_marks(store: SqliteStore) -> None:
    store.upsert([dict(CORPUS[2], title=f"Telegram {PRE}founder{POST} arrested")])
    (hit,) = store.search(SearchRequest(q="durov")).hits
    assert hit.title == "Telegram founder arrested"
    (hit,) = store.search(SearchRequest(q="founder")).hits
    assert hit.highlights["title"] == ["Telegram <mark>founder</mark> arrested"]


def test_story_sizes_follow_writes_and_assignments(store: SqliteStore) -> None:
    def sizes() -> dict[str, int]:
        return dict(store.db.execute("SELECT id, story_size FROM articles"))

    assert sizes()["d01"] == sizes()["d02"] == 2 and sizes()["d03"] == 1
    store.upsert([dict(CORPUS[1], story_id=None)])  # d02 leaves the story
    assert sizes()["d01"] == 1 and sizes()["d02"] == 1
    store.set_stories({"d02": "story-297", "d03": "story-297"})
    assert sizes()["d01"] == sizes()["d02"] == sizes()["d03"] == 3
    (august,) = [b for b in store.histogram(SearchRequest(), "month") if b.key == "2024-08-01"]
    assert (august.stories[0].story_id, august.stories[0].count, august.stories[0].article_id) == (
        "story-297", 3, "d03")


def test_histogram_fills_many_sparse_buckets_in_one_query(store: SqliteStore,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from dfwatch.store import sqlite_timeline

    expected = [(b.key, b.count, [(s.story_id, s.count) for s in b.stories])
                for b in store.histogram(SearchRequest(q="deepfake OR telegram"), "day")]
    monkeypatch.setattr(sqlite_timeline, "FILL_QUERIES", 0)
    assert [(b.key, b.count, [(s.story_id, s.count) for s in b.stories])
            for b in store.histogram(SearchRequest(q="deepfake OR telegram"), "day")] == expected
    assert ("2024-08-28", 1, [("story-297", 1)]) in expected


def test_iteration_runs_in_keyset_batches(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "BATCH", 3)
    assert sorted(d["id"] for d in store.iter_articles(SearchRequest())) == sorted(d["id"] for d in CORPUS)
    assert len(list(store.iter_articles(SearchRequest(q="deepfake")))) == 8
    assert len(list(store.iter_articles(SearchRequest(q="-deepfake")))) == 2
    assert len(list(store.iter_figures(FigureQuery()))) == 7


def test_bad_arguments_are_value_errors(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        store.histogram(SearchRequest(), "fortnight")
    with pytest.raises(ValueError):
        store.entity_trends(SearchRequest(), "decade")
    with pytest.raises(ValueError):
        store.stories(SearchRequest(), order="alphabetical")
    with pytest.raises(ValueError):
        store.search(SearchRequest(filters=Filters(exclude=(("published_at", "2024"),))))
    with pytest.raises(ValueError):
        store.figures(FigureQuery(after="WyJ4Il0"))  # a cursor of the wrong shape


def test_each_thread_reads_through_its_own_connection(store: SqliteStore) -> None:
    results: list[int] = []

    def read() -> None:
        results.append(store.search(SearchRequest(q="telegram")).total)
        store.close()

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [4, 4, 4, 4]


def test_entity_labels_and_keys_are_shared_across_articles(store: SqliteStore) -> None:
    store.upsert([dict(CORPUS[7], entities=[{"text": "KNPA", "label": "ORG", "norm": KNPA, "start": 0, "end": 4}])])
    (trend, *_) = store.entity_trends(SearchRequest(), "year", size=1)
    assert (trend.entity, trend.total) == (KNPA, 4)
    assert store.db.execute("SELECT count(*) FROM entities WHERE norm = ?", (KNPA,)).fetchone()[0] == 1


def plans(store: SqliteStore, call: Callable[[], object]) -> list[tuple[str, str]]:
    """(statement, query plan) of every statement the call ran."""
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    try:
        call()
    finally:
        store.db.set_trace_callback(None)
    return [(sql, " | ".join(r[3] for r in store.db.execute(f"EXPLAIN QUERY PLAN {sql}")))
            for sql in statements if sql.lstrip().startswith(("SELECT", "WITH"))]


def test_hot_queries_use_indexes(store: SqliteStore) -> None:
    """Guards the 100k-article timings (see the report): date pages walk an index, days stream."""
    (_, count), (_, page), _ = plans(store, lambda: store.search(SearchRequest(facets=False)))
    assert "COVERING INDEX" in count
    assert "art_date_order" in page and "TEMP B-TREE" not in page
    days, multi, *_ = plans(store, lambda: store.histogram(SearchRequest(), "month"))
    assert "art_day" in days[1] and "TEMP B-TREE" not in days[1]
    assert "art_multi" in multi[1]
    (_, entity), *_ = plans(store, lambda: store.search(SearchRequest(q="entity:telegram", facets=False)))
    assert "ent_key" in entity


def test_figures_without_a_date_come_last(store: SqliteStore) -> None:
    store.upsert([dict(CORPUS[9], figures=[fig(5, 3)])])
    records, _ = store.figures(FigureQuery(measure="police_cases_reported"))
    assert [f["article_id"] for f in records][-1] == "d10"
