"""`dfwatch schedule` as a real process: crawls of the fixture web on a compressed clock, overruns,
timeouts, SIGTERM, and a job store that survives restarts. Nothing of APScheduler or the crawl is mocked."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import run_dfwatch
from schedule_support import ScheduleProcess, group_members, runs, schedule_env, wait_for, with_schedule

from dfwatch.fixtureweb import FixtureWeb
from dfwatch.fixtureweb.hostile import HostileWeb
from dfwatch.runs import RunLog
from dfwatch.schedule.outcomes import overlapping

pytestmark = pytest.mark.slow


def status_json(env: dict[str, str]) -> dict[str, dict]:
    proc = run_dfwatch("status", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    out = {"scheduler": next(line["scheduler"] for line in lines if "scheduler" in line)}
    out.update({line["job"]: line for line in lines if "job" in line})
    return out


def test_service_crawls_on_schedule_never_overlaps_and_stops_cleanly(
        env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    """A 5-minute interval at 300x is 1 s of real time; a crawl takes several: every run overruns its interval."""
    source = next(s for s in web.sources() if s["id"] == "asia-wire")
    e = schedule_env(env, tmp_path, [with_schedule(source, interval_minutes=5, jitter_seconds=0)],
                     DFWATCH_SCHEDULE__CLOCK_SPEED="300", DFWATCH_SCHEDULE__HOUSEKEEPING_MINUTES="0")
    with ScheduleProcess(e, tmp_path / "service.log") as service:
        service.wait_ready()
        assert "jobs: 1 added" in service.output and "crawl:asia-wire" in service.output
        wait_for(lambda: len([r for r in runs(e, "crawl:asia-wire") if r.outcome == "ok"]) >= 2, 180,
                 "two finished crawls")
        wait_for(lambda: [r for r in runs(e, "crawl:asia-wire") if r.outcome == "running" and r.pid], 60,
                 "a third crawl to start")
        live = status_json(e)
        assert live["scheduler"]["running"] and live["scheduler"]["pid"] == service.proc.pid
        assert live["crawl:asia-wire"]["last_run"]["outcome"] == "ok"
        assert datetime.fromisoformat(live["crawl:asia-wire"]["next_run_time"])

        started = time.monotonic()
        assert service.stop() == 0, service.output[-4000:]  # SIGTERM: the running crawl may finish (stop_grace 60 s)
        assert time.monotonic() - started < 60
    history = runs(e, "crawl:asia-wire")
    started_runs = [r for r in history if r.outcome not in ("skipped", "missed")]
    assert all(r.outcome == "ok" and r.exit_code == 0 for r in started_runs), [r.as_dict() for r in started_runs]
    assert len(started_runs) >= 3
    assert overlapping(history) == []  # never two runs of one job at once ...
    assert any(r.outcome == "skipped" for r in history)  # ... although runs fell due while one was going
    assert all(r.pid and not group_members(r.pid) for r in started_runs)  # no crawl process left behind
    first = started_runs[0].detail["report"]
    assert (first["new"], first["indexed"], first["finish_reason"]) == (3, 3, "finished")
    assert all(r.detail["report"]["articles_fetched"] == 0 for r in started_runs[1:])  # incremental re-crawls
    log = RunLog.open(Path(e["DFWATCH_DATA_DIR"]) / "state.sqlite3")  # each crawl also recorded its run
    assert log.conn.execute("SELECT COUNT(*) FROM runs WHERE source_id = 'asia-wire'").fetchone()[0] == len(
        started_runs)
    log.close()

    after = status_json(e)
    job = after["crawl:asia-wire"]
    assert not after["scheduler"]["running"] and job["running"] is None and job["kind"] == "crawl"
    assert job["last_run"]["outcome"] == "ok" and job["last_run"]["id"] == started_runs[-1].id
    assert "every 5 min" in job["name"] and job["next_run_time"]
    text = run_dfwatch("status", env=e).stdout
    assert "scheduler: not running" in text and "crawl:asia-wire: next " in text and " ok in " in text


def test_timeout_kills_the_crawl_and_sigterm_stops_a_running_one(env: dict[str, str], tmp_path: Path) -> None:
    """The hostile web's slow page answers after 120 s: the crawl outlives its 15 s limit."""
    with HostileWeb(slow_seconds=120) as hostile:
        source = next(s for s in hostile.sources() if s["id"] == "hostile-slow")
        e = schedule_env(env, tmp_path, [with_schedule(source, interval_minutes=5, jitter_seconds=0)],
                         DFWATCH_SCHEDULE__CLOCK_SPEED="30", DFWATCH_SCHEDULE__CRAWL_TIMEOUT="15",
                         DFWATCH_SCHEDULE__KILL_GRACE="2", DFWATCH_SCHEDULE__STOP_GRACE="1",
                         DFWATCH_SCHEDULE__HOUSEKEEPING_MINUTES="0", DFWATCH_CRAWL__DOWNLOAD_TIMEOUT="300")
        with ScheduleProcess(e, tmp_path / "service.log") as service:
            service.wait_ready()
            timed_out = wait_for(lambda: [r for r in runs(e) if r.outcome == "timed_out"], 120, "a timeout")[0]
            second = wait_for(lambda: [r for r in runs(e) if r.outcome == "running" and r.pid], 60,
                              "the next crawl")[0]
            wait_for(lambda: hostile.hits["/slow/page.html"] >= 2, 60, "the next crawl to wait on the slow page")
            live = status_json(e)
            assert live["scheduler"]["running"] and live["scheduler"]["pid"] == service.proc.pid
            job = live["crawl:hostile-slow"]
            assert job["running"]["pid"] == second.pid and job["last_run"]["outcome"] == "timed_out"
            text = run_dfwatch("status", env=e).stdout
            assert f"running since {second.started_at.isoformat(timespec='seconds')}, pid {second.pid}" in text
            assert "timed_out in " in text and "(limit 15.0 s)" in text
            assert service.stop() == 0, service.output[-4000:]
    assert timed_out.detail["timeout"] == 15
    assert timed_out.duration is not None and timed_out.pid and second.pid
    assert 15 <= timed_out.duration < 15 + 2 + 5 + 10  # the limit, the kill grace, the forced stop, slack
    assert (timed_out.detail.get("report") or {}).get("finish_reason") != "finished"
    stopped = next(r for r in runs(e) if r.id == second.id)
    assert stopped.outcome == "stopped" and stopped.duration is not None
    assert not group_members(timed_out.pid) and not group_members(second.pid)  # nothing of either crawl is left
    assert overlapping(runs(e)) == []
    assert "stopping crawls still running" in service.output


def test_a_restart_after_a_crash_stops_the_crawl_left_behind(env: dict[str, str], tmp_path: Path) -> None:
    with HostileWeb(slow_seconds=120) as hostile:
        source = next(s for s in hostile.sources() if s["id"] == "hostile-slow")
        e = schedule_env(env, tmp_path, [with_schedule(source, interval_minutes=60, jitter_seconds=0)],
                         DFWATCH_SCHEDULE__KILL_GRACE="2", DFWATCH_SCHEDULE__HOUSEKEEPING_MINUTES="0",
                         DFWATCH_CRAWL__DOWNLOAD_TIMEOUT="300")
        crashed = ScheduleProcess(e, tmp_path / "first.log")
        try:
            crashed.wait_ready()
            wait_for(lambda: hostile.hits["/slow/page.html"] >= 1, 60, "the crawl to wait on the slow page")
            crashed.crash()
            [orphan] = runs(e)
            assert orphan.outcome == "running" and orphan.pid and group_members(orphan.pid)  # the crawl outlived it
            with ScheduleProcess(e, tmp_path / "second.log") as service:
                service.wait_ready()
                assert not group_members(orphan.pid)  # stopped before the new service ran anything
                assert service.stop() == 0
        finally:
            crashed.__exit__()
    [settled] = runs(e)
    assert settled.outcome == "abandoned" and settled.detail["stopped_leftover_crawl"] is True
    assert str(service.proc.pid) not in settled.detail["reason"] and str(orphan.service_pid) in settled.detail["reason"]


def test_jobs_survive_a_restart_and_follow_the_config(env: dict[str, str], tmp_path: Path) -> None:
    """Cron schedules far from now: nothing runs, the test is about the job store."""
    def source(source_id: str, **schedule: object) -> dict:
        return with_schedule({"id": source_id, "name": source_id, "type": "news", "country": "KR", "language": "en",
                              "strategy": "feed", "urls": ["https://example.org/feed.xml"]}, **schedule)

    kept = source("kept-news", cron="0 3 * * *", timezone="Asia/Seoul", jitter_seconds=3600)
    gone = source("gone-news", cron="30 4 * * mon", timezone="UTC", jitter_seconds=0)
    changed = source("changed-news", cron="0 5 * * *", timezone="UTC", jitter_seconds=0)
    daily = {"name": "kr-daily", "recipients": ["analyst@example.org"], "query": "deepfake", "frequency": "daily",
             "send_at": "08:00", "timezone": "Asia/Seoul"}
    e = schedule_env(env, tmp_path, [kept, gone, changed], [daily], DFWATCH_SCHEDULE__HOUSEKEEPING_MINUTES="0")
    with ScheduleProcess(e, tmp_path / "first.log") as service:
        service.wait_ready()
        second = ScheduleProcess(e, tmp_path / "second.log")  # one service per data dir
        assert second.proc.wait(60) == 3 and "another `dfwatch schedule`" in second.output
        second.__exit__()
        assert service.stop() == 0
    before = status_json(e)
    assert set(before) == {"scheduler", "crawl:kept-news", "crawl:gone-news", "crawl:changed-news", "digest:kr-daily"}
    seoul = datetime.fromisoformat(before["digest:kr-daily"]["next_run_time"]).astimezone(ZoneInfo("Asia/Seoul"))
    assert seoul.strftime("%H:%M") == "08:00"

    schedule_env(env, tmp_path, [kept, with_schedule(changed, cron="0 6 * * *", timezone="UTC", jitter_seconds=0)],
                 [daily])
    with ScheduleProcess(e, tmp_path / "third.log") as service:
        service.wait_ready()
        out = service.output
        assert "1 removed" in out and "1 replaced" in out and "2 kept" in out, out
        added = source("added-news", cron="0 7 * * *", timezone="UTC", jitter_seconds=0)
        schedule_env(env, tmp_path, [kept, with_schedule(changed, cron="0 6 * * *", timezone="UTC",
                                                         jitter_seconds=0), added], [daily])
        service.proc.send_signal(signal.SIGHUP)  # re-sync from the config files without a restart
        wait_for(lambda: "reloaded: 3 kept, 1 added" in service.output, 60, "the reload")
        assert service.stop() == 0
    after = status_json(e)
    assert "crawl:gone-news" not in after and after["crawl:added-news"]["next_run_time"]
    for job in ("crawl:kept-news", "digest:kr-daily"):  # unchanged: next run kept as stored
        assert after[job]["next_run_time"] == before[job]["next_run_time"], job
    assert datetime.fromisoformat(after["crawl:changed-news"]["next_run_time"]).hour == 6
    assert not any(r.outcome == "running" for r in runs(e))


def test_check_lists_the_jobs_and_reports_config_errors(env: dict[str, str], tmp_path: Path) -> None:
    feed = {"id": "some-news", "name": "Some News", "type": "news", "country": "KR", "language": "en",
            "strategy": "feed", "urls": ["https://example.org/feed.xml"]}
    daily = {"name": "kr-daily", "recipients": ["analyst@example.org"], "query": "deepfake", "frequency": "daily",
             "send_at": "08:00", "timezone": "Asia/Seoul"}
    e = schedule_env(env, tmp_path, [feed], [daily])
    proc = run_dfwatch("schedule", "--check", env=e)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["crawl:some-news", "digest:kr-daily", "housekeeping"]
    assert "(crawl some-news: every 360 min, jitter 300 s)" in lines[0] and lines[-1] == "3 jobs"
    assert not (Path(e["DFWATCH_DATA_DIR"]) / "schedule.sqlite3").exists()  # starts nothing, stores nothing

    schedule_env(env, tmp_path, [feed], [{**daily, "weekday": "mon"}])
    proc = run_dfwatch("schedule", "--check", env=e)
    assert proc.returncode == 2 and "subscriptions.yaml:" in proc.stderr and "weekday" in proc.stderr, proc.stderr
