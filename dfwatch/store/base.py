"""The store interface that the CLI, web and digests use; two implementations share it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol


class StoreError(RuntimeError):
    """The store refused or could not be reached; callers spool what they could not write."""


@dataclass
class Hit:
    id: str
    title: str
    url: str
    source_id: str
    source_name: str
    published_at: str | None
    lead: str
    score: float
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]


@dataclass(frozen=True)
class Query:
    """A search: text in the simple syntax (words, "phrases", OR, -exclude) and a date range."""

    text: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive


class Store(Protocol):
    def setup(self) -> None:
        """Create indices/tables; idempotent."""

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        """Insert or replace documents by `id`; returns how many were written."""

    def get(self, doc_id: str) -> dict[str, Any] | None: ...

    def count(self) -> int: ...

    def search(self, query: Query, size: int = 10) -> SearchResult: ...

    def figures(self, measure: str | None = None, article_id: str | None = None,
                size: int = 100) -> list[dict[str, Any]]:
        """Figure records (one per statistic), oldest article first."""

    def monthly_counts(self, query: Query) -> list[tuple[str, int]]:
        """[("2024-08", 5), ...] by publication month, months without hits omitted."""

    def refresh(self) -> None:
        """Make everything written so far searchable."""

    def close(self) -> None: ...


def hit_from_doc(doc: dict[str, Any], score: float) -> Hit:
    return Hit(
        id=doc["id"], title=doc.get("title", ""), url=doc.get("url", ""),
        source_id=doc["source"]["id"], source_name=doc["source"]["name"],
        published_at=doc.get("published_at"), lead=doc.get("lead", ""), score=score,
        entities=doc.get("entities", []),
    )
