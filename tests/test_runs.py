"""Crawl runs are recorded in the state file; `dfwatch status` shows each source's last one."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from conftest import ROOT, run_dfwatch

from dfwatch.cli_status import describe
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.runs import Run, RunLog


def a_run(source: str, finished: datetime, **counts: int) -> Run:
    fields = {"fetched": 0, "articles_fetched": 0, "new": 0, "updated": 0, "unchanged": 0, "indexed": 0,
              "spooled": 0, "errors": 0, **counts}
    return Run(source_id=source, started_at=finished - timedelta(seconds=5), finished_at=finished,
               finish_reason="finished", skipped={"not_modified": 1}, dropped={"off_topic": 2},
               retried={"503": 1}, **fields)


def test_the_run_log_keeps_every_run_and_answers_the_last_per_source(tmp_path: Path) -> None:
    t0 = datetime(2024, 8, 28, 1, 0, tzinfo=UTC)
    log = RunLog.open(tmp_path / "state.sqlite3")
    log.record(a_run("a", t0, new=3, fetched=9))
    log.record(a_run("b", t0, new=1))
    log.record(a_run("a", t0 + timedelta(hours=6), fetched=2))
    last = log.last_runs()
    log.close()
    assert set(last) == {"a", "b"}
    assert last["a"].finished_at == t0 + timedelta(hours=6) and last["a"].fetched == 2 and last["a"].new == 0
    assert last["b"] == a_run("b", t0, new=1)  # dicts and dates round-trip
    line = describe("a", last["a"], now=t0 + timedelta(hours=8))
    assert line.startswith("a: 2024-08-28T07:00:00+00:00 (2h ago, finished) fetched 2 (0 articles), new 0")
    assert "skipped not_modified=1" in line and "dropped off_topic=2" in line and "retried 503=1" in line
    assert describe("c", None) == "c: never"


def test_status_shows_the_last_run_of_every_source_and_never_for_the_rest(
        env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": web.sources()}, allow_unicode=True))
    e = {**env, "DFWATCH_SOURCES_FILE": str(sources), "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0",
         "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true"}
    state = Path(env["DFWATCH_DATA_DIR"]) / "state.sqlite3"

    proc = run_dfwatch("status", env=e)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["hanbit-times: never", "asia-wire: never", "police-press: never"]
    assert not state.exists()  # status only reads

    out = tmp_path / "report.json"
    assert run_dfwatch("crawl", "--source", "asia-wire", "--stats-json", str(out), env=e).returncode == 0
    [report] = json.loads(out.read_text())
    # the scheduler's way: `scrapy crawl`, recorded all the same
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "feed", "-a", "source=police-press"],
                          cwd=ROOT, env=e, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    proc = run_dfwatch("status", "--json", env=e)
    assert proc.returncode == 0, proc.stderr
    runs = {r["source"]: r["last_run"] for r in map(json.loads, proc.stdout.splitlines())}
    assert list(runs) == ["hanbit-times", "asia-wire", "police-press"] and runs["hanbit-times"] is None
    asia = runs["asia-wire"]
    assert (asia["fetched"], asia["articles_fetched"], asia["new"], asia["indexed"]) == (
        report["pages_fetched"], report["articles_fetched"], report["new"], report["indexed"]) == (6, 4, 3, 3)
    assert asia["dropped"] == {"off_topic": 1} and asia["errors"] == 0 and asia["finish_reason"] == "finished"
    assert datetime.fromisoformat(asia["started_at"]) <= datetime.fromisoformat(asia["finished_at"])
    assert runs["police-press"]["new"] == runs["police-press"]["indexed"] == 4

    proc = run_dfwatch("status", env=e)
    assert proc.stdout.startswith("hanbit-times: never\nasia-wire: 20")
    assert "fetched 6 (4 articles), new 3, updated 0, unchanged 0, indexed 3" in proc.stdout
