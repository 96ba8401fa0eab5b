"""Helpers for the scheduler tests: `dfwatch schedule` as a real subprocess, polling, process checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from conftest import ROOT

from dfwatch.schedule.outcomes import JobRun, Outcomes

T = TypeVar("T")
READY = "running; SIGTERM or Ctrl-C stops"


def schedule_env(env: dict[str, str], tmp_path: Path, sources: list[dict[str, Any]],
                 subscriptions: list[dict[str, Any]] | None = None, **extra: str) -> dict[str, str]:
    """Environment for a service under test: these sources and subscriptions, loopback crawling allowed."""
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True))
    subs_file = tmp_path / "subscriptions.yaml"
    subs_file.write_text(yaml.safe_dump({"subscriptions": subscriptions or []}, allow_unicode=True, sort_keys=False))
    return {**env, "DFWATCH_SOURCES_FILE": str(sources_file), "DFWATCH_DIGEST__SUBSCRIPTIONS_FILE": str(subs_file),
            "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true", "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0", **extra}


def with_schedule(source: dict[str, Any], **schedule: Any) -> dict[str, Any]:
    return {**source, "schedule": schedule}


class ScheduleProcess:
    """`python -m dfwatch schedule` with its output in a file; always gone after the `with` block."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.env, self.log_path = env, log
        self._log = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "dfwatch", "schedule", *args], env=env, cwd=ROOT,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 90) -> None:
        wait_for(lambda: READY in self.output or self.proc.poll() is not None, timeout, what="the service to start")
        assert self.proc.poll() is None, f"the service exited {self.proc.returncode}:\n{self.output[-4000:]}"

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, then wait for the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def crash(self) -> None:
        """SIGKILL the service alone (its crawls run in process groups of their own)."""
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> ScheduleProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:  # a failed test: leave nothing running
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        outcomes = Outcomes.existing(Path(self.env["DFWATCH_DATA_DIR"]) / "state.sqlite3")
        for run in outcomes.history() if outcomes else []:
            if run.pid and group_members(run.pid):
                os.killpg(run.pid, signal.SIGKILL)
        self._log.close()


def wait_for(check: Callable[[], T], timeout: float, what: str, interval: float = 0.3) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def runs(env: dict[str, str], job_id: str | None = None) -> list[JobRun]:
    outcomes = Outcomes.existing(Path(env["DFWATCH_DATA_DIR"]) / "state.sqlite3")
    return outcomes.history(job_id) if outcomes else []


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members
