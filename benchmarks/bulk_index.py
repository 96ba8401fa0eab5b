"""Index-only throughput: the synthetic corpus written to Elasticsearch and SQLite by dfwatch's stores.

    python -m benchmarks.bulk_index [--docs 10000,100000] [--batch 2000] [--quick]

Elasticsearch: the node at $DFWATCH_BENCH_ES_URL, else a throwaway dfwatch.devnode. In one run:

1. warm-up loads of `WARM_SLICE` articles until the node's CPU per article settles (the last
   three loads within `SETTLED` of each other), at least `WARM_DOCS` and at most `WARM_MAX`
   articles in all: a fresh node's cost per article falls for minutes (the JVM compiles its hot
   paths in the background; one spent 1.47, 1.06, 0.96, 0.90, 0.75, 0.72 CPU ms on its first six
   loads of 10,000, and 0.73 at the first measurement after a fixed 30,000), where a node that
   has been indexing a while spends 0.43–0.46;
2. the bulk-size sweep of Elastic's "Tune for indexing speed" guide: requests of 100, 200, 400, ...
   documents, doubling until throughput stops rising (less than +5 % twice), each point into a
   fresh index through `ElasticsearchStore.upsert`; then the shipped size with 1, 2, 3 requests
   in flight;
3. for each corpus size, into fresh indices: dfwatch's write path (`with store.bulk_load():
   store.upsert(stream)`, the corpus as one stream as `index replay` and `index migrate` write
   it, with the shipped `es_bulk.TUNING`; at the smallest size also one upsert per `--batch`
   documents, as a crawl writes) and the bare
   library bound, `elasticsearch.helpers.bulk` with its defaults (one thread, 500 documents a
   request, the standard-library JSON serialiser) writing the same documents (the articles as
   dfwatch stores them, and their figure records) with refresh off too;
   both times include the final refresh, so every document is searchable when the clock stops;
4. re-writing existing articles (the path that looks up stored figure records);
5. SQLite: `SqliteStore.upsert`, one transaction per batch, at the smallest size.

Documents come from benchmarks/synthetic.py, generated once (two processes) into a JSONL cache
under $DFWATCH_CACHE_DIR/bench and streamed from it by a reader thread during each load (as
`dfwatch index replay` reads its spool), so generation is never timed. CPU seconds per document of
the node (its `_nodes/stats`) and of this process are reported beside wall time: on a shared
machine they move less than throughput, and their sum bounds what the cores could do.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import multiprocessing
import os
import queue
import resource
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch, helpers

from benchmarks import synthetic
from benchmarks.common import Check, at_least, machine, within, write_result
from benchmarks.search_stores import es_node
from dfwatch.devnode import cache_dir
from dfwatch.records import figure_docs
from dfwatch.settings import StoreSettings
from dfwatch.store import es_bulk
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.es_index import IndexManager
from dfwatch.store.prepare import prepare
from dfwatch.store.sqlite import SqliteStore

SEED = 7
TARGET = 3000  # documents/s, issue 8
PLATEAU = 1.05  # a doubling must gain more than this to count as rising
SLICE = 1000  # documents per generation task
WARM_DOCS = 30_000  # articles loaded at least before anything is measured (a warm JVM)
WARM_MAX = 300_000  # ... and at most, if the node's CPU per article never settles
WARM_SLICE = 10_000  # articles per warm-up load
SETTLED = 0.05  # the last three warm-up loads this close in node CPU per article: warm


# ------------------------------------------------------------------ the corpus, cached
def _corpus_digest() -> str:
    here = Path(synthetic.__file__).parent
    parts = [here / f for f in ("synthetic.py", "synthetic_text.py", "synthetic_facts.py", "synthetic.yaml")]
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()[:12]


def _generate(start: int, count: int = SLICE) -> list[bytes]:
    return [orjson.dumps(d) for d in synthetic.articles(count, SEED, start)]


def corpus(n: int) -> Path:
    """A JSONL file whose first `n` lines are synthetic documents 0 .. n-1 (generated if no cached file has them)."""
    folder = cache_dir() / "bench"
    prefix = f"synthetic-{SEED}-{_corpus_digest()}-"
    for path in sorted(folder.glob(prefix + "*.jsonl")):
        if int(path.stem.rsplit("-", 1)[1]) >= n:
            return path
    folder.mkdir(parents=True, exist_ok=True)
    size = n if n <= SLICE else -(-n // SLICE) * SLICE
    path = folder / f"{prefix}{size}.jsonl"
    tmp = path.with_suffix(".part")
    t0 = time.perf_counter()
    with tmp.open("wb") as fh:
        if size <= SLICE:
            fh.write(b"\n".join(_generate(0, size)) + b"\n")
        else:
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                for lines in pool.imap(_generate, range(0, size, SLICE)):
                    fh.write(b"\n".join(lines) + b"\n")
    tmp.rename(path)
    print(f"  generated {size} documents into {path} in {time.perf_counter() - t0:.0f} s")
    return path


def batches(path: Path, n: int, size: int, start: int = 0) -> Iterator[list[dict[str, Any]]]:
    """Documents start .. n-1 of the corpus in lists of `size`, parsed by a reader thread one batch ahead."""
    ready: queue.Queue[list[dict[str, Any]] | BaseException | None] = queue.Queue(maxsize=2)

    def read() -> None:
        try:
            with path.open("rb") as fh:
                lines = itertools.islice(fh, start, n)
                while chunk := list(itertools.islice(lines, size)):
                    ready.put([orjson.loads(line) for line in chunk])
            ready.put(None)
        except BaseException as exc:  # handed to the consumer
            ready.put(exc)

    threading.Thread(target=read, daemon=True).start()
    while (item := ready.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


# ------------------------------------------------------------------ measuring
def _node_cpu_ms(es: Elasticsearch) -> float:
    nodes = es.nodes.stats(metric="process")["nodes"]
    return float(sum(n["process"]["cpu"]["total_in_millis"] for n in nodes.values()))


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(es: Elasticsearch, docs: int, run: Callable[[], None], **facts: Any) -> dict[str, Any]:
    """Wall time and CPU per document of `run`, which writes `docs` documents and refreshes."""
    node0, own0, t0 = _node_cpu_ms(es), _own_cpu_s(), time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    node_ms, own_ms = (_node_cpu_ms(es) - node0) / docs, (_own_cpu_s() - own0) * 1000 / docs
    return {**facts, "docs": docs, "seconds": round(seconds, 2), "docs_per_s": round(docs / seconds, 1),
            "node_cpu_ms_per_doc": round(node_ms, 3), "client_cpu_ms_per_doc": round(own_ms, 3),
            "cpu_bound_docs_per_s": round((os.cpu_count() or 1) * 1000 / (node_ms + own_ms), 1),
            "loadavg_1m": round(os.getloadavg()[0], 2)}


class Indices:
    """Fresh dfwatch indices per load, under prefixes unique to this run, dropped after."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.count = 0

    def store(self) -> ElasticsearchStore:
        self.count += 1
        cfg = StoreSettings(elasticsearch_url=self.url, index_prefix=f"bulkbench{os.getpid()}-{self.count}",
                            request_timeout=300)
        store = ElasticsearchStore.from_settings(cfg)
        store.setup()
        return store

    @staticmethod
    def drop(store: ElasticsearchStore) -> None:
        IndexManager(store.es, store.prefix).drop()
        store.close()


def dfwatch_load(store: ElasticsearchStore, path: Path, n: int, batch: int, stream: bool = True) -> dict[str, Any]:
    """dfwatch's write path: the corpus as one stream through `store.upsert` (as `dfwatch index
    replay` and `index migrate` write), or with `stream=False` one upsert per `batch` documents
    (as a crawl writes), inside `store.bulk_load()`."""
    def run() -> None:
        with store.bulk_load(drop_replicas=True):
            if stream:
                store.upsert(doc for docs in batches(path, n, batch) for doc in docs)
            else:
                for docs in batches(path, n, batch):
                    store.upsert(docs)

    result = measure(store.es, n, run, path="dfwatch" if stream else f"dfwatch, {batch} a call", batch=batch,
                     tuning=vars(store.bulk_tuning))
    result["indexed"] = store.count()
    restored = store.es.indices.get_settings(index=store.articles_write, name="index.refresh_interval")
    result["refresh_after"] = next(iter(restored.values()))["settings"]["index"]["refresh_interval"]
    return result


def bare_load(store: ElasticsearchStore, path: Path, n: int, batch: int) -> dict[str, Any]:
    """`helpers.bulk` with the library's defaults and a default client, writing what dfwatch stores
    (each article as `prepare` derives it, and its figure records), refresh off the same way."""
    es = Elasticsearch(store.es.transport.node_pool.get().base_url, request_timeout=300)

    def actions() -> Iterator[dict[str, Any]]:
        for docs in batches(path, n, batch):
            for d in map(prepare, docs):
                yield {"_index": store.articles_write, "_id": d["id"], "_source": d}
                for f in figure_docs(d):
                    yield {"_index": store.figures_write, "_id": f["id"], "_source": {**f, "story_id": d["story_id"]}}

    def run() -> None:
        indices = f"{store.articles_write},{store.figures_write}"
        es.indices.put_settings(index=indices, settings={"index.refresh_interval": "-1"})
        helpers.bulk(es, actions())
        es.indices.put_settings(index=indices, settings={"index.refresh_interval": "1s"})
        es.indices.refresh(index=indices)

    try:
        result = measure(es, n, run, path="helpers.bulk (defaults)")
        result["indexed"] = store.count()
    finally:
        es.close()
    return result


def sweep(indices: Indices, path: Path, n: int, batch: int, sizes: list[int]) -> list[dict[str, Any]]:
    """Request sizes doubled until throughput stops rising (two non-gains in a row), the guide's way;
    the shipped size (`es_bulk.TUNING`) is measured too if the doubling stopped before it."""
    points: list[dict[str, Any]] = []
    best, flat = 0.0, 0
    for size in sizes:
        if flat == 2:  # levelled off; the shipped size is measured all the same, for the check
            if size != es_bulk.TUNING.chunk_docs:
                continue
        store = indices.store()
        store.bulk_tuning = es_bulk.Tuning(chunk_docs=size, chunk_bytes=100 * 2**20, min_chunk=size)
        try:
            point = dfwatch_load(store, path, n, max(batch, 4 * size))
        finally:
            indices.drop(store)
        points.append(point)
        print(f"  sweep: {size:5d} docs a request: {point['docs_per_s']} docs/s")
        rate = point["docs_per_s"]
        if flat < 2:
            flat = 0 if rate > best * PLATEAU else flat + 1
        best = max(best, rate)
    return points


def thread_sweep(indices: Indices, path: Path, n: int, batch: int, counts: list[int]) -> list[dict[str, Any]]:
    """The shipped request size with 1, 2, 3 ... requests in flight (the guide: use several workers)."""
    points = []
    for threads in counts:
        store = indices.store()
        store.bulk_tuning = es_bulk.Tuning(threads=threads)
        try:
            points.append(dfwatch_load(store, path, n, batch))
        finally:
            indices.drop(store)
        print(f"  threads: {threads} in flight: {points[-1]['docs_per_s']} docs/s")
    return points


def rewrite_load(indices: Indices, path: Path, n: int, batch: int) -> dict[str, Any]:
    """Upserting `n` articles that exist already, each with one figure record fewer (the lookup path)."""
    store = indices.store()
    try:
        with store.bulk_load():
            for docs in batches(path, n, batch):
                store.upsert(docs)

        def run() -> None:
            with store.bulk_load():
                for docs in batches(path, n, batch):
                    store.upsert([{**d, "figures": d["figures"][1:]} for d in docs])

        return measure(store.es, n, run, path="dfwatch re-upsert (existing articles)", batch=batch)
    finally:
        indices.drop(store)


def sqlite_load(path: Path, n: int, batch: int, folder: Path) -> dict[str, Any]:
    store = SqliteStore(folder / f"bulkbench-{os.getpid()}.sqlite3")
    store.setup()
    own0, t0 = _own_cpu_s(), time.perf_counter()
    try:
        for docs in batches(path, n, batch):
            store.upsert(docs)
        seconds = time.perf_counter() - t0
        count = store.count()
    finally:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(store.path) + suffix).unlink(missing_ok=True)
    return {"path": "SqliteStore.upsert", "batch": batch, "docs": n, "seconds": round(seconds, 2),
            "docs_per_s": round(n / seconds, 1), "cpu_ms_per_doc": round((_own_cpu_s() - own0) * 1000 / n, 3),
            "indexed": count, "loadavg_1m": round(os.getloadavg()[0], 2)}


def warm_up(indices: Indices, path: Path, batch: int, quick: int | None = None) -> list[float]:
    """Load `WARM_SLICE` articles at a time until the node's CPU per article settles (see the module
    docstring), or once `quick` articles for a smoke run; returns that figure for each load."""
    least, most, slice_ = (quick, quick, quick) if quick else (WARM_DOCS, WARM_MAX, WARM_SLICE)
    costs: list[float] = []
    while len(costs) * slice_ < most:
        store = indices.store()
        try:
            costs.append(float(dfwatch_load(store, path, slice_, batch)["node_cpu_ms_per_doc"]))
        finally:
            indices.drop(store)
        settled = len(costs) > 2 and max(costs[-3:]) - min(costs[-3:]) <= SETTLED * min(costs[-3:])
        if len(costs) * slice_ >= least and settled:
            break
    print(f"  warm-up: {len(costs) * slice_} articles, node CPU ms an article {costs}", flush=True)
    return costs


# ------------------------------------------------------------------ the run
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bulk_index", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", default=None, help="corpus sizes, comma-separated (default 10000,100000)")
    ap.add_argument("--batch", type=int, default=2000, help="documents per upsert call (default 2000)")
    ap.add_argument("--sweep", default="100,200,400,800,1600,3200", help="request sizes to try, doubling")
    ap.add_argument("--sweep-docs", type=int, default=None, help="documents per sweep point (default 10000)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run (< 60 s with a node up)")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in (args.docs or ("1000,3000" if args.quick else "10000,100000")).split(",")]
    sweep_docs = args.sweep_docs or (1000 if args.quick else 10_000)
    sweep_sizes = [int(x) for x in args.sweep.split(",")][:3 if args.quick else None]
    batch = min(args.batch, 500) if args.quick else args.batch
    path = corpus(max(sizes + [sweep_docs]))
    results: dict[str, Any] = {"corpus": {"file": str(path), "seed": SEED}, "machine_at_start": machine(),
                               "batch": batch}
    with es_node() as (url, node):
        results["node"] = node
        indices = Indices(url)
        results["warm_up"] = warm_up(indices, path, batch, min(2000, sizes[0]) if args.quick else None)
        results["sweep"] = sweep(indices, path, sweep_docs, batch, sweep_sizes)
        results["threads"] = thread_sweep(indices, path, sweep_docs, batch, [1, 2] if args.quick else [1, 2, 3])
        results["loads"] = []
        for n in sizes:
            loaders: list[Callable[..., dict[str, Any]]] = [dfwatch_load, bare_load]
            if n == sizes[0]:
                loaders.append(partial(dfwatch_load, stream=False))
            for loader in loaders:
                store = indices.store()
                try:
                    got = loader(store, path, n, batch)
                finally:
                    indices.drop(store)
                results["loads"].append(got)
                print(f"  {got['path']}: {n} docs in {got['seconds']} s = {got['docs_per_s']} docs/s "
                      f"(node {got['node_cpu_ms_per_doc']} + client {got['client_cpu_ms_per_doc']} CPU ms/doc; "
                      f"load {got['loadavg_1m']})")
        results["rewrite"] = rewrite_load(indices, path, max(500, sizes[0] // 5), batch)
        print(f"  re-upsert: {results['rewrite']['docs_per_s']} docs/s")
    results["sqlite"] = sqlite_load(path, sizes[0], batch, path.parent)
    print(f"  sqlite: {results['sqlite']['docs_per_s']} docs/s")
    checks(results, sizes)
    return 0  # a missed target is reported in the result file, never an error (benchmarks/run_all.py)


def checks(results: dict[str, Any], sizes: list[int]) -> list[Check]:
    """The issue's targets, from one run's figures; writes the result file."""
    loads = {(r["path"], r["docs"]): r for r in results["loads"]}
    out: list[Check] = []
    best = max(results["sweep"], key=lambda p: p["docs_per_s"])
    shipped = es_bulk.TUNING.chunk_docs
    on_plateau = [p for p in results["sweep"] if p["tuning"]["chunk_docs"] == shipped]
    results["sweep_best_chunk_docs"] = best["tuning"]["chunk_docs"]
    if on_plateau:
        out.append(at_least("shipped request size / best of the sweep (throughput)",
                            on_plateau[0]["docs_per_s"] / best["docs_per_s"], 0.9))
    for n in sizes:
        ours, bare = loads[("dfwatch", n)], loads[("helpers.bulk (defaults)", n)]
        ours["ratio_to_helpers_bulk"] = round(ours["docs_per_s"] / bare["docs_per_s"], 3)
        out.append(at_least(f"Elasticsearch bulk via store.upsert, {n} docs", ours["docs_per_s"], TARGET, "docs/s"))
        out.append(at_least(f"store.upsert / bare helpers.bulk, {n} docs", ours["ratio_to_helpers_bulk"], 1.0))
        out.append(Check(f"articles searchable after the {n}-doc load", ours["indexed"], f"== {n}",
                         ours["indexed"] == n))
        out.append(Check(f"refresh_interval restored after the {n}-doc load", 1.0, "1s",
                         ours["refresh_after"] == "1s"))
    batched = loads.get((f"dfwatch, {results['batch']} a call", sizes[0]))
    if batched:  # how much the stream gains over one upsert per batch (which waits for each batch)
        results["stream_over_batches"] = round(loads[("dfwatch", sizes[0])]["docs_per_s"] / batched["docs_per_s"], 3)
    small, big = loads[("dfwatch", sizes[0])], loads[("dfwatch", sizes[-1])]
    if sizes[-1] > sizes[0]:
        growth = (big["seconds"] / sizes[-1]) / (small["seconds"] / sizes[0])
        results["growth_per_doc_time"] = round(growth, 3)
        out.append(within(f"per-document time, {sizes[-1]} / {sizes[0]} docs", growth, 0.8, 1.2))
        cpu = [r["node_cpu_ms_per_doc"] + r["client_cpu_ms_per_doc"] for r in (small, big)]
        results["growth_per_doc_cpu"] = round(cpu[1] / cpu[0], 3)  # steadier than wall time on a shared machine
        out.append(within(f"per-document CPU (node + client), {sizes[-1]} / {sizes[0]} docs",
                          results["growth_per_doc_cpu"], 0.8, 1.2))
    write_result("bulk_index", results, out)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
