"""The Elasticsearch timeline in few requests answers as the plain definitions do.

`dfwatch.store.es_timeline` reads a timeline in a few requests a round: the histogram
then its stories' first articles (terms aggregations on instant then id, not a search per
story instant), the events' ids with their first articles (collapse heads) then their
aggregates, the entities then their buckets, with a label sample for each name the store has
not read lately (`dfwatch.store.es_labels`: a label is the name's, not the query's). Each is
compared on a node with the straightforward request for what it answers (`top_hits` under
every bucket, a search per entity, every article naming an entity, the stories aggregation
over every story), on the contract corpus plus articles that
make the special cases happen: first articles sharing an instant, a title too long for its
keyword, a story's first article differing per bucket, labels that disagree (one
article mentions an entity more often than five others do, so the whole sample decides).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from docs_support import CORPUS, doc, ent, es_store_with

from dfwatch.search.model import Bucket, EntityTrend, Filters, SearchRequest, StoryRef
from dfwatch.search.service import SearchService
from dfwatch.search.timeline import choose_interval, time_range
from dfwatch.store import es_query as Q
from dfwatch.store import es_timeline
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.es_labels import Labels

TG = ent("Telegram", "Telegram", "PRODUCT")
TG_ORG = ent("Telegram", "Telegram", "ORG")
EXTRA = [
    # one story, one instant, ids out of order: its first article is the smallest id
    *(doc(f"t{i}", "asia-wire", "2024-10-02T10:00:00+00:00", f"Takedown wave {i}", "Platforms took down deepfakes.",
          entities=(TG,), story_id="story-wave") for i in (5, 3, 9, 1, 7)),
    # the same story in the next month starts with another article
    doc("t20", "ofcom", "2024-11-03T09:00:00+00:00", "Takedown wave continues", "More deepfakes came down.",
        entities=(TG_ORG,), story_id="story-wave"),
    doc("t21", "ofcom", "2024-11-04T09:00:00+00:00", "Takedown wave ends", "The deepfakes came down.",
        entities=(TG_ORG,) * 6, story_id="story-wave"),
    # a first article whose title is too long for title.raw
    doc("t30", "hanbit-times", "2024-11-01T08:00:00+00:00", "Takedown inquiry " + "widens " * 90, "An inquiry.",
        story_id="story-inquiry"),
    doc("t31", "hanbit-times", "2024-11-02T08:00:00+00:00", "Takedown inquiry report", "A report.",
        story_id="story-inquiry"),
]
REQUESTS = [SearchRequest(), SearchRequest(q="deepfake"), SearchRequest(q="takedown"),
            SearchRequest(q="police OR telegram", filters=Filters(date_from=date(2024, 8, 1), date_to=date(2024, 12, 31))),
            SearchRequest(q="경찰"), SearchRequest(filters=Filters(lang=("en",), has_figures=True)),
            SearchRequest(q="nothingmatchesthis")]
IDS = [r.q or str(r.filters.lang or "all") for r in REQUESTS]


@pytest.fixture(scope="module")
def es(es_url: str) -> Iterator[ElasticsearchStore]:
    with es_store_with(es_url, f"tetr{os.getpid()}", [*CORPUS, *EXTRA]) as store:
        yield store


def _search(es: ElasticsearchStore, body: dict[str, Any]) -> dict[str, Any]:
    return dict(es.es.search(index=es.articles_alias, body=body, request_cache=False))


# ---------------------------------------------------------------- the plain definitions
def plain_histogram(es: ElasticsearchStore, req: SearchRequest, interval: str, top: int) -> list[Bucket]:
    """Top stories by count per bucket, each titled by its earliest article there (ties: smallest id)."""
    hist = Q._histogram(interval)
    hist["aggs"] = {"stories": {"terms": {"field": "story_id", "size": top, "order": Q.BY_COUNT},
                                "aggs": {"first": {"top_hits": {"size": 1, "sort": [Q.OLDEST, {"id": "asc"}],
                                                                "_source": ["id", "title"]}}}}}
    return Q.buckets(_search(es, {"size": 0, "query": Q.article_query(req), "aggs": {"buckets": hist}}))


def plain_label(es: ElasticsearchStore, name: str) -> str:
    """The label most often paired with `name` in the 10 latest articles naming it (of any query;
    undated last, ties by id), read from every article naming it."""
    hits = _search(es, {"query": {"term": {"entities.norm": name}}, "size": 1000})["hits"]["hits"]
    latest = sorted((h["_source"] for h in hits), key=lambda d: d["id"])
    latest.sort(key=lambda d: d.get("published_at") is None)
    latest.sort(key=lambda d: datetime.fromisoformat(d["published_at"]).timestamp() if d.get("published_at") else 0,
                reverse=True)
    labels = Counter(e["label"] for d in latest[:Q.ENTITY_SAMPLE] for e in d["entities"]
                     if e["norm"] == name and e.get("label"))
    return min(labels, key=lambda k: (-labels[k], k)) if labels else ""


def plain_entity_trends(es: ElasticsearchStore, req: SearchRequest, interval: str, size: int) -> list[EntityTrend]:
    """The entities by mentions, each with its buckets and its label (`plain_label`)."""
    resp = _search(es, Q.entity_trends_body(req, size))
    found = resp["aggregations"]["entities"]["buckets"][:size]
    for b in found:
        query = Q.article_query(req)
        query["bool"]["filter"].append({"term": {"entities.norm": b["key"]}})
        b["histogram"] = _search(es, {"size": 0, "query": query, "aggs": {"histogram": Q._histogram(interval)}},
                                 )["aggregations"]["histogram"]
    resp["aggregations"]["entities"]["buckets"] = found
    return Q.entity_trends(resp, size, {b["key"]: plain_label(es, b["key"]) for b in found})


# ---------------------------------------------------------------- against a node
@pytest.mark.elasticsearch
@pytest.mark.parametrize("req", REQUESTS, ids=IDS)
def test_timeline_parts_equal_the_plain_definitions(es: ElasticsearchStore, req: SearchRequest) -> None:
    for interval in ("month", "week"):
        parts = es.timeline_parts(req, interval, top_stories=3, events=20, entities=8)
        assert parts.buckets == plain_histogram(es, req, interval, 3)
        assert parts.entity_trends == plain_entity_trends(es, req, interval, 8)
        everything = Q.stories(_search(es, Q.stories_body(req, 20, "first_seen")), 20)  # every story aggregated
        assert parts.events == everything
        assert parts.total == SearchService(es).count(req)


@pytest.mark.elasticsearch
def test_special_cases_are_answered(es: ElasticsearchStore) -> None:
    buckets = {b.key: b for b in es.histogram(SearchRequest(q="takedown"), "month", 3)}
    assert [(s.story_id, s.count, s.article_id, s.title) for s in buckets["2024-10-01"].stories] == [
        ("story-wave", 5, "t1", "Takedown wave 1")]
    november = {s.story_id: s for s in buckets["2024-11-01"].stories}
    assert (november["story-wave"].article_id, november["story-wave"].title) == ("t20", "Takedown wave continues")
    assert november["story-inquiry"].article_id == "t30" and november["story-inquiry"].title == EXTRA[7]["title"]
    (trend,) = [t for t in es.entity_trends(SearchRequest(q="takedown"), "month", 3) if t.entity == "Telegram"]
    # of the 10 latest articles naming it, 2 say ORG 7 times and 5 say PRODUCT once each (the rest: ORG)
    assert (trend.label, trend.total) == ("ORG", 7)
    (wave,) = [s for s in es.stories(SearchRequest(q="takedown"), 5, "first_seen") if s.story_id == "story-wave"]
    assert (wave.article_id, wave.title, wave.article_count, wave.sources) == (
        "t1", "Takedown wave 1", 7, ["asia-wire", "ofcom"])


class Rounds:
    """The bodies of each round trip the store makes (wrapping its `_msearch`)."""

    def __init__(self, store: ElasticsearchStore) -> None:
        self.sent: list[list[dict[str, Any]]] = []
        self.store, self.original = store, store._msearch

        def recorded(bodies: list[dict[str, Any]], indices: list[str] | None = None) -> list[dict[str, Any]]:
            self.sent.append(bodies)
            return self.original(bodies, indices)
        store._msearch = recorded  # type: ignore[method-assign]

    def __enter__(self) -> Rounds:
        return self

    def __exit__(self, *exc: object) -> None:
        del self.store._msearch


@pytest.mark.elasticsearch
def test_a_timeline_is_a_few_bodies_in_two_rounds(es: ElasticsearchStore) -> None:
    dated = SearchRequest(q="deepfake", filters=Filters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)))
    es.labels.clear()
    with Rounds(es) as rounds:
        first = SearchService(es).timeline(dated)
    # histogram, events, entities; then the first articles, the events' aggregates, the entities'
    # buckets and a label sample for each entity (none read yet)
    assert len(first.entity_trends) > 1
    assert [len(r) for r in rounds.sent] == [3, 3 + len(first.entity_trends)]
    with Rounds(es) as rounds:  # the labels are the names': read once, for any query
        again = SearchService(es).timeline(SearchRequest(q="deepfake"), interval="month")
    assert {t.entity for t in again.entity_trends} <= {t.entity for t in first.entity_trends}
    assert [len(r) for r in rounds.sent] == [4, 3]  # the date span read beside the rest


@pytest.mark.elasticsearch
@pytest.mark.parametrize("req", REQUESTS, ids=IDS)
def test_a_timeline_without_dates_reads_its_span_in_the_first_round(es: ElasticsearchStore,
                                                                     req: SearchRequest) -> None:
    """The answer is the one of the span read first and the interval chosen from it; the histogram
    guesses the interval from the span of every article and is drawn again where that was wrong."""
    f = req.effective_filters()
    span = es.date_span(req)
    start, end = time_range(f.date_from, f.date_to, span)
    interval = choose_interval(start, end)
    corpus = time_range(f.date_from, f.date_to, es.corpus_span())
    with Rounds(es) as rounds:
        got = SearchService(es).timeline(req)
    assert (got.interval, got.date_from, got.date_to) == (interval, start and start.isoformat(), end and end.isoformat())
    parts = es.timeline_parts(req, interval)
    assert (got.total, got.buckets, got.events, got.entity_trends) == (
        parts.total, parts.buckets, parts.events, parts.entity_trends)
    if f.date_from and f.date_to:
        assert len(rounds.sent[0]) == 3 and not any("first" in b.get("aggs", {}) for b in rounds.sent[0])
        return
    assert Q.date_span_body(req) in rounds.sent[0]
    histograms = [b["aggs"]["buckets"]["date_histogram"]["calendar_interval"] for r in rounds.sent for b in r
                  if "buckets" in b.get("aggs", {}) and "stories" in b["aggs"]["buckets"].get("aggs", {})
                  and "aggs" not in b["aggs"]["buckets"]["aggs"]["stories"]]
    guess = choose_interval(*corpus)
    assert histograms == ([guess] if guess == interval else [guess, interval])


def test_a_wrong_guess_costs_the_histogram_a_round() -> None:
    req = SearchRequest(q="x")
    chosen: list[str] = []
    span = {"aggregations": {"first": {"value": 1727740800000}, "last": {"value": 1727913600000}}}
    hist = {"hits": {"total": {"value": 0}}, "aggregations": {"buckets": {"buckets": []}}}
    sent: list[list[dict[str, Any]]] = []
    answers: Iterator[list[dict[str, Any]]] = iter([[span, hist], [hist]])

    def send(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sent.append(bodies)
        return next(answers)
    plans: list[es_timeline.Plan[Any]] = [es_timeline.spanned(req, lambda s: "day", chosen),
                                          es_timeline.histogram(req, "month", 3, actual=lambda: chosen[0])]
    (got_span, (total, buckets)) = es_timeline.run(plans, send)
    assert got_span == ("2024-10-01T00:00:00+00:00", "2024-10-03T00:00:00+00:00") and chosen == ["day"]
    assert [[b["aggs"]["buckets"]["date_histogram"]["calendar_interval"] for b in r if "buckets" in b.get("aggs", {})]
            for r in sent] == [["month"], ["day"]]
    assert (total, buckets) == (0, [])


@pytest.mark.elasticsearch
def test_labels_are_read_again_once_kept_long_enough(es: ElasticsearchStore) -> None:
    now = [0.0]
    es.labels = Labels(ttl=60, clock=lambda: now[0])
    try:
        req = SearchRequest(q="takedown")
        with Rounds(es) as rounds:
            trends = es.entity_trends(req, "month", 3)
            es.entity_trends(req, "month", 3)
            now[0] = 61
            assert es.entity_trends(req, "month", 3) == trends
        assert [len(r) for r in rounds.sent] == [1, 1 + len(trends), 1, 1, 1, 1 + len(trends)]
        assert all(t.label for t in trends)
    finally:
        es.labels = Labels()


# ---------------------------------------------------------------- without a node
def test_firsts_keep_the_shown_pairs_and_leave_long_titles_to_titles_body() -> None:
    def first(article_id: str, title: str | None) -> dict[str, Any]:
        return {"buckets": [{"key": 1727863200000, "first": {"buckets": [
            {"key": article_id, "title": {"buckets": [{"key": title}] if title else []}}]}}]}
    resp = {"aggregations": {"buckets": {"buckets": [
        {"key_as_string": "2024-10-01", "stories": {"buckets": [{"key": "s1", "at": first("a1", "One")},
                                                                {"key": "s2", "at": first("a2", None)}]}},
        {"key_as_string": "2024-11-01", "stories": {"buckets": [{"key": "s1", "at": first("a3", "Three")}]}}]}}}
    shown = {("2024-10-01", "s1"), ("2024-10-01", "s2")}
    assert Q.firsts(resp, shown) == {("2024-10-01", "s1"): ("a1", "One"), ("2024-10-01", "s2"): ("a2", None)}
    body = Q.firsts_body(SearchRequest(q="x"), "month", ["s1", "s2"])
    at = body["aggs"]["buckets"]["aggs"]["stories"]["aggs"]["at"]
    # the earliest instant (exact: ordered by key), and only its articles go on to the smallest id
    assert at["terms"] == {"field": "published_at", "size": 1, "order": {"_key": "asc"}, "collect_mode": "breadth_first"}
    assert at["aggs"]["first"]["terms"]["order"] == {"_key": "asc"} and at["aggs"]["first"]["terms"]["size"] == 1
    assert {"terms": {"story_id": ["s1", "s2"]}} in body["query"]["bool"]["filter"]


def test_histogram_plan_reads_long_titles_in_a_third_round() -> None:
    req = SearchRequest(q="x")
    sent: list[list[dict[str, Any]]] = []
    hist = {"hits": {"total": {"value": 3}}, "aggregations": {"buckets": {"buckets": [
        {"key_as_string": "2024-10-01", "doc_count": 3, "stories": {"buckets": [{"key": "s1", "doc_count": 2}]}}]}}}
    firsts = {"aggregations": {"buckets": {"buckets": [{"key_as_string": "2024-10-01", "stories": {"buckets": [
        {"key": "s1", "at": {"buckets": [{"key": 1727740800000, "first": {"buckets": [
            {"key": "a1", "title": {"buckets": []}}]}}]}}]}}]}}}
    titles = {"hits": {"hits": [{"_id": "a1", "_source": {"title": "A long title"}}]}}
    answers: Iterator[list[dict[str, Any]]] = iter([[hist], [firsts], [titles]])

    def send(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sent.append(bodies)
        return next(answers)
    ((total, buckets),) = es_timeline.run([es_timeline.histogram(req, "month", 3)], send)
    assert total == 3 and buckets[0].stories == [StoryRef("s1", 2, "A long title", "a1")]
    assert [len(r) for r in sent] == [1, 1, 1] and sent[2][0]["query"] == {"ids": {"values": ["a1"]}}


def test_event_heads_come_from_the_collapsed_search() -> None:
    body = Q.story_ids_body(SearchRequest(), 5, "first_seen")
    assert body["sort"] == [Q.OLDEST, {"story_id": "asc"}, {"id": "asc"}] and body["_source"] == Q.STORY_TOP
    assert Q.story_ids_body(SearchRequest(), 5, "last_seen")["_source"] is False
    assert "top" not in Q.stories_body(SearchRequest(), 5, "first_seen", only=["s1"], top=False)["aggs"]["stories"]["aggs"]
    resp = {"hits": {"hits": [{"fields": {"story_id": ["s1"]}, "_source": {"id": "a1", "title": "T", "lead": "L"}}]}}
    bucket = {"key": "s1", "doc_count": 2, "first": {"value": 1724803200000}, "last": {"value": 1724889600000},
              "sources": {"buckets": [{"key": "b"}]}}
    (story,) = Q.stories({"aggregations": {"stories": {"buckets": [bucket]}}}, 5, Q.story_heads(resp))
    assert (story.article_id, story.title, story.lead) == ("a1", "T", "L")
