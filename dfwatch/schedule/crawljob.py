"""One scheduled crawl: `python -m dfwatch crawl --source ID` in its own process group, with a timeout.

Why `dfwatch crawl` rather than a bare `scrapy crawl <strategy> -a source=ID`: it is the
same Scrapy crawl (one CrawlerProcess in a fresh process, recorded in the run log by
`crawler.extensions.RunRecorder`), but it resolves settings exactly as the service does
(`--config`, `DFWATCH_*`, `./dfwatch.yaml`) without needing scrapy.cfg in the working
directory, rejects an unknown source id with a clear error, and writes its report with
`--stats-json` even when it is stopped, which the RunRecorder cannot do after a forced stop.

Stopping a crawl (timeout, service shutdown): SIGTERM to its process group (Scrapy closes
the spider and records the run), after `kill_grace` a second SIGTERM (Scrapy's forced
shutdown, which still writes the report), after 5 s more SIGKILL to the group.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)
FORCED_STOP_SECONDS = 5.0
TAIL_CHARS = 2000


@dataclass
class CrawlResult:
    outcome: Literal["ok", "failed", "timed_out", "stopped"]
    exit_code: int | None
    seconds: float
    report: dict[str, Any] | None = None  # `dfwatch crawl --stats-json` (CrawlReport.as_dict)
    log_tail: str = ""
    log_file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        d: dict[str, Any] = {"log": self.log_file, **self.extra}
        if self.report:
            d["report"] = {k: self.report.get(k) for k in ("pages_fetched", "articles_fetched", "new", "updated",
                                                           "unchanged", "indexed", "spooled", "errors",
                                                           "finish_reason", "skipped", "dropped")}
        if self.outcome != "ok" and self.log_tail:
            d["log_tail"] = self.log_tail
        return d


class ProcessGroups:
    """The crawl subprocesses now running, so that a shutdown can stop them all."""

    def __init__(self) -> None:
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._stopped: set[int] = set()
        self._closed = False
        self._lock = threading.Lock()

    def add(self, proc: subprocess.Popen[bytes], kill_grace: float) -> None:
        with self._lock:
            self._procs[proc.pid] = proc
            closed = self._closed
        if closed:  # started while the service was stopping: stop it at once
            self.stop(proc, kill_grace)

    def remove(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def running(self) -> list[int]:
        with self._lock:
            return list(self._procs)

    def was_stopped(self, proc: subprocess.Popen[bytes]) -> bool:
        with self._lock:
            return proc.pid in self._stopped

    def stop(self, proc: subprocess.Popen[bytes], kill_grace: float) -> None:
        with self._lock:
            self._stopped.add(proc.pid)
        stop_group(proc, kill_grace)

    def stop_all(self, kill_grace: float) -> None:
        """Stop every running crawl (in parallel); later ones are stopped as they start."""
        with self._lock:
            self._closed = True
            procs = list(self._procs.values())
        threads = [threading.Thread(target=self.stop, args=(p, kill_grace), daemon=True) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def stop_group(proc: subprocess.Popen[bytes], kill_grace: float) -> None:
    """SIGTERM, a second SIGTERM after `kill_grace`, SIGKILL after 5 s more; the whole group."""
    for sig, wait in ((signal.SIGTERM, kill_grace), (signal.SIGTERM, FORCED_STOP_SECONDS), (signal.SIGKILL, None)):
        if proc.poll() is not None:
            break
        _signal_group(proc.pid, sig)
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    _signal_group(proc.pid, signal.SIGKILL)  # anything the crawl left behind in its group


def stop_orphan(pid: int, kill_grace: float) -> bool:
    """Stop a crawl group a dead service left behind (it is no child of ours); False if there is none."""
    if not _is_crawl_leader(pid):
        return False
    for sig, wait in ((signal.SIGTERM, kill_grace), (signal.SIGTERM, FORCED_STOP_SECONDS), (signal.SIGKILL, 0.0)):
        _signal_group(pid, sig)
        deadline = time.monotonic() + wait
        while _is_crawl_leader(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _is_crawl_leader(pid):
            break
    _signal_group(pid, signal.SIGKILL)
    return True


def _is_crawl_leader(pid: int) -> bool:
    """A live `dfwatch crawl` process leading its own group (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z" and os.getpgid(pid) == pid and b"dfwatch" in cmdline and b"crawl" in cmdline
    except (OSError, IndexError):
        return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def crawl_command(source_id: str, stats_file: Path, config: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", "dfwatch"]
    if config is not None:
        cmd += ["--config", str(config)]
    return [*cmd, "crawl", "--source", source_id, "--stats-json", str(stats_file)]


def run_crawl(source_id: str, *, config: Path | None, work_dir: Path, timeout: float, kill_grace: float,
              groups: ProcessGroups, on_start: Any = None) -> CrawlResult:
    """Crawl one source in a subprocess and wait for it (at most `timeout` seconds)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    stats_file = work_dir / f"crawl-{source_id}.json"
    log_file = work_dir / f"crawl-{source_id}.log"  # the latest run's output
    stats_file.unlink(missing_ok=True)
    started = time.monotonic()
    with log_file.open("wb") as log:
        proc = subprocess.Popen(crawl_command(source_id, stats_file, config), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    groups.add(proc, kill_grace)
    timed_out = False
    try:
        if on_start is not None:
            on_start(proc.pid)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            logger.warning("crawl %s: still running after %.0f s; stopping it", source_id, timeout)
            groups.stop(proc, kill_grace)
    finally:
        if proc.poll() is None:  # an exception while waiting: never leave the crawl behind
            groups.stop(proc, kill_grace)
        groups.remove(proc)
    seconds = time.monotonic() - started
    outcome: Literal["ok", "failed", "timed_out", "stopped"]
    if timed_out:
        outcome = "timed_out"
    elif groups.was_stopped(proc):
        outcome = "stopped"
    else:
        outcome = "ok" if proc.returncode == 0 else "failed"
    result = CrawlResult(outcome, proc.returncode, seconds, _read_report(stats_file), _tail(log_file), str(log_file))
    if timed_out:
        result.extra["timeout"] = timeout
    return result


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        reports = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return reports[0] if isinstance(reports, list) and reports else None


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - TAIL_CHARS))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
