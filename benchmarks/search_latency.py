"""Search-layer latency at 10k and 100k synthetic articles, on Elasticsearch and SQLite.

    python -m benchmarks.search_latency [--docs 10000,100000] [--queries 300] [--stores elasticsearch,sqlite]
                                        [--quick] [--export] [--seed 7]

The synthetic corpus (benchmarks/synthetic.py) is generated once and loaded through each
store's `upsert` in batches (Elasticsearch with refresh off during the load), growing to each
size in turn. At each size, warm, the service (`SearchService`, what the CLI, API and UI call)
answers a realistic mix of requests, each measured from call to return:

- search: single English and Korean words, phrases, OR/NOT, field:value terms, filters,
  date ranges, date sort, story collapse, deep pages through search_after cursors, and
  browsing without words; 20 hits with highlights and facets, as the UI asks;
- timeline (auto interval, top stories, events, entity trends) for words, phrases and
  filters over random date windows, and for the whole corpus;
- figure_series for every measure and place, some narrowed by words, sources or periods.

Requests are generated with a seeded RNG, so they are mostly distinct and seldom answered
from Elasticsearch's request cache (cleared before measuring). Reported: p50/p95/max per
operation, per query kind and (timeline) per store primitive; `took` summed over the
Elasticsearch requests of each call and the requests per call (an `_msearch` is one); the
growth of p50 from the smallest size to the largest; load rate; index size; the 1-minute load
average before and after each operation (other work on the machine shows there). Checks
(benchmarks/results/search_latency.json, `benchmarks.common.write_result`): Elasticsearch
search and timeline p95 <= 50 ms at the largest size, and p50 growing at most linearly with
the corpus (+20 %). Elasticsearch is $DFWATCH_BENCH_ES_URL, else a devnode started and
stopped here; --es-prefix/--sqlite-file keep the loaded stores for another run (say, after a
change to the query building), which then loads only what they lack. With --export, the
largest corpus is also exported to Parquet in a child process per store
(benchmarks/export_memory.py) to measure its peak RSS. --quick is a smoke run (1,000
documents, 20 calls per operation) for the tests.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial, wraps
from pathlib import Path
from typing import Any

from benchmarks import export_memory
from benchmarks.common import Check, at_most, pct, write_result
from benchmarks.search_stores import drop_es, es_node, load_all, open_es, open_sqlite, store_size_mb
from dfwatch.search import FigureQuery, Filters, SearchRequest, SearchService
from dfwatch.store.base import Store
from dfwatch.store.elastic import ElasticsearchStore

WORDS = ["telegram", "police", "deepfake", "schools", "victims", "prison", "crackdown", "inflation", "typhoon",
         "semiconductor", "takedown", "Halcyon", "Lindqvist", "festival", "lawmakers", "hospitals"]
WORDS_KO = ["딥페이크", "텔레그램", "경찰", "성범죄", "허위영상물", "피해자", "금리", "폭염", "입건", "교육부"]
PHRASES = ['"chat room"', '"seven months"', '"deepfake sexual"', '"interest rates"', '"텔레그램 대화방"',
           '"sexually explicit deepfakes"', '"성적 허위영상물"', '"central bank"']
BOOLEAN = ["police OR prosecutors", "telegram OR discord", "딥페이크 OR 허위영상물", "typhoon OR heatwave",
           "deepfake -scam", "police -arrested", "텔레그램 -삭제", "deepfake telegram schools", "NOT election deepfake"]
FIELD_TERMS = ["deepfake type:government", "police country:US", "topic:law deepfake", "entity:Telegram",
               "entity:Seoul police", "lang:ko 경찰", "-lang:ko deepfake", "source:hanbit-times telegram"]
FILTERS = [Filters(has_figures=True), Filters(lang=("ko",)), Filters(source_type=("government", "ngo")),
           Filters(topic=("enforcement",)), Filters(country=("KR",)), Filters(entity=("Telegram",))]
MEASURES = ["police_cases_reported", "people_charged", "channel_members", "max_prison_years"]
PLACES = ["South Korea", "Seoul", "United States", "United Kingdom", "Australia", "Japan", None]
OPERATIONS = ("search", "timeline", "figure_series")
TARGET_P95_MS = 50.0
QUICK_DOCS, QUICK_QUERIES = "300,1000", 20


# ------------------------------------------------------------------ request mixes
def _window(rnd: random.Random, always: bool = False) -> tuple[date | None, date | None]:
    """A random range of 1 to 36 months in 2019-2026 (or, 40 % of the time unless `always`, none)."""
    if not always and rnd.random() < 0.4:
        return None, None
    start = date(2019 + rnd.randrange(7), 1 + rnd.randrange(12), 1)
    months = rnd.choice((1, 2, 3, 6, 12, 36))
    end_month = start.month - 1 + months
    end = date(start.year + end_month // 12, end_month % 12 + 1, 1)
    return start, min(end, date(2026, 10, 31))


def _words(rnd: random.Random) -> str:
    kind = rnd.random()
    if kind < 0.35:
        return rnd.choice(WORDS)
    if kind < 0.55:
        return rnd.choice(WORDS_KO)
    if kind < 0.7:
        return rnd.choice(PHRASES)
    if kind < 0.85:
        return rnd.choice(BOOLEAN)
    return rnd.choice(FIELD_TERMS)


SearchStep = tuple[str, SearchRequest | tuple[SearchRequest, int]]  # (kind, request or (first page, depth))


def search_mix(n: int, seed: int) -> list[SearchStep]:
    """`n` search steps; a "deep" step walks search_after cursors to page `depth` (each page timed)."""
    rnd = random.Random(seed)  # noqa: S311 - benchmark inputs
    makers: dict[str, Callable[[], SearchRequest | tuple[SearchRequest, int]]] = {
        "word": lambda: SearchRequest(q=rnd.choice(WORDS)),
        "word_ko": lambda: SearchRequest(q=rnd.choice(WORDS_KO)),
        "phrase": lambda: SearchRequest(q=rnd.choice(PHRASES)),
        "or_not": lambda: SearchRequest(q=rnd.choice(BOOLEAN)),
        "field_terms": lambda: SearchRequest(q=rnd.choice(FIELD_TERMS)),
        "filters": lambda: SearchRequest(q=_words(rnd), filters=rnd.choice(FILTERS)),
        "date_range": lambda: SearchRequest(q=_words(rnd), filters=Filters(*_window(rnd, always=True))),
        "sort_date": lambda: SearchRequest(q=_words(rnd), sort="date"),
        "browse": lambda: SearchRequest(q="", filters=rnd.choice(FILTERS)),
        "collapse": lambda: SearchRequest(q=_words(rnd), collapse=True, page=rnd.choice((0, 0, 1, 4))),
        "deep": lambda: (SearchRequest(q=_words(rnd), sort=rnd.choice(("relevance", "date"))), rnd.choice((5, 10))),
    }
    kinds = list(makers)
    steps: list[SearchStep] = []
    count = 0
    while count < n:
        kind = kinds[len(steps) % len(kinds)]
        step = makers[kind]()
        steps.append((kind, step))
        count += step[1] if isinstance(step, tuple) else 1
    rnd.shuffle(steps)
    return steps


def timeline_mix(n: int, seed: int) -> list[tuple[str, SearchRequest]]:
    rnd = random.Random(seed + 1)  # noqa: S311 - benchmark inputs
    out = []
    for k in range(n):
        if k % 25 == 0:
            out.append(("everything", SearchRequest(q="")))
            continue
        start, end = _window(rnd)
        extra = rnd.choice(FILTERS) if rnd.random() < 0.3 else Filters()
        kind = ("words" if not (start or end) else "words+window") + ("+filter" if extra != Filters() else "")
        filters = Filters(date_from=start, date_to=end, has_figures=extra.has_figures, lang=extra.lang,
                          source_type=extra.source_type, topic=extra.topic, country=extra.country, entity=extra.entity)
        out.append((kind, SearchRequest(q=_words(rnd), filters=filters)))
    return out


def series_mix(n: int, seed: int) -> list[tuple[str, str, str | None, FigureQuery | None]]:
    rnd = random.Random(seed + 2)  # noqa: S311 - benchmark inputs
    out: list[tuple[str, str, str | None, FigureQuery | None]] = []
    narrowings: list[tuple[str, FigureQuery | None]] = [
        ("all", None), ("all", None), ("words", FigureQuery(q="telegram")), ("words", FigureQuery(q="경찰")),
        ("sources", FigureQuery(source=("hanbit-times", "seoul-ledger", "hanbit-ilbo"))),
        ("period", FigureQuery(period_from=date(2023, 1, 1))), ("filters", FigureQuery(filters=Filters(lang=("ko",))))]
    for _ in range(n):
        kind, fq = rnd.choice(narrowings)
        out.append((kind, rnd.choice(MEASURES), rnd.choice(PLACES), fq))
    return out


# ------------------------------------------------------------------ instrumentation
class Probe:
    """Times each store primitive a service call uses and sums Elasticsearch's own `took`."""

    PRIMITIVES = ("search", "histogram", "date_span", "stories", "entity_trends", "timeline_parts", "timeline_spanned",
                  "figures", "iter_figures", "iter_articles")  # timeline_*: where Elasticsearch folds a timeline

    def __init__(self, store: Store) -> None:
        self.primitives: dict[str, float] = defaultdict(float)
        self.took = 0
        self.requests = 0
        for name in self.PRIMITIVES:
            if hasattr(store, name):
                setattr(store, name, self._timed(name, getattr(store, name)))
        if isinstance(store, ElasticsearchStore):  # a request: a search, or an _msearch of several
            for method in ("search", "msearch"):
                setattr(store.es, method, self._recorded(getattr(store.es, method)))

    def _recorded(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            resp = call(*args, **kwargs)
            self.took += int(resp.get("took", 0))
            self.requests += 1
            return resp
        return recorded

    def _timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            result = fn(*args, **kwargs)
            self.primitives[name] += time.perf_counter() - t0
            if name.startswith("iter_"):
                return self._timed_iter(name, result)
            return result
        return timed

    def _timed_iter(self, name: str, it: Iterator[Any]) -> Iterator[Any]:
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                self.primitives[name] += time.perf_counter() - t0
                return
            self.primitives[name] += time.perf_counter() - t0
            yield item

    def reset(self) -> None:
        self.primitives.clear()
        self.took = self.requests = 0


def measure(probe: Probe, kind: str, call: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    probe.reset()
    t0 = time.perf_counter()
    result = call()
    ms = (time.perf_counter() - t0) * 1000
    return {"kind": kind, "ms": ms, "took": probe.took, "requests": probe.requests,
            "primitives": {k: v * 1000 for k, v in probe.primitives.items()}}, result


def run_search(service: SearchService, probe: Probe, steps: list[SearchStep]) -> list[dict[str, Any]]:
    rows = []
    for kind, step in steps:
        if isinstance(step, tuple):
            req, depth = step
            for page in range(depth):
                row, got = measure(probe, kind if page else kind + "_first", partial(service.search, req))
                rows.append(row)
                if not got.next_after:
                    break
                req = SearchRequest(q=req.q, filters=req.filters, sort=req.sort, after=got.next_after)
        else:
            rows.append(measure(probe, kind, partial(service.search, step))[0])
    return rows


def run_timeline(service: SearchService, probe: Probe, mix: list[tuple[str, SearchRequest]]) -> list[dict[str, Any]]:
    return [measure(probe, kind, partial(service.timeline, req))[0] for kind, req in mix]


def run_series(service: SearchService, probe: Probe,
               mix: list[tuple[str, str, str | None, FigureQuery | None]]) -> list[dict[str, Any]]:
    return [measure(probe, kind, partial(service.figure_series, m, p, fq))[0] for kind, m, p, fq in mix]


# ------------------------------------------------------------------ statistics
def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(pct(values, 0.5), 1), "p95": round(pct(values, 0.95), 1),
            "max": round(max(values), 1), "mean": round(statistics.fmean(values), 1)}


def summarise(rows: list[dict[str, Any]], es: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"all": summary([r["ms"] for r in rows])}
    if es:
        out["es_took"] = summary([float(r["took"]) for r in rows])
        out["es_requests_per_call"] = round(statistics.fmean(r["requests"] for r in rows), 2)
    kinds: dict[str, list[float]] = defaultdict(list)
    prims: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        kinds[r["kind"]].append(r["ms"])
        for name, ms in r["primitives"].items():
            prims[name].append(ms)
    out["by_kind"] = {k: summary(v) for k, v in sorted(kinds.items())}
    out["by_primitive"] = {k: summary(v) for k, v in sorted(prims.items())}
    return out


# ------------------------------------------------------------------ the run
def bench_store(store: Store, label: str, n_queries: int, seed: int) -> dict[str, Any]:
    probe = Probe(store)
    service = SearchService(store)
    load_before = os.getloadavg()
    steps, timelines, series = search_mix(n_queries, seed), timeline_mix(n_queries, seed), series_mix(n_queries, seed)
    # warm up on other requests of the same kinds (caches, JIT, page cache), then measure
    run_search(service, probe, search_mix(max(n_queries // 5, 5), seed + 100))
    run_timeline(service, probe, timeline_mix(max(n_queries // 10, 5), seed + 100))
    run_series(service, probe, series_mix(max(n_queries // 10, 5), seed + 100))
    es = isinstance(store, ElasticsearchStore)
    if isinstance(store, ElasticsearchStore):
        store.es.indices.clear_cache(index=f"{store.articles_alias},{store.figures_alias}", request=True)
    results = {}
    for op, run in (("search", lambda: run_search(service, probe, steps)),
                    ("timeline", lambda: run_timeline(service, probe, timelines)),
                    ("figure_series", lambda: run_series(service, probe, series))):
        t0 = time.perf_counter()
        rows = run()
        results[op] = summarise(rows, es)
        results[op]["seconds"] = round(time.perf_counter() - t0, 1)
        results[op]["loadavg_1m"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
        print(f"  {label} {op}: p50 {results[op]['all']['p50']} ms, p95 {results[op]['all']['p95']} ms "
              f"({len(rows)} calls)", flush=True)
    return results


def table(report: dict[str, Any]) -> str:
    lines = [f"{'store':<14}{'docs':>8}  {'operation':<14}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
             f"{'took p50':>10}{'took p95':>10}{'req/call':>10}"]
    for run in report["runs"]:
        for op in OPERATIONS:
            s = run["latency"][op]
            took = s.get("es_took", {})
            lines.append(f"{run['store']:<14}{run['docs']:>8}  {op:<14}{s['all']['n']:>5}{s['all']['p50']:>9}"
                         f"{s['all']['p95']:>9}{s['all']['max']:>9}{took.get('p50', ''):>10}{took.get('p95', ''):>10}"
                         f"{s.get('es_requests_per_call', ''):>10}")
    lines.append("")
    lines.append(f"{'store':<14}{'docs':>8}  {'loaded docs/s':>14}{'write docs/s':>14}{'size MB':>9}")
    for run in report["runs"]:
        load_ = run["load"] or {"docs_per_s": "reused", "write_docs_per_s": ""}
        lines.append(f"{run['store']:<14}{run['docs']:>8}  {load_['docs_per_s']:>14}"
                     f"{load_['write_docs_per_s']:>14}{run['size_mb']:>9}")
    return "\n".join(lines)


def growth(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """p50 at the largest size over p50 at the smallest, per store and operation (1.0: flat; the
    corpus ratio: linear in documents)."""
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r["store"] for r in report["runs"]):
        runs = sorted((r for r in report["runs"] if r["store"] == name), key=lambda r: r["docs"])
        if len(runs) > 1:
            small, large = runs[0]["latency"], runs[-1]["latency"]
            out[name] = {op: round(large[op]["all"]["p50"] / max(small[op]["all"]["p50"], 0.1), 2)
                         for op in OPERATIONS}
    return out


def checks(report: dict[str, Any]) -> list[Check]:
    """Issue 8's targets: Elasticsearch search and timeline p95 <= 50 ms at the largest size; p50
    growing at most linearly with the corpus (+20 %) from the smallest size to the largest."""
    out = []
    es_runs = sorted((r for r in report["runs"] if r["store"] == "elasticsearch"), key=lambda r: r["docs"])
    if es_runs:
        largest = es_runs[-1]
        out += [at_most(f"elasticsearch {op} p95 at {largest['docs']} docs", largest["latency"][op]["all"]["p95"],
                        TARGET_P95_MS, "ms") for op in ("search", "timeline")]
    sizes = report["sizes"]
    linear = sizes[-1] / sizes[0] * 1.2
    for name, ratios in report["growth"].items():
        out += [at_most(f"{name} {op} p50 growth {sizes[0]}->{sizes[-1]} docs", ratio, round(linear, 2), "x")
                for op, ratio in ratios.items()]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default="10000,100000", help="corpus sizes, comma-separated, ascending")
    parser.add_argument("--queries", type=int, default=300, help="measured calls per operation")
    parser.add_argument("--stores", default="elasticsearch,sqlite")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run under a minute: --docs {QUICK_DOCS} "
                        f"--queries {QUICK_QUERIES} (its figures say nothing about the targets)")
    parser.add_argument("--export", action="store_true", help="also measure Parquet exports of the largest corpus")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--heap", default="1g", help="heap of the devnode started when no node is given")
    parser.add_argument("--es-prefix", help="index prefix to use and keep; documents it holds already (the "
                        "corpus's first N) are not loaded again")
    parser.add_argument("--sqlite-file", type=Path, help="SQLite store file to use and keep (likewise)")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.queries = QUICK_DOCS, QUICK_QUERIES
    sizes = sorted(int(x) for x in args.docs.split(","))
    stores = args.stores.split(",")
    report: dict[str, Any] = {"sizes": sizes, "queries": args.queries, "seed": args.seed, "quick": args.quick,
                              "runs": []}
    with es_node(heap=args.heap) as (url, node), tempfile.TemporaryDirectory(prefix="dfwatch-bench-") as tmp:
        report["elasticsearch"] = node
        opened: dict[str, Store] = {}
        if "elasticsearch" in stores:
            opened["elasticsearch"] = open_es(url, args.es_prefix or f"bench{int(time.time())}")
        sqlite_file = args.sqlite_file or Path(tmp) / "bench.sqlite3"
        if "sqlite" in stores:
            opened["sqlite"] = open_sqlite(sqlite_file)
        try:
            for size in sizes:
                loads = grow(opened, size, args.seed)
                for name, store in opened.items():
                    if store.count() != size:
                        print(f"skipping {name} at {size}: it holds {store.count()} documents", flush=True)
                        continue
                    latency = bench_store(store, f"{name}@{size}", args.queries, args.seed)
                    report["runs"].append({"store": name, "docs": size, "load": loads.get(name),
                                           "size_mb": store_size_mb(store), "latency": latency})
            if args.export:
                report["export"] = export_memory.measure_all(
                    url if "elasticsearch" in opened else None,
                    opened["elasticsearch"].prefix if "elasticsearch" in opened else None,  # type: ignore[attr-defined]
                    sqlite_file if "sqlite" in opened else None, Path(tmp))
        finally:
            for store in opened.values():
                if isinstance(store, ElasticsearchStore) and not args.es_prefix:
                    drop_es(store)
                store.close()
    report["growth"] = growth(report)
    print(table(report))
    if "export" in report:
        print(export_memory.table(report["export"]))
    write_result("search_latency", report, checks(report))


def grow(opened: dict[str, Store], size: int, seed: int) -> dict[str, dict[str, Any]]:
    """Load each store up to `size` documents (one generator for all that hold the same number)."""
    loads: dict[str, dict[str, Any]] = {}
    by_count: dict[int, list[str]] = defaultdict(list)
    for name, store in opened.items():
        by_count[store.count()].append(name)
    for have, names in by_count.items():
        if have >= size:
            continue
        print(f"loading {', '.join(names)}: documents {have}..{size - 1}", flush=True)
        for name, got in zip(names, load_all([opened[n] for n in names], have, size - have, seed), strict=True):
            print(f"  {name}: {got.docs} docs in {got.seconds} s ({got.docs_per_s} docs/s; in upsert "
                  f"{got.write_docs_per_s} docs/s)", flush=True)
            loads[name] = got.as_dict()
    return loads


if __name__ == "__main__":
    main()
