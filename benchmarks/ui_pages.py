"""Server time of the web UI's search page (`/`) and timeline page (`/timeline`) at 100,000 articles in Elasticsearch.

    python -m benchmarks.ui_pages [--docs 100000] [--requests 200] [--quick] [--seed 7] [--es-prefix P]

The synthetic corpus (benchmarks/synthetic.py) is loaded into Elasticsearch through the store's
`upsert` (`benchmarks.search_stores.load`; $DFWATCH_BENCH_ES_URL, else a devnode started and
stopped here). The real app (`dfwatch.web.create_app`) serves it under uvicorn on 127.0.0.1 and
an httpx client asks, one request at a time, a realistic mix of pages built from the search
layer benchmark's request mixes (`benchmarks.search_latency.search_mix` / `timeline_mix`: single
English and Korean words, phrases, OR/NOT, field:value terms, filters, date ranges, date sort,
story pages; timelines over words, windows and filters, and the whole corpus), as a browser's
query string. After a warm-up (not counted) and with Elasticsearch's request cache cleared,
each page is asked `--requests` times (at least 200 by default).

Measured inside the app, by an ASGI wrapper around it: the server time of each request, from
the moment the app is called to the last byte of the response body handed to the server, and,
within it, the time spent in the search service (every `SearchService` method the page calls,
timed once however the calls nest). The rest is routing, parameter checks, building the view
and rendering the template. Reported per page: p50/p95/max of server time and of service time,
the share of server time spent in the service vs. rendering, the service time by the method the
page called (`timeline`, `figure_series`, `search`, ...), and p50 per kind of request.

Target (checks in benchmarks/results/ui_pages.json): each page's p95 server time <= 100 ms,
twice the search layer's p95 target for search and timeline (50 ms, benchmarks/search_latency.py),
so rendering may add at most as much as the query took; and every measured request answered 200.
`--quick` is a smoke run (500 documents, 15 requests per page) for the tests; its figures say
nothing about the target. With --es-prefix the loaded index is kept for another run, which then
loads only what it lacks.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import socket
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import httpx
import uvicorn

from benchmarks.common import Check, at_most, pct, write_result
from benchmarks.search_latency import search_mix, timeline_mix
from benchmarks.search_stores import drop_es, es_node, load, open_es
from dfwatch.search import SearchRequest, SearchService
from dfwatch.settings import load_settings
from dfwatch.web import create_app

TARGET_P95_MS = 100.0  # 2 x the search layer's 50 ms p95 target for search and timeline
SERVICE_METHODS = ("search", "count", "timeline", "figures", "figure_series", "story", "article", "export")
PAGES = ("search", "timeline")
QUICK_DOCS, QUICK_REQUESTS = 500, 15
FILTER_PARAMS = (("source", "source"), ("source_type", "type"), ("country", "country"), ("lang", "lang"),
                 ("entity", "entity"), ("topic", "topic"))


# ------------------------------------------------------------------ what is asked
def page_params(req: SearchRequest, page: str) -> list[tuple[str, str]]:
    """A search-layer request as the query string the page's form would send."""
    f = req.filters
    out: list[tuple[str, str]] = [("q", req.q)] if req.q else []
    if f.date_from:
        out.append(("from", f.date_from.isoformat()))
    if f.date_to:
        out.append(("to", f.date_to.isoformat()))
    for attr, name in FILTER_PARAMS:
        out += [(name, v) for v in getattr(f, attr)]
    if f.has_figures is not None:
        out.append(("has_figures", "true" if f.has_figures else "false"))
    if page == "search":
        if req.sort == "date":
            out.append(("sort", "date"))
        if req.collapse and req.page:
            out.append(("page", str(req.page)))
    return out


def mix(page: str, n: int, seed: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """`n` (kind, query string) requests for `page`; deep cursor walks are asked as their first page."""
    if page == "search":
        steps = search_mix(2 * n, seed)[:n]  # search_mix counts each page of a deep walk as a request
        return [(kind, page_params(step[0] if isinstance(step, tuple) else step, page)) for kind, step in steps]
    return [(kind, page_params(req, page)) for kind, req in timeline_mix(n, seed)]


# ------------------------------------------------------------------ measured inside the app
@dataclass
class Sample:
    path: str
    status: int = 0
    server: float = 0.0  # seconds
    service: float = 0.0  # seconds in SearchService methods
    methods: dict[str, float] = field(default_factory=dict)  # the same, by the method the page called
    depth: int = 0  # nesting of service calls (an outer call's time includes the inner ones)


CURRENT: contextvars.ContextVar[Sample | None] = contextvars.ContextVar("ui_pages_sample", default=None)


class ServerTimer:
    """ASGI wrapper: times each HTTP request from call to the end of its body; keeps the samples."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: list[Sample] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sample = Sample(scope["path"])
        token = CURRENT.set(sample)
        start = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                sample.status = message["status"]
            if message["type"] == "http.response.body" and not message.get("more_body"):
                sample.server = time.perf_counter() - start
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            CURRENT.reset(token)
            self.samples.append(sample)


def instrument(service: SearchService) -> None:
    """Time the service's public methods into the current request's sample (the threadpool that runs the
    route copies the request's context, so the sample is found there)."""
    for name in SERVICE_METHODS:
        method = getattr(service, name)
        setattr(service, name, _timed(name, method))


def _timed(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        sample = CURRENT.get()
        if sample is None:
            return method(*args, **kwargs)
        sample.depth += 1
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            sample.depth -= 1
            if sample.depth == 0:
                took = time.perf_counter() - start
                sample.service += took
                sample.methods[name] = sample.methods.get(name, 0.0) + took
    return timed


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="ui-pages-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the UI server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# ------------------------------------------------------------------ the run
@dataclass
class PageRun:
    samples: list[tuple[str, Sample]] = field(default_factory=list)  # (kind, sample)


def ask(client: httpx.Client, timer: ServerTimer, path: str, requests: list[tuple[str, list[tuple[str, str]]]],
        into: PageRun | None) -> None:
    for kind, query in requests:
        before = len(timer.samples)
        client.get(path, params=tuple(query))
        deadline = time.monotonic() + 10
        while len(timer.samples) <= before:  # the wrapper files the sample just after the last byte is sent
            if time.monotonic() > deadline:
                raise RuntimeError(f"no timing was recorded for {path}")
            time.sleep(0.0005)
        if into is not None:
            into.samples.append((kind, timer.samples[before]))


def ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(pct(values, 0.5) * 1000, 2), "p95": round(pct(values, 0.95) * 1000, 2),
            "max": round(max(values, default=0.0) * 1000, 2)}


def summarise(run: PageRun) -> dict[str, Any]:
    samples = [s for _, s in run.samples]
    server = [s.server for s in samples]
    service = [s.service for s in samples]
    total = sum(server) or 1.0
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, s in run.samples:
        by_kind[kind].append(s.server)
    methods = sorted({m for s in samples for m in s.methods})
    return {
        "requests": len(samples), "non_200": sum(1 for s in samples if s.status != 200),
        "service_ms_by_method": {m: ms([s.methods.get(m, 0.0) for s in samples]) for m in methods},
        "share_by_method": {m: round(sum(s.methods.get(m, 0.0) for s in samples) / total, 3) for m in methods},
        "server_ms": ms(server), "service_ms": ms(service),
        "render_ms": ms([s.server - s.service for s in samples]),
        "service_share": round(sum(service) / total, 3), "render_share": round(1 - sum(service) / total, 3),
        "p50_ms_by_kind": {k: round(pct(v, 0.5) * 1000, 2) for k, v in sorted(by_kind.items())},
    }


def measure(base_url: str, timer: ServerTimer, n: int, seed: int, warmup: int) -> dict[str, Any]:
    paths = {"search": "/", "timeline": "/timeline"}
    runs = {p: PageRun() for p in PAGES}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for page in PAGES:  # warm-up: other requests (another seed), not counted
            ask(client, timer, paths[page], mix(page, warmup, seed + 100), None)
        asked = {p: mix(p, n, seed) for p in PAGES}
        for i in range(n):  # the two pages interleaved, so both see the same machine
            for page in PAGES:
                ask(client, timer, paths[page], asked[page][i:i + 1], runs[page])
    return {p: summarise(r) for p, r in runs.items()}


def checks(report: dict[str, Any]) -> list[Check]:
    out = []
    for page in PAGES:
        r = report["pages"][page]
        out.append(at_most(f"{page} page p95 server time at {report['docs']} docs", r["server_ms"]["p95"],
                           TARGET_P95_MS, "ms"))
        out.append(at_most(f"{page} page requests not answered 200", r["non_200"], 0))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000, help="articles in Elasticsearch")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="requests per page before measuring")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: --docs {QUICK_DOCS} --requests "
                        f"{QUICK_REQUESTS} --warmup 2 (its figures say nothing about the target)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--heap", default="1g", help="heap of the devnode started when no node is given")
    parser.add_argument("--es-prefix", help="index prefix to use and keep; documents it holds already (the "
                        "corpus's first N) are not loaded again")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.requests, args.warmup = QUICK_DOCS, QUICK_REQUESTS, 2
    report: dict[str, Any] = {"docs": args.docs, "requests_per_page": args.requests, "warmup": args.warmup,
                              "seed": args.seed, "quick": args.quick, "target_p95_ms": TARGET_P95_MS}
    prefix = args.es_prefix or f"uibench{int(time.time())}{os.getpid()}"
    report["index_prefix"] = prefix
    with es_node(heap=args.heap) as (url, node), tempfile.TemporaryDirectory(prefix="dfwatch-ui-bench-") as tmp:
        report["elasticsearch"] = node
        store = open_es(url, prefix)
        try:
            have = store.count()
            if have < args.docs:
                print(f"loading documents {have}..{args.docs - 1}", flush=True)
                report["load"] = load(store, have, args.docs - have, args.seed).as_dict()
            report["stored"] = store.count()
            if report["stored"] < args.docs:
                raise SystemExit(f"the index holds {report['stored']} documents, fewer than {args.docs}")
            store.es.indices.clear_cache(index=f"{store.articles_alias},{store.figures_alias}", request=True)
            settings = load_settings(data_dir=tmp, store={"elasticsearch_url": url, "index_prefix": prefix})
            app = create_app(settings, host="127.0.0.1")
            timer = ServerTimer(app)
            with serve(timer) as base_url:
                httpx.get(f"{base_url}/api/health", timeout=60).raise_for_status()  # opens the service
                instrument(app.state.services.get())
                report["loadavg_1m_before"] = round(os.getloadavg()[0], 2)
                report["pages"] = measure(base_url, timer, args.requests, args.seed, args.warmup)
                report["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
        finally:
            if not args.es_prefix:
                drop_es(store)
            store.close()
    for page in PAGES:
        r = report["pages"][page]
        print(f"{page:>8}: server p50 {r['server_ms']['p50']} ms, p95 {r['server_ms']['p95']} ms; service p95 "
              f"{r['service_ms']['p95']} ms; share in the service {r['service_share']:.0%}, rendering and the rest "
              f"{r['render_share']:.0%}", flush=True)
    write_result("ui_pages", report, checks(report))


if __name__ == "__main__":
    main()
