"""`dfwatch status`: the last crawl run of every configured source, from the run log, and the
scheduler's jobs (next run from the job store; last run, outcome and the run in progress
from the job outcomes), when a `dfwatch schedule` ever ran.

dfwatch.cli imports this module to register the command, so its helpers are imported in
the command (importing this module first must not re-enter a half-initialised dfwatch.cli).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dfwatch.runs import Run
from dfwatch.schedule.state import last_crawls
from dfwatch.sources import load_sources
from dfwatch.yamlconf import ConfigError

if TYPE_CHECKING:
    from dfwatch.schedule.outcomes import JobRun, JobSummary
    from dfwatch.schedule.store import StoredJob
    from dfwatch.settings import Settings


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source, then one for the "
                                                          "scheduler and one per job.")] = False,
) -> None:
    """Show the last crawl run of every source ("never" if not crawled yet) and the scheduler's jobs."""
    from dfwatch.cli import fail, settings_from

    settings = settings_from(ctx)
    try:
        sources = load_sources(settings.sources_path)
    except ConfigError as exc:
        raise fail(f"sources error:\n{exc}") from None
    runs = last_crawls(settings)
    for source_id in sources:
        run = runs.get(source_id)
        if as_json:
            typer.echo(json.dumps({"source": source_id, "last_run": run.as_dict() if run else None}))
        else:
            typer.echo(describe(source_id, run))
    schedule_status(settings, as_json)


def schedule_status(settings: Settings, as_json: bool) -> None:
    """The scheduler and each job: next run, last run and outcome, run in progress; nothing if it never ran."""
    from dfwatch.schedule.state import scheduler_state

    state = scheduler_state(settings)
    if state is None:
        return
    service = state.service
    head = {"running": service is not None, "pid": service[0] if service else None,
            "since": service[1] if service else None, "jobstore": state.jobstore, "error": state.error}
    jobs, summaries = state.jobs, state.summaries
    if as_json:
        typer.echo(json.dumps({"scheduler": head}))
        for job_id in state.job_ids:
            typer.echo(json.dumps(job_record(job_id, jobs.get(job_id), summaries.get(job_id)), ensure_ascii=False))
        return
    running = f"running (pid {head['pid']} since {head['since']})" if service else "not running"
    typer.echo(f"scheduler: {running}; job store {head['jobstore']}" + (f"; {state.error}" if state.error else ""))
    for job_id in state.job_ids:
        typer.echo("  " + describe_job(job_id, jobs.get(job_id), summaries.get(job_id)))


def job_record(job_id: str, job: StoredJob | None, summary: JobSummary | None) -> dict[str, Any]:
    from dfwatch.schedule.jobs import kind_of

    return {"job": job_id, "kind": kind_of(job_id), "name": job.name if job else None, "scheduled": job is not None,
            "next_run_time": job.next_run_time.isoformat() if job and job.next_run_time else None,
            "last_run": summary.last.as_dict() if summary and summary.last else None,
            "running": summary.running.as_dict() if summary and summary.running else None,
            "skipped": summary.skipped if summary else 0, "missed": summary.missed if summary else 0}


def describe_job(job_id: str, job: StoredJob | None, summary: JobSummary | None,
                 now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if job is None:
        parts = ["no longer scheduled"]
    elif job.next_run_time is None:
        parts = ["paused"]
    else:
        due = job.next_run_time - now
        when = f"in {_age(due)}" if due.total_seconds() >= 0 else f"due {_age(-due)} ago"
        parts = [f"next {job.next_run_time.isoformat(timespec='seconds')} ({when})"]
    last = summary.last if summary else None
    if last is None:
        parts.append("last never")
    else:
        ended = last.finished_at or last.started_at
        parts.append(f"last {ended.isoformat(timespec='seconds')} ({_age(now - ended)} ago) {_outcome(last)}")
    if summary and summary.running:
        r = summary.running
        pid = f", pid {r.pid}" if r.pid else ""
        parts.append(f"running since {r.started_at.isoformat(timespec='seconds')}{pid}")
    if summary and summary.skipped:
        parts.append(f"{summary.skipped} runs skipped since, as one was still going")
    if summary and summary.missed:
        parts.append(f"{summary.missed} runs missed since (too late to start)")
    return f"{job_id}: " + "; ".join(parts)


def _outcome(run: JobRun) -> str:
    d = run.detail
    text = run.outcome + (f" in {run.duration:.1f}s" if run.duration is not None else "")
    if run.exit_code is not None:
        text += f", exit {run.exit_code}"
    report = d.get("report")
    if report:
        text += (f": new {report.get('new')}, updated {report.get('updated')}, indexed {report.get('indexed')}, "
                 f"errors {report.get('errors')}")
    elif d.get("status"):
        text += f": {d['status']}" + (f" {d['subject']!r}" if d.get("subject") else "")
    elif "replayed" in d or "pruned" in d:
        text += f": replayed {d.get('replayed', 0)}, pruned {d.get('pruned', 0)} old outcomes"
    if run.outcome == "timed_out":
        text += f" (limit {d.get('timeout')} s)"
    if d.get("error"):
        text += f" ({d['error']})"
    return text


def describe(source_id: str, run: Run | None, now: datetime | None = None) -> str:
    if run is None:
        return f"{source_id}: never"
    age = _age((now or datetime.now(UTC)) - run.finished_at)
    line = (f"{source_id}: {run.finished_at.isoformat(timespec='seconds')} ({age} ago, {run.finish_reason}) "
            f"fetched {run.fetched} ({run.articles_fetched} articles), new {run.new}, updated {run.updated}, "
            f"unchanged {run.unchanged}, indexed {run.indexed}, spooled {run.spooled}, errors {run.errors}")
    details = [f"\n  {kind} {reason}={n}" for kind, counts in
                          (("skipped", run.skipped), ("dropped", run.dropped), ("retried", run.retried))
                          for reason, n in counts.items()]
    return line + "".join(details)


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
