"""Bulk writes to Elasticsearch as Elastic's "Tune for indexing speed" guide advises.

- Requests of at most `Tuning.chunk_docs` actions and `chunk_bytes` bytes. The size was
  found the guide's way, doubling it until throughput stopped rising (`python -m
  benchmarks.bulk_index` prints that sweep); the byte cap keeps a request of long articles
  to a few megabytes.
- Up to `Tuning.threads` requests in flight (`helpers.parallel_bulk`): one client thread leaves the
  node idle while it serialises the next request, and a single shard indexes concurrent
  requests on separate write threads.
- The client serialises with orjson (`es_index.es_client`), about 3.5 times faster than
  the standard library on article documents.

Refresh and replicas during a long load are `es_index.bulk_load_settings`. Every item that
fails is returned, never dropped; the store turns the ones it does not expect into a StoreError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, helpers


@dataclass(frozen=True)
class Tuning:
    chunk_docs: int = 1600  # actions per bulk request: where the doubling sweep levelled off (docs/elasticsearch.md)
    chunk_bytes: int = 8 * 2**20  # and at most this many bytes (the guide: stay well below tens of MB)
    threads: int = 2  # bulk requests in flight
    min_chunk: int = 50  # a short batch is split over the threads, into requests no shorter than this


TUNING = Tuning()


def send(es: Elasticsearch, actions: list[dict[str, Any]],
         tuning: Tuning = TUNING) -> list[tuple[str, dict[str, Any]]]:
    """Run `actions` through existing aliases only (never auto-creating an index); each action's
    (operation, item) in the order sent. Items carry `status` and, when it failed, `error`.

    Connection failures raise (elastic_transport's TransportError); rejected items do not."""
    per_thread = -(-len(actions) // tuning.threads)
    chunk = max(min(tuning.chunk_docs, per_thread), min(tuning.min_chunk, tuning.chunk_docs))
    options: dict[str, Any] = {"chunk_size": chunk, "max_chunk_bytes": tuning.chunk_bytes,
                                "raise_on_error": False, "raise_on_exception": True, "require_alias": True}
    requests = -(-len(actions) // chunk)
    if tuning.threads > 1 and requests > 1:
        stream: Iterable[tuple[bool, dict[str, Any]]] = helpers.parallel_bulk(
            es, actions, thread_count=min(tuning.threads, requests), queue_size=tuning.threads, **options)
    else:
        stream = helpers.streaming_bulk(es, actions, **options)
    return [next(iter(item.items())) for _, item in stream]


def failed(item: dict[str, Any]) -> bool:
    return int(item.get("status", 500)) >= 300


def missing(item: dict[str, Any]) -> bool:
    """A delete or update of a document that is not there (its index is)."""
    return item.get("status") == 404 and "index_not_found" not in str(item.get("error", ""))


def conflict(op: str, item: dict[str, Any]) -> bool:
    """A `create` refused because the document exists."""
    return op == "create" and item.get("status") == 409


def rejection(items: list[dict[str, Any]]) -> str | None:
    """What to tell the user about rejected items (None if there are none)."""
    if not items:
        return None
    first = items[0]
    error = first.get("error") or {}
    hint = " (run `dfwatch index setup`)" if error.get("type") == "index_not_found_exception" else ""
    return (f"Elasticsearch rejected {len(items)} bulk actions, the first on {first.get('_index')}: "
            f"{error.get('type')}: {error.get('reason')}{hint}")
