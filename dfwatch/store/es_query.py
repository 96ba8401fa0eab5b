"""Search requests as Elasticsearch request bodies, and responses as search-layer results.

Pure functions (no client), so every translation is unit-tested without a node. User text
reaches Elasticsearch only as `simple_query_string` built from `\\w+` runs (`dfwatch.query`)
and as exact-match `terms` values; cursors are checked before they become `search_after`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dfwatch.query import Parsed, parse, to_simple_query_string
from dfwatch.search.highlight import POST, PRE, clean, to_html
from dfwatch.search.korean import has_hangul, stem_words
from dfwatch.search.model import (
    INTERVALS,
    ArticleHit,
    Bucket,
    EntityTrend,
    FacetValue,
    FigureQuery,
    Filters,
    SearchPage,
    SearchRequest,
    SourceInfo,
    Story,
    StoryRef,
    decode_cursor,
    encode_cursor,
)

# `*.en` and `*.ko` exist where the node has the english and nori analysers (es_index.SUBFIELDS);
# elsewhere they match nothing and change nothing
SEARCH_FIELDS = ["title^3", "lead^2", "text", "text_ko", "title.en^3", "lead.en^2", "text.en", "title.ko^3", "text.ko"]
FLAGS = "OR|NOT|PHRASE|PRECEDENCE|WHITESPACE"
# Filters attribute -> indexed field (articles; figure records carry the same source and language fields)
FILTER_FIELDS = {"source": "source.id", "source_type": "source.type", "country": "source.country",
                 "lang": "language", "entity": "entity_keys", "topic": "relevance.topics"}
FACET_FIELDS = {"sources": "source.id", "entities": "entities.norm", "topics": "relevance.topics",
                "countries": "source.country"}
HIT_SOURCE = ["id", "title", "url", "source", "published_at", "lead", "language", "story_id",
              "relevance.topics", "entities.norm", "figure_count"]
EXPORT_EXCLUDES = ["signature", "text_ko"]
NEWEST = {"published_at": {"order": "desc", "missing": "_last"}}
OLDEST = {"published_at": {"order": "asc", "missing": "_last"}}
BY_COUNT = [{"_count": "desc"}, {"_key": "asc"}]
FIGURE_SORT = [OLDEST, {"start": "asc"}, {"id": "asc"}]
MAX_TERMS = 65_536  # index.max_terms_count: values in one terms query
MAX_WINDOW = 10_000  # index.max_result_window: the deepest `from + size` Elasticsearch pages to
MAX_ENTITIES = 20
ENTITY_SAMPLE = 10  # articles an entity's label is read from
NUMBER = (int, float)


# ---------------------------------------------------------------- queries
def stemmed(parsed: Parsed) -> Parsed:
    """The query's word runs with every Hangul word replaced by its Kiwi stem (as `text_ko` holds)."""
    return Parsed(groups=[[stem_words(w) for w in g] for g in parsed.groups],
                  excluded=[stem_words(w) for w in parsed.excluded])


def text_query(q: str, fields: list[str] = SEARCH_FIELDS) -> dict[str, Any]:
    """simple_query_string over `fields`; nothing for a query of only punctuation; all without words."""
    parsed = parse(q)
    if parsed.groups or parsed.excluded:
        return {"simple_query_string": {"query": to_simple_query_string(stemmed(parsed)), "fields": fields,
                                        "default_operator": "and", "flags": FLAGS}}
    if q.strip() and not re.search(r"\w", q):
        return {"match_none": {}}
    return {"match_all": {}}


def _terms(attr: str, values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    if attr not in FILTER_FIELDS:
        raise ValueError(f"unknown filter {attr!r}")
    keys = [v.casefold() for v in values] if attr == "entity" else list(values)
    return {"terms": {FILTER_FIELDS[attr]: keys}}


def filter_clauses(f: Filters, articles: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(filter, must_not) clauses; `articles=False` leaves out what figure records cannot answer."""
    filters = [_terms(attr, getattr(f, attr)) for attr in FILTER_FIELDS
               if getattr(f, attr) and (articles or attr not in ("entity", "topic"))]
    must_not = [_terms(attr, [value]) for attr, value in f.exclude if articles or attr not in ("entity", "topic")]
    if articles and f.has_figures is not None:
        (filters if f.has_figures else must_not).append({"range": {"figure_count": {"gt": 0}}})
    if f.story_id:
        filters.append({"term": {"story_id": f.story_id}})
    if f.date_from or f.date_to:
        filters.append({"range": {"published_at": date_range(f.date_from, f.date_to)}})
    return filters, must_not


def date_range(start: date | None, end: date | None) -> dict[str, Any]:
    """Inclusive UTC days as a range on a date field."""
    out: dict[str, Any] = {"format": "strict_date", "time_zone": "UTC"}
    if start:
        out["gte"] = start.isoformat()
    if end:
        out["lt"] = (end + timedelta(days=1)).isoformat()
    return out


def article_query(req: SearchRequest) -> dict[str, Any]:
    filters, must_not = filter_clauses(req.effective_filters())
    return {"bool": {"must": [text_query(req.q)], "filter": filters, "must_not": must_not}}


def figure_scope(fq: FigureQuery) -> SearchRequest | None:
    """The article search whose articles' figures `fq` asks for, or None when the figure records
    answer it alone (no words, and only filters on fields they carry: source, type, country,
    language, date, story)."""
    req = SearchRequest(q=fq.q, filters=fq.filters, size=0, facets=False, highlight=False)
    f = req.effective_filters()
    article_only = (f.entity or f.topic or f.has_figures is not None
                    or any(attr in ("entity", "topic") for attr, _ in f.exclude))
    return req if article_only or text_query(fq.q) != {"match_all": {}} else None


def figure_articles_query(req: SearchRequest, fq: FigureQuery) -> dict[str, Any]:
    """The articles of `figure_scope` that have figures (and are `fq.article_id`, if given)."""
    query = article_query(req)
    query["bool"]["filter"].append({"range": {"figure_count": {"gt": 0}}})
    if fq.article_id:
        query["bool"]["filter"].append({"term": {"id": fq.article_id}})
    return query


def own_figure_query(fq: FigureQuery) -> dict[str, Any]:
    """The figure records `fq` allows by their own fields alone (measure, place, article, source,
    period), before its words and filters narrow them to matching articles."""
    return figure_query(FigureQuery(measure=fq.measure, place=fq.place, source=fq.source,
                                    article_id=fq.article_id, period_from=fq.period_from, period_to=fq.period_to))


def among(query: dict[str, Any], field: str, values: list[str]) -> dict[str, Any]:
    """`query` (a bool query) also requiring `field` to be one of `values` (in terms queries of
    at most MAX_TERMS values each)."""
    chunks = [values[i:i + MAX_TERMS] for i in range(0, len(values), MAX_TERMS)]
    narrowed = {"bool": {k: list(v) for k, v in query["bool"].items()}}
    narrowed["bool"]["filter"].append({"bool": {"should": [{"terms": {field: c}} for c in chunks],
                                                "minimum_should_match": 1}} if chunks else {"match_none": {}})
    return narrowed


def count_body(query: dict[str, Any]) -> dict[str, Any]:
    return {"query": query, "size": 0, "track_total_hits": True}


def figure_query(fq: FigureQuery, article_ids: list[str] | None = None) -> dict[str, Any]:
    """Figure records matching `fq`; with `article_ids` (from `figure_scope`'s search) only theirs."""
    if article_ids is None:
        filters, must_not = filter_clauses(SearchRequest(q=fq.q, filters=fq.filters).effective_filters(),
                                           articles=False)
    else:  # the request's filters were applied to the articles; the figures share their fields
        chunks = [article_ids[i:i + MAX_TERMS] for i in range(0, len(article_ids), MAX_TERMS)]
        filters, must_not = [{"bool": {"should": [{"terms": {"article_id": c}} for c in chunks],
                                       "minimum_should_match": 1}} if chunks else {"match_none": {}}], []
    filters += [{"term": {k: v}} for k, v in (("measure", fq.measure), ("place", fq.place),
                                              ("article_id", fq.article_id)) if v]
    if fq.source:
        filters.append({"terms": {"source.id": list(fq.source)}})
    if fq.period_from:
        filters.append({"range": {"period.end": {"gte": fq.period_from.isoformat(), "format": "strict_date"}}})
    if fq.period_to:
        filters.append({"range": {"period.start": {"lte": fq.period_to.isoformat(), "format": "strict_date"}}})
    return {"bool": {"filter": filters, "must_not": must_not}}


# ---------------------------------------------------------------- sorting and cursors
def article_sort(by_date: bool) -> list[Any]:
    return ([] if by_date else [{"_score": "desc"}]) + [NEWEST, {"id": "asc"}]


def after_values(cursor: str, kinds: list[tuple[type, ...]]) -> list[Any]:
    """A cursor's sort values, checked against the sort they must continue (ValueError otherwise)."""
    values = decode_cursor(cursor)
    if len(values) != len(kinds) or any(isinstance(v, bool) or not isinstance(v, k)
                                        for v, k in zip(values, kinds, strict=True)):
        raise ValueError("invalid cursor")
    return values


def _kinds(sort: list[Any]) -> list[tuple[type, ...]]:
    return [(str,) if s == {"id": "asc"} else NUMBER for s in sort]


# ---------------------------------------------------------------- search
def search_body(req: SearchRequest) -> dict[str, Any]:
    """The request for one page: `size + 1` hits (the extra one tells whether a next page exists)."""
    sort = article_sort(req.sorted_by_date())
    body: dict[str, Any] = {"query": article_query(req), "sort": sort, "track_total_hits": True,
                            "_source": HIT_SOURCE, "track_scores": True}
    if req.collapse:
        if (req.page + 1) * req.size > MAX_WINDOW:
            raise ValueError(f"collapsed results page only to the first {MAX_WINDOW} stories")
        body.update(collapse={"field": "story_id", "inner_hits": {"name": "story", "size": 0}},
                    size=req.size, **{"from": req.page * req.size})
    else:
        body["size"] = req.size + 1 if req.size else 0
        if req.after:
            body["search_after"] = after_values(req.after, _kinds(sort))
    parsed = req.parsed
    if req.highlight and parsed and req.size:
        body["highlight"] = highlight_spec(parsed)
    if req.facets:
        body["aggs"] = {name: {"terms": {"field": field, "size": 10, "order": BY_COUNT}}
                        for name, field in FACET_FIELDS.items()}
    return body


def search_bodies(req: SearchRequest) -> list[dict[str, Any]]:
    """`search_body` as two requests sent side by side: the page of hits, which then need not count
    every match (Elasticsearch skips what cannot make the page), and the count with the facets,
    a size-0 request that the shard request cache keeps, so a query's later pages get them free."""
    body = search_body(req)
    if not body["size"]:
        return [body]
    totals = {"query": body["query"], "size": 0, "track_total_hits": True}
    if "aggs" in body:
        totals["aggs"] = body.pop("aggs")
    return [{**body, "track_total_hits": False}, totals]


def joined(resps: list[dict[str, Any]]) -> dict[str, Any]:
    """The responses of `search_bodies` as the one response of `search_body`."""
    if len(resps) == 1:
        return resps[0]
    hits, totals = resps
    out = {**hits, "hits": {**hits["hits"], "total": totals["hits"]["total"]}}
    if "aggregations" in totals:
        out["aggregations"] = totals["aggregations"]
    return out


def highlight_spec(parsed: Parsed) -> dict[str, Any]:
    """Mark matches in title, lead and text (never the stems of `text_ko`, which no reader could read).

    Hangul query words also mark the text's eojeols that start with their stem (딥페이크 marks 딥페이크를).
    """
    positive = stemmed(Parsed(groups=parsed.groups))
    fields = ["title", "lead", "text"]
    should: list[dict[str, Any]] = [{"simple_query_string": {
        "query": to_simple_query_string(positive), "fields": fields, "default_operator": "or", "flags": FLAGS}}]
    stems = {w for g in positive.groups for words in g for w in words if has_hangul(w) and len(w) > 1}
    should += [{"prefix": {f: stem}} for stem in sorted(stems) for f in fields]
    return {"pre_tags": [PRE], "post_tags": [POST], "type": "unified", "max_analyzed_offset": 999_999,
            "highlight_query": {"bool": {"should": should}},
            "fields": {"title": {"number_of_fragments": 0}, "lead": {"number_of_fragments": 0},
                       "text": {"fragment_size": 160, "number_of_fragments": 2}}}


def article_hit(hit: dict[str, Any], highlight: bool = False) -> ArticleHit:
    s = hit["_source"]
    src = s.get("source") or {}
    norms = [e.get("norm") for e in s.get("entities") or []]
    out = ArticleHit(
        id=s["id"], title=s.get("title", ""), url=s.get("url", ""),
        source=SourceInfo(**{k: src.get(k, "") for k in ("id", "name", "type", "country", "language")}),
        published_at=s.get("published_at"), lead=s.get("lead", ""), language=s.get("language", ""),
        score=float(hit.get("_score") or 0.0), story_id=s.get("story_id"),
        topics=list((s.get("relevance") or {}).get("topics") or []),
        entities=list(dict.fromkeys(n for n in norms if n))[:MAX_ENTITIES],
        figure_count=int(s.get("figure_count") or 0),
    )
    if highlight:
        marked = hit.get("highlight") or {}
        out.highlights = {k: [to_html(f) for f in marked[k]] for k in ("title", "lead", "text") if marked.get(k)}
        if not out.highlights and out.lead:  # matched only through stems (text_ko): the plain lead
            out.highlights = {"lead": [to_html(clean(out.lead))]}
    return out


def search_page(resp: dict[str, Any], req: SearchRequest) -> SearchPage:
    hits = resp["hits"]["hits"]
    more = not req.collapse and len(hits) > req.size
    hits = hits[:req.size]
    marked = req.highlight and bool(req.parsed)
    page = SearchPage(total=int(resp["hits"]["total"]["value"]), hits=[article_hit(h, marked) for h in hits],
                      next_after=encode_cursor(hits[-1]["sort"]) if more and hits else None)
    if req.collapse:
        for hit, raw in zip(page.hits, hits, strict=True):
            hit.story_size = int(raw["inner_hits"]["story"]["hits"]["total"]["value"])
    aggs = resp.get("aggregations") or {}
    page.facets = {name: [FacetValue(str(b["key"]), int(b["doc_count"])) for b in aggs[name]["buckets"]]
                   for name in FACET_FIELDS if name in aggs}
    return page


# ---------------------------------------------------------------- aggregations
def _earliest(fields: list[str]) -> dict[str, Any]:
    return {"top_hits": {"size": 1, "sort": [OLDEST, {"id": "asc"}], "_source": fields}}


def _histogram(interval: str) -> dict[str, Any]:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    return {"date_histogram": {"field": "published_at", "calendar_interval": interval, "time_zone": "UTC",
                               "min_doc_count": 1, "format": "yyyy-MM-dd"}}


def only_stories(body: dict[str, Any], story_ids: list[str]) -> dict[str, Any]:
    """`body` (whose query is an `article_query`) narrowed to the articles of `story_ids`."""
    body["query"]["bool"]["filter"].append({"terms": {"story_id": story_ids}})
    return body


def histogram_body(req: SearchRequest, interval: str, top_stories: int) -> dict[str, Any]:
    """Articles per bucket with their `top_stories` biggest stories, and the total (counting is free
    next to the aggregation). Their first articles come from `firsts_body`."""
    buckets = _histogram(interval)
    if top_stories > 0:
        buckets["aggs"] = {"stories": {"terms": {"field": "story_id", "size": top_stories, "order": BY_COUNT}}}
    return {"size": 0, "query": article_query(req), "aggs": {"buckets": buckets}, "track_total_hits": True}


def firsts_body(req: SearchRequest, interval: str, story_ids: list[str]) -> dict[str, Any]:
    """Per bucket and story of `story_ids` (those a histogram shows), the story's first article there:
    the one a `top_hits` sorted oldest, then by id would pick, over those stories' articles alone.
    Its instant is the smallest key of a terms aggregation on published_at (exact: ordered by key);
    collected `breadth_first`, only the articles at that instant go on to the terms on id (the
    smallest) and on title (from `title.raw`: reading `_source` cost more than the search). Less
    work than ordering the terms on id by a min (its maps were built for every article, 2-3x the
    time), a `top_hits` per bucket, or a search for the articles at each (story, instant); `map`
    spares building global ordinals of id and title for the few articles involved."""
    title = {"terms": {"field": "title.raw", "size": 1, "execution_hint": "map"}}
    first = {"terms": {"field": "id", "size": 1, "order": {"_key": "asc"}, "execution_hint": "map"},
             "aggs": {"title": title}}
    at = {"terms": {"field": "published_at", "size": 1, "order": {"_key": "asc"}, "collect_mode": "breadth_first"},
          "aggs": {"first": first}}
    buckets = _histogram(interval)
    buckets["aggs"] = {"stories": {"terms": {"field": "story_id", "size": max(len(story_ids), 1)},
                                   "aggs": {"at": at}}}
    return only_stories({"size": 0, "query": article_query(req), "aggs": {"buckets": buckets}}, story_ids)


def firsts(resp: dict[str, Any], shown: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(bucket, story) -> (id, title) of the story's first article in the bucket, for the pairs in
    `shown` (`firsts_body`); the title is None where `title.raw` has none (too long, or no title):
    `titles_body` reads those."""
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    for b in resp["aggregations"]["buckets"]["buckets"]:
        for s in b["stories"]["buckets"]:
            pair = (b["key_as_string"], str(s["key"]))
            instants = s["at"]["buckets"]
            if pair in shown and instants and instants[0]["first"]["buckets"]:
                first = instants[0]["first"]["buckets"][0]
                titled = first["title"]["buckets"]
                out[pair] = (str(first["key"]), str(titled[0]["key"]) if titled else None)
    return out


def titles_body(article_ids: list[str]) -> dict[str, Any]:
    return {"query": {"ids": {"values": article_ids}}, "size": len(article_ids), "_source": ["title"]}


def titles(resp: dict[str, Any]) -> dict[str, str]:
    return {h["_id"]: h["_source"].get("title", "") for h in resp["hits"]["hits"]}


def _top_source(bucket: dict[str, Any]) -> dict[str, Any]:
    hits = bucket["first"]["hits"]["hits"] if "first" in bucket else []
    return hits[0]["_source"] if hits else {}


def buckets(resp: dict[str, Any]) -> list[Bucket]:
    out = []
    for b in resp["aggregations"]["buckets"]["buckets"]:
        refs = [StoryRef(story_id=str(s["key"]), count=int(s["doc_count"]), title=_top_source(s).get("title", ""),
                         article_id=_top_source(s).get("id", "")) for s in (b.get("stories") or {}).get("buckets", [])]
        out.append(Bucket(key=b["key_as_string"], count=int(b["doc_count"]), stories=refs))
    return out


def date_span_body(req: SearchRequest) -> dict[str, Any]:
    return {"size": 0, "query": article_query(req),
            "aggs": {"first": {"min": {"field": "published_at"}}, "last": {"max": {"field": "published_at"}}}}


def utc_iso(millis: float | None) -> str | None:
    """Epoch milliseconds from an aggregation as UTC ISO 8601 (the SQLite store's format)."""
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC).isoformat()


def date_span(resp: dict[str, Any]) -> tuple[str | None, str | None]:
    aggs = resp["aggregations"]
    return utc_iso(aggs["first"]["value"]), utc_iso(aggs["last"]["value"])


STORY_TOP = ["id", "title", "lead"]  # what a story shows of its first article
STORY_ORDER = {"first_seen": [{"first": "asc"}, {"_key": "asc"}], "last_seen": [{"last": "desc"}, {"_key": "asc"}],
               "size": BY_COUNT}


def stories_body(req: SearchRequest, size: int, order: str, only: list[str] | None = None,
                 top: bool = True) -> dict[str, Any]:
    """Stories as a terms aggregation on story_id (`only` these, if given). Ordering terms by a
    sub-aggregation is exact on one shard (dfwatch's indices have one); on several it is
    approximate, as Elasticsearch documents. It collects the sub-aggregations of every story
    matched, so the store first finds the stories to show (`story_ids_body`) and passes them.
    `top=False` leaves out each story's first article (`story_heads` has them)."""
    if order not in STORY_ORDER:
        raise ValueError(f"order must be one of {', '.join(STORY_ORDER)}")
    first = {"min": {"field": "published_at"}}
    per_story: dict[str, Any] = {
        "first": first, "last": {"max": {"field": "published_at"}},
        "sources": {"terms": {"field": "source.id", "size": 50, "order": [{"first": "asc"}, {"_key": "asc"}]},
                    "aggs": {"first": first}}}
    if top:
        per_story["top"] = _earliest(STORY_TOP)
    body = {"size": 0, "query": article_query(req), "aggs": {"stories": {
        "terms": {"field": "story_id", "size": max(size, 1), "order": STORY_ORDER[order]}, "aggs": per_story}}}
    return body if only is None else only_stories(body, only)


def story_ids_body(req: SearchRequest, size: int, order: str) -> dict[str, Any]:
    """The ids of the `size` stories `stories_body` puts first, without its per-story work: by size,
    a bare terms aggregation; by first or last appearance, the matching articles oldest (newest)
    first collapsed on story_id, the story id breaking ties as the terms order does. A story
    without dates comes last either way, as a missing min (max) does in the terms order. Oldest
    first, the article id breaks ties within a story, so each hit is its story's first article
    as `stories_body`'s `top` picks it, and carries what a story shows of it (`story_heads`)."""
    if order not in STORY_ORDER:
        raise ValueError(f"order must be one of {', '.join(STORY_ORDER)}")
    query = article_query(req)
    if order == "size":
        return {"size": 0, "query": query, "aggs": {"stories": {
            "terms": {"field": "story_id", "size": max(size, 1), "order": BY_COUNT}}}}
    query["bool"]["filter"].append({"exists": {"field": "story_id"}})
    if order == "last_seen":
        return {"query": query, "size": max(size, 1), "_source": False, "track_total_hits": False,
                "collapse": {"field": "story_id"}, "sort": [NEWEST, {"story_id": "asc"}]}
    return {"query": query, "size": max(size, 1), "_source": STORY_TOP, "track_total_hits": False,
            "collapse": {"field": "story_id"}, "sort": [OLDEST, {"story_id": "asc"}, {"id": "asc"}]}


def story_ids(resp: dict[str, Any]) -> list[str]:
    if "aggregations" in resp:
        return [str(b["key"]) for b in resp["aggregations"]["stories"]["buckets"]]
    return [str(h["fields"]["story_id"][0]) for h in resp["hits"]["hits"]]


def story_heads(resp: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """story id -> its first article's `STORY_TOP` fields, from a first-seen `story_ids_body` response."""
    return {str(h["fields"]["story_id"][0]): h.get("_source", {}) for h in resp["hits"]["hits"]}


def stories(resp: dict[str, Any], size: int, heads: dict[str, dict[str, Any]] | None = None) -> list[Story]:
    """Stories from `stories_body`, their first articles from its `top`, else from `heads`."""
    out = []
    for b in resp["aggregations"]["stories"]["buckets"][:size]:
        if heads is not None:
            top = heads.get(str(b["key"]), {})
        else:
            top = b["top"]["hits"]["hits"][0]["_source"] if b["top"]["hits"]["hits"] else {}
        out.append(Story(story_id=str(b["key"]), first_seen=utc_iso(b["first"]["value"]),
                         last_seen=utc_iso(b["last"]["value"]), article_count=int(b["doc_count"]),
                         sources=[str(s["key"]) for s in b["sources"]["buckets"]], title=top.get("title", ""),
                         lead=top.get("lead", ""), article_id=top.get("id", "")))
    return out


def entity_trends_body(req: SearchRequest, size: int) -> dict[str, Any]:
    """The entities most mentioned by matching articles; their buckets come from `entity_buckets_body`
    (as sub-aggregations of this terms aggregation, they would be collected for many more entities
    than are shown)."""
    return {"size": 0, "query": article_query(req), "aggs": {"entities": {
        "terms": {"field": "entities.norm", "size": max(size, 1), "order": BY_COUNT}}}}


def entity_buckets_body(req: SearchRequest, interval: str, entities: list[str]) -> dict[str, Any]:
    """Per entity of `entities` (in order), the matching articles mentioning it per bucket."""
    return {"size": 0, "query": article_query(req), "aggs": {"entities": {
        "filters": {"filters": [{"term": {"entities.norm": e}} for e in entities]},
        "aggs": {"histogram": _histogram(interval)}}}}


def label_sample_body(entity: str) -> dict[str, Any]:
    """The articles an entity's label is read from (`label_of`): the 10 latest that mention it, of
    any query (a label is the name's). The mapping keeps entities as plain objects in `_source`,
    so no aggregation can pair a name with its label. Sorted on a date alone with no count, the
    search skips what cannot be among the 10."""
    return {"query": {"bool": {"filter": [{"term": {"entities.norm": entity}}]}}, "size": ENTITY_SAMPLE,
            "sort": [NEWEST, {"id": "asc"}], "_source": ["entities.norm", "entities.label"],
            "track_total_hits": False}


def label_of(resp: dict[str, Any], entity: str) -> str:
    """The label most often paired with `entity` in a `label_sample_body` response (ties: the first
    alphabetically; "" without any)."""
    labels: dict[str, int] = {}
    for hit in resp["hits"]["hits"]:
        for e in hit["_source"].get("entities") or []:
            if e.get("norm") == entity and e.get("label"):
                labels[e["label"]] = labels.get(e["label"], 0) + 1
    return min(labels, key=lambda k: (-labels[k], k)) if labels else ""


def entity_trends(resp: dict[str, Any], size: int, labels: dict[str, str]) -> list[EntityTrend]:
    """Trends from `entity_trends_body`'s buckets, each with its `histogram` (`entity_buckets_body`),
    labelled from `labels` (name -> label)."""
    return [EntityTrend(entity=str(b["key"]), label=labels.get(str(b["key"]), ""), total=int(b["doc_count"]),
                        buckets=[(h["key_as_string"], int(h["doc_count"])) for h in b["histogram"]["buckets"]])
            for b in resp["aggregations"]["entities"]["buckets"][:size]]


def figures_body(fq: FigureQuery, query: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query, "sort": FIGURE_SORT, "size": fq.size + 1}
    if fq.after:
        body["search_after"] = after_values(fq.after, [NUMBER, NUMBER, (str,)])
    return body


def figures_page(resp: dict[str, Any], size: int) -> tuple[list[dict[str, Any]], str | None]:
    hits = resp["hits"]["hits"]
    cursor = encode_cursor(hits[size - 1]["sort"]) if len(hits) > size > 0 else None
    return [h["_source"] for h in hits[:size]], cursor
