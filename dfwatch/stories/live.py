"""Stories during a crawl: one window per store, shared by the crawls of a process.

`dfwatch crawl` runs its sources side by side in one reactor, each crawler with its own
pipelines; they share one `LiveStories` so that two outlets' reports crawled at the same
time meet. The window is loaded from the store lazily, the days around each article's
date the first time an article of that date comes by, so a backfill of old articles is
matched against its own time, not today's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, ClassVar

from dfwatch.search.model import Filters, SearchRequest
from dfwatch.settings import Settings
from dfwatch.store import Store, StoreError, open_store
from dfwatch.stories.cluster import WINDOW, StoryIndex
from dfwatch.stories.features import Features, features

log = logging.getLogger(__name__)


class LiveStories:
    _shared: ClassVar[dict[str, LiveStories]] = {}

    def __init__(self, key: str, open_store: Callable[[], Store]) -> None:
        self.key = key
        self._open_store = open_store
        self._store: Store | None = None
        self.index = StoryIndex()
        self.loaded: set[date] = set()
        self.loaded_articles = 0
        self.users = 0

    @classmethod
    def acquire(cls, settings: Settings) -> LiveStories:
        """The window of `settings`' store, created on first use; `release` it when done."""
        cfg = settings.store
        key = f"es:{cfg.elasticsearch_url}:{cfg.index_prefix}" if cfg.backend == "elasticsearch" \
            else f"sqlite:{settings.sqlite_file}"
        live = cls._shared.get(key)
        if live is None:
            live = cls._shared[key] = cls(key, lambda: open_store(settings))
        live.users += 1
        return live

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0:
            self._shared.pop(self.key, None)
            if self._store is not None:
                self._store.close()
                self._store = None

    def assign(self, f: Features) -> str:
        """The story of an article: kept if the store already has it, else its best match's, else its own."""
        self._load_around(f.at.date())
        return self.index.assign(f)

    def _load_around(self, day: date) -> None:
        span = WINDOW.days + 1
        wanted = [day + timedelta(days=d) for d in range(-span, span + 1)]
        missing = [d for d in wanted if d not in self.loaded]
        if not missing:
            return
        self.loaded.update(wanted)
        req = SearchRequest(filters=Filters(date_from=min(missing), date_to=max(missing)), sort="date",
                            facets=False, highlight=False)
        try:
            if self._store is None:
                self._store = self._open_store()
            docs: list[dict[str, Any]] = [d for d in self._store.iter_articles(req) if d["id"] not in self.index]
        except StoreError as exc:  # crawl on; `dfwatch stories rebuild` joins what this misses
            log.warning("stories: could not read the store around %s (%s); matching this crawl only", day, exc)
            return
        for doc in docs:
            if doc.get("published_at"):
                self.index.add(features(doc), doc.get("story_id") or doc["id"])
        self.loaded_articles += len(docs)
