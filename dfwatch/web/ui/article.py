"""The article page `/articles/{id}`: one stored article, its text split into anchored sentences.

Every sentence is an element `id="s-<n>"` (n: 0-based index in the text), so a figure, an
entity or another page can point at the sentence it came from. `?at=<offset>` marks the
sentence holding that character offset of the text (class "focus") and puts `id="focus"` on
its content, so `sentence_link` works without knowing the text. Sentences are split with the
same rules the figure extractor used (`nlp.sentences`), and figure and entity offsets are
character offsets into the article's `text`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from dfwatch.search import SearchService
from dfwatch.web.deps import get_service
from dfwatch.web.errors import not_found
from dfwatch.web.ui.render import page
from nlp.sentences import split_sentences

router = APIRouter(include_in_schema=False)

FOCUS_ID = "focus"
DOC_FIELDS = ("title", "url", "published_at", "modified_at", "crawled_at", "authors", "language", "story_id")
SOURCE_FIELDS = ("id", "name", "type", "country", "language")
FIGURE_FIELDS = ("value", "unit", "measure", "qualifier", "text", "start", "end", "sentence", "period", "place",
                 "attribution")


def sentence_link(article_id: str, start: int | None) -> str:
    """The URL of the sentence holding character offset `start` of an article's text, in context.

    `/articles/{id}?at={start}#focus`: the article page marks the sentence containing offset `start`
    with class "focus" and `id="focus"`, so the fragment targets it without the caller needing the
    text (every sentence also carries `id="s-<n>"`, n the 0-based sentence index). Figure and
    entity offsets (`Figure.start`, `EntityMention.start`) are character offsets into
    `Article.text`. With `start` None the link is to the article's top.
    """
    path = article_path(article_id)
    if start is None:
        return path
    return f"{path}?at={int(start)}#{FOCUS_ID}"


def article_path(article_id: str) -> str:
    return f"/articles/{quote(article_id, safe='')}"


def outbound(url: str | None) -> str | None:
    """`url` if it may be a link (http or https); crawled data may hold anything else (javascript:, data:)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


@dataclass
class Sentence:
    n: int
    start: int
    end: int
    text: str


def sentences(text: str) -> list[Sentence]:
    return [Sentence(n, s, e, text[s:e]) for n, (s, e) in enumerate(split_sentences(text))]


def sentence_at(spans: list[Sentence], offset: int) -> int | None:
    """The index of the sentence holding `offset` (the next one when it falls between two; None past the last)."""
    if not spans or offset < 0:
        return None
    i = bisect_right([s.start for s in spans], offset) - 1
    if i < 0:
        return 0
    if offset < spans[i].end:
        return i
    return i + 1 if i + 1 < len(spans) else None


def paragraphs(text: str, spans: list[Sentence]) -> list[list[Sentence]]:
    """Sentences grouped as the text's paragraphs (a line break between two sentences starts a new one)."""
    out: list[list[Sentence]] = []
    previous_end = 0
    for s in spans:
        if not out or "\n" in text[previous_end:s.start]:
            out.append([])
        out[-1].append(s)
        previous_end = s.end
    return out


def entity_path(name: str) -> str:
    return f"/entities/{quote(name, safe='')}"


def _entities(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(normalised name, label, mentions), most mentioned first."""
    counts: dict[tuple[str, str], int] = {}
    for e in doc.get("entities") or []:
        if e.get("norm"):
            key = (e["norm"], e.get("label") or "")
            counts[key] = counts.get(key, 0) + 1
    return [(name, label, n) for (name, label), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))]


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(
    request: Request,
    svc: Annotated[SearchService, Depends(get_service)],
    article_id: Annotated[str, Path(min_length=1, max_length=200)],
    at: Annotated[int | None, Query(ge=0, description="A character offset of the text: its sentence is marked.")]
    = None,
) -> HTMLResponse:
    doc = svc.article(article_id)
    if doc is None:
        raise not_found("article", article_id)
    text = doc.get("text") or ""
    spans = sentences(text)
    figures = [{k: fig.get(k) for k in FIGURE_FIELDS} for fig in doc.get("figures") or []]
    figure_sentence = [sentence_at(spans, f["start"]) if isinstance(f["start"], int) else None for f in figures]
    focus = sentence_at(spans, at) if at is not None else None
    story_id = doc.get("story_id")
    shown = {k: doc.get(k) for k in DOC_FIELDS}
    shown["source"] = {k: (doc.get("source") or {}).get(k) for k in SOURCE_FIELDS}
    context = {
        "doc": shown, "paragraphs": paragraphs(text, spans), "focus": focus, "focus_id": FOCUS_ID,
        "figures": list(zip(figures, figure_sentence, strict=True)), "entities": _entities(doc),
        "entity_path": entity_path, "url": outbound(doc.get("url")),
        "story_path": f"/stories/{quote(story_id, safe='')}" if story_id else None,
        "topics": (doc.get("relevance") or {}).get("topics") or [],
    }
    return page(request, "article.html", context, title=f"{doc.get('title') or article_id} · dfwatch")
