"""What every benchmark module shares: its result file, peak RSS, and pass/fail checks.

Each benchmark is a module run as `python -m benchmarks.<name> [options]`. It measures in one
run (the machines are noisy, so targets are judged as ratios taken side by side) and ends with
`write_result(name, results, checks)`, which writes `benchmarks/results/<name>.json`:

    {"benchmark": name, "started": ISO time, "finished": ISO time, "machine": {...},
     "results": {...free-form figures...},
     "checks": [{"name": ..., "value": ..., "target": "...", "ok": true}, ...]}

`dfwatch bench` runs the modules one after another and collects these files into one report.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
STARTED = datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Check:
    """One target: `value` measured, `target` in words (e.g. ">= 3000 docs/s"), `ok` whether met."""

    name: str
    value: float
    target: str
    ok: bool


def at_least(name: str, value: float, floor: float, unit: str = "") -> Check:
    return Check(name, round(value, 3), f">= {floor:g}{(' ' + unit) if unit else ''}", value >= floor)


def at_most(name: str, value: float, ceiling: float, unit: str = "") -> Check:
    return Check(name, round(value, 3), f"<= {ceiling:g}{(' ' + unit) if unit else ''}", value <= ceiling)


def within(name: str, value: float, low: float, high: float) -> Check:
    return Check(name, round(value, 3), f"{low:g}..{high:g}", low <= value <= high)


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children, the largest), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_1m": round(os.getloadavg()[0], 2)}


def pct(values: list[float], q: float) -> float:
    """The q-quantile (q in 0..1, e.g. 0.95) of `values`, by the nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0


def write_result(name: str, results: dict[str, Any], checks: list[Check], out_dir: Path | None = None) -> Path:
    """Write `<out_dir or benchmarks/results>/<name>.json` and print the checks; returns the path."""
    out = (out_dir or Path(os.environ.get("DFWATCH_BENCH_OUT", RESULTS)))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    doc = {"benchmark": name, "started": STARTED, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": machine(), "results": results, "checks": [asdict(c) for c in checks]}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for c in checks:
        print(f"  [{'ok' if c.ok else 'MISS'}] {c.name}: {c.value} (target {c.target})")
    print(f"results: {path}")
    return path
