"""The Analyzer in worker processes: NLP off the crawl process, with plain data across the boundary.

spaCy's own `nlp.pipe(n_process=k)` suits one big batch, not a crawl: it starts its workers
for every call and ships whole Docs back (token arrays, the tok2vec tensor and the user
data), which made the stage 0.59 of bare spaCy with 2 processes. Here the workers are
started once (spawned: the crawl process runs threads, which fork does not copy safely),
each builds the pipelines once, and a batch travels as `Passage`s (text and date) and comes
back as `Analysis` records (entities, figures, relevance): a few kB each way. The enrich
stage sends a batch and its Korean articles' stem texts as one task (`analyze_and_stem`).
Measured in a crawl, the worker spends all but ~0.2 % of its CPU inside those calls:
pickling and queueing cost next to nothing (docs/performance.md).

A crawl's CPU goes mostly to NLP (benchmarks/pipeline.py measures it), so moving it into
another process lets fetching and extraction use the second core meanwhile.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import ClassVar

from nlp.pipeline import Analysis, Analyzer, Passage

_analyzer: Analyzer | None = None  # the worker process's own, built by _start


def _start(model: str, batch_size: int, threshold: float) -> None:
    global _analyzer
    _analyzer = Analyzer(model, batch_size, threshold)
    # build both pipelines and load Kiwi now, not in the first batch
    _analyzer.analyze([Passage("Police in Seoul said 10 cases were reported.", lang="en"),
                       Passage("서울 경찰청은 10건이 접수됐다고 밝혔다.", lang="ko")])


def _analyze(passages: list[Passage]) -> list[Analysis]:
    assert _analyzer is not None
    return _analyzer.analyze(passages)


def _stems(texts: list[str]) -> list[str]:
    """`stem_text` of each text (the Korean search field), here so Kiwi runs only in the workers."""
    from dfwatch.search.korean import stem_text

    return [stem_text(t) for t in texts]


def _analyze_and_stem(passages: list[Passage], texts: list[str]) -> tuple[list[Analysis], list[str]]:
    """A crawl batch's analyses and its Korean articles' stems, in one call (one round trip)."""
    return _analyze(passages), _stems(texts)


def _usage() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_maxrss / 1024, r.ru_utime + r.ru_stime


class AnalyzerPool:
    """`processes` worker processes running an Analyzer; `submit` returns a Future of the analyses.

    One pool per (model, batch size, threshold, processes) is shared by the crawls of a
    process (`shared`), so a process running many crawls starts its workers once.
    """

    _shared: ClassVar[dict[tuple[str, int, float, int], AnalyzerPool]] = {}
    _lock = threading.Lock()

    def __init__(self, model: str, batch_size: int = 32, threshold: float = 2.5, processes: int = 1) -> None:
        self.processes = processes
        self.executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_start, initargs=(model, batch_size, threshold))

    @classmethod
    def shared(cls, model: str, batch_size: int, threshold: float, processes: int) -> AnalyzerPool:
        key = (model, batch_size, threshold, processes)
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = cls(model, batch_size, threshold, processes)
            return cls._shared[key]

    def submit(self, passages: list[Passage]) -> Future[list[Analysis]]:
        return self.executor.submit(_analyze, passages)

    def analyze_and_stem(self, passages: list[Passage], texts: list[str]) -> Future[tuple[list[Analysis], list[str]]]:
        """`submit(passages)` and the Korean search stems of `texts` (`dfwatch.search.korean.stem_text`)
        as one task: what the enrich stage sends per batch."""
        return self.executor.submit(_analyze_and_stem, passages, texts)

    def usage(self) -> tuple[float, float]:
        """(peak resident set size in MB, CPU seconds) of the workers so far: the largest peak and
        the sum of CPU times. Asks `processes` times, and the executor may hand two asks to one
        worker, so both are exact with one worker and estimates with more. Returns once every
        worker asked has started (built its pipelines)."""
        got = [f.result() for f in [self.executor.submit(_usage) for _ in range(self.processes)]]
        return max(rss for rss, _ in got), sum(cpu for _, cpu in got)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for key, pool in list(self._shared.items()):
                if pool is self:
                    del self._shared[key]
