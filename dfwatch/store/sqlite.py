"""Embedded store: SQLite with an FTS5 index, for a machine with nothing else installed."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dfwatch.query import parse, to_fts5
from dfwatch.records import figure_docs
from dfwatch.store.base import Query, SearchResult, StoreError, hit_from_doc

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    published_at TEXT,  -- UTC ISO 8601
    source_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published_at);
CREATE TABLE IF NOT EXISTS figures (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    measure TEXT NOT NULL,
    published_at TEXT,  -- UTC ISO 8601, the article's
    start INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS figures_article ON figures(article_id);
CREATE INDEX IF NOT EXISTS figures_measure ON figures(measure, published_at);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    id UNINDEXED, title, lead, text, tokenize = 'unicode61 remove_diacritics 2'
);
"""
def utc_iso(value: str | None) -> str | None:
    """Dates are compared and bucketed in UTC, as Elasticsearch does."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed.astimezone(UTC) if parsed.tzinfo else parsed).isoformat()


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def setup(self) -> None:
        with self.db:
            self.db.executescript(SCHEMA)

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        try:
            return self._upsert(docs)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite write to {self.path} failed: {exc}") from exc

    def _upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        n = 0
        with self.db:
            for doc in docs:
                self.db.execute("DELETE FROM articles_fts WHERE id = ?", (doc["id"],))
                self.db.execute(
                    "INSERT OR REPLACE INTO articles (id, published_at, source_id, doc) VALUES (?,?,?,?)",
                    (doc["id"], utc_iso(doc.get("published_at")), doc["source"]["id"],
                     json.dumps(doc, ensure_ascii=False)),
                )
                self.db.execute(
                    "INSERT INTO articles_fts (id, title, lead, text) VALUES (?,?,?,?)",
                    (doc["id"], doc.get("title", ""), doc.get("lead", ""), doc.get("text", "")),
                )
                self.db.execute("DELETE FROM figures WHERE article_id = ?", (doc["id"],))
                self.db.executemany(
                    "INSERT OR REPLACE INTO figures (id, article_id, measure, published_at, start, doc) "
                    "VALUES (?,?,?,?,?,?)",
                    [(f["id"], f["article_id"], f["measure"], utc_iso(f.get("published_at")), f["start"],
                      json.dumps(f, ensure_ascii=False)) for f in figure_docs(doc)],
                )
                n += 1
        return n

    def figures(self, measure: str | None = None, article_id: str | None = None,
                size: int = 100) -> list[dict[str, Any]]:
        clauses, params = ["1=1"], []
        for column, value in (("measure", measure), ("article_id", article_id)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        rows = self.db.execute(
            f"SELECT doc FROM figures WHERE {' AND '.join(clauses)} "
            "ORDER BY published_at IS NULL, published_at, start LIMIT ?", [*params, size]).fetchall()
        return [json.loads(r[0]) for r in rows]

    def get(self, doc_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT doc FROM articles WHERE id = ?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def _where(self, query: Query) -> tuple[str, list[Any]] | None:
        clauses, params = [], []
        if query.text.strip():
            expr = to_fts5(parse(query.text))
            if expr is None:
                return None
            clauses.append("a.id IN (SELECT id FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(expr)
        if query.date_from:
            clauses.append("substr(a.published_at, 1, 10) >= ?")
            params.append(query.date_from.isoformat())
        if query.date_to:
            clauses.append("substr(a.published_at, 1, 10) <= ?")
            params.append(query.date_to.isoformat())
        return (" AND ".join(clauses) or "1=1"), params

    def search(self, query: Query, size: int = 10) -> SearchResult:
        where = self._where(query)
        if where is None:
            return SearchResult(0, [])
        sql, params = where
        total = self.db.execute(f"SELECT count(*) FROM articles a WHERE {sql}", params).fetchone()[0]
        if query.text.strip():
            rows = self.db.execute(
                "SELECT a.doc, -bm25(articles_fts, 0, 3.0, 2.0, 1.0) AS score FROM articles_fts "
                f"JOIN articles a ON a.id = articles_fts.id WHERE articles_fts MATCH ? AND {sql} "
                "ORDER BY score DESC, a.published_at DESC LIMIT ?",
                [to_fts5(parse(query.text)), *params, size],
            ).fetchall()
        else:
            rows = self.db.execute(
                f"SELECT a.doc, 0 FROM articles a WHERE {sql} ORDER BY a.published_at DESC LIMIT ?",
                [*params, size],
            ).fetchall()
        return SearchResult(int(total), [hit_from_doc(json.loads(d), float(s)) for d, s in rows])

    def monthly_counts(self, query: Query) -> list[tuple[str, int]]:
        where = self._where(query)
        if where is None:
            return []
        sql, params = where
        rows = self.db.execute(
            f"SELECT substr(a.published_at, 1, 7) AS month, count(*) FROM articles a "
            f"WHERE {sql} AND a.published_at IS NOT NULL GROUP BY month ORDER BY month",
            params,
        ).fetchall()
        return [(m, int(c)) for m, c in rows]

    def refresh(self) -> None:
        """Writes are visible on commit; nothing to do."""

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
