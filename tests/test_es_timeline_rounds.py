"""The Elasticsearch timeline in few requests answers as the plain definitions do.

`dfwatch.store.es_timeline` reads a timeline in a few requests a round: the histogram
then its stories' first articles (a terms aggregation on id, not a search per story instant),
the events' ids with their first articles (collapse heads) then their aggregates, the entities
then their buckets and label samples (in one request where the query has words, else a search
per entity, which stops early). Each is compared on a node with the
straightforward request for what it answers (`top_hits` under every bucket, a search per
entity, the stories aggregation over every story), on the contract corpus plus articles that
make the special cases happen: first articles sharing an instant, a title too long for its
keyword, a story's first article differing per bucket, labels that disagree (one
article mentions an entity more often than five others do, so the whole sample decides).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from docs_support import CORPUS, doc, ent, es_store_with

from dfwatch.search.model import Bucket, EntityTrend, Filters, SearchRequest, StoryRef
from dfwatch.search.service import SearchService
from dfwatch.store import es_query as Q
from dfwatch.store import es_timeline
from dfwatch.store.elastic import ElasticsearchStore

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


def plain_entity_trends(es: ElasticsearchStore, req: SearchRequest, interval: str, size: int) -> list[EntityTrend]:
    """The entities by mentions, each with its buckets and the label most paired with it in a search
    for the 10 best-scoring matching articles that mention it."""
    resp = _search(es, Q.entity_trends_body(req, size))
    found = resp["aggregations"]["entities"]["buckets"][:size]
    for b in found:
        query = Q.article_query(req)
        query["bool"]["filter"].append({"term": {"entities.norm": b["key"]}})
        b["pairs"] = _search(es, {"query": query, "size": Q.ENTITY_SAMPLE,
                                  "_source": ["entities.norm", "entities.label"]})
        b["histogram"] = _search(es, {"size": 0, "query": query, "aggs": {"histogram": Q._histogram(interval)}},
                                 )["aggregations"]["histogram"]
    resp["aggregations"]["entities"]["buckets"] = found
    return Q.entity_trends(resp, size)


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
    assert (trend.label, trend.total) == ("ORG", 7)  # 7 ORG mentions in 2 articles against 5 PRODUCT in 5
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
    with Rounds(es) as rounds:
        SearchService(es).timeline(dated)
    # histogram, events, entities; then the first articles, the events' aggregates, the entities'
    # buckets and their label samples
    assert [len(r) for r in rounds.sent] == [3, 4]
    with Rounds(es) as rounds:
        SearchService(es).timeline(SearchRequest(q="deepfake"))
    assert [len(r) for r in rounds.sent] == [1, 3, 4]  # the date span first: it chooses the interval
    with Rounds(es) as rounds:  # without words: a sample search per entity, each stopping early
        browsed = SearchService(es).timeline(SearchRequest(filters=Filters(date_from=date(2024, 1, 1),
                                                                           date_to=date(2024, 9, 30))))
    assert len(browsed.entity_trends) > 1
    assert [len(r) for r in rounds.sent] == [3, 3 + len(browsed.entity_trends)]


# ---------------------------------------------------------------- without a node
def test_firsts_keep_the_shown_pairs_and_leave_long_titles_to_titles_body() -> None:
    def first(article_id: str, title: str | None) -> dict[str, Any]:
        return {"buckets": [{"key": article_id, "title": {"buckets": [{"key": title}] if title else []}}]}
    resp = {"aggregations": {"buckets": {"buckets": [
        {"key_as_string": "2024-10-01", "stories": {"buckets": [{"key": "s1", "first": first("a1", "One")},
                                                                {"key": "s2", "first": first("a2", None)}]}},
        {"key_as_string": "2024-11-01", "stories": {"buckets": [{"key": "s1", "first": first("a3", "Three")}]}}]}}}
    shown = {("2024-10-01", "s1"), ("2024-10-01", "s2")}
    assert Q.firsts(resp, shown) == {("2024-10-01", "s1"): ("a1", "One"), ("2024-10-01", "s2"): ("a2", None)}
    body = Q.firsts_body(SearchRequest(q="x"), "month", ["s1", "s2"])
    first_agg = body["aggs"]["buckets"]["aggs"]["stories"]["aggs"]["first"]
    assert first_agg["terms"]["order"] == [{"at": "asc"}, {"_key": "asc"}] and first_agg["terms"]["size"] == 1
    assert {"terms": {"story_id": ["s1", "s2"]}} in body["query"]["bool"]["filter"]


def test_histogram_plan_reads_long_titles_in_a_third_round() -> None:
    req = SearchRequest(q="x")
    sent: list[list[dict[str, Any]]] = []
    hist = {"hits": {"total": {"value": 3}}, "aggregations": {"buckets": {"buckets": [
        {"key_as_string": "2024-10-01", "doc_count": 3, "stories": {"buckets": [{"key": "s1", "doc_count": 2}]}}]}}}
    firsts = {"aggregations": {"buckets": {"buckets": [{"key_as_string": "2024-10-01", "stories": {"buckets": [
        {"key": "s1", "first": {"buckets": [{"key": "a1", "title": {"buckets": []}}]}}]}}]}}}
    titles = {"hits": {"hits": [{"_id": "a1", "_source": {"title": "A long title"}}]}}
    answers = iter([[hist], [firsts], [titles]])

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
