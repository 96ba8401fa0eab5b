"""The scheduler's jobs: what config asks for (`job_specs`), and the functions the jobs call.

Job ids: `crawl:<source id>`, `digest:<subscription>`, `digest-retry:<subscription>` (a
one-off retry after SMTP failed), `housekeeping`. A job's name describes its trigger as
configured; the service compares names to tell an unchanged job (kept, with its stored
next run time) from a changed one (replaced).

Jobs live in a persistent job store, so what they call must be importable by name and
their arguments plain data: the functions below take only an id and find the running
service's settings, clock and crawl processes through `bind()`, which the service calls
once at start (settings hold secrets, which must never be pickled into the job store).
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from dfwatch.schedule.clock import Clock, CompressedTrigger
from dfwatch.schedule.crawljob import ProcessGroups, run_crawl
from dfwatch.schedule.outcomes import Outcome, Outcomes
from dfwatch.settings import Settings
from dfwatch.sources import Schedule, Source

logger = logging.getLogger(__name__)
REF = "dfwatch.schedule.jobs:"
FIRST_RUN_DELAY = 2  # real seconds from start to the first run of a new interval job (before jitter)


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "module:function", as the job store keeps it
    args: tuple[str, ...]
    trigger: BaseTrigger = field(compare=False)
    name: str


# ---------------------------------------------------------------- jobs from config
def job_specs(settings: Settings, sources: dict[str, Source], subscriptions: dict[str, Any],
              clock: Clock) -> dict[str, JobSpec]:
    """Every job config asks for, by id: a crawl per source, a digest per enabled subscription, housekeeping."""
    now = clock.now()
    first = now + timedelta(seconds=FIRST_RUN_DELAY * clock.speed)  # new interval jobs: soon after start
    specs = [crawl_spec(s, clock, first) for s in sources.values()]
    specs += [digest_spec(sub, clock) for sub in subscriptions.values() if getattr(sub, "enabled", True)]
    minutes = settings.schedule.housekeeping_minutes
    if minutes:
        trigger = IntervalTrigger(minutes=minutes, start_date=first, timezone="UTC")
        specs.append(_spec("housekeeping", "housekeeping", (), trigger, f"housekeeping: every {minutes} min", clock))
    return {s.id: s for s in specs}


def crawl_spec(source: Source, clock: Clock, first: datetime) -> JobSpec:
    trigger, when = source_trigger(source.schedule, first)
    return _spec(f"crawl:{source.id}", "crawl", (source.id,), trigger, f"crawl {source.id}: {when}", clock)


def source_trigger(schedule: Schedule, first: datetime) -> tuple[BaseTrigger, str]:
    """A source's interval or cron, with its jitter; an interval's first run comes within the jitter of `first`."""
    jitter = schedule.jitter_seconds or None
    also = f", jitter {schedule.jitter_seconds} s" if jitter else ""
    if schedule.interval_minutes is not None:
        trigger: BaseTrigger = IntervalTrigger(minutes=schedule.interval_minutes, start_date=first,
                                               timezone=schedule.timezone, jitter=jitter)
        return trigger, f"every {schedule.interval_minutes} min{also}"
    assert schedule.cron is not None
    minute, hour, day, month, day_of_week = schedule.cron.split()
    trigger = CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                          timezone=schedule.timezone, jitter=jitter)
    return trigger, f"cron '{schedule.cron}' {schedule.timezone}{also}"


def digest_spec(sub: Any, clock: Clock) -> JobSpec:
    cron = sub.cron()
    when = f"{sub.frequency}{' ' + sub.weekday if sub.weekday else ''} {sub.send_at.strftime('%H:%M')} {sub.timezone}"
    return _spec(f"digest:{sub.name}", "digest", (sub.name,), CronTrigger(**cron), f"digest {sub.name}: {when}",
                 clock)


def _spec(job_id: str, func: str, args: tuple[str, ...], trigger: BaseTrigger, name: str, clock: Clock) -> JobSpec:
    if clock.compressed:
        trigger, name = CompressedTrigger(trigger, clock), f"{name} [clock {clock.speed}x]"
    return JobSpec(job_id, REF + func, args, trigger, name)


def kind_of(job_id: str) -> str:
    return job_id.split(":", 1)[0].removesuffix("-retry")


# ---------------------------------------------------------------- what jobs run in
@dataclass
class Runtime:
    """The running service, as the job functions see it."""

    settings: Settings
    config: Path | None
    clock: Clock
    outcomes: Outcomes
    groups: ProcessGroups = field(default_factory=ProcessGroups)
    stopping: threading.Event = field(default_factory=threading.Event)
    retry_digest: Callable[[str, datetime], None] | None = None  # (subscription, real run time)
    active: dict[int, str] = field(default_factory=dict)  # run id -> job id, while it runs
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def work_dir(self) -> Path:
        """Latest output and report of each scheduled crawl."""
        return self.settings.data_path / "schedule"

    @contextmanager
    def run(self, job_id: str) -> Iterator[Run]:
        run = Run(self, job_id, self.outcomes.start(job_id, kind_of(job_id), os.getpid()))
        with self.lock:
            self.active[run.id] = job_id
        try:
            yield run
        except Exception as exc:  # a bug or an unexpected failure: recorded, and the service goes on
            logger.exception("job %s failed", job_id)
            run.finish("error", detail={"error": f"{type(exc).__name__}: {exc}",
                                        "traceback": traceback.format_exc(limit=8)[-3000:]})
        finally:
            if not run.finished:
                run.finish("error", detail={"error": "ended without an outcome"})
            with self.lock:
                self.active.pop(run.id, None)

    def running_jobs(self) -> list[str]:
        with self.lock:
            return list(self.active.values())


@dataclass
class Run:
    runtime: Runtime
    job_id: str
    id: int
    finished: bool = False

    def finish(self, outcome: Outcome, exit_code: int | None = None, detail: dict[str, Any] | None = None) -> None:
        self.runtime.outcomes.finish(self.id, outcome, exit_code, detail)
        self.finished = True
        logger.info("job %s: %s%s", self.job_id, outcome, f" (exit {exit_code})" if exit_code is not None else "")


_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("dfwatch scheduler jobs run only inside `dfwatch schedule`")
    return _runtime


# ---------------------------------------------------------------- the job functions
def crawl(source_id: str) -> None:
    rt = current()
    with rt.run(f"crawl:{source_id}") as run:
        if rt.stopping.is_set():
            run.finish("stopped", detail={"reason": "the service was stopping"})
            return
        s = rt.settings.schedule
        result = run_crawl(source_id, config=rt.config, work_dir=rt.work_dir, timeout=s.crawl_timeout,
                           kill_grace=s.kill_grace, groups=rt.groups,
                           on_start=lambda pid: rt.outcomes.set_pid(run.id, pid))
        run.finish(result.outcome, result.exit_code, result.detail())


def digest(subscription: str) -> None:
    from dfwatch.digest import InDoubt, LedgerBusy, SendError, run_digest
    from dfwatch.store import StoreError
    from dfwatch.yamlconf import ConfigError

    rt = current()
    job_id = f"digest:{subscription}"
    with rt.run(job_id) as run:
        now = rt.clock.now()  # schedule time: on a compressed clock, the digest's windows move with it
        detail: dict[str, Any] = {"schedule_time": now.isoformat()} if rt.clock.compressed else {}
        try:
            result = run_digest(rt.settings, subscription, now=now, sleep=_interruptible(rt.stopping))
        except InDoubt as exc:  # never resent automatically
            run.finish("failed", detail={**detail, "error": str(exc), "in_doubt": True})
        except SendError as exc:
            retry = _schedule_retry(rt, subscription)
            run.finish("failed", detail={**detail, "error": str(exc), "retry_at": retry})
        except (LedgerBusy, StoreError, ConfigError) as exc:
            run.finish("failed", detail={**detail, "error": f"{type(exc).__name__}: {exc}"})
        else:
            out = result.as_dict()
            run.finish("ok", detail={**detail, **{k: out[k] for k in ("status", "window_start", "window_end",
                                                                     "message_id", "subject", "counts", "note")}})


def digest_retry(subscription: str) -> None:
    digest(subscription)


def housekeeping() -> None:
    """Replay spooled documents into the store; prune old job outcomes."""
    from dfwatch.spool import Spool
    from dfwatch.store import StoreError, open_store

    rt = current()
    with rt.run("housekeeping") as run:
        detail: dict[str, Any] = {"pruned": rt.outcomes.prune(rt.settings.schedule.keep_days)}
        spool = Spool(rt.settings.data_path / "spool")
        outcome: Outcome = "ok"
        if spool.files():
            store = open_store(rt.settings)
            try:
                store.setup()
                detail["replayed"] = spool.replay(store)
            except StoreError as exc:
                outcome, detail["error"] = "failed", f"{exc}; spooled documents are kept"
            finally:
                store.close()
        detail["spooled"] = spool.pending()
        run.finish(outcome, detail=detail)


def _schedule_retry(rt: Runtime, subscription: str) -> str | None:
    minutes = rt.settings.schedule.digest_retry_minutes
    if not minutes or rt.retry_digest is None or rt.stopping.is_set():
        return None
    when = datetime.now(UTC) + timedelta(seconds=rt.clock.real_seconds(minutes * 60))
    rt.retry_digest(subscription, when)
    return when.isoformat()


def _interruptible(stopping: threading.Event) -> Callable[[float], None]:
    """SMTP backoff that ends early when the service stops (the digest then fails and is retried later)."""
    def sleep(seconds: float) -> None:
        stopping.wait(seconds)
    return sleep
