"""Response models for what the search layer returns as plain dicts (stored documents).

The search layer's dataclasses (SearchPage, Timeline, ...) are response models as they are;
these document the documents. Fields are optional and extra fields pass through, so the
spec describes the shape without rejecting a document written by an older version.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class Source(_Doc):
    id: str
    name: str | None = None
    type: str | None = None  # news, government, ngo, court
    country: str | None = None
    language: str | None = None


class Period(_Doc):
    start: str | None = None  # ISO day
    end: str | None = None
    text: str | None = None  # as written


class Figure(_Doc):
    """One figure as reported by one article, with the sentence and span it came from."""

    id: str | None = None
    article_id: str | None = None
    value: float | None = None
    unit: str | None = None
    measure: str | None = None
    qualifier: str | None = None
    text: str | None = None
    sentence: str | None = None
    start: int | None = None
    end: int | None = None
    place: str | None = None
    period: Period | None = None
    attribution: str | None = None
    url: str | None = None
    title: str | None = None
    source: Source | None = None
    published_at: str | None = None
    language: str | None = None


class FiguresPage(BaseModel):
    figures: list[Figure]
    next_after: str | None = None  # cursor for the next page; None on the last


class Entity(_Doc):
    text: str | None = None
    label: str | None = None
    norm: str | None = None
    start: int | None = None
    end: int | None = None


class Article(_Doc):
    """A stored article document (crawled text is raw: escape it before putting it in HTML)."""

    id: str
    url: str | None = None
    canonical_url: str | None = None
    source: Source | None = None
    title: str | None = None
    text: str | None = None
    lead: str | None = None
    published_at: str | None = None
    modified_at: str | None = None
    crawled_at: str | None = None
    authors: list[str] | None = None
    language: str | None = None
    story_id: str | None = None
    entities: list[Entity] | None = None
    figures: list[Figure] | None = None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    store: Literal["elasticsearch", "sqlite"]
    articles: int | None = None  # stored articles; None when the store is down
    version: str
    detail: str | None = None
