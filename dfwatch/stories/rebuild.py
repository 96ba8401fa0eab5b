"""`dfwatch stories rebuild`: cluster every stored article again, oldest first.

Deterministic: articles are taken in order of (published_at, id), so each story is named
after its earliest article. Memory holds the window (StoryIndex evicts articles older than
WINDOW) and one chunk of days read from the store (about CHUNK_ARTICLES documents), never
the whole store; assignments are written chunk by chunk, only where they changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from dfwatch.search.model import Filters, SearchRequest
from dfwatch.store import Store
from dfwatch.stories.cluster import WINDOW, StoryIndex
from dfwatch.stories.features import features

CHUNK_ARTICLES = 5000


@dataclass
class RebuildReport:
    articles: int = 0
    stories: int = 0
    joined: int = 0  # articles that joined an earlier article's story
    grouped: int = 0  # stories of more than one article
    changed: int = 0  # articles whose story_id the store changed
    undated: int = 0  # articles without a publication date: each its own story
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"articles": self.articles, "stories": self.stories, "grouped": self.grouped, "joined": self.joined,
                "changed": self.changed, "undated": self.undated, "seconds": round(self.seconds, 3)}


def day_chunks(store: Store) -> Iterator[tuple[date, date]]:
    """Inclusive (first day, last day) ranges of about CHUNK_ARTICLES articles, oldest first."""
    buckets = store.histogram(SearchRequest(facets=False, highlight=False), "day", top_stories=1)
    start: date | None = None
    end: date | None = None
    size = 0
    for bucket in buckets:
        day = date.fromisoformat(bucket.key[:10])
        if start is not None and size + bucket.count > CHUNK_ARTICLES:
            yield start, end  # type: ignore[misc]
            start, size = None, 0
        if start is None:
            start = day
        end, size = day, size + bucket.count
    if start is not None:
        yield start, end  # type: ignore[misc]


def rebuild(store: Store, progress: Callable[[RebuildReport], None] | None = None) -> RebuildReport:
    """Re-cluster the store's articles and write their story ids; returns the counts."""
    started = time.perf_counter()
    report = RebuildReport()
    index = StoryIndex()
    grouped: set[str] = set()
    for first, last in day_chunks(store):
        req = SearchRequest(filters=Filters(date_from=first, date_to=last), sort="date", facets=False,
                            highlight=False)
        docs = sorted(((features(d), d.get("story_id")) for d in store.iter_articles(req) if d.get("published_at")),
                      key=lambda pair: (pair[0].at, pair[0].id))
        changes: dict[str, str] = {}
        for f, stored in docs:
            index.evict_before(f.at - WINDOW)
            story_id = index.assign(f)
            report.articles += 1
            if story_id != f.id:
                report.joined += 1
                grouped.add(story_id)
            if story_id != stored:
                changes[f.id] = story_id
        report.changed += store.set_stories(changes) if changes else 0
        report.grouped = len(grouped)
        if progress:
            progress(report)
    if store.count() > report.articles:  # articles without a date: never matched, each its own story
        changes = {}
        for d in store.iter_articles(SearchRequest(facets=False, highlight=False)):
            if not d.get("published_at"):
                report.undated += 1
                if d.get("story_id") != d["id"]:
                    changes[d["id"]] = d["id"]
        report.changed += store.set_stories(changes) if changes else 0
    report.articles += report.undated
    report.stories = report.articles - report.joined
    store.refresh()
    report.seconds = time.perf_counter() - started
    return report

