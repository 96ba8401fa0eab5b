"""Stores filled with the synthetic corpus, for the search-layer benchmarks.

An Elasticsearch node (the one at $DFWATCH_BENCH_ES_URL, else a throwaway dfwatch.devnode)
and a SQLite file are loaded through the stores' own `upsert`, in batches, while a thread
generates the next batches. Elasticsearch loads with refresh off and refreshes once after.
Corpus slices load incrementally: 10k, then the next 90k makes the 100k corpus.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import synthetic
from dfwatch.settings import StoreSettings
from dfwatch.store.base import Store
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.es_index import IndexManager
from dfwatch.store.sqlite import SqliteStore

BATCH = 1000  # documents per upsert call (the ES store sends them in bulk chunks of 500)
RESULTS = Path(__file__).with_name("results")


@contextmanager
def es_node(url: str | None = None, heap: str = "1g") -> Iterator[tuple[str, dict[str, Any]]]:
    """(URL, facts about the node): $DFWATCH_BENCH_ES_URL or `url` if given, else a devnode we start and stop."""
    url = url or os.environ.get("DFWATCH_BENCH_ES_URL")
    if url:
        yield url, {"node": "external", "url": url}
        return
    from dfwatch import devnode

    node = devnode.start(heap=heap)
    try:
        yield node.url, {"node": f"devnode {node.version}", "heap": heap,
                         "startup_s": round(node.startup_seconds, 1)}
    finally:
        node.stop()


def open_es(url: str, prefix: str) -> ElasticsearchStore:
    store = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=url, index_prefix=prefix,
                                                           request_timeout=300))
    store.setup()
    return store


def drop_es(store: ElasticsearchStore) -> None:
    IndexManager(store.es, store.prefix).drop()


def open_sqlite(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    store.setup()
    return store


def _es_refresh_interval(store: ElasticsearchStore, value: str | None) -> None:
    """Refresh off ("-1") during a bulk load, back to the template's value (None) after."""
    for alias in (store.articles_write, store.figures_write):
        store.es.indices.put_settings(index=alias, settings={"index": {"refresh_interval": value}})


@dataclass
class Load:
    store: str
    docs: int
    seconds: float  # wall time, generation overlapped with writes
    write_seconds: float  # in the store's upsert calls
    generate_seconds: float  # in the generator thread
    refresh_seconds: float

    @property
    def docs_per_s(self) -> float:
        return round(self.docs / self.seconds, 1)

    @property
    def write_docs_per_s(self) -> float:
        return round(self.docs / self.write_seconds, 1)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "docs_per_s": self.docs_per_s, "write_docs_per_s": self.write_docs_per_s}


def load(store: Store, start: int, n: int, seed: int = 7) -> Load:
    """Upsert corpus documents start .. start+n-1 in batches of BATCH, then refresh."""
    return load_all([store], start, n, seed)[0]


def load_all(stores: list[Store], start: int, n: int, seed: int = 7) -> list[Load]:
    """`load` into every store of `stores` from one generator (the corpus is generated once): each
    batch goes to each store in turn, and each store's upsert time is its own."""
    batches: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=4)
    generated = [0.0]
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            t0 = time.perf_counter()
            batch: list[dict[str, Any]] = []
            for doc in synthetic.articles(n, seed, start):
                batch.append(doc)
                if len(batch) == BATCH:
                    generated[0] += time.perf_counter() - t0
                    batches.put(batch)
                    batch = []
                    t0 = time.perf_counter()
            generated[0] += time.perf_counter() - t0
            if batch:
                batches.put(batch)
        except BaseException as exc:  # re-raised by the loading thread
            failed.append(exc)
        finally:
            batches.put(None)

    elastic = [s for s in stores if isinstance(s, ElasticsearchStore)]
    for es in elastic:
        _es_refresh_interval(es, "-1")
    thread = threading.Thread(target=produce, daemon=True)
    begin = time.perf_counter()
    thread.start()
    written = [0.0] * len(stores)
    try:
        while (batch := batches.get()) is not None:
            for i, store in enumerate(stores):
                t0 = time.perf_counter()
                store.upsert(batch)
                written[i] += time.perf_counter() - t0
    finally:
        for es in elastic:
            _es_refresh_interval(es, None)
    thread.join()
    if failed:
        raise failed[0]
    wall = time.perf_counter() - begin
    loads = []
    for store, seconds in zip(stores, written, strict=True):
        t0 = time.perf_counter()
        store.refresh()
        refreshed = time.perf_counter() - t0
        # the wall time a store would take alone: its writes overlapped with generation, as one store's are
        alone = max(seconds, wall - sum(written) + seconds) + refreshed
        loads.append(Load("elasticsearch" if isinstance(store, ElasticsearchStore) else "sqlite", n,
                          round(alone, 2), round(seconds, 2), round(generated[0], 2), round(refreshed, 2)))
    return loads


def store_size_mb(store: Store) -> float:
    """On-disk size: the ES indices' primary store, or the SQLite file (with its WAL)."""
    if isinstance(store, ElasticsearchStore):
        stats = store.es.indices.stats(index=f"{store.articles_alias},{store.figures_alias}", metric="store")
        return round(stats["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20, 1)
    assert isinstance(store, SqliteStore)
    files = [store.path, store.path.with_name(store.path.name + "-wal")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)
