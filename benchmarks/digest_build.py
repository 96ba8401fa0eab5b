"""Digest build time (not sending) on Elasticsearch at 10k and 100k synthetic articles, with peak RSS.

    python -m benchmarks.digest_build [--docs 10000,100000] [--quick] [--seed 7] [--es-prefix P]

The subscription matches every article of the corpus (no words, no filters: the most a digest
can walk), weekly, its window the last week of the corpus. Each build runs alone in a child
process (benchmarks.export_memory.run_child), so its peak RSS is its own. Two builds per size:

- first: the subscription's first digest (no log: everything before the window becomes its
  baseline, the window's articles are new), as `dfwatch digest send` builds it;
- steady: a later digest, whose log already holds every article before the window.

A build reads every article the subscription matches (dfwatch.digest.build: the digest log,
not a date, says what is new), then story details, figures and a chart for the new ones. It
walks the matches through `SearchService.hits`; the smallest size also times that walk
against paging `search` 100 hits at a time (what digests did before), as a ratio in one run.
Checks (benchmarks/results/digest_build.json): build time grows at most linearly with the
corpus (+20 %). Elasticsearch is $DFWATCH_BENCH_ES_URL, else a devnode started here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

from benchmarks.common import Check, at_most, write_result
from benchmarks.export_memory import _vm_hwm_mb, run_child
from benchmarks.search_stores import drop_es, es_node, load_all, open_es

QUICK_DOCS = "300,1000"
MODES = ("first", "steady")


def child(args: argparse.Namespace) -> None:
    """One measured process: one build (or one walk of the matches); prints its JSON report."""
    from dfwatch.digest.build import Known, Options, build
    from dfwatch.digest.subscriptions import Subscription
    from dfwatch.search import SearchRequest, SearchService
    from dfwatch.settings import StoreSettings
    from dfwatch.store.elastic import ElasticsearchStore

    store = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=args.es_url, index_prefix=args.prefix,
                                                          request_timeout=300))
    service = SearchService(store)
    sub = Subscription(name="bench", recipients=["analyst@example.org"], frequency="weekly", weekday="mon",
                       send_at=dtime(0, 0))
    _, last = store.date_span(SearchRequest())
    now = datetime.fromisoformat(last or "2026-01-01T00:00:00+00:00").astimezone(UTC) + timedelta(hours=1)
    window_start = now - timedelta(days=7)
    report: dict[str, Any] = {"mode": args.mode}
    if args.mode in ("walk-hits", "walk-pages"):
        t0 = time.perf_counter()
        walk = service.hits(sub.request()) if args.mode == "walk-hits" else _pages(service, sub.request())
        n = sum(1 for _ in walk)
        report.update(matched=n, seconds=round(time.perf_counter() - t0, 2))
    else:
        known = Known(articles={}, figures={}, has_baseline=False)
        if args.mode == "steady":  # the log holds every article published before the window
            before = replace(sub.request(), filters=replace(sub.request().filters, date_to=window_start.date()))
            known = Known(articles={h.id: h.story_id or h.id for h in service.hits(before)
                                    if h.published_at and datetime.fromisoformat(h.published_at) <= window_start},
                          figures={}, has_baseline=True)
        t0 = time.perf_counter()
        digest = build(service, sub, known, window_start, now, now, Options(web_base="http://127.0.0.1:8000"))
        report.update(seconds=round(time.perf_counter() - t0, 2), known=len(known.articles),
                      baseline=len(digest.baseline or {}), counts=digest.counts())
    store.close()
    report["vm_hwm_mb"] = _vm_hwm_mb()
    print(json.dumps(report))


def _pages(service: Any, req: Any) -> Any:
    """Every hit of `req` through `search`, 100 a page, each page counting the matches."""
    while True:
        page = service.search(req)
        yield from page.hits
        if not page.next_after or not page.hits:
            return
        req = replace(req, after=page.next_after)


def measure(url: str, prefix: str, size: int, compare_walk: bool) -> dict[str, Any]:
    where = ["--es-url", url, "--prefix", prefix]
    out: dict[str, Any] = {"docs": size}
    for mode in MODES:
        out[mode] = run_child("--mode", mode, *where, module="benchmarks.digest_build")
        print(f"  {size} docs, {mode} digest: {out[mode]['seconds']} s, peak RSS {out[mode]['peak_rss_mb']} MB, "
              f"{out[mode]['counts']}", flush=True)
    if compare_walk:
        hits = run_child("--mode", "walk-hits", *where, module="benchmarks.digest_build")
        pages = run_child("--mode", "walk-pages", *where, module="benchmarks.digest_build")
        out["walk"] = {"hits_seconds": hits["seconds"], "pages_seconds": pages["seconds"], "matched": hits["matched"],
                       "pages_over_hits": round(pages["seconds"] / max(hits["seconds"], 0.01), 2)}
        print(f"  walking {hits['matched']} matches: {hits['seconds']} s (hits) vs {pages['seconds']} s "
              "(search pages)", flush=True)
    return out


def checks(sizes: list[int], runs: list[dict[str, Any]]) -> list[Check]:
    if len(runs) < 2:
        return []
    linear = sizes[-1] / sizes[0] * 1.2
    return [at_most(f"digest {mode} build time growth {sizes[0]}->{sizes[-1]} docs",
                    runs[-1][mode]["seconds"] / max(runs[0][mode]["seconds"], 0.01), round(linear, 2), "x")
            for mode in MODES]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        p = argparse.ArgumentParser()
        p.add_argument("--mode", choices=(*MODES, "walk-hits", "walk-pages"), required=True)
        p.add_argument("--es-url", required=True)
        p.add_argument("--prefix", required=True)
        child(p.parse_args(argv[1:]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default="10000,100000", help="corpus sizes, comma-separated, ascending")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run under a minute (--docs {QUICK_DOCS})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--es-prefix", help="index prefix to use and keep (documents it holds are not loaded again)")
    args = parser.parse_args(argv)
    sizes = sorted(int(x) for x in (QUICK_DOCS if args.quick else args.docs).split(","))
    runs: list[dict[str, Any]] = []
    with es_node() as (url, node):
        store = open_es(url, args.es_prefix or f"digest{int(time.time())}")
        try:
            for size in sizes:
                have = store.count()
                if have < size:
                    print(f"loading documents {have}..{size - 1}", flush=True)
                    (got,) = load_all([store], have, size - have, args.seed)
                    print(f"  {got.docs} docs in {got.seconds} s", flush=True)
                elif have > size:
                    print(f"skipping {size}: the store holds {have} documents", flush=True)
                    continue
                runs.append(measure(url, store.prefix, size, compare_walk=size == sizes[0]))
        finally:
            if not args.es_prefix:
                drop_es(store)
            store.close()
    write_result("digest_build", {"sizes": sizes, "quick": args.quick, "elasticsearch": node, "runs": runs},
                 checks(sizes, runs))


if __name__ == "__main__":
    main()
