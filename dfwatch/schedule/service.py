"""`dfwatch schedule`: the service's lifecycle around an APScheduler BackgroundScheduler.

Start: take the data dir's service lock, settle runs a dead service left `running`, open
the job store, start the scheduler paused, sync the jobs with config (unchanged jobs keep
their stored next run time, changed ones are replaced, jobs of removed sources and
subscriptions are deleted), then resume. SIGHUP syncs again from the config files.

Stop (SIGTERM or SIGINT): no new runs start; running jobs get `stop_grace` seconds to
finish; then their crawl subprocesses are stopped (see crawljob.stop_group) and recorded
as `stopped`; the scheduler shuts down, waiting for every job to record its outcome; exit 0.
A second signal skips the rest of the grace period.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.exc import SQLAlchemyError

from dfwatch.schedule import jobs
from dfwatch.schedule.clock import Clock
from dfwatch.schedule.crawljob import stop_orphan
from dfwatch.schedule.jobs import JobSpec, Runtime, job_specs, kind_of
from dfwatch.schedule.outcomes import Outcomes
from dfwatch.schedule.store import ServiceLock, engine_options, jobstore_url, shown
from dfwatch.settings import Settings

logger = logging.getLogger("dfwatch.schedule")


class AlreadyRunning(RuntimeError):
    pass


class JobStoreError(RuntimeError):
    """The job store cannot be opened: unreachable, refused, or its database driver is not installed."""


class _Scheduler(BackgroundScheduler):
    def _process_jobs(self) -> float | None:
        """APScheduler 3 lets its thread run one more round after shutdown() began; that round would
        advance stored next run times of jobs it can no longer submit."""
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


def load_specs(settings: Settings, clock: Clock) -> dict[str, JobSpec]:
    """The jobs the config files ask for now (raises ConfigError naming file, line and field)."""
    from dfwatch.digest import load_subscriptions
    from dfwatch.sources import load_sources

    return job_specs(settings, load_sources(settings.sources_path), load_subscriptions(settings.subscriptions_path),
                     clock)


class Service:
    def __init__(self, settings: Settings, config: Path | None = None,
                 echo: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.config = config.resolve() if config else None
        self.echo = echo
        self.url = jobstore_url(settings)
        self.lock = ServiceLock(settings.data_path / "schedule.lock")
        self.outcomes = Outcomes(settings.state_file)
        self.scheduler: BackgroundScheduler | None = None
        self.runtime: Runtime | None = None
        self._stop = threading.Event()
        self._hurry = threading.Event()
        self._reload = threading.Event()

    # ------------------------------------------------------------ lifecycle
    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, stop cleanly; the exit status."""
        self.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())
        try:
            while not self._stop.wait(0.5):
                if self._reload.is_set():
                    self._reload.clear()
                    self.reload()
        finally:
            self.stop()
        return 0

    def start(self) -> None:
        s = self.settings.schedule
        if not self.lock.acquire():
            raise AlreadyRunning(f"another `dfwatch schedule` holds {self.lock.path}")
        try:
            self._settle_abandoned()
            self._prepare_store()
            clock = Clock(s.clock_speed, self.outcomes.clock_epoch(s.clock_speed)) if s.clock_speed > 1 else Clock()
            specs = load_specs(self.settings, clock)
            self.runtime = Runtime(self.settings, self.config, clock, self.outcomes, retry_digest=self._retry_digest)
            jobs.bind(self.runtime)
            try:
                store = SQLAlchemyJobStore(url=self.url, engine_options=engine_options(self.url))
                self.scheduler = _Scheduler(jobstores={"default": store},
                                            executors={"default": ThreadPoolExecutor(s.workers)},
                                            job_defaults=self._job_options(), timezone="UTC")
                self.scheduler.add_listener(self._on_not_run, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
                self.scheduler.start(paused=True)
            except ImportError as exc:
                raise JobStoreError(f"job store {shown(self.url)}: its database driver is not installed "
                                    f"({exc.name or exc})") from None
            except SQLAlchemyError as exc:
                raise JobStoreError(f"job store {shown(self.url)}: {type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0]}") from None
            changes = sync(self.scheduler, specs, self._job_options())
        except BaseException:
            self._close()
            raise
        self._announce(changes, clock)
        self.scheduler.resume()

    def reload(self) -> None:
        from dfwatch.yamlconf import ConfigError

        assert self.scheduler is not None and self.runtime is not None
        try:
            specs = load_specs(self.settings, self.runtime.clock)
        except ConfigError as exc:
            logger.error("reload refused, the jobs stay as they were: %s", exc)
            return
        changes = sync(self.scheduler, specs, self._job_options())
        logger.info("reloaded: %s", _count(changes))

    def request_stop(self, hurry: bool = False) -> None:
        (self._hurry if hurry else self._stop).set()
        self._stop.set()

    def stop(self) -> None:
        if self.scheduler is None or self.runtime is None:
            return self._close()
        rt, grace = self.runtime, self.settings.schedule.stop_grace
        self.scheduler.pause()  # no new runs
        rt.stopping.set()
        running = rt.running_jobs()
        if running:
            logger.info("stopping: waiting up to %.0f s for %s", grace, ", ".join(running))
        deadline = time.monotonic() + grace
        while rt.running_jobs() and time.monotonic() < deadline and not self._hurry.wait(0.2):
            pass
        if rt.groups.running():
            logger.info("stopping crawls still running: pids %s", rt.groups.running())
        rt.groups.stop_all(self.settings.schedule.kill_grace)  # also stops any crawl that starts from now on
        self.scheduler.shutdown(wait=True)  # every job records its outcome first
        logger.info("stopped")
        self._close()

    def _close(self) -> None:
        jobs.bind(None)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.lock.release()

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        hurry = self._stop.is_set()  # a second signal: stop the crawls now
        logger.info("%s: %s", signal.Signals(signum).name, "stopping now" if hurry else "stopping")
        self.request_stop(hurry)

    # ------------------------------------------------------------ helpers
    def _job_options(self) -> dict[str, Any]:
        return {"max_instances": 1, "coalesce": True, "misfire_grace_time": self.settings.schedule.misfire_grace_time}

    def _settle_abandoned(self) -> None:
        """Runs a dead service left `running` (this one holds the lock and has started none): stop their
        crawls if still alive, mark them abandoned."""
        for run in self.outcomes.still_running():
            killed = bool(run.pid) and stop_orphan(run.pid, self.settings.schedule.kill_grace)  # type: ignore[arg-type]
            self.outcomes.finish(run.id, "abandoned", detail={
                "reason": f"service {run.service_pid} ended during the run", "stopped_leftover_crawl": killed})

    def _prepare_store(self) -> None:
        """Create the store's tables or indices if missing (idempotent), so that a digest due before the
        first crawl reports no new coverage; an unreachable store is left to the jobs to report."""
        from dfwatch.store import StoreError, open_store

        try:
            store = open_store(self.settings)
            try:
                store.setup()
            finally:
                store.close()
        except StoreError as exc:
            logger.warning("store not ready: %s", exc)

    def _on_not_run(self, event: JobSubmissionEvent | JobExecutionEvent) -> None:
        pid = os.getpid()
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.outcomes.not_run(event.job_id, kind_of(event.job_id), "skipped", pid,
                                  list(event.scheduled_run_times), "the previous run was still going")
        else:
            grace = self.settings.schedule.misfire_grace_time
            self.outcomes.not_run(event.job_id, kind_of(event.job_id), "missed", pid,
                                  [event.scheduled_run_time], f"more than {grace} s late")

    def _retry_digest(self, subscription: str, when: datetime) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(jobs.REF + "digest_retry", trigger=DateTrigger(run_date=when), args=(subscription,),
                               id=f"digest-retry:{subscription}", name=f"digest {subscription}: retry after SMTP "
                               "failed", replace_existing=True, **self._job_options())

    def _announce(self, changes: list[str], clock: Clock) -> None:
        assert self.scheduler is not None
        speed = f"; clock {clock.speed}x from {clock.epoch.isoformat(timespec='seconds')}" if clock.compressed else ""
        self.echo(f"dfwatch schedule: pid {os.getpid()}, job store {shown(self.url)}{speed}")
        self.echo(f"jobs: {_count(changes)}")
        for job in sorted(self.scheduler.get_jobs(), key=lambda j: j.id):
            when = job.next_run_time.isoformat(timespec="seconds") if job.next_run_time else "paused"
            self.echo(f"  {job.id:<40} next {when}  ({job.name})")
        self.echo("running; SIGTERM or Ctrl-C stops, SIGHUP reloads the config files")


def sync(scheduler: BackgroundScheduler, specs: dict[str, JobSpec], options: dict[str, Any]) -> list[str]:
    """Make the job store hold exactly `specs`; returns "kept|added|replaced|removed <id>" for each job."""
    changes = []
    for job in scheduler.get_jobs():
        if job.id in specs:
            continue
        if job.id.startswith("digest-retry:") and "digest:" + job.id.split(":", 1)[1] in specs:
            continue  # a pending retry of a subscription that is still there
        scheduler.remove_job(job.id)
        changes.append(f"removed {job.id}")
    for spec in specs.values():
        existing = scheduler.get_job(spec.id)
        if existing is not None and _same(existing, spec, options):
            changes.append(f"kept {spec.id}")
            continue
        scheduler.add_job(spec.func, trigger=spec.trigger, args=spec.args, id=spec.id, name=spec.name,
                          replace_existing=True, **options)
        changes.append(f"{'replaced' if existing is not None else 'added'} {spec.id}")
    return changes


def _same(job: Any, spec: JobSpec, options: dict[str, Any]) -> bool:
    return (job.name == spec.name and job.func_ref == spec.func and tuple(job.args) == spec.args
            and all(getattr(job, k) == v for k, v in options.items()))


def _count(changes: list[str]) -> str:
    counts: dict[str, int] = {}
    for c in changes:
        verb = c.split(" ", 1)[0]
        counts[verb] = counts.get(verb, 0) + 1
    return ", ".join(f"{n} {verb}" for verb, n in counts.items()) or "none"
