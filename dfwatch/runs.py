"""Crawl state on disk (`<data_dir>/state.sqlite3`) and the log of crawl runs kept in it.

The same SQLite file holds the seen-store (`crawler.seen`); `connect_state` opens it the
same way for both: WAL, so a `dfwatch status` can read while a crawl writes, and a busy
timeout, so two crawl processes wait for each other instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

RUNS_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    finish_reason TEXT,
    fetched INTEGER NOT NULL,           -- responses received: robots.txt, feeds, pages (not 304s)
    articles_fetched INTEGER NOT NULL,  -- article pages downloaded (200)
    new INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    indexed INTEGER NOT NULL,
    spooled INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    skipped TEXT NOT NULL,              -- JSON {reason: count}: not fetched
    dropped TEXT NOT NULL,              -- JSON {reason: count}: fetched, not indexed
    retried TEXT NOT NULL               -- JSON {status or "timeout": count}
);
CREATE INDEX IF NOT EXISTS runs_by_source ON runs (source_id, id);
"""


def connect_state(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@dataclass
class Run:
    source_id: str
    started_at: datetime
    finished_at: datetime
    finish_reason: str | None
    fetched: int
    articles_fetched: int
    new: int
    updated: int
    unchanged: int
    indexed: int
    spooled: int
    errors: int
    skipped: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["started_at"] = self.started_at.isoformat()
        d["finished_at"] = self.finished_at.isoformat()
        return d


class RunLog:
    """Append-only record of crawl runs; one row per source per crawl."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.executescript(RUNS_SCHEMA)

    @classmethod
    def open(cls, path: Path) -> RunLog:
        return cls(connect_state(path))

    def record(self, run: Run) -> None:
        row = run.as_dict()
        for key in ("skipped", "dropped", "retried"):
            row[key] = json.dumps(row[key], sort_keys=True)
        columns = ", ".join(row)
        with self.conn:
            self.conn.execute(f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
                              list(row.values()))

    def last_runs(self) -> dict[str, Run]:
        """The latest run of every source that has one, by source id."""
        rows = self.conn.execute(
            "SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY source_id)").fetchall()
        return {r["source_id"]: _run(r) for r in rows}

    def close(self) -> None:
        self.conn.close()


def _run(row: sqlite3.Row) -> Run:
    d = dict(row)
    d.pop("id")
    for key in ("skipped", "dropped", "retried"):
        d[key] = json.loads(d[key])
    d["started_at"] = datetime.fromisoformat(d["started_at"])
    d["finished_at"] = datetime.fromisoformat(d["finished_at"])
    return Run(**d)
