"""Run every benchmark module, one child process each, and collect one report.

    python -m benchmarks.run_all [--only NAME,...] [--quick] [--es-url URL] [--out DIR]
    (the same as `dfwatch bench`)

Each module runs as `python -m benchmarks.<name> [--quick]` in its own process, so its peak
RSS is its own (os.wait4 returns the child's rusage; ru_maxrss is the largest of the child
and the descendants it waited for). Every child gets DFWATCH_BENCH_OUT (where
benchmarks/common.py:write_result puts `<name>.json`) and, when a selected module needs
Elasticsearch, DFWATCH_BENCH_ES_URL: one node shared by all of them, started once with
dfwatch.devnode (unless --es-url names one) just before the first module that needs it and
stopped after the last. Modules run in the order of MODULES: those without Elasticsearch
first, so the node's 1 GB JVM never competes with them.

Writes `<out>/report.md` and `<out>/report.json` (every check with its module, each module's
exit code, wall time, peak RSS and load average before/after, the machine) and each child's
output to `<out>/logs/<name>.log`. Returns 1 when a module could not run (missing, crashed,
no result file, Elasticsearch unavailable); a missed target is reported, never an error.

DFWATCH_BENCH_MODULES_DIR=DIR runs `DIR/<name>.py` files instead of the benchmarks package
(the runner's own tests use it with tiny fake modules).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "benchmarks"
RESULTS = PACKAGE_DIR / "results"


@dataclass(frozen=True)
class Module:
    name: str
    needs_es: bool
    what: str


# Run order: no Elasticsearch first, then the Elasticsearch group back to back.
MODULES = (
    Module("peer", False, "news-please vs trafilatura vs dfwatch: extraction, and whole crawls on loopback"),
    Module("pipeline", False, "fetch, extract, NLP, index (SQLite) and end to end, each against its bound"),
    Module("redis_crawl", False, "scrapy-redis: two workers on one Redis frontier vs one"),
    Module("bulk_index", True, "bulk indexing into Elasticsearch and SQLite, docs/s by bulk size"),
    Module("search_latency", True, "search, timeline and figure-series latency p50/p95 at 10k and 100k"),
    Module("ui_pages", True, "web UI search and timeline pages, server time p95"),
    Module("digest_build", True, "digest build time at 10k and 100k"),
)
KNOWN = {m.name: m for m in MODULES}


@dataclass
class ModuleRun:
    """What the runner saw of one module (its figures live in `result`)."""

    name: str
    what: str = ""
    status: str = "not run"  # ok | failed | missing | skipped
    exit_code: int | None = None
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    load_before: list[float] = field(default_factory=list)
    load_after: list[float] = field(default_factory=list)
    error: str = ""
    log: str = ""
    result: dict[str, Any] | None = None

    @property
    def checks(self) -> list[dict[str, Any]]:
        return list((self.result or {}).get("checks", []))


def modules_dir() -> Path:
    return Path(os.environ.get("DFWATCH_BENCH_MODULES_DIR") or PACKAGE_DIR)


def module_path(name: str) -> Path:
    return modules_dir() / f"{name}.py"


def selection(only: list[str] | None) -> list[Module]:
    """The modules to run in MODULES order (names not in it after, as given), Elasticsearch ones last."""
    wanted = list(dict.fromkeys(n.strip() for n in only or () if n.strip()))
    if not wanted:
        return list(MODULES)
    chosen = [m for m in MODULES if m.name in wanted] + [Module(n, False, "") for n in wanted if n not in KNOWN]
    return sorted(chosen, key=lambda m: m.needs_es)


def machine() -> dict[str, Any]:
    facts: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "platform": platform.platform()}
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            facts["cpu"] = line.split(":", 1)[1].strip()
            break
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            facts["memory_gb"] = round(int(line.split()[1]) / 1024 ** 2, 1)
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:  # no git: a copy of the tree
        return facts
    if rev.returncode == 0:
        facts["commit"] = rev.stdout.strip() + ("-dirty" if dirty else "")
    return facts


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _tee(src: IO[bytes], log: IO[bytes], echo: bool) -> None:
    for line in iter(src.readline, b""):
        log.write(line)
        if echo:
            sys.stdout.write(line.decode("utf-8", errors="replace"))
            sys.stdout.flush()


def run_module(module: Module, args: list[str], env: dict[str, str], out: Path, echo: bool) -> ModuleRun:
    """Run one module as a child; its exit code, wall time, peak RSS and result file."""
    run, path = ModuleRun(module.name, module.what), module_path(module.name)
    if modules_dir() == PACKAGE_DIR:
        cmd = [sys.executable, "-m", f"benchmarks.{module.name}", *args]
    else:
        cmd = [sys.executable, str(path), *args]
    (out / "logs").mkdir(parents=True, exist_ok=True)
    log_path = out / "logs" / f"{module.name}.log"
    run.log = str(log_path.relative_to(out))
    result_path = out / f"{module.name}.json"
    run.load_before = load()
    started_wall = time.time()
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        reader = threading.Thread(target=_tee, args=(proc.stdout, log, echo), daemon=True)
        reader.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: do not leave the child running
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
        reader.join()
        proc.stdout.close()
    run.wall_s = round(time.perf_counter() - t0, 2)
    run.load_after = load()
    run.exit_code = proc.returncode
    run.peak_rss_mb = round(usage.ru_maxrss / 1024, 1)
    if result_path.is_file() and result_path.stat().st_mtime >= started_wall - 1:
        try:
            run.result = json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            run.error = f"unreadable result file {result_path}: {exc}"
    if run.exit_code != 0:
        run.status, run.error = "failed", f"exit code {run.exit_code}; last lines:\n{_tail(log_path)}"
    elif run.result is None:
        run.status, run.error = "failed", run.error or f"exited 0 but wrote no {result_path.name}"
    else:
        run.status = "ok"
    return run


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@contextmanager
def _es_node(url: str | None, facts: dict[str, Any]) -> Iterator[str]:
    """The shared node: `url` if given, else a devnode started here (facts filled in either way)."""
    if url:
        facts.update(node="external", url=url)
        yield url
        return
    from dfwatch import devnode

    node = devnode.start()
    facts.update(node=f"devnode {node.version}", url=node.url, startup_s=round(node.startup_seconds, 1))
    try:
        yield node.url
    finally:
        node.stop()


def run(only: list[str] | None = None, quick: bool = False, es_url: str | None = None,
        out: Path | None = None, echo: bool = True) -> tuple[int, dict[str, Any]]:
    """Run the selected modules; write report.md and report.json; (exit code, report)."""
    out = (out or Path(os.environ.get("DFWATCH_BENCH_OUT") or RESULTS)).resolve()
    out.mkdir(parents=True, exist_ok=True)
    chosen = selection(only)
    last_es = max((i for i, m in enumerate(chosen) if m.needs_es and module_path(m.name).is_file()), default=-1)
    report: dict[str, Any] = {"started": _now(), "quick": quick, "machine": machine(), "load_start": load(),
                              "elasticsearch": {}, "modules": []}
    es_url = es_url or os.environ.get("DFWATCH_BENCH_ES_URL")
    env = {**os.environ, "DFWATCH_BENCH_OUT": str(out), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("DFWATCH_BENCH_ES_URL", None)  # set below, for the modules that need it, while the node runs
    args = ["--quick"] if quick else []
    runs: list[ModuleRun] = []
    with ExitStack() as stack:
        es_error = ""
        for i, module in enumerate(chosen):
            if echo:
                print(f"== {module.name} {' '.join(args)}", flush=True)
            if not module_path(module.name).is_file():
                runs.append(ModuleRun(module.name, module.what, status="missing",
                                      error=f"no benchmark module {module_path(module.name)}"))
            else:
                if module.needs_es and "DFWATCH_BENCH_ES_URL" not in env and not es_error:
                    try:
                        env["DFWATCH_BENCH_ES_URL"] = stack.enter_context(_es_node(es_url, report["elasticsearch"]))
                    except Exception as exc:  # noqa: BLE001  (reported; the modules that need it are not run)
                        es_error = f"Elasticsearch unavailable: {exc}"
                if module.needs_es and es_error:
                    runs.append(ModuleRun(module.name, module.what, status="skipped", error=es_error))
                else:
                    runs.append(run_module(module, args, env, out, echo))
            if echo:
                r = runs[-1]
                print(f"== {module.name}: {r.status}, {r.wall_s} s, peak RSS {r.peak_rss_mb} MB"
                      + (f"\n{r.error}" if r.error else ""), flush=True)
            if i == last_es:  # stop the node before any module that does not need it
                stack.close()
                env.pop("DFWATCH_BENCH_ES_URL", None)
    # Linux counts the image a child was forked from in its peak RSS: no module can show less than this
    runner_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report.update(finished=_now(), load_end=load(), runner_peak_rss_mb=runner_mb, modules=[asdict(r) for r in runs],
                  checks=[{"module": r.name, **c} for r in runs for c in r.checks])
    report["summary"] = {"modules": len(runs), "ran_ok": sum(r.status == "ok" for r in runs),
                         "checks": len(report["checks"]), "checks_ok": sum(bool(c["ok"]) for c in report["checks"])}
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(report, runs), encoding="utf-8")
    if echo:
        s = report["summary"]
        print(f"report: {out / 'report.md'} ({s['ran_ok']}/{s['modules']} modules ran, "
              f"{s['checks_ok']}/{s['checks']} targets met)")
    return (0 if all(r.status == "ok" for r in runs) else 1), report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _cell(value: Any) -> str:
    """A Markdown table cell: no pipes or line breaks from module output."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _row(*cells: Any) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown(report: dict[str, Any], runs: list[ModuleRun]) -> str:
    m, es, s = report["machine"], report["elasticsearch"], report["summary"]
    lines = [
        "# dfwatch benchmarks", "",
        f"Run {report['started']} → {report['finished']}{' (--quick)' if report['quick'] else ''}; "
        f"{s['ran_ok']} of {s['modules']} modules ran, {s['checks_ok']} of {s['checks']} targets met.", "",
        f"Machine: {m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('memory_gb', '?')} GB RAM, "
        f"Python {m['python']}, {m['platform']}, commit {m.get('commit', '?')}. Load average (1/5/15 min) "
        f"at start {report['load_start']}, at end {report['load_end']}.",
    ]
    if es:
        lines += ["", f"Elasticsearch: {es.get('node')} at {es.get('url')}"
                  + (f", started in {es['startup_s']} s" if "startup_s" in es else "") + "."]
    lines += ["", "## Modules", "",
              f"Peak RSS is each module's own process (and the children it waited for); it includes the "
              f"{report['runner_peak_rss_mb']} MB runner image the child was forked from, so no module shows less.", "",
              _row("module", "status", "exit", "wall s", "peak RSS MB", "load 1m before → after", "targets met",
                   "measures"),
              _row(*["---"] * 8)]
    for r in runs:
        met = f"{sum(bool(c['ok']) for c in r.checks)}/{len(r.checks)}" if r.result else "–"
        loads = f"{r.load_before[0]} → {r.load_after[0]}" if r.load_before and r.load_after else "–"
        lines.append(_row(r.name, r.status, "–" if r.exit_code is None else r.exit_code, r.wall_s,
                          r.peak_rss_mb, loads, met, r.what))
    lines += ["", "## Checks", "",
              "A missed target is marked MISS: it is reported, it does not make the run fail.", "",
              _row("module", "check", "value", "target", "ok"), _row(*["---"] * 5)]
    for c in report["checks"]:
        lines.append(_row(c["module"], c["name"], c["value"], c["target"], "ok" if c["ok"] else "MISS"))
    errors = [r for r in runs if r.error]
    if errors:
        lines += ["", "## Modules that did not run", ""]
        for r in errors:
            where = f" (output: {r.log})" if r.log else ""
            lines += [f"### {r.name}: {r.status}{where}", "", "```", r.error.replace("```", "'''"), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated module names (default: all, in order: "
                        + ", ".join(m.name for m in MODULES) + ")")
    parser.add_argument("--quick", action="store_true", help="pass --quick to every module (small corpora)")
    parser.add_argument("--es-url", help="use this Elasticsearch node instead of starting a devnode")
    parser.add_argument("--out", type=Path, help=f"results directory (default: $DFWATCH_BENCH_OUT or {RESULTS})")
    args = parser.parse_args(argv)
    code, _ = run(args.only.split(",") if args.only else None, args.quick, args.es_url, args.out)
    return code


if __name__ == "__main__":
    sys.exit(main())
