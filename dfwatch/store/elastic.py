"""Elasticsearch store: writes through the write aliases, reads through the read aliases.

Request bodies are built and responses parsed in `es_query` (pure, unit-tested); this class
only talks to the node, and turns every client error into a StoreError that says what failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import Any, TypeVar

from elasticsearch import ApiError, Elasticsearch, TransportError

from dfwatch.records import figure_docs
from dfwatch.search.highlight import clean
from dfwatch.search.model import ArticleHit, Bucket, EntityTrend, FigureQuery, SearchPage, SearchRequest, Story
from dfwatch.search.timeline import TimelineParts
from dfwatch.settings import StoreSettings
from dfwatch.store import es_bulk, es_timeline
from dfwatch.store import es_query as Q
from dfwatch.store.base import StoreError
from dfwatch.store.es_index import IndexManager, bulk_load_settings, es_client, read_alias, write_alias
from dfwatch.store.es_labels import Labels
from dfwatch.store.prepare import prepare

BATCH = 1_000  # documents per page of a point-in-time walk, per mget and per story-update bulk
PIT_KEEP_ALIVE = "2m"
SPAN_TTL = 60.0  # seconds the span of every article is kept (timeline_spanned guesses from it)
T = TypeVar("T")


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


def _raise_rejected(items: list[dict[str, Any]]) -> None:
    message = es_bulk.rejection(items)
    if message:
        raise StoreError(message)


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
        self.labels = Labels()  # entity labels read lately (es_labels)
        self._corpus_span: tuple[float, es_timeline.Span] | None = None  # (until, span): corpus_span

    @classmethod
    def from_settings(cls, cfg: StoreSettings) -> ElasticsearchStore:
        return cls(es_client(cfg), cfg.index_prefix, cfg.number_of_shards, cfg.number_of_replicas)

    def setup(self) -> None:
        """Templates, indices and aliases (dfwatch.store.es_index); idempotent."""
        IndexManager(self.es, self.prefix, self.shards, self.replicas).setup()

    # ------------------------------------------------------------ writes
    bulk_tuning = es_bulk.TUNING  # request size and threads (benchmarks/bulk_index.py sweeps them)

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        """Index articles (as `prepare` derives them) and replace their figure records; returns
        how many were given.

        New articles cost no lookup: each goes as a bulk `create` followed by its figure records,
        whose ids derive from article id and span (records.figure_docs). An article that exists
        already refuses the create; only those take a second round (`_replace`, BATCH at a time)
        that deletes the figure records their new version no longer has and overwrites them.

        `docs` may be a stream of any length (a replay, a migration, a benchmark): requests go
        out while the next documents are prepared (`es_bulk.Sender`), and memory holds only the
        requests in flight. An id given twice: its last version wins, because a repeated id
        waits until every write of the earlier version has answered.
        """
        size = len(docs) if isinstance(docs, Sized) else None
        unsettled: set[str] = set()  # articles sent whose create has not answered, or waiting in `existing`
        existing: dict[str, dict[str, Any]] = {}
        count = 0

        def replace() -> None:
            if existing:
                self._replace(list(existing.values()))
                unsettled.difference_update(existing)
                existing.clear()

        def settle(results: list[es_bulk.Result]) -> None:
            rejected = []
            for op, item, doc in results:
                if doc is not None and es_bulk.conflict(op, item):
                    existing[doc["id"]] = doc
                    continue
                if doc is not None:
                    unsettled.discard(doc["id"])
                if es_bulk.failed(item):
                    rejected.append(item)
            _raise_rejected(rejected)
            if len(existing) >= BATCH:
                replace()

        chunk = es_bulk.chunk_for(size, self.bulk_tuning) if size is not None else None
        with _errors(f"write to {self.articles_write}"), es_bulk.Sender(self.es, self.bulk_tuning, chunk) as sender:
            for given in docs:
                d = prepare({**given, **{k: clean(given[k]) for k in ("title", "lead", "text")
                                         if isinstance(given.get(k), str)}})
                count += 1
                if d["id"] in unsettled:  # the earlier version's writes answer first
                    settle(sender.drain())
                    replace()
                unsettled.add(d["id"])
                settle(sender.add({"_op_type": "create", "_index": self.articles_write, "_id": d["id"],
                                   "_source": d}, d))
                for f in figure_docs(d):
                    settle(sender.add({"_op_type": "index", "_index": self.figures_write, "_id": f["id"],
                                       "_source": {**f, "story_id": d["story_id"]}}))
            settle(sender.drain())
            replace()
        return count

    def _replace(self, docs: list[dict[str, Any]]) -> None:
        """Overwrite stored articles, deleting the figure records their new versions lack (the
        new ones are written already or in flight); a stale record may be gone already."""
        keep = {f["id"] for d in docs for f in figure_docs(d)}
        stored = self._figure_ids([d["id"] for d in docs])
        actions = [{"_op_type": "index", "_index": self.articles_write, "_id": d["id"], "_source": d} for d in docs]
        actions += [{"_op_type": "delete", "_index": self.figures_write, "_id": fid}
                    for fids in stored.values() for fid in fids if fid not in keep]
        results = es_bulk.send(self.es, actions, self.bulk_tuning)
        _raise_rejected([item for _, item in results if es_bulk.failed(item) and not es_bulk.missing(item)])

    def set_stories(self, assignments: dict[str, str]) -> int:
        """Partial updates of `story_id` on articles and their figure records (no scripts needed)."""
        changed = 0
        ids = list(assignments)
        with _errors(f"story update of {self.articles_write}"):
            for i in range(0, len(ids), BATCH):
                chunk = ids[i:i + BATCH]
                actions = [{"_op_type": "update", "_index": self.articles_write, "_id": a,
                            "doc": {"story_id": assignments[a]}} for a in chunk]
                actions += [{"_op_type": "update", "_index": self.figures_write, "_id": fid,
                             "doc": {"story_id": assignments[a]}}
                            for a, fids in self._figure_ids(chunk).items() for fid in fids]
                results = es_bulk.send(self.es, actions, self.bulk_tuning)
                _raise_rejected([item for _, item in results if es_bulk.failed(item) and not es_bulk.missing(item)])
                changed += sum(1 for _, item in results[:len(chunk)] if item.get("result") == "updated")
        return changed

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

    @contextmanager
    def bulk_load(self, drop_replicas: bool = False) -> Iterator[None]:
        """Refresh off (and replicas 0 if `drop_replicas`) on the write indices while the block
        writes, restored and refreshed after, even if it fails (es_index.bulk_load_settings)."""
        with _errors(f"bulk-load settings of {self.articles_write}"), \
                bulk_load_settings(self.es, [self.articles_write, self.figures_write], drop_replicas, self.replicas):
            yield

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
        return Q.search_page(Q.joined(self._msearch(Q.search_bodies(req))), req)

    def _msearch(self, bodies: list[dict[str, Any]], indices: list[str] | None = None) -> list[dict[str, Any]]:
        """Searches (of the articles, unless `indices` names each one's) in one round trip: `_msearch`,
        or a plain search for one alone."""
        targets = indices or [self.articles_alias] * len(bodies)
        if len(bodies) == 1:
            return [self._search(bodies[0], targets[0])]
        what = f"search of {','.join(dict.fromkeys(targets))}"
        with _errors(what):
            resp = self.es.msearch(searches=[part for body, index in zip(bodies, targets, strict=True)
                                             for part in ({"index": index}, body)])
        for item in resp["responses"]:
            if "error" in item:
                cause = (item["error"].get("root_cause") or [item["error"]])[0]
                hint = " (run `dfwatch index setup`)" if cause.get("type") == "index_not_found_exception" else ""
                raise StoreError(f"Elasticsearch {what} failed: {item.get('status')} {cause.get('reason')}{hint}")
        return list(resp["responses"])

    def _plan(self, plan: es_timeline.Plan[T]) -> T:
        result: T = es_timeline.run([plan], self._msearch)[0]
        return result

    def histogram(self, req: SearchRequest, interval: str, top_stories: int = 3) -> list[Bucket]:
        return self._plan(es_timeline.histogram(req, interval, top_stories))[1]

    def date_span(self, req: SearchRequest) -> tuple[str | None, str | None]:
        return self._plan(es_timeline.date_span(req))

    def stories(self, req: SearchRequest, size: int = 20, order: str = "first_seen") -> list[Story]:
        return self._plan(es_timeline.stories(req, size, order))

    def entity_trends(self, req: SearchRequest, interval: str, size: int = 10) -> list[EntityTrend]:
        return self._plan(es_timeline.entity_trends(req, interval, size, self.labels))

    def timeline_parts(self, req: SearchRequest, interval: str, top_stories: int = 3, events: int = 20,
                       entities: int = 8) -> TimelineParts:
        """What a timeline shows besides its range, in two round trips: the count, `histogram`, the
        first `events` stories and `entities` entity trends, their requests side by side (`es_timeline`)."""
        return self._timeline(req, interval, None, top_stories, events, entities)[1]

    def timeline_spanned(self, req: SearchRequest, pick: Callable[[es_timeline.Span], str], top_stories: int = 3,
                         events: int = 20, entities: int = 8) -> tuple[es_timeline.Span, str, TimelineParts]:
        """(date span, interval, parts) of a timeline whose range is the matching articles' span, with
        the span read in the first round beside the rest instead of a round before: the histogram's
        first request guesses the interval from the span of every article (`corpus_span`) and is
        sent again with the interval `pick` makes of the request's span where that differs."""
        chosen: list[str] = []
        span, parts = self._timeline(req, pick(self.corpus_span()), es_timeline.spanned(req, pick, chosen),
                                     top_stories, events, entities, lambda: chosen[0])
        return span or (None, None), chosen[0], parts

    def _timeline(self, req: SearchRequest, interval: str, span: es_timeline.Plan[es_timeline.Span] | None,
                  top_stories: int, events: int, entities: int,
                  actual: Callable[[], str] | None = None) -> tuple[es_timeline.Span | None, TimelineParts]:
        plans: list[es_timeline.Plan[Any]] = [span] if span is not None else []
        plans.append(es_timeline.histogram(req, interval, top_stories, actual))
        if events:
            plans.append(es_timeline.stories(req, events, "first_seen"))
        if entities:
            plans.append(es_timeline.entity_trends(req, actual or interval, entities, self.labels))
        results = es_timeline.run(plans, self._msearch)
        read = results.pop(0) if span is not None else None
        (total, buckets), rest = results[0], results[1:]
        return read, TimelineParts(total=total, buckets=buckets, events=rest.pop(0) if events else [],
                                   entity_trends=rest.pop(0) if entities else [])

    def corpus_span(self) -> es_timeline.Span:
        """The span of every article's publication, read at most once every `SPAN_TTL` seconds."""
        now = time.monotonic()
        if self._corpus_span is None or self._corpus_span[0] <= now:
            self._corpus_span = (now + SPAN_TTL, Q.date_span(self._search(Q.date_span_body(SearchRequest()))))
        return self._corpus_span[1]

    def figures(self, fq: FigureQuery) -> tuple[list[dict[str, Any]], str | None]:
        body = Q.figures_body(fq, self._figure_query(fq))
        return Q.figures_page(self._search(body, self.figures_alias), fq.size)

    def iter_articles(self, req: SearchRequest) -> Iterator[dict[str, Any]]:
        query, sort = Q.article_query(req), Q.article_sort(by_date=True)
        return _sources(self._walk(self.articles_alias, query, sort, {"excludes": Q.EXPORT_EXCLUDES}))

    def iter_hits(self, req: SearchRequest) -> Iterator[ArticleHit]:
        """Every hit of `req` newest first, as `search` gives them without highlights or scores (they
        are sorted by date), at constant memory: a point-in-time walk of BATCH hits a page that
        never counts the matches (`search` pages hold at most 100, and each counts them all)."""
        query, sort = Q.article_query(req), Q.article_sort(by_date=True)
        return map(Q.article_hit, self._walk(self.articles_alias, query, sort, Q.HIT_SOURCE))

    def iter_figures(self, fq: FigureQuery) -> Iterator[dict[str, Any]]:
        return _sources(self._walk(self.figures_alias, self._figure_query(fq), Q.FIGURE_SORT, True))

    def _figure_query(self, fq: FigureQuery) -> dict[str, Any]:
        """Figure records answer most queries alone; words and article-only filters first find the
        matching articles that have figures, whose ids (a list in memory) then select the records.

        Where the records `fq` allows by their own fields (a measure, say) are fewer than those
        articles, their articles are read first, and only these are matched against the search."""
        scope = Q.figure_scope(fq)
        if scope is None:
            return Q.figure_query(fq)
        articles, own = Q.figure_articles_query(scope, fq), Q.own_figure_query(fq)
        n_articles, n_figures = (int(r["hits"]["total"]["value"]) for r in self._msearch(
            [Q.count_body(articles), Q.count_body(own)], [self.articles_alias, self.figures_alias]))
        if n_figures < n_articles:
            candidates = sorted(set(self._values(self.figures_alias, own, "article_id", n_figures)))
            articles, n_articles = Q.among(articles, "id", candidates), len(candidates)
        return Q.figure_query(fq, self._values(self.articles_alias, articles, "id", n_articles))

    def _values(self, index: str, query: dict[str, Any], field: str, expected: int) -> list[str]:
        """`field` of every hit of `query`: one request when `expected` hits fit in one page, else a walk."""
        if expected <= Q.MAX_WINDOW:
            resp = self._search({"query": query, "size": Q.MAX_WINDOW, "_source": [field], "sort": ["_doc"],
                                 "track_total_hits": Q.MAX_WINDOW + 1}, index)
            hits = resp["hits"]["hits"]
            if resp["hits"]["total"]["value"] <= len(hits):
                return [h["_source"][field] for h in hits]
        return [h["_source"][field] for h in self._walk(index, query, ["_shard_doc"], [field])]

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
