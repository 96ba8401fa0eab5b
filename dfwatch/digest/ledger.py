"""The digest log (`<data_dir>/digests.sqlite3`): every (subscription, window) and what it delivered.

A digest row goes through states:

- `pending`: rendered and written, with its Message-ID, message and items, before the SMTP
  connection; the server has not been given the message's end yet. Safe to send again.
- `sending`: written (and synced) just before the SMTP DATA phase begins. From here on the
  server may accept the message at any moment.
- `sent`: the server answered 250 to the message. `unconfirmed`: the process ended (or the
  connection broke) while `sending`: the server may have accepted it, so it counts as
  delivered and is never resent automatically (`--force` resends it, with the same id).
- `failed`: every try ended before DATA, or the server refused the message: nothing left.
- `skipped`: nothing was new and the subscription says `when_empty: skip`.
- `baseline`: the articles a subscription's first digest treated as already known.

Items (article ids with their story ids, figure values) count as known once their row is
`baseline`, `sent` or `unconfirmed`: that set, not a date, decides what the next digest has.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dfwatch.digest.build import Known

DELIVERED = ("sent", "unconfirmed")
KNOWN = ("baseline", "sending", *DELIVERED)  # `sending`: in flight, or left by a dead process (→ unconfirmed)
REPLACEABLE = ("pending", "failed", "skipped")  # a new build of the same window may take these rows over
SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    id INTEGER PRIMARY KEY,
    subscription TEXT NOT NULL,
    window_start TEXT,
    window_end TEXT NOT NULL,  -- UTC ISO 8601: the send time this digest is for
    attempt INTEGER NOT NULL,  -- 0; forced resends 1, 2, …; the baseline -1
    state TEXT NOT NULL,
    message_id TEXT,
    subject TEXT,
    recipients TEXT NOT NULL DEFAULT '[]',
    refused TEXT NOT NULL DEFAULT '{}',
    counts TEXT NOT NULL DEFAULT '{}',
    message BLOB,
    error TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (subscription, window_end, attempt)
);
CREATE TABLE IF NOT EXISTS digest_items (
    digest INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,  -- article (value: story id) | figure (value: the number sent)
    key TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (digest, kind, key)
) WITHOUT ROWID;
"""


@dataclass
class Entry:
    id: int
    subscription: str
    window_start: datetime | None
    window_end: datetime
    attempt: int
    state: str
    message_id: str | None
    subject: str | None
    recipients: list[str]
    refused: dict[str, str]
    counts: dict[str, int]
    error: str | None
    tries: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    message: bytes | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "message"}
        for k in ("window_start", "window_end", "created_at", "updated_at", "sent_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # `sending` must be on disk before DATA starts
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def lock(self, subscription: str) -> Iterator[None]:
        """One process at a time per subscription; the OS drops the lock when a process dies."""
        path = self.path.parent / "digest-locks" / f"{subscription}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LedgerBusy(f"another dfwatch process is running digest {subscription!r}") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ------------------------------------------------------------ reading
    def known(self, subscription: str) -> Known:
        marks = ", ".join("?" * len(KNOWN))
        rows = self.db.execute(
            f"SELECT i.kind, i.key, i.value FROM digest_items i JOIN digests d ON d.id = i.digest "  # noqa: S608
            f"WHERE d.subscription = ? AND d.state IN ({marks}) ORDER BY d.window_end, d.id", (subscription, *KNOWN))
        articles: dict[str, str] = {}
        figures: dict[str, float] = {}
        for kind, key, value in rows:
            if kind == "article":
                articles[key] = value
            elif kind == "figure":
                figures[key] = float(value)
        baseline = self.db.execute("SELECT 1 FROM digests WHERE subscription = ? AND state = 'baseline'",
                                   (subscription,)).fetchone()
        return Known(articles=articles, figures=figures, has_baseline=baseline is not None)

    def delivered(self, subscription: str, window_end: datetime) -> Entry | None:
        """The last delivered (sent or unconfirmed) attempt for this window, if any."""
        marks = ", ".join("?" * len(DELIVERED))
        row = self.db.execute(f"SELECT {COLUMNS} FROM digests WHERE subscription = ? AND window_end = ? "  # noqa: S608
                              f"AND attempt >= 0 AND state IN ({marks}) ORDER BY attempt DESC LIMIT 1",
                              (subscription, _iso(window_end), *DELIVERED)).fetchone()
        return _entry(row) if row else None

    def next_attempt(self, subscription: str, window_end: datetime) -> int:
        row = self.db.execute("SELECT max(attempt) FROM digests WHERE subscription = ? AND window_end = ?",
                              (subscription, _iso(window_end))).fetchone()
        return 0 if row[0] is None else max(0, row[0] + 1)

    def watermark(self, subscription: str, before: datetime) -> datetime | None:
        """The end of the last window before `before` that is done (delivered, or skipped as empty)."""
        row = self.db.execute("SELECT max(window_end) FROM digests WHERE subscription = ? AND state IN "
                              "('sent', 'unconfirmed', 'skipped') AND attempt >= 0 AND window_end < ?",
                              (subscription, _iso(before))).fetchone()
        return _when(row[0])

    def entries(self, subscription: str | None = None, limit: int = 50) -> list[Entry]:
        where, params = ("WHERE subscription = ?", [subscription]) if subscription else ("", [])
        rows = self.db.execute(f"SELECT {COLUMNS} FROM digests {where} ORDER BY window_end DESC, attempt DESC "  # noqa: S608
                               "LIMIT ?", [*params, limit]).fetchall()
        return [_entry(r) for r in rows]

    # ------------------------------------------------------------ writing
    def recover(self, subscription: str) -> list[Entry]:
        """Settle what a dead process left; call under `lock`, so no live process owns these rows.
        `sending` becomes `unconfirmed` (the server may have the message); `pending` never reached
        DATA, so it becomes `failed` (a new build of its window takes the row over, same Message-ID)."""
        with self._tx() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM digests WHERE subscription = ? AND "  # noqa: S608
                              "state IN ('sending', 'pending')", (subscription,)).fetchall()
            for row in rows:
                entry = _entry(row)
                if entry.state == "sending":
                    self._set(db, entry.id, "unconfirmed", error="the process ended after the SMTP DATA phase "
                              "began: the server may have accepted it, so it is not resent automatically")
                else:
                    self._set(db, entry.id, "failed", error="the process ended before the SMTP DATA phase")
        return [_entry(r) for r in rows]

    def add_baseline(self, subscription: str, cutoff: datetime, articles: dict[str, str]) -> None:
        with self._tx() as db:
            now = _now()
            cur = db.execute("INSERT INTO digests (subscription, window_end, attempt, state, counts, created_at, "
                             "updated_at) VALUES (?, ?, -1, 'baseline', ?, ?, ?)",
                             (subscription, _iso(cutoff), json.dumps({"articles": len(articles)}), now, now))
            db.executemany("INSERT INTO digest_items (digest, kind, key, value) VALUES (?, 'article', ?, ?)",
                           [(cur.lastrowid, k, v) for k, v in articles.items()])

    def begin(self, subscription: str, window_start: datetime | None, window_end: datetime, attempt: int,
              message_id: str | None, subject: str | None, recipients: list[str], counts: dict[str, int],
              message: bytes | None, articles: dict[str, str], figures: dict[str, float],
              state: str = "pending") -> int:
        """Write a digest row (replacing a pending, failed or skipped one of the same window) with its items."""
        now = _now()
        with self._tx() as db:
            old = db.execute("SELECT id, state FROM digests WHERE subscription = ? AND window_end = ? AND attempt = ?",
                             (subscription, _iso(window_end), attempt)).fetchone()
            if old and old[1] not in REPLACEABLE:
                raise LedgerConflict(f"digest {subscription!r} for {_iso(window_end)} is already {old[1]}")
            if old:
                db.execute("DELETE FROM digests WHERE id = ?", (old[0],))
            cur = db.execute(
                "INSERT INTO digests (subscription, window_start, window_end, attempt, state, message_id, subject, "
                "recipients, counts, message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (subscription, _iso(window_start), _iso(window_end), attempt, state, message_id, subject,
                 json.dumps(recipients), json.dumps(counts), message, now, now))
            digest = cur.lastrowid
            db.executemany("INSERT INTO digest_items (digest, kind, key, value) VALUES (?, 'article', ?, ?)",
                           [(digest, k, v) for k, v in articles.items()])
            db.executemany("INSERT INTO digest_items (digest, kind, key, value) VALUES (?, 'figure', ?, ?)",
                           [(digest, k, repr(float(v))) for k, v in figures.items()])
        assert digest is not None
        return digest

    def set_state(self, digest: int, state: str, *, error: str | None = None, refused: dict[str, str] | None = None,
                  tries: int | None = None) -> None:
        with self._tx() as db:
            self._set(db, digest, state, error=error, refused=refused, tries=tries)

    def _set(self, db: sqlite3.Connection, digest: int, state: str, *, error: str | None = None,
             refused: dict[str, str] | None = None, tries: int | None = None) -> None:
        now = _now()
        db.execute("UPDATE digests SET state = ?, error = ?, updated_at = ?, "
                   "sent_at = CASE WHEN ? IN ('sent', 'unconfirmed') THEN ? ELSE sent_at END, "
                   "refused = coalesce(?, refused), tries = coalesce(?, tries) WHERE id = ?",
                   (state, error, now, state, now, json.dumps(refused) if refused is not None else None, tries, digest))

    def message(self, digest: int) -> bytes | None:
        row = self.db.execute("SELECT message FROM digests WHERE id = ?", (digest,)).fetchone()
        return row[0] if row else None


class LedgerBusy(RuntimeError):
    """Another process holds this subscription's lock."""


class LedgerConflict(RuntimeError):
    """The window already has a row that must not be replaced."""


COLUMNS = ("id, subscription, window_start, window_end, attempt, state, message_id, subject, recipients, refused, "
           "counts, error, tries, created_at, updated_at, sent_at, message")


def _entry(row: tuple[Any, ...]) -> Entry:
    (id_, sub, start, end, attempt, state, mid, subject, recipients, refused, counts, error, tries, created,
     updated, sent, message) = row
    return Entry(id=id_, subscription=sub, window_start=_when(start), window_end=_when(end) or datetime.min,
                 attempt=attempt, state=state, message_id=mid, subject=subject, recipients=json.loads(recipients),
                 refused=json.loads(refused), counts=json.loads(counts), error=error, tries=tries,
                 created_at=_when(created) or datetime.min, updated_at=_when(updated) or datetime.min,
                 sent_at=_when(sent), message=message)
