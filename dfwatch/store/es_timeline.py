"""Timeline reads on Elasticsearch as plans: each answers one store primitive in one or two rounds
of requests, and the store runs several plans side by side, one `_msearch` per round.

Why: the top stories of a date histogram, the first-seen stories and the entity labels used to
be `top_hits` (and, for stories, more sub-aggregations) under terms aggregations, which
Elasticsearch collects for every bucket it considers — for stories ordered by first appearance,
every story matched. A plan's first round finds the buckets, story ids and entities with cheap
requests; its second reads titles, story details and label samples for those few alone, with
the requests that answered before (`es_query`) narrowed to them, so the answers are the same.

A plan is a generator: it yields a round (a list of request bodies on the articles index),
receives their responses in order, and returns its result. Pure, so it is tested without a node.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any, TypeVar

from dfwatch.search.model import Bucket, EntityTrend, SearchRequest, Story, StoryRef
from dfwatch.store import es_query as Q

T = TypeVar("T")
Round = list[dict[str, Any]]
Plan = Generator[Round, list[dict[str, Any]], T]


def date_span(req: SearchRequest) -> Plan[tuple[str | None, str | None]]:
    (resp,) = yield [Q.date_span_body(req)]
    return Q.date_span(resp)


def histogram(req: SearchRequest, interval: str, top_stories: int) -> Plan[tuple[int, list[Bucket]]]:
    """(articles matching, buckets with their top stories): the stories by count with the instant each
    began in its bucket, then the articles of those stories at those instants, the first of each
    (by id) being the earliest article of the story in the bucket, whose title the bucket shows."""
    (resp,) = yield [Q.histogram_body(req, interval, top_stories)]
    found, starts = Q.buckets(resp), Q.story_starts(resp)
    if starts:
        firsts = Q.earliest((yield Q.earliest_bodies(req, sorted({(s, at) for (_, s), at in starts.items()}))))
        if firsts is not None:
            untitled = sorted({article_id for article_id, title in firsts.values() if title is None})
            long_titles = Q.titles((yield [Q.titles_body(untitled)])[0]) if untitled else {}
            refs = {}
            for (bucket, story), at in starts.items():
                if (story, at) in firsts:
                    article_id, title = firsts[story, at]
                    title = long_titles.get(article_id, "") if title is None else title
                    refs[bucket, story] = StoryRef(story, 0, title, article_id)
        else:  # more articles share those instants than a page holds: one top_hits per (bucket, story)
            (titled,) = yield [Q.histogram_body(req, interval, top_stories,
                                                titles_of=sorted({s for _, s in starts}))]
            refs = {(b.key, s.story_id): s for b in Q.buckets(titled) for s in b.stories}
        for b in found:
            b.stories = [_titled(s, refs.get((b.key, s.story_id))) for s in b.stories]
    return int(resp["hits"]["total"]["value"]), found


def _titled(ref: StoryRef, titled: StoryRef | None) -> StoryRef:
    return ref if titled is None else replace(ref, title=titled.title, article_id=titled.article_id)


def stories(req: SearchRequest, size: int, order: str) -> Plan[list[Story]]:
    """The `size` first stories in `order`: their ids, then their aggregates (`es_query.stories_body`)."""
    (resp,) = yield [Q.story_ids_body(req, size, order)]
    ids = Q.story_ids(resp)[:max(size, 0)]
    if not ids:
        return []
    (resp,) = yield [Q.stories_body(req, len(ids), order, only=ids)]
    return Q.stories(resp, size)


def entity_trends(req: SearchRequest, interval: str, size: int) -> Plan[list[EntityTrend]]:
    """The entities, then their buckets and one label sample per entity (in one round)."""
    (resp,) = yield [Q.entity_trends_body(req, size)]
    found = resp["aggregations"]["entities"]["buckets"][:max(size, 0)]
    if found:
        keys = [str(b["key"]) for b in found]
        (buckets, *samples) = yield [Q.entity_buckets_body(req, interval, keys),
                                     *(Q.entity_sample_body(req, k) for k in keys)]
        for b, counted, sample in zip(found, buckets["aggregations"]["entities"]["buckets"], samples, strict=True):
            b["histogram"], b["pairs"] = counted["histogram"], sample
    resp["aggregations"]["entities"]["buckets"] = found
    return Q.entity_trends(resp, size)


def run(plans: list[Plan[Any]], send: Callable[[Round], list[dict[str, Any]]]) -> list[Any]:
    """Run `plans` side by side: each round, the requests of every unfinished plan go out in one
    `send` (a list of bodies in, their responses in order out); returns the plans' results."""
    results: list[Any] = [None] * len(plans)
    waiting: dict[int, Round] = {}

    def advance(i: int, answers: list[dict[str, Any]] | None) -> None:
        try:
            waiting[i] = plans[i].send(answers)  # type: ignore[arg-type]  # None starts a generator
        except StopIteration as done:
            results[i] = done.value
            waiting.pop(i, None)

    for i in range(len(plans)):
        advance(i, None)
    while waiting:
        pending = list(waiting.items())
        answers = send([body for _, bodies in pending for body in bodies])
        start = 0
        for i, bodies in pending:
            advance(i, answers[start:start + len(bodies)])
            start += len(bodies)
    return results
