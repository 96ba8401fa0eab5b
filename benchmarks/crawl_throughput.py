"""Crawl throughput on a loopback web with politeness off: pages/s and pages per CPU-second.

    python -m benchmarks.crawl_throughput [--pages 300]

A synthetic news site on 127.0.0.1 (a threaded server, one RSS feed listing --pages
article pages; every third page on topic, the rest off topic, each ~5 KB of text in a
realistic layout) is crawled once by the real pipeline (fetch → extract → relevance →
dedupe → NLP → SQLite index) in a temporary data directory, with download delay 0,
AutoThrottle off and 16 concurrent requests per host. Wall time and the process's CPU
time are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from dfwatch.crawling import run_crawls
from dfwatch.settings import load_settings

WORDS = ("the ministry said police officials announced on monday that a new plan for schools and platforms "
         "would include education budgets reports data analysis court rulings local councils regional offices").split()
ON_TOPIC = ("Police said {n} deepfake sex crime cases were reported in the first seven months of the year, "
            "up from {m} cases last year, and that Telegram rooms sharing sexually explicit deepfakes were targeted.")


def page(i: int, base: str) -> bytes:
    rnd = random.Random(i)  # noqa: S311 - text filler, not security
    paras = [" ".join(rnd.choice(WORDS) for _ in range(80)).capitalize() + "." for _ in range(8)]
    if i % 3 == 0:
        paras.insert(1, ON_TOPIC.format(n=200 + i, m=100 + i))
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<!doctype html><html lang=en><head><title>Story {i}</title>"
            f"<meta property='article:published_time' content='2024-08-{1 + i % 28:02d}T10:00:00+09:00'>"
            f"<link rel=canonical href='{base}/news/{i}.html'></head><body><nav><a href='/'>Home</a>"
            f"<a href='/world'>World</a></nav><article><h1>Story {i}: council meets</h1>"
            f"<p class=byline>By Reporter {i % 7}</p><time datetime='2024-08-01'>Aug 1</time>{body}</article>"
            f"<aside><h2>Related</h2><a href='/news/{i + 1}.html'>Next</a></aside><footer>(c) Bench Daily</footer>"
            f"</body></html>").encode()


def serve(pages: int) -> tuple[ThreadingHTTPServer, str]:
    holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            base = holder["base"]
            if self.path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            elif self.path == "/rss.xml":
                items = "".join(f"<item><title>Story {i}</title><link>{base}/news/{i}.html</link>"
                                f"<pubDate>Thu, 01 Aug 2024 10:00:00 +0900</pubDate></item>" for i in range(pages))
                body = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Bench</title>{items}"
                        "</channel></rss>").encode()
                ctype = "application/rss+xml"
            elif self.path.startswith("/news/"):
                body, ctype = page(int(self.path[6:].split(".")[0]), base), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["base"] = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, holder["base"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    server, base = serve(args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [{
            "id": "bench", "name": "Bench Daily", "type": "news", "country": "KR", "language": "en",
            "strategy": "feed", "urls": [f"{base}/rss.xml"]}]}))
        settings = load_settings(None, data_dir=tmp, sources_file=str(sources),
                                 crawl={"download_delay": 0, "allow_loopback": True, "concurrent_per_domain": 2})
        from nlp.pipeline import english_pipeline

        english_pipeline(settings.nlp.model)  # model load is not crawl throughput
        cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        report = run_crawls(settings, {"bench": "feed"}, overrides={
            "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "CONCURRENT_REQUESTS": 32,
            "DOWNLOAD_DELAY": 0})[0]
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    server.shutdown()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    pages = report.pages
    print(json.dumps({
        "pages_fetched": pages, "indexed": report.indexed, "dropped": report.dropped, "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2), "pages_per_s": round(pages / wall, 1), "pages_per_cpu_s": round(pages / cpu, 1),
        "cpu_utilisation": round(cpu / wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
