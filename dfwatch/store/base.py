"""The store interface under the search layer; Elasticsearch and SQLite both implement it.

Stores hold documents (`Article.to_doc()` plus `story_id`, `signature`) and figure
records (`records.figure_docs`), and answer the search layer's primitives. Everything a
user sees goes through `dfwatch.search` (the service), never straight to a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from dfwatch.search.model import Bucket, EntityTrend, FigureQuery, SearchPage, SearchRequest, Story


class StoreError(RuntimeError):
    """The store refused or could not be reached; callers spool what they could not write."""


class Store(Protocol):
    def setup(self) -> None:
        """Create indices/tables; idempotent."""

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        """Insert or replace articles by `id`, and replace their figure records; returns the count."""

    def get(self, doc_id: str) -> dict[str, Any] | None: ...

    def count(self) -> int: ...

    def search(self, req: SearchRequest) -> SearchPage:
        """One page of hits with highlights, facets and the cursor to the next page."""

    def histogram(self, req: SearchRequest, interval: str, top_stories: int = 3) -> list[Bucket]:
        """Matching articles per UTC `interval` (model.INTERVALS) bucket, empty buckets omitted,
        each with its `top_stories` biggest stories (by matching articles)."""

    def date_span(self, req: SearchRequest) -> tuple[str | None, str | None]:
        """Earliest and latest published_at of the matching articles."""

    def stories(self, req: SearchRequest, size: int = 20, order: str = "first_seen") -> list[Story]:
        """Stories with matching articles, aggregated over those articles; `order` is
        "first_seen" (oldest first), "last_seen" (newest first) or "size" (biggest first)."""

    def entity_trends(self, req: SearchRequest, interval: str, size: int = 10) -> list[EntityTrend]:
        """The `size` entities most mentioned by matching articles, with per-bucket counts."""

    def figures(self, fq: FigureQuery) -> tuple[list[dict[str, Any]], str | None]:
        """Figure records, oldest article first, and the cursor to the next page."""

    def iter_articles(self, req: SearchRequest) -> Iterator[dict[str, Any]]:
        """Every matching article document, at constant memory (point-in-time + search_after)."""

    def iter_figures(self, fq: FigureQuery) -> Iterator[dict[str, Any]]:
        """Every matching figure record, at constant memory."""

    def set_stories(self, assignments: dict[str, str]) -> int:
        """Set `story_id` on existing articles (article id -> story id); returns how many changed."""

    def refresh(self) -> None:
        """Make everything written so far searchable."""

    def close(self) -> None: ...
