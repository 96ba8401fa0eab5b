"""What has run and what will run, read without a scheduler: for `dfwatch status` and the web UI's sources page.

- `last_crawls`: the latest crawl run of every source, from the run log in the state file;
- `scheduler_state`: the scheduler's jobs (next run, from the job store), how each job's runs
  ended (the outcomes table) and whether a service holds the lock; None when no scheduler ever ran.

Both only read: a data directory that never crawled or scheduled is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dfwatch.runs import Run, RunLog

if TYPE_CHECKING:
    from datetime import datetime

    from dfwatch.schedule.outcomes import JobSummary
    from dfwatch.schedule.store import StoredJob
    from dfwatch.settings import Settings


def last_crawls(settings: Settings) -> dict[str, Run]:
    """The latest crawl run of every source that has one, by source id ({} before the first crawl)."""
    if not settings.state_file.is_file():  # no crawl yet: nothing to read, and nothing to create
        return {}
    log = RunLog.open(settings.state_file)
    try:
        return log.last_runs()
    finally:
        log.close()


@dataclass
class SchedulerState:
    jobstore: str  # the job store's URL, password hidden
    error: str | None  # why the job store could not be read
    service: tuple[int, str] | None  # (pid, since) of the running `dfwatch schedule`, if any
    jobs: dict[str, StoredJob] = field(default_factory=dict)  # by job id, as stored
    summaries: dict[str, JobSummary] = field(default_factory=dict)  # by job id, from the outcomes

    @property
    def job_ids(self) -> list[str]:
        """Stored jobs, then jobs that only left outcomes (no longer scheduled)."""
        return [*self.jobs, *sorted(set(self.summaries) - set(self.jobs))]

    def next_run(self, job_id: str) -> datetime | None:
        """When the job runs next; None when it is not scheduled or paused."""
        job = self.jobs.get(job_id)
        return job.next_run_time if job else None


def scheduler_state(settings: Settings) -> SchedulerState | None:
    """The scheduler's jobs and their outcomes; None if no `dfwatch schedule` ever ran for this data directory."""
    from sqlalchemy.exc import SQLAlchemyError

    from dfwatch.schedule.outcomes import Outcomes
    from dfwatch.schedule.store import jobstore_url, read_jobs, service_running, shown

    url = jobstore_url(settings)
    error = None
    try:
        stored = read_jobs(url)
    except (SQLAlchemyError, ImportError) as exc:
        stored, error = None, f"job store unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    outcomes = Outcomes.existing(settings.state_file)
    summaries = outcomes.summary() if outcomes else {}
    if stored is None and not summaries and error is None:
        return None
    return SchedulerState(jobstore=shown(url), error=error,
                          service=service_running(settings.data_path / "schedule.lock"),
                          jobs={j.id: j for j in stored or []}, summaries=summaries)
