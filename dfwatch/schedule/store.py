"""Where the scheduler keeps its jobs (a SQLAlchemy job store), read without a scheduler for `dfwatch status`,
and the lock that lets one `dfwatch schedule` run per data directory."""

from __future__ import annotations

import fcntl
import os
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from dfwatch.settings import Settings

TABLE = "apscheduler_jobs"


def jobstore_url(settings: Settings) -> str:
    """`schedule.jobstore_url` with the password from the environment, or SQLite in the data dir."""
    s = settings.schedule
    if not s.jobstore_url:
        return f"sqlite:///{settings.data_path / 'schedule.sqlite3'}"
    if s.jobstore_password is None:
        return s.jobstore_url
    from sqlalchemy.engine import make_url

    url = make_url(s.jobstore_url).set(password=s.jobstore_password.get_secret_value())
    return url.render_as_string(hide_password=False)


def shown(url: str) -> str:
    """The URL without its password, for logs and `dfwatch status`."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):  # the service's threads and `dfwatch status` share the file
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


@dataclass
class StoredJob:
    id: str
    name: str
    next_run_time: datetime | None  # None: paused
    trigger: str


def read_jobs(url: str) -> list[StoredJob] | None:
    """The jobs in the store, without starting a scheduler or writing anything; None if there is no store yet."""
    from sqlalchemy import create_engine, inspect, text

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    engine = create_engine(url, **engine_options(url))
    try:
        if not inspect(engine).has_table(TABLE):
            return None
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT id, next_run_time, job_state FROM {TABLE} "  # noqa: S608 - constant
                                     "ORDER BY id")).fetchall()
    finally:
        engine.dispose()
    jobs = []
    for job_id, next_run, state in rows:
        try:
            job = pickle.loads(state)  # noqa: S301 - the service's own job store
            name, trigger = str(job.get("name") or job_id), str(job.get("trigger"))
        except Exception as exc:  # a job the running code cannot restore; the service drops it at start
            name, trigger = job_id, f"unreadable: {type(exc).__name__}"
        when = datetime.fromtimestamp(next_run, UTC) if next_run is not None else None
        jobs.append(StoredJob(job_id, name, when, trigger))
    return jobs


class ServiceLock:
    """An exclusive lock on `<data_dir>/schedule.lock`, held while a service runs; it holds the pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def service_running(path: Path) -> tuple[int, str] | None:
    """(pid, started) of the service holding the lock, or None; only reads."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, _, started = fh.read().strip().partition(" ")
            return (int(pid) if pid.isdigit() else 0), started
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None
