"""Bulk writes to Elasticsearch as Elastic's "Tune for indexing speed" guide advises.

- Requests of at most `Tuning.chunk_docs` actions and `chunk_bytes` bytes. The size was
  found the guide's way, doubling it until throughput stopped rising (`python -m
  benchmarks.bulk_index` prints that sweep); the byte cap keeps a request of long articles
  to a few megabytes.
- Up to `Tuning.threads` requests in flight while the caller builds the next one (`Sender`):
  one request at a time leaves the node idle while the client prepares and serialises, and
  a single shard indexes concurrent requests on separate write threads.
- A stream of any length goes through one `Sender`, so a long load never waits for a batch to
  finish before the next one starts (that wait left a core idle for about a sixth of a load),
  and memory holds only the requests in flight.
- The client serialises with orjson (`es_index.es_client`), about 3.5 times faster than the
  standard library on article documents, and asks for only the fields of each item's result
  that dfwatch reads (`filter_path`).

Refresh and replicas during a long load are `es_index.bulk_load_settings`. Every item that
fails is returned, never dropped; the store turns the ones it does not expect into a StoreError.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sized
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from elasticsearch import Elasticsearch

Result = tuple[str, dict[str, Any], Any]  # (operation, item, the tag the action was added with)
ITEM_FIELDS = "items.*._index,items.*._id,items.*.status,items.*.result,items.*.error"


@dataclass(frozen=True)
class Tuning:
    chunk_docs: int = 1600  # actions per bulk request: where the doubling sweep levelled off (docs/elasticsearch.md)
    chunk_bytes: int = 8 * 2**20  # and at most this many bytes (the guide: stay well below tens of MB)
    threads: int = 2  # bulk requests in flight
    min_chunk: int = 50  # a short batch is split over the threads, into requests no shorter than this


TUNING = Tuning()


def chunk_for(actions: int, tuning: Tuning = TUNING) -> int:
    """Actions per request for a batch of about `actions`: a short batch is split over the threads."""
    per_thread = -(-actions // max(tuning.threads, 1))
    return max(min(tuning.chunk_docs, per_thread), min(tuning.min_chunk, tuning.chunk_docs))


class Sender:
    """Bulk requests built by the caller's thread and sent by `tuning.threads` others.

    `add` queues an action and returns the results of the requests that have answered
    meanwhile; `drain` sends what is queued and returns every result still due. Results come
    in the order the actions were added, each with the tag it was added with. Connection
    failures and refused requests raise (elastic_transport's TransportError, ApiError);
    rejected items do not. Use as a context manager: leaving waits for the requests in flight.
    """

    def __init__(self, es: Elasticsearch, tuning: Tuning = TUNING, chunk_docs: int | None = None) -> None:
        self.es, self.tuning = es, tuning
        self.chunk_docs = chunk_docs or tuning.chunk_docs
        self.dumps = es.transport.serializers.get_serializer("application/json").dumps
        self.pool = ThreadPoolExecutor(max(tuning.threads, 1), thread_name_prefix="es-bulk")
        self.inflight: deque[Future[list[Result]]] = deque()
        self.lines: list[bytes] = []
        self.tags: list[Any] = []
        self.size = 0

    def add(self, action: dict[str, Any], tag: Any = None) -> list[Result]:
        lines = self._encode(action)
        size = sum(len(line) + 1 for line in lines)
        done = self._submit() if self.tags and (len(self.tags) >= self.chunk_docs
                                                or self.size + size > self.tuning.chunk_bytes) else []
        self.lines += lines
        self.tags.append(tag)
        self.size += size
        while self.inflight and self.inflight[0].done():
            done += self.inflight.popleft().result()
        return done

    def drain(self) -> list[Result]:
        done = self._submit() if self.tags else []
        while self.inflight:
            done += self.inflight.popleft().result()
        return done

    def _submit(self) -> list[Result]:
        body, tags = b"\n".join(self.lines) + b"\n", self.tags
        self.lines, self.tags, self.size = [], [], 0
        self.inflight.append(self.pool.submit(self._post, body, tags))
        done: list[Result] = []
        while len(self.inflight) > self.tuning.threads:
            done += self.inflight.popleft().result()
        return done

    def _post(self, body: bytes, tags: list[Any]) -> list[Result]:
        # the client sends an encoded body as it is (its NDJSON serialiser passes bytes through)
        resp = self.es.bulk(operations=body, require_alias=True, filter_path=ITEM_FIELDS)  # type: ignore[arg-type]
        items = resp.get("items", [])
        if len(items) != len(tags):
            raise ValueError(f"Elasticsearch answered {len(items)} items to a bulk request of {len(tags)} actions")
        return [(*next(iter(item.items())), tag) for item, tag in zip(items, tags, strict=True)]

    def _encode(self, action: dict[str, Any]) -> list[bytes]:
        op = action.get("_op_type", "index")
        meta = self.dumps({op: {"_index": action["_index"], "_id": action["_id"]}})
        if op == "delete":
            return [meta]
        return [meta, self.dumps({"doc": action["doc"]} if op == "update" else action["_source"])]

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def send(es: Elasticsearch, actions: Iterable[dict[str, Any]],
         tuning: Tuning = TUNING) -> list[tuple[str, dict[str, Any]]]:
    """Run `actions` through existing aliases only (never auto-creating an index); each action's
    (operation, item) in the order sent. Items carry `status` and, when it failed, `error`."""
    chunk = chunk_for(len(actions), tuning) if isinstance(actions, Sized) else None
    with Sender(es, tuning, chunk) as sender:
        done = [r for action in actions for r in sender.add(action)]
        done += sender.drain()
    return [(op, item) for op, item, _ in done]


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
