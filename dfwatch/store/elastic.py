"""Elasticsearch store: writes through the write aliases, reads through the read aliases.

Request bodies are built and responses parsed in `es_query` (pure, unit-tested); this class
only talks to the node, and turns every client error into a StoreError that says what failed.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from dfwatch.records import figure_docs
from dfwatch.search.highlight import clean
from dfwatch.search.model import Bucket, EntityTrend, FigureQuery, SearchPage, SearchRequest, Story
from dfwatch.settings import StoreSettings
from dfwatch.store import es_query as Q
from dfwatch.store.base import StoreError
from dfwatch.store.es_index import IndexManager, es_client, read_alias, write_alias
from dfwatch.store.prepare import prepare

BATCH = 1_000  # documents per page of a point-in-time walk, per terms lookup and per bulk chunk
PIT_KEEP_ALIVE = "2m"


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Client errors as StoreError, with the node's own reason when it gave one."""
    try:
        yield
    except ApiError as exc:
        reason, kind = exc.message, ""
        if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
            cause = (exc.body["error"].get("root_cause") or [exc.body["error"]])[0]
            reason, kind = cause.get("reason") or reason, cause.get("type", "")
        hint = " (run `dfwatch index setup`)" if kind == "index_not_found_exception" else ""
        raise StoreError(f"Elasticsearch {what} failed: {exc.meta.status} {reason}{hint}") from exc
    except TransportError as exc:
        raise StoreError(f"Elasticsearch {what} failed: {exc.message}") from exc


def _sources(walk: Generator[dict[str, Any], None, None]) -> Iterator[dict[str, Any]]:
    """The documents of a walk's hits; closing this closes the walk (and its point in time)."""
    try:
        for hit in walk:
            yield hit["_source"]
    finally:
        walk.close()


class ElasticsearchStore:
    def __init__(self, client: Elasticsearch, prefix: str = "dfwatch", shards: int = 1, replicas: int = 0) -> None:
        self.es = client
        self.prefix = prefix
        self.shards, self.replicas = shards, replicas
        self.articles_alias, self.figures_alias = read_alias(prefix, "articles"), read_alias(prefix, "figures")
        self.articles_write, self.figures_write = write_alias(prefix, "articles"), write_alias(prefix, "figures")

    @classmethod
    def from_settings(cls, cfg: StoreSettings) -> ElasticsearchStore:
        return cls(es_client(cfg), cfg.index_prefix, cfg.number_of_shards, cfg.number_of_replicas)

    def setup(self) -> None:
        """Templates, indices and aliases (dfwatch.store.es_index); idempotent."""
        IndexManager(self.es, self.prefix, self.shards, self.replicas).setup()

    # ------------------------------------------------------------ writes
    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        """Index articles (as `prepare` derives them) and replace their figure records."""
        batch = [prepare({**d, **{k: clean(d[k]) for k in ("title", "lead", "text") if isinstance(d.get(k), str)}})
                 for d in docs]
        if not batch:
            return 0
        figures = [{**f, "story_id": d["story_id"]} for d in batch for f in figure_docs(d)]
        keep = {f["id"] for f in figures}
        with _errors(f"write to {self.articles_write}"):
            stored = self._figure_ids([d["id"] for d in batch])
            stale = [fid for fids in stored.values() for fid in fids if fid not in keep]
            actions = [{"_op_type": "index", "_index": self.articles_write, "_id": d["id"], "_source": d}
                       for d in batch]
            actions += [{"_op_type": "index", "_index": self.figures_write, "_id": f["id"], "_source": f}
                        for f in figures]
            actions += [{"_op_type": "delete", "_index": self.figures_write, "_id": fid} for fid in stale]
            self._bulk(actions, missing_ok=True)  # a stale figure may be gone already
        return len(batch)

    def set_stories(self, assignments: dict[str, str]) -> int:
        """Partial updates of `story_id` on articles, then on their figure records (no scripts needed)."""
        changed = 0
        ids = list(assignments)
        with _errors(f"story update of {self.articles_write}"):
            for i in range(0, len(ids), BATCH):
                chunk = ids[i:i + BATCH]
                results = self._bulk([{"_op_type": "update", "_index": self.articles_write, "_id": a,
                                       "doc": {"story_id": assignments[a]}} for a in chunk], missing_ok=True)
                changed += sum(1 for r in results if r == "updated")
                self._bulk([{"_op_type": "update", "_index": self.figures_write, "_id": fid,
                             "doc": {"story_id": assignments[a]}}
                            for a, fids in self._figure_ids(chunk).items() for fid in fids], missing_ok=True)
        return changed

    def _bulk(self, actions: list[dict[str, Any]], missing_ok: bool = False) -> list[str]:
        """Run bulk actions through existing aliases only (never auto-creating an index); the result
        of each ("created", "updated", "noop", ...); failures raise, except missing documents if `missing_ok`."""
        results, errors = [], []
        for ok, item in helpers.streaming_bulk(self.es, actions, chunk_size=500, raise_on_error=False,
                                               raise_on_exception=True, require_alias=True):
            info = next(iter(item.values()))
            if ok or (missing_ok and info.get("status") == 404 and "index_not_found" not in str(info)):
                results.append(info.get("result", ""))
            else:
                errors.append(info)
        if errors:
            error = errors[0].get("error") or {}
            hint = " (run `dfwatch index setup`)" if error.get("type") == "index_not_found_exception" else ""
            raise StoreError(f"Elasticsearch rejected {len(errors)} bulk actions, the first on "
                             f"{errors[0].get('_index')}: {error.get('type')}: {error.get('reason')}{hint}")
        return results

    def _figure_ids(self, article_ids: list[str]) -> dict[str, list[str]]:
        """The figure record ids of stored articles, from their documents (a realtime get, so
        writes not yet refreshed count too); ids derive from article id and span (records.figure_docs)."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(article_ids), BATCH):
            resp = self.es.mget(index=self.articles_write, ids=article_ids[i:i + BATCH],
                                source_includes=["figures.start", "figures.end"])
            for d in resp["docs"]:
                if d.get("found"):
                    article = {"id": d["_id"], "url": "", "source": {}, **d["_source"]}
                    out[d["_id"]] = [f["id"] for f in figure_docs(article)]
        return out

    # ------------------------------------------------------------ reads
    def get(self, doc_id: str) -> dict[str, Any] | None:
        with _errors(f"get from {self.articles_alias}"):
            resp = self.es.options(ignore_status=404).get(index=self.articles_alias, id=doc_id)
        if not resp.get("found") and resp.get("error"):  # the index, not the document, is missing
            raise StoreError(f"Elasticsearch get from {self.articles_alias} failed: {resp['error'].get('reason')} "
                             "(run `dfwatch index setup`)")
        return resp.get("_source") if resp.get("found") else None

    def count(self) -> int:
        with _errors(f"count of {self.articles_alias}"):
            return int(self.es.count(index=self.articles_alias)["count"])

    def _search(self, body: dict[str, Any], index: str | None = None) -> dict[str, Any]:
        with _errors(f"search of {index or self.articles_alias}"):
            return dict(self.es.search(index=index or self.articles_alias, body=body))

    def search(self, req: SearchRequest) -> SearchPage:
        return Q.search_page(self._search(Q.search_body(req)), req)

    def histogram(self, req: SearchRequest, interval: str, top_stories: int = 3) -> list[Bucket]:
        return Q.buckets(self._search(Q.histogram_body(req, interval, top_stories)))

    def date_span(self, req: SearchRequest) -> tuple[str | None, str | None]:
        return Q.date_span(self._search(Q.date_span_body(req)))

    def stories(self, req: SearchRequest, size: int = 20, order: str = "first_seen") -> list[Story]:
        return Q.stories(self._search(Q.stories_body(req, size, order)), size)

    def entity_trends(self, req: SearchRequest, interval: str, size: int = 10) -> list[EntityTrend]:
        return Q.entity_trends(self._search(Q.entity_trends_body(req, interval, size)), size)

    def figures(self, fq: FigureQuery) -> tuple[list[dict[str, Any]], str | None]:
        body = Q.figures_body(fq, self._figure_query(fq))
        return Q.figures_page(self._search(body, self.figures_alias), fq.size)

    def iter_articles(self, req: SearchRequest) -> Iterator[dict[str, Any]]:
        query, sort = Q.article_query(req), Q.article_sort(by_date=True)
        return _sources(self._walk(self.articles_alias, query, sort, {"excludes": Q.EXPORT_EXCLUDES}))

    def iter_figures(self, fq: FigureQuery) -> Iterator[dict[str, Any]]:
        return _sources(self._walk(self.figures_alias, self._figure_query(fq), Q.FIGURE_SORT, True))

    def _figure_query(self, fq: FigureQuery) -> dict[str, Any]:
        """Figure records answer most queries alone; words and article-only filters first find the
        matching articles that have figures, whose ids (a list in memory) then select the records."""
        scope = Q.figure_scope(fq)
        if scope is None:
            return Q.figure_query(fq)
        walk = self._walk(self.articles_alias, Q.figure_articles_query(scope, fq), ["_shard_doc"], False)
        return Q.figure_query(fq, [h["_id"] for h in walk])

    def _walk(self, index: str, query: dict[str, Any], sort: list[Any],
              source: Any) -> Generator[dict[str, Any], None, None]:
        """Every matching hit in `sort` order: point-in-time + search_after, one batch in memory.

        The point in time is closed when the walk ends, fails, or its consumer stops early."""
        with _errors(f"export from {index}"):
            pit = self.es.open_point_in_time(index=index, keep_alive=PIT_KEEP_ALIVE)["id"]
        try:
            after: list[Any] | None = None
            while True:
                body: dict[str, Any] = {"query": query, "sort": sort, "size": BATCH, "track_total_hits": False,
                                        "pit": {"id": pit, "keep_alive": PIT_KEEP_ALIVE}, "_source": source}
                if after is not None:
                    body["search_after"] = after
                with _errors(f"export from {index}"):
                    resp = self.es.search(body=body)
                pit = resp.get("pit_id", pit)
                hits = resp["hits"]["hits"]
                yield from hits
                if len(hits) < BATCH:
                    return
                after = hits[-1]["sort"]
        finally:
            with _errors(f"closing a point in time on {index}"):
                self.es.options(ignore_status=404).close_point_in_time(id=pit)

    def refresh(self) -> None:
        with _errors("refresh"):
            self.es.indices.refresh(index=f"{self.articles_alias},{self.figures_alias}")

    def close(self) -> None:
        self.es.close()
