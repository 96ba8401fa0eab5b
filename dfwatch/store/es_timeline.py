"""Timeline reads on Elasticsearch as plans: each answers one store primitive in one or two rounds
of requests, and the store runs several plans side by side, one `_msearch` per round.

Why: the top stories of a date histogram, the first-seen stories and the entity labels used to
be `top_hits` (and, for stories, more sub-aggregations) under terms aggregations, which
Elasticsearch collects for every bucket it considers — for stories ordered by first appearance,
every story matched. A plan's first round finds the buckets, story ids and entities with cheap
requests; its second reads titles and story details for those few alone, with the requests
that answered before (`es_query`) narrowed to them, so the answers are the same, and the labels
of entities the store has not read lately (`es_labels`). Each round is a few requests in all,
so a timeline costs Elasticsearch a pass over the matching articles per plan, not one per story
or per entity.

A plan is a generator: it yields a round (a list of request bodies on the articles index),
receives their responses in order, and returns its result. Pure, so it is tested without a node.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any, TypeVar

from dfwatch.search.model import Bucket, EntityTrend, SearchRequest, Story, StoryRef
from dfwatch.store import es_query as Q
from dfwatch.store.es_labels import Labels

T = TypeVar("T")
Round = list[dict[str, Any]]
Plan = Generator[Round, list[dict[str, Any]], T]


Span = tuple[str | None, str | None]


def date_span(req: SearchRequest) -> Plan[Span]:
    (resp,) = yield [Q.date_span_body(req)]
    return Q.date_span(resp)


def spanned(req: SearchRequest, pick: Callable[[Span], str], chosen: list[str]) -> Plan[Span]:
    """The date span, with the interval `pick` makes of it appended to `chosen` as soon as the first
    round answers: plans after this one in `run` read it there in their second round."""
    (resp,) = yield [Q.date_span_body(req)]
    span = Q.date_span(resp)
    chosen.append(pick(span))
    return span


def histogram(req: SearchRequest, interval: str, top_stories: int,
              actual: Callable[[], str] | None = None) -> Plan[tuple[int, list[Bucket]]]:
    """(articles matching, buckets with their top stories): the stories by count, then the first
    article of each in its bucket (`es_query.firsts_body`), whose title the bucket shows. With
    `actual`, `interval` is a guess: after the first round `actual()` is the interval, and where
    the guess was wrong the histogram is drawn again, a round later."""
    (resp,) = yield [Q.histogram_body(req, interval, top_stories)]
    if actual is not None and actual() != interval:
        interval = actual()
        (resp,) = yield [Q.histogram_body(req, interval, top_stories)]
    found = Q.buckets(resp)
    shown = {(b.key, s.story_id) for b in found for s in b.stories}
    if shown:
        (answer,) = yield [Q.firsts_body(req, interval, sorted({story for _, story in shown}))]
        firsts = Q.firsts(answer, shown)
        untitled = sorted({article_id for article_id, title in firsts.values() if title is None})
        long_titles = Q.titles((yield [Q.titles_body(untitled)])[0]) if untitled else {}
        for b in found:
            b.stories = [_titled(s, firsts.get((b.key, s.story_id)), long_titles) for s in b.stories]
    return int(resp["hits"]["total"]["value"]), found


def _titled(ref: StoryRef, first: tuple[str, str | None] | None, long_titles: dict[str, str]) -> StoryRef:
    if first is None:
        return ref
    article_id, title = first
    return replace(ref, title=long_titles.get(article_id, "") if title is None else title, article_id=article_id)


def stories(req: SearchRequest, size: int, order: str) -> Plan[list[Story]]:
    """The `size` first stories in `order`: their ids (first seen: with their first articles), then
    their aggregates (`es_query.stories_body`)."""
    (resp,) = yield [Q.story_ids_body(req, size, order)]
    ids = Q.story_ids(resp)[:max(size, 0)]
    if not ids:
        return []
    heads = Q.story_heads(resp) if order == "first_seen" else None
    (resp,) = yield [Q.stories_body(req, len(ids), order, only=ids, top=heads is None)]
    return Q.stories(resp, size, heads)


def entity_trends(req: SearchRequest, interval: str | Callable[[], str], size: int,
                  labels: Labels) -> Plan[list[EntityTrend]]:
    """The entities, then their buckets (per `interval`, or `interval()` if it is only known after the
    first round), with a label sample for each name `labels` lacks (`es_labels`) in the same round."""
    (resp,) = yield [Q.entity_trends_body(req, size)]
    found = resp["aggregations"]["entities"]["buckets"][:max(size, 0)]
    if not found:
        return []
    keys = [str(b["key"]) for b in found]
    known = {k: label for k in keys if (label := labels.get(k)) is not None}
    unknown = [k for k in keys if k not in known]
    every = interval() if callable(interval) else interval
    (buckets, *sampled) = yield [Q.entity_buckets_body(req, every, keys), *map(Q.label_sample_body, unknown)]
    for name, sample in zip(unknown, sampled, strict=True):
        known[name] = Q.label_of(sample, name)
        labels.put(name, known[name])
    for b, counted in zip(found, buckets["aggregations"]["entities"]["buckets"], strict=True):
        b["histogram"] = counted["histogram"]
    return Q.entity_trends({"aggregations": {"entities": {"buckets": found}}}, size, known)


def run(plans: list[Plan[Any]], send: Callable[[Round], list[dict[str, Any]]]) -> list[Any]:
    """Run `plans` side by side: each round, the requests of every unfinished plan go out in one
    `send` (a list of bodies in, their responses in order out); returns the plans' results. Within
    a round, plans take their answers in order, so a plan may use what an earlier one learnt in
    the same round (`spanned`)."""
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
