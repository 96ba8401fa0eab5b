"""Build a digest from the search layer: what a subscription has not been sent yet.

"New" is decided by the digest log, not by dates: every article the subscription's search
matches and no earlier digest delivered is new, whatever its publication or crawl date, so
an article crawled late (an old date, a spool replay, a backfilled source) still reaches the
analyst, once. The first digest of a subscription has no log yet: articles published before
its window count as already known (its "baseline"), the rest are new.

Articles are grouped by story; a story an earlier digest had is an *update*. Figures are
the new articles' statistics whose value for (measure, place, period, unit) the
subscription has not been sent before, or differs from what it was sent (*changed*).
Entities are the new articles' names that no earlier matching article mentions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote, urlencode, urlsplit

from dfwatch.digest.labels import MEASURES
from dfwatch.digest.model import ArticleLink, Chart, Digest, EntityItem, FigureItem, StoryItem
from dfwatch.search.model import ArticleHit, FigureQuery, FigureSeries, SearchRequest, StoryDetail
from dfwatch.search.series import point_key

if TYPE_CHECKING:
    from dfwatch.digest.subscriptions import Subscription
    from dfwatch.search.model import Timeline

MAX_LISTED = 200  # stories listed by title after the full ones; further ones are only counted
MAX_FIGURE_ARTICLES = 300  # new articles whose figures are read
MAX_ENTITIES = 12
SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")


class Search(Protocol):
    """The part of `dfwatch.search.SearchService` a digest uses."""

    def hits(self, req: SearchRequest) -> Iterator[ArticleHit]: ...

    def timeline(self, req: SearchRequest, interval: str | None = None, top_stories: int = 3,
                 events: int = 20, entities: int = 8) -> Timeline: ...

    def figures(self, fq: FigureQuery) -> tuple[list[dict[str, Any]], str | None]: ...

    def figure_series(self, measure: str, place: str | None = None,
                      fq: FigureQuery | None = None) -> FigureSeries: ...

    def story(self, story_id: str) -> StoryDetail | None: ...


@dataclass
class Known:
    """What the digest log says the subscription already has."""

    articles: dict[str, str]  # article id -> story id, delivered (or baseline)
    figures: dict[str, float]  # figure key -> the value last sent
    has_baseline: bool


@dataclass
class Options:
    web_base: str
    max_stories: int = 25
    chart_bars: int = 30


def build(service: Search, sub: Subscription, known: Known, window_start: datetime, window_end: datetime,
          now: datetime, opts: Options) -> Digest:
    """Everything new for `sub` since the digests in `known`, as of `now`."""
    links = Links(opts.web_base)
    baseline: dict[str, str] | None = None if known.has_baseline else {}
    old_entities: set[str] = set()
    new: list[ArticleHit] = []
    for hit in service.hits(sub.request()):  # every match: the log, not a date, says what is new
        if hit.id in known.articles:
            old_entities.update(hit.entities)
        elif baseline is not None and _before(hit.published_at, window_start):
            baseline[hit.id] = hit.story_id or hit.id
            old_entities.update(hit.entities)
        else:
            new.append(hit)
    groups: dict[str, list[ArticleHit]] = {}
    for hit in sorted(new, key=lambda h: (h.published_at or "~", h.id)):
        groups.setdefault(hit.story_id or hit.id, []).append(hit)
    seen_stories = {*known.articles.values(), *(baseline or {}).values()}
    order = sorted(groups, key=lambda sid: (sid in seen_stories, -len({h.source.id for h in groups[sid]}),
                                            _newest(groups[sid]), sid))
    labels: dict[str, str] = {}
    stories = []
    for sid in order[:opts.max_stories]:
        detail = service.story(sid)
        stories.append(_story(sid, groups[sid], sid in seen_stories, detail, links))
        for doc in detail.articles if detail else []:
            for e in doc.get("entities") or []:
                if e.get("norm"):
                    labels.setdefault(e["norm"], e.get("label") or "")
    more = [_story(sid, groups[sid], sid in seen_stories, None, links)
            for sid in order[opts.max_stories:opts.max_stories + MAX_LISTED]]
    new_figures, changed_figures = _figures(service, new, known.figures, links)
    return Digest(
        subscription=sub, window_start=window_start, window_end=window_end, generated_at=now,
        stories=stories, more=more, hidden=max(0, len(order) - opts.max_stories - MAX_LISTED),
        new_figures=new_figures, changed_figures=changed_figures,
        entities=_entities(new, old_entities, labels, links),
        chart=_chart(service, sub, window_start, max(now, window_end), opts.chart_bars),
        delivers={h.id: h.story_id or h.id for h in new}, baseline=baseline,
        web_base=links.base, timeline_url=links.timeline(sub),
    )


# ---------------------------------------------------------------- stories
def _story(sid: str, hits: list[ArticleHit], update: bool, detail: StoryDetail | None, links: Links) -> StoryItem:
    articles = [links.article(h) for h in hits]
    if detail is None:
        first = hits[0]
        return StoryItem(story_id=sid, title=first.title, lead=lead_sentence(first.lead),
                         first_seen=first.published_at, sources=list(dict.fromkeys(h.source.name for h in hits)),
                         article_count=len(hits), update=update, articles=articles, web_url=links.story(sid))
    names: dict[str, str] = {}
    for doc in detail.articles:
        source = doc.get("source") or {}
        names.setdefault(source.get("id", ""), source.get("name") or source.get("id", ""))
    story = detail.story
    return StoryItem(story_id=sid, title=story.title, lead=lead_sentence(story.lead), first_seen=story.first_seen,
                     sources=[names.get(s, s) for s in story.sources], article_count=story.article_count,
                     update=update, articles=articles, web_url=links.story(sid))


def lead_sentence(lead: str, limit: int = 300) -> str:
    first = SENTENCE_END.split((lead or "").strip(), maxsplit=1)[0]
    return first if len(first) <= limit else first[:limit - 1].rsplit(" ", 1)[0] + "…"


def _newest(hits: list[ArticleHit]) -> float:
    """Sort key putting the most recently published group first."""
    return -max((_instant(h.published_at).timestamp() for h in hits if h.published_at), default=0.0)


def _instant(published: str) -> datetime:
    when = datetime.fromisoformat(published)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _before(published: str | None, moment: datetime) -> bool:
    if not published:
        return True  # undated articles of the first run count as known, not as news
    return _instant(published) <= moment


# ---------------------------------------------------------------- figures
def _figures(service: Search, new: list[ArticleHit], sent: dict[str, float],
             links: Links) -> tuple[list[FigureItem], list[FigureItem]]:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for hit in [h for h in new if h.figure_count][:MAX_FIGURE_ARTICLES]:
        records, _ = service.figures(FigureQuery(article_id=hit.id, size=100))
        for fig in records:
            if fig.get("measure") in MEASURES and isinstance(fig.get("value"), (int, float)):
                by_key.setdefault(figure_key(fig), []).append(fig)
    series: dict[tuple[str, str | None], FigureSeries] = {}
    new_items: list[FigureItem] = []
    changed: list[FigureItem] = []
    for key, figs in by_key.items():
        figs.sort(key=lambda f: (f.get("published_at") or "~", f.get("article_id", "")))
        votes = Counter({float(f["value"]): 0 for f in figs})
        for value, _source in {(float(f["value"]), (f.get("source") or {}).get("id")) for f in figs}:
            votes[value] += 1
        value = max(votes, key=lambda v: votes[v])  # most sources; ties: the earliest reported (dict order)
        previous = sent.get(key)
        if previous is not None and previous == value:
            continue
        item = _figure_item(service, series, figs, value, previous, links)
        (changed if previous is not None else new_items).append(item)
    order = list(MEASURES)
    for items in (new_items, changed):
        items.sort(key=lambda f: (order.index(f.measure), f.place or "", f.period_start or "", f.unit))
    return new_items, changed


def figure_key(fig: dict[str, Any]) -> str:
    """What a value is *of*: measure, place, period (as the series groups it) and unit."""
    (start, end), _ = point_key(fig)
    return "|".join([fig.get("measure") or "", fig.get("place") or "", start or "", end or "", fig.get("unit") or ""])


def _figure_item(service: Search, series: dict[tuple[str, str | None], FigureSeries], figs: list[dict[str, Any]],
                 value: float, previous: float | None, links: Links) -> FigureItem:
    mine = [f for f in figs if float(f["value"]) == value]
    first = mine[0]
    measure, place, unit = first["measure"], first.get("place"), first.get("unit") or ""
    (start, end), period_text = point_key(first)
    earliest = {"source": (first.get("source") or {}).get("name", ""), "published": first.get("published_at"),
                "url": first.get("url")}
    conflict, versions = False, [(value, len({(f.get("source") or {}).get("id") for f in mine}))]
    if place:  # the whole corpus's series says who reported it first and whether sources disagree
        if (measure, place) not in series:
            series[(measure, place)] = service.figure_series(measure, place)
        for point in series[(measure, place)].points:
            if (point.period_start, point.period_end) != (start, end):
                continue
            same_unit = [v for v in point.versions if v.unit == unit]
            conflict = point.conflict and len(same_unit) > 1
            versions = [(float(v.value), len({r.source_id for r in v.reports})) for v in same_unit] or versions
            period_text = point.period_text or period_text
            for v in same_unit:
                if float(v.value) == value and v.reports:
                    r = v.reports[0]
                    earliest = {"source": r.source_name, "published": r.published_at, "url": r.url}
    return FigureItem(
        measure=measure, place=place, unit=unit, period_start=start, period_end=end, period_text=period_text,
        value=value, qualifier=first.get("qualifier"), previous=previous, sentence=first.get("sentence", ""),
        reported_by=list(dict.fromkeys((f.get("source") or {}).get("name", "") for f in mine)),
        first_source=earliest["source"], first_published=earliest["published"], first_url=safe_url(earliest["url"]),
        conflict=conflict, versions=versions, web_url=links.article_id(first.get("article_id", "")),
    )


# ---------------------------------------------------------------- entities, chart
def _entities(new: list[ArticleHit], old: set[str], labels: dict[str, str], links: Links) -> list[EntityItem]:
    mentions: Counter[str] = Counter()
    first: dict[str, ArticleHit] = {}
    for hit in sorted(new, key=lambda h: (h.published_at or "~", h.id)):
        for name in hit.entities:
            if name not in old:
                mentions[name] += 1
                first.setdefault(name, hit)
    ranked = sorted(mentions, key=lambda n: (-mentions[n], n.casefold()))[:MAX_ENTITIES]
    return [EntityItem(n, labels.get(n) or None, mentions[n], links.article(first[n])) for n in ranked]


def _chart(service: Search, sub: Subscription, window_start: datetime, until: datetime, bars: int) -> Chart | None:
    """Matching articles per day (daily digests) or week (weekly), by publication date, ending today."""
    end = until.astimezone(UTC).date()
    interval: Literal["day", "week"]
    if sub.frequency == "weekly":
        interval, step = "week", timedelta(weeks=1)
        end = end - timedelta(days=end.weekday())  # buckets start on Mondays (UTC)
        highlight = window_start.astimezone(UTC).date()
        highlight -= timedelta(days=highlight.weekday())
    else:
        interval, step = "day", timedelta(days=1)
        highlight = window_start.astimezone(UTC).date()
    start = end - step * (bars - 1)
    req = sub.request(size=0)
    since = req.filters.date_from
    req = replace(req, filters=replace(req.filters, date_from=max(start, since) if since else start,
                                       date_to=until.astimezone(UTC).date()))
    timeline = service.timeline(req, interval=interval, top_stories=0, events=0, entities=0)
    counts = {date.fromisoformat(b.key[:10]): b.count for b in timeline.buckets}
    series = [(start + step * i, counts.get(start + step * i, 0)) for i in range(bars)]
    return Chart(interval=interval, bars=series, highlight_from=max(highlight, start))


# ---------------------------------------------------------------- links
class Links:
    """Links into dfwatch's web UI, and originals only when they are http(s)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def story(self, story_id: str) -> str:
        return f"{self.base}/stories/{quote(story_id, safe='')}"

    def article_id(self, article_id: str) -> str:
        return f"{self.base}/articles/{quote(article_id, safe='')}"

    def article(self, hit: ArticleHit) -> ArticleLink:
        return ArticleLink(id=hit.id, title=hit.title, url=safe_url(hit.url),
                           source_name=hit.source.name or hit.source.id, published_at=hit.published_at,
                           web_url=self.article_id(hit.id))

    def timeline(self, sub: Subscription) -> str:
        return f"{self.base}/timeline?{urlencode({'q': query_text(sub)})}"


def query_text(sub: Subscription) -> str:
    """The subscription's query with its exact filters written as `field:value` terms."""
    terms = [sub.query] if sub.query else []
    f = sub.filters
    for name, values in (("source", f.source), ("type", f.type), ("country", f.country), ("lang", f.lang),
                         ("entity", f.entity), ("topic", f.topic)):
        terms += [f'{name}:"{v}"' if " " in v else f"{name}:{v}" for v in values]
    return " ".join(terms)


def safe_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, else None (no javascript:, data: or relative links)."""
    if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None
