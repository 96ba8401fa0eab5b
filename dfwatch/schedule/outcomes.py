"""What each scheduled job did: the `job_runs` table in the state file (`<data_dir>/state.sqlite3`).

A run is written when it starts (`running`) and completed when it ends, so `dfwatch status`
sees running jobs, and a service that died leaves rows a restart marks `abandoned`. Runs
the scheduler did not start are recorded too: `skipped` (the previous run was still going:
max_instances = 1) and `missed` (later than the misfire grace time). The crawl itself also
writes its counts to the run log (`dfwatch.runs`); this table says how the job ended.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from dfwatch.runs import connect_state

Outcome = Literal["running", "ok", "failed", "timed_out", "stopped", "error", "skipped", "missed", "abandoned"]
FINISHED = ("ok", "failed", "timed_out", "stopped", "error", "abandoned")  # runs that started and ended

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,               -- crawl:<source>, digest:<subscription>, housekeeping
    kind TEXT NOT NULL,                 -- crawl | digest | housekeeping
    scheduled_at TEXT,                  -- runs not started: the fire time that was skipped or missed
    started_at TEXT NOT NULL,
    finished_at TEXT,                   -- NULL while running
    outcome TEXT NOT NULL,              -- running, one of FINISHED, or skipped | missed (not started)
    exit_code INTEGER,                  -- crawls: the subprocess's exit status (negative: killed by that signal)
    duration REAL,                      -- seconds
    pid INTEGER,                        -- crawls: the subprocess, leader of its own process group
    service_pid INTEGER NOT NULL,       -- the `dfwatch schedule` process that ran it
    detail TEXT NOT NULL DEFAULT '{}'   -- JSON: crawl counts, digest status, error, log file
);
CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job_id, id);
CREATE TABLE IF NOT EXISTS schedule_clock (
    speed INTEGER NOT NULL,             -- schedule.clock_speed the epoch belongs to
    epoch TEXT NOT NULL
);
"""


@dataclass
class JobRun:
    id: int
    job_id: str
    kind: str
    scheduled_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome
    exit_code: int | None
    duration: float | None
    pid: int | None
    service_pid: int
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for key in ("scheduled_at", "started_at", "finished_at"):
            d[key] = d[key].isoformat() if d[key] else None
        return d


class Outcomes:
    """The job_runs table; every call opens its own connection (jobs run in several threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @classmethod
    def existing(cls, path: Path) -> Outcomes | None:
        """The table if a service ever wrote it; creates nothing (for `dfwatch status`)."""
        if not path.is_file():
            return None
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_runs'").fetchone()
        finally:
            conn.close()
        if not found:
            return None
        out = cls.__new__(cls)
        out.path = path
        return out

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = connect_state(self.path)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def start(self, job_id: str, kind: str, service_pid: int) -> int:
        with self._connect() as conn:
            cur = conn.execute("INSERT INTO job_runs (job_id, kind, started_at, outcome, service_pid) "
                               "VALUES (?, ?, ?, 'running', ?)", (job_id, kind, _iso(datetime.now(UTC)), service_pid))
            return int(cur.lastrowid or 0)

    def set_pid(self, run_id: int, pid: int) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE job_runs SET pid = ? WHERE id = ?", (pid, run_id))

    def finish(self, run_id: int, outcome: Outcome, exit_code: int | None = None,
               detail: dict[str, Any] | None = None) -> None:
        now = datetime.now(UTC)
        with self._connect() as conn:
            row = conn.execute("SELECT started_at FROM job_runs WHERE id = ?", (run_id,)).fetchone()
            duration = (now - datetime.fromisoformat(row["started_at"])).total_seconds() if row else None
            conn.execute("UPDATE job_runs SET finished_at = ?, outcome = ?, exit_code = ?, duration = ?, detail = ? "
                         "WHERE id = ?", (_iso(now), outcome, exit_code, duration,
                                          json.dumps(detail or {}, ensure_ascii=False, default=str), run_id))

    def not_run(self, job_id: str, kind: str, outcome: Outcome, service_pid: int,
                scheduled: list[datetime], reason: str) -> None:
        """A run the scheduler did not start (skipped, missed)."""
        now = _iso(datetime.now(UTC))
        detail = {"reason": reason, "scheduled": [_iso(s) for s in scheduled]}
        with self._connect() as conn:
            conn.execute("INSERT INTO job_runs (job_id, kind, scheduled_at, started_at, finished_at, outcome, "
                         "duration, service_pid, detail) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                         (job_id, kind, _iso(scheduled[-1]) if scheduled else None, now, now, outcome, service_pid,
                          json.dumps(detail)))

    def still_running(self) -> list[JobRun]:
        """Runs marked running (at a service's start: left by one that died, whatever its pid was)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM job_runs WHERE outcome = 'running'").fetchall()
        return [_run(r) for r in rows]

    def history(self, job_id: str | None = None) -> list[JobRun]:
        """Every run, oldest first (of one job, or of all)."""
        sql, args = "SELECT * FROM job_runs ORDER BY id", ()
        if job_id is not None:
            sql, args = "SELECT * FROM job_runs WHERE job_id = ? ORDER BY id", (job_id,)  # type: ignore[assignment]
        with self._connect() as conn:
            return [_run(r) for r in conn.execute(sql, args).fetchall()]

    def summary(self) -> dict[str, JobSummary]:
        """Per job: the last finished run, the run in progress, and runs not started since the last one."""
        out: dict[str, JobSummary] = {}
        with self._connect() as conn:
            last = conn.execute(
                "SELECT * FROM job_runs WHERE id IN (SELECT MAX(id) FROM job_runs "  # noqa: S608 - placeholders only
                f"WHERE outcome IN ({', '.join('?' * len(FINISHED))}) GROUP BY job_id)", FINISHED).fetchall()
            for r in last:
                out.setdefault(r["job_id"], JobSummary()).last = _run(r)
            for r in conn.execute("SELECT * FROM job_runs WHERE outcome = 'running' ORDER BY id").fetchall():
                out.setdefault(r["job_id"], JobSummary()).running = _run(r)
            for r in conn.execute("SELECT job_id, outcome, COUNT(*) AS n FROM job_runs j WHERE outcome IN "
                                  "('skipped', 'missed') AND id > COALESCE((SELECT MAX(id) FROM job_runs k WHERE "
                                  "k.job_id = j.job_id AND k.outcome NOT IN ('skipped', 'missed')), 0) "
                                  "GROUP BY job_id, outcome").fetchall():
                setattr(out.setdefault(r["job_id"], JobSummary()), r["outcome"], int(r["n"]))
        return out

    def prune(self, keep_days: float) -> int:
        cutoff = _iso(datetime.now(UTC) - timedelta(days=keep_days))
        with self._connect() as conn:
            return conn.execute("DELETE FROM job_runs WHERE outcome != 'running' AND started_at < ?",
                                (cutoff,)).rowcount

    def clock_epoch(self, speed: int) -> datetime:
        """The compressed clock's epoch for this speed: kept across restarts, new when the speed changes."""
        with self._connect() as conn:
            row = conn.execute("SELECT speed, epoch FROM schedule_clock").fetchone()
            if row is not None and int(row["speed"]) == speed:
                return datetime.fromisoformat(row["epoch"])
            epoch = datetime.now(UTC)
            conn.execute("DELETE FROM schedule_clock")
            conn.execute("INSERT INTO schedule_clock (speed, epoch) VALUES (?, ?)", (speed, _iso(epoch)))
            return epoch


@dataclass
class JobSummary:
    last: JobRun | None = None
    running: JobRun | None = None
    skipped: int = 0  # since the last run: the previous run was still going
    missed: int = 0  # since the last run: too late to start


def overlapping(runs: list[JobRun]) -> list[tuple[JobRun, JobRun]]:
    """Pairs of runs of one job whose [started, finished] intervals overlap (must never happen)."""
    by_job: dict[str, list[JobRun]] = {}
    for r in runs:
        if r.outcome not in ("skipped", "missed"):
            by_job.setdefault(r.job_id, []).append(r)
    pairs = []
    for started in by_job.values():
        started.sort(key=lambda r: r.started_at)
        for a, b in zip(started, started[1:], strict=False):
            if a.finished_at is None or b.started_at < a.finished_at:
                pairs.append((a, b))
    return pairs


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _run(row: sqlite3.Row) -> JobRun:
    d = dict(row)
    for key in ("scheduled_at", "started_at", "finished_at"):
        d[key] = datetime.fromisoformat(d[key]) if d[key] else None
    d["detail"] = json.loads(d["detail"] or "{}")
    return JobRun(**d)
