"""Scale-out crawling: 1 worker against 2 workers sharing one scrapy-redis frontier, in one run.

    python -m benchmarks.redis_crawl [--pages 10000] [--pipeline light|full] [--quick]

A news site of --pages synthetic articles (benchmarks.synthetic, rendered by
benchmarks.synthetic_web: ~60 % English, ~40 % Korean, ~30 % on topic) is served on
127.0.0.1 by a threaded server that counts every GET per path and records each User-Agent.
Its robots.txt disallows /private/, and the sitemap lists 20 pages there as bait. The source
is a `sitemap` source; Debian's redis-server runs on a free loopback port with no
persistence.

Two rounds crawl the same site, each from a fresh data directory (seen-store and SQLite
store) and a freshly seeded frontier: first one `crawl-worker` process, then two. The
server's own counts give the duplicate fetches (a path fetched more than once in a round;
robots.txt is fetched once per worker by design, and reported apart). Round time runs from
starting the worker processes to the last page any worker finished (the workers then wait
out their idle timeout, which is not counted).

--pipeline light (the default) runs fetch → extract → redact → relevance → dedupe → index,
i.e. the spaCy enrich and the stories stages are off; --pipeline full runs every stage.
Politeness delays are off (delay 0, AutoThrottle off, 16 requests per host per worker) in
both rounds, as in benchmarks.crawl_throughput; robots.txt, the dfwatch User-Agent, the
safety middlewares and the seen-store stay on. --quick crawls 600 pages.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_PAGES = 20  # listed in the sitemap, disallowed by robots.txt
IDLE_TIMEOUT = 10.0
LIGHT = {"pipelines.enrich.EnrichPipeline": None, "pipelines.stories.StoriesPipeline": None}
# DOWNLOAD_TIMEOUT: a loopback page takes that long only on a starved machine, and the retry
# after a timeout is a second GET that would blur the duplicate count (retries are reported)
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "CONCURRENT_REQUESTS": 32, "DOWNLOAD_TIMEOUT": 180}


# --- the site -----------------------------------------------------------------------------------

class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a crawler closing a keep-alive connection
            super().handle_error(request, client_address)


class LoopbackSite:
    """A news site on 127.0.0.1 from {path: html}; counts GETs per path (the duplicate-fetch truth)."""

    def __init__(self, pages: dict[str, str], private: list[str]) -> None:
        self.pages = {p: h.encode("utf-8") for p, h in pages.items()}
        self.private = private
        self.gets: Counter[str] = Counter()
        self.user_agents: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base = ""
        self.sitemap_delay = 0.0  # seconds before the sitemap is answered (tests: let every worker start first)
        self.page_delay = 0.0  # seconds before an article page is answered

    def pages_html(self) -> dict[str, str]:
        return {p: b.decode("utf-8") for p, b in self.pages.items()}

    def sitemap(self) -> bytes:
        locs = [*self.pages, *self.private]
        urls = "".join(f"<url><loc>{self.base}{p}</loc></url>" for p in locs)
        return ("<?xml version='1.0' encoding='utf-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                f"{urls}</urlset>").encode()

    def reset_counts(self) -> None:
        with self._lock:
            self.gets.clear()
            self.user_agents.clear()

    def __enter__(self) -> LoopbackSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                path = self.path.split("?", 1)[0]
                with site._lock:
                    site.gets[path] += 1
                    site.user_agents[self.headers.get("User-Agent", "")] += 1
                if path == "/robots.txt":
                    body, ctype = b"User-agent: *\nDisallow: /private/\n", "text/plain"
                elif path == "/sitemap.xml":
                    time.sleep(site.sitemap_delay)
                    body, ctype = site.sitemap(), "application/xml"
                elif path in site.pages:
                    time.sleep(site.page_delay)
                    body, ctype = site.pages[path], "text/html; charset=utf-8"
                elif path.startswith("/private/"):
                    body, ctype = b"<html><body><p>must never be fetched</p></body></html>", "text/html"
                else:
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'  # noqa: S324 - a cache validator
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def article_gets(self) -> Counter[str]:
        with self._lock:
            return Counter({p: n for p, n in self.gets.items() if p in self.pages})

    def duplicates(self) -> dict[str, int]:
        """Paths fetched more than once, robots.txt aside: {path: extra fetches}."""
        with self._lock:
            return {p: n - 1 for p, n in self.gets.items() if n > 1 and p != "/robots.txt"}


def corpus_site(pages: int) -> LoopbackSite:
    """The first `pages` synthetic articles as a site, plus the robots-disallowed bait pages."""
    from benchmarks.synthetic import articles
    from benchmarks.synthetic_web import loopback_path, page_html

    html = {loopback_path(doc): page_html(doc) for doc in articles(pages)}
    return LoopbackSite(html, [f"/private/{i}.html" for i in range(PRIVATE_PAGES)])


# --- Redis ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisNode:
    """Debian's redis-server on 127.0.0.1, a free port, no persistence, its own directory.

    Raises RuntimeError, with the server's output, if it is missing or does not answer in time.
    """

    def __init__(self, startup_timeout: float = 20.0) -> None:
        self.startup_timeout = startup_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="dfwatch-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisNode:
        import redis

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server not found: apt-get install redis-server (scripts/setup.sh --test)")
        log = self.dir / "redis.log"
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--logfile", str(log), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + self.startup_timeout
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        self.__exit__()
                        output = log.read_text(errors="replace") if log.exists() else "(no log)"
                        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{output}") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- one round --------------------------------------------------------------------------------

def write_sources(path: Path, base: str) -> None:
    path.write_text(yaml.safe_dump({"sources": [{
        "id": "bench", "name": "Bench Wire", "type": "news", "country": "KR", "language": "en",
        "strategy": "sitemap", "urls": [f"{base}/sitemap.xml"]}]}), encoding="utf-8")


def bench_settings(data_dir: Path, sources_file: Path) -> Any:
    from dfwatch.settings import load_settings

    return load_settings(None, data_dir=str(data_dir), sources_file=str(sources_file),
                         crawl={"download_delay": 0, "allow_loopback": True})


def run_round(site: LoopbackSite, redis_url: str, workers: int, pipeline: str, work_dir: Path,
              idle_timeout: float = IDLE_TIMEOUT) -> dict[str, Any]:
    """Seed the frontier, run `workers` worker processes to the end, and return the figures."""
    from crawler.frontier import Frontier, seed

    data_dir, sources = work_dir / f"data-{workers}w", work_dir / "sources.yaml"
    write_sources(sources, site.base)
    frontier = Frontier(redis_url)
    seed(bench_settings(data_dir, sources), frontier, {"bench": "sitemap"})
    site.reset_counts()
    reports = [work_dir / f"report-{workers}w-{i}.json" for i in range(workers)]
    t0 = time.time()
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.redis_crawl", "--worker", "--frontier", redis_url,
                               "--data-dir", str(data_dir), "--sources-file", str(sources),
                               "--pipeline", pipeline, "--idle-timeout", str(idle_timeout), "--report", str(r)],
                              cwd=ROOT) for r in reports]
    try:
        codes = [p.wait() for p in procs]
    finally:
        for p in procs:  # interrupted: leave no worker behind
            if p.poll() is None:
                p.kill()
                p.wait()
    if any(codes):
        raise RuntimeError(f"a worker failed: exit codes {codes}")
    stats = [json.loads(r.read_text()) for r in reports]
    done = max(s["last_active"] for s in stats)
    article_gets = site.article_gets()
    return {
        "workers": workers, "wall_s": round(done - t0, 2),
        "pages_on_site": len(site.pages), "article_pages_fetched": len(article_gets),
        "article_gets": sum(article_gets.values()), "duplicate_fetches": sum(site.duplicates().values()),
        "duplicate_paths": sorted(site.duplicates())[:10],
        "retried": sum(sum(s["retried"].values()) for s in stats),
        "robots_txt_gets": site.gets["/robots.txt"], "sitemap_gets": site.gets["/sitemap.xml"],
        "private_gets": sum(n for p, n in site.gets.items() if p.startswith("/private/")),
        "user_agents": sorted(site.user_agents),
        "indexed": sum(s["indexed"] for s in stats),
        "per_worker_articles": [s["articles_fetched"] for s in stats],
        "per_worker_cpu_s": [s["cpu_s"] for s in stats], "per_worker_peak_rss_mb": [s["peak_rss_mb"] for s in stats],
        "pages_per_s": round(len(article_gets) / max(done - t0, 1e-9), 1),
    }


def worker_main(args: argparse.Namespace) -> None:
    """One worker process of a round (run by run_round): crawl, then write its figures as JSON."""
    import resource

    from crawler.frontier import Frontier, run_worker

    settings = bench_settings(Path(args.data_dir), Path(args.sources_file))
    overrides: dict[str, Any] = dict(FAST)
    if args.pipeline == "light":
        from crawler.settings import ITEM_PIPELINES

        overrides["ITEM_PIPELINES"] = {**ITEM_PIPELINES, **LIGHT}
    report = run_worker(settings, Frontier(args.frontier), {"bench": "sitemap"}, args.idle_timeout,
                        overrides=overrides)[0]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(args.report).write_text(json.dumps({
        **report.as_dict(), "last_active": report.stats.get("frontier/last_active", time.time()),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--pipeline", choices=("light", "full"), default="light")
    parser.add_argument("--quick", action="store_true", help="600 pages")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--frontier", "--data-dir", "--sources-file", "--report"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    from benchmarks.common import Check, write_result

    pages = 600 if args.quick else args.pages
    t0 = time.perf_counter()
    site = corpus_site(pages)
    corpus_s = time.perf_counter() - t0
    with site, RedisNode() as node, tempfile.TemporaryDirectory(prefix="dfwatch-redis-bench-") as tmp:
        one = run_round(site, node.url, 1, args.pipeline, Path(tmp))
        two = run_round(site, node.url, 2, args.pipeline, Path(tmp))
    speedup = one["wall_s"] / max(two["wall_s"], 1e-9)
    results = {"pages": pages, "pipeline": args.pipeline, "corpus_build_s": round(corpus_s, 1),
               "loadavg_1m_at_end": round(os.getloadavg()[0], 2), "one_worker": one, "two_workers": two,
               "speedup_2_vs_1": round(speedup, 3)}
    print(json.dumps(results, indent=2))
    checks = [
        Check("duplicate fetches, 2 workers (server count)", two["duplicate_fetches"], "== 0",
              two["duplicate_fetches"] == 0),
        Check("article pages fetched, 2 workers", two["article_pages_fetched"], f"== {pages}",
              two["article_pages_fetched"] == pages),
        Check("robots-disallowed fetches", one["private_gets"] + two["private_gets"], "== 0",
              one["private_gets"] + two["private_gets"] == 0),
        Check("speed-up, 2 workers vs 1 (wall time ratio)", round(speedup, 3), "> 1", speedup > 1),
    ]
    write_result("redis_crawl", results, checks)


if __name__ == "__main__":
    main()
