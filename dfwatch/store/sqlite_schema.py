"""The embedded store's tables, their migration from older files, and how a document is written.

Articles keep their searchable text in columns (`title`, `lead`, `text`, `text_ko`) that an
external-content FTS5 index reads, filter values in indexed columns, and the rest of the
document as JSON. Entities, topics and figures get rows of their own, so filters, facets
and figure queries are index lookups and GROUP BYs, never JSON parsing per row.
"""

# SQL is assembled from fixed fragments chosen in code; every user value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from dfwatch.records import figure_docs
from dfwatch.search.highlight import clean
from dfwatch.store.prepare import prepare

VERSION = 2  # PRAGMA user_version of a file with this schema; 0 with tables is the first (v1) schema
TEXT_COLUMNS = ("title", "lead", "text")
SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (  -- narrow: what filters, sorts and aggregations read
    rid INTEGER PRIMARY KEY,  -- the FTS rowid
    id TEXT NOT NULL UNIQUE,
    published_at TEXT,  -- UTC ISO 8601
    source_id TEXT NOT NULL,
    source_type TEXT NOT NULL,
    country TEXT NOT NULL,
    lang TEXT NOT NULL,
    story_id TEXT NOT NULL,
    story_size INTEGER NOT NULL DEFAULT 1,  -- articles in the story (histograms rank stories of several)
    figure_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS art_published ON articles(published_at, story_id);
CREATE INDEX IF NOT EXISTS art_day ON articles(substr(published_at, 1, 10));
CREATE INDEX IF NOT EXISTS art_multi ON articles(story_id, published_at, story_size) WHERE story_size > 1;
CREATE INDEX IF NOT EXISTS art_date_order ON articles(ifnull(published_at, '') DESC, id);
CREATE INDEX IF NOT EXISTS art_source ON articles(source_id, published_at);
CREATE INDEX IF NOT EXISTS art_type ON articles(source_type, published_at);
CREATE INDEX IF NOT EXISTS art_country ON articles(country, published_at);
CREATE INDEX IF NOT EXISTS art_lang ON articles(lang, published_at);
CREATE INDEX IF NOT EXISTS art_story ON articles(story_id, published_at);
CREATE TABLE IF NOT EXISTS article_docs (  -- wide: searchable text and the document
    rid INTEGER PRIMARY KEY,  -- articles.rid
    title TEXT NOT NULL,
    lead TEXT NOT NULL,
    text TEXT NOT NULL,
    text_ko TEXT NOT NULL,  -- Kiwi stems (dfwatch.search.korean), indexed only
    doc TEXT NOT NULL  -- the other fields of the document, JSON
);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, lead, text, text_ko, content = 'article_docs', content_rowid = 'rid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS docs_fts_insert AFTER INSERT ON article_docs BEGIN
    INSERT INTO articles_fts (rowid, title, lead, text, text_ko)
    VALUES (new.rid, new.title, new.lead, new.text, new.text_ko);
END;
CREATE TRIGGER IF NOT EXISTS docs_fts_delete AFTER DELETE ON article_docs BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, lead, text, text_ko)
    VALUES ('delete', old.rid, old.title, old.lead, old.text, old.text_ko);
END;
CREATE TRIGGER IF NOT EXISTS docs_fts_update AFTER UPDATE OF title, lead, text, text_ko ON article_docs BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, lead, text, text_ko)
    VALUES ('delete', old.rid, old.title, old.lead, old.text, old.text_ko);
    INSERT INTO articles_fts (rowid, title, lead, text, text_ko)
    VALUES (new.rid, new.title, new.lead, new.text, new.text_ko);
END;
CREATE TABLE IF NOT EXISTS entities (
    eid INTEGER PRIMARY KEY,
    norm TEXT NOT NULL UNIQUE,  -- the normalised name (facets, trends)
    key TEXT NOT NULL,  -- casefolded, for the entity filter
    label TEXT NOT NULL  -- as first seen
);
CREATE INDEX IF NOT EXISTS ent_key ON entities(key);
CREATE TABLE IF NOT EXISTS article_entities (
    article INTEGER NOT NULL,  -- articles.rid
    eid INTEGER NOT NULL,
    PRIMARY KEY (article, eid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS art_ent_eid ON article_entities(eid, article);
CREATE TABLE IF NOT EXISTS article_topics (
    article INTEGER NOT NULL,
    topic TEXT NOT NULL,
    PRIMARY KEY (article, topic)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS topic_topic ON article_topics(topic, article);
CREATE TABLE IF NOT EXISTS figures (
    id TEXT PRIMARY KEY,
    article INTEGER NOT NULL,  -- articles.rid
    article_id TEXT NOT NULL,
    measure TEXT,
    place TEXT,
    source_id TEXT NOT NULL,
    published_at TEXT,  -- UTC ISO 8601, the article's
    start INTEGER NOT NULL,
    period_start TEXT,
    period_end TEXT,
    story_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fig_order ON figures(ifnull(published_at, '9'), article_id, start, id);
CREATE INDEX IF NOT EXISTS fig_article ON figures(article);
CREATE INDEX IF NOT EXISTS fig_measure ON figures(measure, place);
"""
ARTICLE_COLUMNS = ("id", "published_at", "source_id", "source_type", "country", "lang", "story_id",
                   "figure_count")
UPSERT_ARTICLE = (
    f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}) "
    f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in ARTICLE_COLUMNS[1:])} RETURNING rid"
)
UPSERT_DOC = (
    "INSERT INTO article_docs (rid, title, lead, text, text_ko, doc) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(rid) DO UPDATE SET title = excluded.title, lead = excluded.lead, text = excluded.text, "
    "text_ko = excluded.text_ko, doc = excluded.doc"
)


def utc_iso(value: str | None) -> str | None:
    """Dates are compared and bucketed in UTC, as Elasticsearch does (naive times are UTC)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def create(db: sqlite3.Connection) -> None:
    """Bring the file to the current schema (idempotent); call inside a transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version >= VERSION:
        return
    old = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles'").fetchone()
    if old:
        _migrate_v1(db)
    else:
        for statement in _statements(SCHEMA):
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {VERSION}")


def _statements(script: str) -> list[str]:
    """Split the schema on statement ends (triggers hold `;` inside BEGIN … END)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def _migrate_v1(db: sqlite3.Connection) -> None:
    """v1 held (id, published_at, source_id, doc) and an FTS table over title/lead/text: rebuild
    everything from the stored documents, which re-derives filters, stems and figure records."""
    db.execute("ALTER TABLE articles RENAME TO articles_v1")
    for name in ("articles_fts", "figures"):
        db.execute(f"DROP TABLE IF EXISTS {name}")
    db.execute("DROP INDEX IF EXISTS articles_published")
    for statement in _statements(SCHEMA):
        db.execute(statement)
    last = 0
    while True:
        rows = db.execute("SELECT rowid, doc FROM articles_v1 WHERE rowid > ? ORDER BY rowid LIMIT 500",
                          (last,)).fetchall()
        if not rows:
            break
        write(db, (json.loads(doc) for _, doc in rows))
        last = rows[-1][0]
    db.execute("DROP TABLE articles_v1")


def write(db: sqlite3.Connection, docs: Iterable[dict[str, Any]]) -> int:
    """Insert or replace articles with their entity, topic and figure rows; call inside a transaction."""
    n = 0
    stories: set[str] = set()
    for doc in docs:
        d = prepare(doc)
        old = db.execute("SELECT story_id FROM articles WHERE id = ?", (d["id"],)).fetchone()
        stories.update([d["story_id"], *(old or ())])
        text_ko = d.pop("text_ko") or ""
        texts = [clean(d.pop(c, None) or "") for c in TEXT_COLUMNS]
        src = d["source"]
        published = utc_iso(d.get("published_at"))
        rid = db.execute(UPSERT_ARTICLE, (
            d["id"], published, src["id"], src.get("type", ""), src.get("country", ""), d.get("language") or "",
            d["story_id"], d["figure_count"],
        )).fetchone()[0]
        db.execute(UPSERT_DOC, (rid, *texts, text_ko, json.dumps(d, ensure_ascii=False)))
        for table in ("article_entities", "article_topics", "figures"):
            db.execute(f"DELETE FROM {table} WHERE article = ?", (rid,))
        db.executemany("INSERT OR IGNORE INTO article_entities (article, eid) VALUES (?, ?)",
                       [(rid, entity_id(db, e["norm"], e.get("label") or ""))
                        for e in d.get("entities") or [] if e.get("norm")])
        topics = dict.fromkeys((d.get("relevance") or {}).get("topics") or [])
        db.executemany("INSERT INTO article_topics (article, topic) VALUES (?, ?)", [(rid, t) for t in topics])
        db.executemany(
            "INSERT OR REPLACE INTO figures (id, article, article_id, measure, place, source_id, published_at, "
            "start, period_start, period_end, story_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f["id"], rid, d["id"], f.get("measure"), f.get("place"), src["id"], published, f["start"],
              (f.get("period") or {}).get("start"), (f.get("period") or {}).get("end"), d["story_id"],
              json.dumps(f, ensure_ascii=False)) for f in figure_docs({**d, "title": texts[0]})],
        )
        n += 1
    recount_stories(db, stories)
    return n


def recount_stories(db: sqlite3.Connection, story_ids: Iterable[str]) -> None:
    ids = list(story_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.execute("UPDATE articles SET story_size = (SELECT count(*) FROM articles s WHERE s.story_id = "
                   f"articles.story_id) WHERE story_id IN ({', '.join('?' * len(chunk))})", chunk)


def entity_id(db: sqlite3.Connection, norm: str, label: str) -> int:
    row = db.execute("SELECT eid FROM entities WHERE norm = ?", (norm,)).fetchone()
    if row:
        return int(row[0])
    return int(db.execute("INSERT INTO entities (norm, key, label) VALUES (?, ?, ?) RETURNING eid",
                          (norm, norm.casefold(), label)).fetchone()[0])
