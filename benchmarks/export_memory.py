"""Peak memory of exports: the synthetic corpus to Parquet through `SearchService.export`.

    python -m benchmarks.export_memory [--docs 100000] [--seed 7]
    python -m benchmarks.export_memory --es-url URL --prefix PREFIX [--sqlite PATH]   # stores already loaded

Each export runs alone in a child process (`python -m benchmarks.export_memory child ...`),
started by a fresh launcher process, so its peak resident set is its own: the kernel's
ru_maxrss of the launcher's only child (RUSAGE_CHILDREN), and the child's own VmHWM.
Measured: every article to Parquet from Elasticsearch (point in time + search_after) and
from SQLite, every figure record likewise, and two baselines: a bare
Python importing dfwatch, and one that also imports the search service, both stores and
pyarrow (everything an export loads before its first row). Without stores given, the
corpus is loaded first (Elasticsearch: $DFWATCH_BENCH_ES_URL, else a devnode started here).
The target of issue 5: the 100k-article Parquet export peaks below 500 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TARGET_MB = 500


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def child(args: argparse.Namespace) -> None:
    """One measured process: a baseline, or one export; prints its JSON report."""
    report: dict[str, Any] = {"mode": args.mode}
    if args.mode == "baseline":
        import dfwatch  # noqa: F401
    else:
        import pyarrow.parquet  # noqa: F401

        from dfwatch.search import SearchRequest, SearchService
        from dfwatch.search import export as _export  # noqa: F401
        from dfwatch.settings import StoreSettings
        from dfwatch.store.elastic import ElasticsearchStore
        from dfwatch.store.sqlite import SqliteStore

        if args.mode == "export":
            if args.store == "elasticsearch":
                store: Any = ElasticsearchStore.from_settings(StoreSettings(
                    elasticsearch_url=args.es_url, index_prefix=args.prefix, request_timeout=300))
            else:
                store = SqliteStore(Path(args.sqlite))
            t0 = time.perf_counter()
            with open(args.out, "wb") as out:
                info = SearchService(store).export(args.target, "parquet", out, req=SearchRequest())
            report.update(rows=info.rows, seconds=round(time.perf_counter() - t0, 1),
                          bytes=Path(args.out).stat().st_size)
            store.close()
    report["vm_hwm_mb"] = _vm_hwm_mb()
    print(json.dumps(report))


def run_child(*argv: str, module: str = "benchmarks.export_memory") -> dict[str, Any]:
    """Run a measured child (`python -m <module> child ...`, which prints one JSON object) through a
    small launcher process: a child's ru_maxrss also counts the memory of the process it was forked
    from, so that must be a fresh interpreter, not this one. benchmarks.digest_build uses it too."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.export_memory", "launch", module, *argv],  # noqa: S603
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict(json.loads(out))


def launch(module: str, argv: list[str]) -> None:
    """The launcher: run one child, report its output and peak RSS (the only child it waited for)."""
    done = subprocess.run([sys.executable, "-m", module, "child", *argv],  # noqa: S603
                          stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{module} child {' '.join(argv)} failed with exit code {done.returncode}")
    report = json.loads(done.stdout)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)  # KiB
    print(json.dumps(report))


def measure_all(es_url: str | None, prefix: str | None, sqlite: Path | None, tmp: Path) -> dict[str, Any]:
    """Baselines, then articles and figures to Parquet from each store given."""
    import pyarrow.parquet as pq

    result: dict[str, Any] = {"target_mb": TARGET_MB, "baseline": run_child("--mode", "baseline"),
                              "baseline_export_imports": run_child("--mode", "imports"), "exports": []}
    stores: list[tuple[str, list[str]]] = []
    if es_url and prefix:
        stores.append(("elasticsearch", ["--store", "elasticsearch", "--es-url", es_url, "--prefix", prefix]))
    if sqlite:
        stores.append(("sqlite", ["--store", "sqlite", "--sqlite", str(sqlite)]))
    for name, where in stores:
        for target in ("articles", "figures"):
            out = tmp / f"export-{name}-{target}.parquet"
            print(f"exporting {target} from {name} to Parquet", flush=True)
            got = run_child("--mode", "export", "--target", target, "--out", str(out), *where)
            got.update(store=name, target=target, parquet_rows=pq.read_metadata(out).num_rows,
                       size_mb=round(got["bytes"] / 2**20, 1), under_target=got["peak_rss_mb"] < TARGET_MB)
            out.unlink()
            result["exports"].append(got)
    return result


def table(result: dict[str, Any]) -> str:
    lines = [f"baseline (import dfwatch): peak RSS {result['baseline']['peak_rss_mb']} MB; with the search "
             f"service, both stores and pyarrow imported: {result['baseline_export_imports']['peak_rss_mb']} MB",
             f"{'store':<14}{'target':<10}{'rows':>8}{'seconds':>9}{'rows/s':>9}{'Parquet MB':>12}"
             f"{'peak RSS MB':>13}{'VmHWM MB':>10}  < {result['target_mb']} MB"]
    for e in result["exports"]:
        rate = round(e["rows"] / e["seconds"]) if e["seconds"] else ""
        lines.append(f"{e['store']:<14}{e['target']:<10}{e['rows']:>8}{e['seconds']:>9}{rate:>9}{e['size_mb']:>12}"
                     f"{e['peak_rss_mb']:>13}{e['vm_hwm_mb']:>10}  {'yes' if e['under_target'] else 'NO'}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "launch":
        launch(sys.argv[2], sys.argv[3:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        p = argparse.ArgumentParser()
        p.add_argument("--mode", choices=("baseline", "imports", "export"), required=True)
        for opt in ("--store", "--es-url", "--prefix", "--sqlite", "--target", "--out"):
            p.add_argument(opt)
        child(p.parse_args(sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000, help="corpus size to load when no store is given")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--es-url", help="a node already holding the corpus under --prefix")
    parser.add_argument("--prefix")
    parser.add_argument("--sqlite", type=Path, help="a SQLite store already holding the corpus")
    args = parser.parse_args()
    from benchmarks.search_stores import RESULTS, drop_es, es_node, load, open_es, open_sqlite

    started = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="dfwatch-export-") as tmp:
        if args.es_url or args.sqlite:
            result = measure_all(args.es_url, args.prefix, args.sqlite, Path(tmp))
        else:
            with es_node() as (url, _node):
                es = open_es(url, f"export{int(time.time())}")
                sqlite = open_sqlite(Path(tmp) / "export.sqlite3")
                try:
                    loads = [load(s, 0, args.docs, args.seed).as_dict() for s in (es, sqlite)]
                    result = measure_all(url, es.prefix, sqlite.path, Path(tmp))
                    result["loads"] = loads
                finally:
                    drop_es(es)
                    es.close()
                    sqlite.close()
    result.update(started=started, docs=args.docs)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"export_memory-{started[:19].replace(':', '')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(table(result))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
