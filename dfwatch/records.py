"""The records dfwatch stores: an Article with its source, relevance and entities.

Documents are plain dicts at the store boundary (`Article.to_doc`), so both stores and
the index template agree on one shape, declared here and in config/elasticsearch/.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

ENTITY_FACETS = {"PERSON": "people", "ORG": "orgs", "GPE": "places"}


@dataclass(frozen=True)
class SourceRef:
    id: str
    name: str
    type: str
    country: str
    language: str


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    norm: str
    start: int
    end: int


@dataclass
class Relevance:
    score: float
    matched_terms: list[str]
    topics: list[str] = field(default_factory=list)


@dataclass
class Article:
    id: str
    url: str
    canonical_url: str
    source: SourceRef
    title: str
    text: str
    lead: str
    published_at: datetime | None
    modified_at: datetime | None
    crawled_at: datetime
    authors: list[str]
    language: str
    content_hash: str
    relevance: Relevance | None = None
    entities: list[Entity] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)  # nlp.figures.Figure.as_dict()
    story_id: str | None = None  # set by the stories stage (pipelines/stories.py)
    signature: str | None = None  # its MinHash, base64 (dfwatch.stories.features)
    text_ko: str | None = None  # Kiwi stems of a Korean title and text, if the NLP stage made them

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = asdict(self)
        if doc["text_ko"] is None:  # the store derives it (dfwatch.store.prepare)
            del doc["text_ko"]
        for key in ("published_at", "modified_at", "crawled_at"):
            value = doc[key]
            doc[key] = value.isoformat() if value else None
        for label, facet in ENTITY_FACETS.items():
            doc[facet] = list(dict.fromkeys(e.norm for e in self.entities if e.label == label))
        return doc


def figure_docs(article: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per figure of an article document, carrying the article's id, source and date.

    A figure's id derives from the article id and its character span, so re-crawls replace it.
    """
    out = []
    for fig in article.get("figures", []):
        fid = hashlib.sha1(f"{article['id']}:{fig['start']}:{fig['end']}".encode()).hexdigest()  # noqa: S324
        out.append({**fig, "id": fid, "article_id": article["id"], "url": article["url"],
                    "title": article.get("title", ""), "source": article["source"],
                    "published_at": article.get("published_at"), "language": article.get("language")})
    return out


def content_hash(text: str) -> str:
    """Hash of the whitespace-folded text: equal for re-crawls of unchanged articles."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()
