"""The scheduler's parts in-process: the compressed clock, jobs from config, syncing a real job store,
outcome bookkeeping, stopping process groups, settings. (The service itself: test_schedule.py.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from digest_support import doc
from schedule_support import group_members, wait_for

from dfwatch.digest.subscriptions import Subscription
from dfwatch.schedule import jobs
from dfwatch.schedule.clock import Clock, CompressedTrigger
from dfwatch.schedule.crawljob import stop_group, stop_orphan
from dfwatch.schedule.jobs import Runtime, job_specs
from dfwatch.schedule.outcomes import Outcomes, overlapping
from dfwatch.schedule.service import sync
from dfwatch.schedule.store import jobstore_url, read_jobs, shown
from dfwatch.settings import load_settings
from dfwatch.sources import Source
from dfwatch.spool import Spool
from dfwatch.store import open_store
from dfwatch.yamlconf import ConfigError

EPOCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPTIONS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 600}


def source(source_id: str, **schedule: object) -> Source:
    return Source.model_validate({"id": source_id, "name": source_id, "type": "news", "country": "KR",
                                  "language": "ko", "strategy": "feed", "urls": ["https://example.org/rss"],
                                  "schedule": schedule})


def subscription(name: str, **changes: object) -> Subscription:
    base = {"name": name, "recipients": ["a@example.org"], "frequency": "daily", "send_at": "08:00",
            "timezone": "Asia/Seoul"}
    return Subscription.model_validate({**base, **changes})


def fire_times(trigger: CompressedTrigger, start: datetime, n: int) -> list[datetime]:
    times, previous, now = [], None, start
    for _ in range(n):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        times.append(fire)
        previous, now = fire, fire
    return times


def test_compressed_clock_runs_a_daily_cron_every_ten_seconds_on_the_exact_local_slot() -> None:
    clock = Clock(8640, EPOCH)  # a day per 10 s
    trigger = CompressedTrigger(CronTrigger(hour=8, minute=0, timezone="Asia/Seoul"), clock)
    times = fire_times(trigger, EPOCH, 30)
    gaps = {round((b - a).total_seconds(), 3) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {10.0}
    slots = [clock.virtual(t).astimezone(ZoneInfo("Asia/Seoul")) for t in times]
    # on the slot, or later by less than one real microsecond's worth of schedule time (never earlier)
    assert all((s.hour, s.minute, s.second) == (8, 0, 0) and s.microsecond < clock.speed for s in slots)
    assert [s.date() for s in slots] == [slots[0].date() + timedelta(days=i) for i in range(30)]  # no day twice
    for t in times:  # mapping back and forth never moves a fire time earlier
        assert clock.virtual(clock.real(clock.virtual(t))) >= clock.virtual(t)
    assert Clock().virtual(EPOCH) == EPOCH and Clock().real(EPOCH) == EPOCH


def test_compressed_interval_keeps_its_jitter_in_schedule_time() -> None:
    clock = Clock(300, EPOCH)  # 5 minutes per second
    inner = IntervalTrigger(minutes=5, start_date=clock.virtual(EPOCH), timezone="UTC", jitter=60)
    times = fire_times(CompressedTrigger(inner, clock), EPOCH, 200)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert all(1.0 <= g <= 1.2 for g in gaps)  # 300 s (+ up to 60 s jitter) of schedule time
    assert max(gaps) > 1.05  # the jitter is there


def test_jobs_come_from_sources_and_subscriptions(env: dict[str, str]) -> None:
    settings = load_settings(schedule={"housekeeping_minutes": 0})
    sources = {"a": source("a", interval_minutes=30, jitter_seconds=120),
               "b": source("b", cron="15 */6 * * mon-fri", timezone="Europe/Paris", jitter_seconds=0)}
    subs = {"daily": subscription("daily"), "off": subscription("off", enabled=False),
            "weekly": subscription("weekly", frequency="weekly", weekday="fri", send_at="17:30",
                                   timezone="Europe/London")}
    specs = job_specs(settings, sources, subs, Clock())
    assert sorted(specs) == ["crawl:a", "crawl:b", "digest:daily", "digest:weekly"]  # no disabled one, no housekeeping
    a, b = specs["crawl:a"].trigger, specs["crawl:b"].trigger
    assert isinstance(a, IntervalTrigger) and a.interval == timedelta(minutes=30) and a.jitter == 120
    assert isinstance(b, CronTrigger) and str(b.timezone) == "Europe/Paris" and b.jitter is None
    assert specs["crawl:b"].name == "crawl b: cron '15 */6 * * mon-fri' Europe/Paris"
    assert specs["crawl:a"].func == "dfwatch.schedule.jobs:crawl" and specs["crawl:a"].args == ("a",)
    monday = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    fires = b.get_next_fire_time(None, monday).astimezone(ZoneInfo("Europe/Paris"))
    assert (fires.weekday(), fires.hour, fires.minute) == (0, 6, 15)
    weekly = specs["digest:weekly"].trigger.get_next_fire_time(None, monday)
    assert weekly == subs["weekly"].next_slot(monday)  # the scheduler and the digest agree on send times

    compressed = job_specs(load_settings(), sources, {}, Clock(60, EPOCH))
    assert isinstance(compressed["crawl:a"].trigger, CompressedTrigger) and "housekeeping" in compressed
    assert compressed["crawl:a"].name.endswith("[clock 60x]")


def test_sync_keeps_unchanged_jobs_with_their_next_run_and_replaces_or_removes_the_rest(
        env: dict[str, str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    settings = load_settings(schedule={"housekeeping_minutes": 0})
    sources = {s: source(s, cron="0 3 * * *", jitter_seconds=3600) for s in ("keep", "change", "drop")}

    def session(srcs: dict[str, Source]) -> tuple[list[str], dict[str, datetime]]:
        scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
        scheduler.start(paused=True)
        try:
            changes = sync(scheduler, job_specs(settings, srcs, {}, Clock()), OPTIONS)
            return changes, {j.id: j.next_run_time for j in scheduler.get_jobs()}
        finally:
            scheduler.shutdown()

    changes, first = session(sources)
    assert sorted(changes) == ["added crawl:change", "added crawl:drop", "added crawl:keep"]
    sources["change"] = source("change", cron="0 4 * * *", jitter_seconds=0)
    del sources["drop"]
    changes, second = session(sources)
    assert sorted(changes) == ["kept crawl:keep", "removed crawl:drop", "replaced crawl:change"]
    assert second["crawl:keep"] == first["crawl:keep"]  # jitter made it random: it was kept, not recomputed
    assert second["crawl:change"].astimezone(ZoneInfo("Asia/Seoul")).hour == 4
    stored = {j.id: j for j in read_jobs(url) or []}
    assert set(stored) == {"crawl:keep", "crawl:change"} and stored["crawl:keep"].next_run_time == first["crawl:keep"]
    assert read_jobs(f"sqlite:///{tmp_path / 'none.sqlite3'}") is None and not (tmp_path / "none.sqlite3").exists()


def test_outcomes_find_overlaps_and_count_skips_since_the_last_run(tmp_path: Path) -> None:
    outcomes = Outcomes(tmp_path / "state.sqlite3")
    first = outcomes.start("crawl:a", "crawl", 1)
    outcomes.finish(first, "ok", 0)
    outcomes.not_run("crawl:a", "crawl", "skipped", 1, [EPOCH], "the previous run was still going")
    second = outcomes.start("crawl:a", "crawl", 1)
    other = outcomes.start("crawl:b", "crawl", 1)  # another job may run meanwhile
    outcomes.not_run("crawl:a", "crawl", "skipped", 1, [EPOCH], "the previous run was still going")
    outcomes.not_run("crawl:a", "crawl", "missed", 1, [EPOCH], "late")
    summary = outcomes.summary()["crawl:a"]
    assert summary.last and summary.last.id == first and summary.running and summary.running.id == second
    assert (summary.skipped, summary.missed) == (1, 1)  # since the latest run started (the one in progress)
    assert overlapping(outcomes.history()) == []
    outcomes.finish(second, "ok", 0)
    outcomes.finish(other, "failed", 1)
    assert overlapping(outcomes.history()) == []
    third = outcomes.start("crawl:a", "crawl", 1)  # a check that must fail: two runs of one job at once
    fourth = outcomes.start("crawl:a", "crawl", 1)
    assert [(a.id, b.id) for a, b in overlapping(outcomes.history())] == [(third, fourth)]
    assert Outcomes.existing(tmp_path / "absent.sqlite3") is None


def test_stop_group_ends_a_crawl_that_ignores_sigterm_and_its_children() -> None:
    code = ("import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "subprocess.Popen(['sleep', '300']); time.sleep(300)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    wait_for(lambda: len(group_members(proc.pid)) == 2, 20, "the child to start")
    started = time.monotonic()
    stop_group(proc, kill_grace=0.5)
    assert proc.returncode == -signal.SIGKILL and 0.5 <= time.monotonic() - started < 10
    wait_for(lambda: not group_members(proc.pid), 10, "the group to be gone")


def test_stop_orphan_stops_only_leftover_crawls() -> None:
    crawl = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "dfwatch", "crawl"],
                             start_new_session=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    try:
        assert stop_orphan(other.pid, 0.5) is False and other.poll() is None
        assert stop_orphan(crawl.pid, 0.5) is True
        assert crawl.wait(10) == -signal.SIGTERM
    finally:
        other.kill()
        other.wait()


def test_jobstore_settings(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert jobstore_url(load_settings()).endswith("/data/schedule.sqlite3")
    with pytest.raises(ConfigError, match=r"schedule\.jobstore_url.*DFWATCH_SCHEDULE__JOBSTORE_PASSWORD"):
        load_settings(schedule={"jobstore_url": "postgresql+psycopg://dfw:hunter2@db.example/dfwatch"})
    secret = tmp_path / "secret.yaml"
    secret.write_text("schedule:\n  jobstore_password: hunter2\n")
    with pytest.raises(ConfigError, match=r"secret\.yaml:2: .*DFWATCH_SCHEDULE__JOBSTORE_PASSWORD"):
        load_settings(secret)
    monkeypatch.setenv("DFWATCH_SCHEDULE__JOBSTORE_PASSWORD", "p@ss:word")
    url = jobstore_url(load_settings(schedule={"jobstore_url": "postgresql+psycopg://dfw@db.example:5432/dfwatch"}))
    assert url == "postgresql+psycopg://dfw:p%40ss%3Aword@db.example:5432/dfwatch"
    assert shown(url) == "postgresql+psycopg://dfw:***@db.example:5432/dfwatch"


def test_housekeeping_replays_the_spool_and_keeps_it_while_the_store_is_down(
        env: dict[str, str], tmp_path: Path) -> None:
    down = load_settings(store={"elasticsearch_url": "http://127.0.0.1:9", "request_timeout": 2})
    spool = Spool(down.data_path / "spool")
    spool.write([doc("h1", "hanbit-times", "2024-08-28T01:00:00+00:00", "Deepfake arrests", "Police arrested ...")])
    for settings, outcome in ((down, "failed"), (load_settings(), "ok")):
        runtime = Runtime(settings, None, Clock(), Outcomes(settings.state_file))
        jobs.bind(runtime)
        try:
            jobs.housekeeping()
        finally:
            jobs.bind(None)
        last = runtime.outcomes.history("housekeeping")[-1]
        assert last.outcome == outcome, last.detail
    first, second = runtime.outcomes.history("housekeeping")
    assert "spooled documents are kept" in first.detail["error"] and first.detail["spooled"] == 1
    assert (second.detail["replayed"], second.detail["spooled"]) == (1, 0) and spool.files() == []
    store = open_store(load_settings())
    try:
        assert store.get("h1") is not None
    finally:
        store.close()
    with pytest.raises(RuntimeError, match="only inside `dfwatch schedule`"):
        jobs.crawl("anything")
