"""Embedded store: SQLite with an FTS5 index, for a machine with nothing else installed.

The same Store protocol as Elasticsearch (dfwatch.store.base): tables and writes are in
`sqlite_schema`, search in `sqlite_search`, timeline aggregations in `sqlite_timeline`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from dfwatch.search.model import (
    Bucket,
    EntityTrend,
    FigureQuery,
    Filters,
    SearchPage,
    SearchRequest,
    Story,
    encode_cursor,
)
from dfwatch.store import sqlite_schema, sqlite_search, sqlite_timeline
from dfwatch.store.base import StoreError
from dfwatch.store.sqlite_where import cursor, match

BATCH = 500
FIGURE_KEY = "ifnull(f.published_at, '9')"  # oldest article first, undated last


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.setup()  # an embedded store makes its own schema: a fresh data dir searches as empty, not as an error

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all or nothing; SQLite's refusals become StoreError."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite write to {self.path} failed: {exc}") from exc

    def setup(self) -> None:
        """Create the tables, or bring an older file up to date (idempotent)."""
        with self._transaction() as db:
            sqlite_schema.create(db)

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        with self._transaction() as db:
            return sqlite_schema.write(db, docs)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        row = self.db.execute(f"SELECT {ARTICLE_FIELDS} FROM articles a JOIN article_docs d ON d.rid = a.rid "
                              "WHERE a.id = ?", (doc_id,)).fetchone()
        return _article(row) if row else None

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def search(self, req: SearchRequest) -> SearchPage:
        return sqlite_search.search(self.db, req)

    def histogram(self, req: SearchRequest, interval: str, top_stories: int = 3) -> list[Bucket]:
        return sqlite_timeline.histogram(self.db, req, interval, top_stories)

    def date_span(self, req: SearchRequest) -> tuple[str | None, str | None]:
        return sqlite_timeline.date_span(self.db, req)

    def stories(self, req: SearchRequest, size: int = 20, order: str = "first_seen") -> list[Story]:
        return sqlite_timeline.stories(self.db, req, size, order)

    def entity_trends(self, req: SearchRequest, interval: str, size: int = 10) -> list[EntityTrend]:
        return sqlite_timeline.entity_trends(self.db, req, interval, size)

    def iter_articles(self, req: SearchRequest) -> Iterator[dict[str, Any]]:
        """Every match in insertion order, in keyset batches (the FTS rowid range when there are words)."""
        m = match(req)
        source, where, params = m.source()
        rid = "articles_fts.rowid" if m.fts else "a.rid"
        last = 0
        while True:
            rows = self.db.execute(
                f"SELECT {rid}, {ARTICLE_FIELDS} FROM {source} JOIN article_docs d ON d.rid = a.rid "
                f"WHERE {where} AND {rid} > ? ORDER BY {rid} LIMIT {BATCH}", [*params, last]).fetchall()
            for row in rows:
                doc = _article(row[1:])
                doc.pop("signature", None)
                yield doc
            if len(rows) < BATCH:
                return
            last = rows[-1][0]

    def figures(self, fq: FigureQuery) -> tuple[list[dict[str, Any]], str | None]:
        after = cursor(fq.after, (str, str, int, str))
        where, params = _figure_where(fq)
        if after:
            # the first term lets the index seek; the row value orders the rest
            where += f" AND {FIGURE_KEY} >= ? AND ({FIGURE_KEY}, f.article_id, f.start, f.id) > (?, ?, ?, ?)"
            params += [after[0], *after]
        rows = self.db.execute(
            f"SELECT f.doc, f.story_id, {FIGURE_KEY}, f.article_id, f.start, f.id FROM figures f WHERE {where} "
            f"ORDER BY {FIGURE_KEY}, f.article_id, f.start, f.id LIMIT ?", [*params, fq.size + 1]).fetchall()
        more = len(rows) > fq.size
        rows = rows[:fq.size]
        records = [{**json.loads(doc), "story_id": story_id} for doc, story_id, *_ in rows]
        return records, encode_cursor(list(rows[-1][2:])) if more and rows else None

    def iter_figures(self, fq: FigureQuery) -> Iterator[dict[str, Any]]:
        after = None
        while True:
            records, after = self.figures(replace(fq, size=BATCH, after=after))
            yield from records
            if after is None:
                return

    def set_stories(self, assignments: dict[str, str]) -> int:
        changed = 0
        touched: set[str] = set()
        with self._transaction() as db:
            for article_id, story_id in assignments.items():
                row = db.execute("SELECT rid, story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
                if row and row[1] != story_id:
                    db.execute("UPDATE articles SET story_id = ? WHERE rid = ?", (story_id, row[0]))
                    db.execute("UPDATE figures SET story_id = ? WHERE article = ?", (story_id, row[0]))
                    touched.update((row[1], story_id))
                    changed += 1
            sqlite_schema.recount_stories(db, touched)
        return changed

    def refresh(self) -> None:
        """Writes are visible on commit; nothing to do."""

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


ARTICLE_FIELDS = "d.doc, d.title, d.lead, d.text, a.story_id"


def _article(row: Any) -> dict[str, Any]:
    doc, title, lead, text, story_id = row
    return {**json.loads(doc), "title": title, "lead": lead, "text": text, "story_id": story_id}


def _figure_where(fq: FigureQuery) -> tuple[str, list[Any]]:
    clauses, params = ["1"], []
    for column, value in (("f.measure", fq.measure), ("f.place", fq.place), ("f.article_id", fq.article_id)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if fq.source:
        clauses.append(f"f.source_id IN ({', '.join('?' * len(fq.source))})")
        params += list(fq.source)
    if fq.period_from:
        clauses.append("f.period_end >= ?")
        params.append(fq.period_from.isoformat())
    if fq.period_to:
        clauses.append("f.period_start < ?")
        params.append((fq.period_to + timedelta(days=1)).isoformat())
    if fq.q.strip() or fq.filters != Filters():
        where, match_params = match(SearchRequest(q=fq.q, filters=fq.filters)).where()
        clauses.append(f"f.article IN (SELECT a.rid FROM articles a WHERE {where})")
        params += match_params
    return " AND ".join(clauses), params
