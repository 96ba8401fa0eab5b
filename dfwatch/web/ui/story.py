"""The story page `/stories/{story_id}`: every article of a story, first seen first, with its figures and entities.

A figure links to its sentence in the article page (`article.sentence_link`); an entity to its
entity page. An unknown story is a 404 page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse

from dfwatch.search import SearchService
from dfwatch.web.deps import get_service
from dfwatch.web.errors import not_found
from dfwatch.web.ui.article import sentence_link
from dfwatch.web.ui.render import page
from dfwatch.web.ui.search import LINKS

router = APIRouter(include_in_schema=False)
Service = Annotated[SearchService, Depends(get_service)]
Id = Annotated[str, Path(min_length=1, max_length=200)]


def period(value: dict[str, Any]) -> str:
    """A figure's period as a reader wants it: the days it spans, else the words it was written in."""
    start, end = (value.get("start") or "")[:10], (value.get("end") or "")[:10]
    if start and end:
        return start if start == end else f"{start} – {end}"
    return start or end or value.get("text") or ""


def entity_names(doc: dict[str, Any]) -> list[str]:
    """The article's distinct normalised entity names, in order of first mention."""
    return list(dict.fromkeys(e["norm"] for e in doc.get("entities") or [] if e.get("norm")))


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, svc: Service, story_id: Id) -> HTMLResponse:
    detail = svc.story(story_id)
    if detail is None:
        raise not_found("story", story_id)
    names = {a["source"]["id"]: a["source"].get("name") or a["source"]["id"]
             for a in detail.articles if a.get("source")}
    context = {"detail": detail, "sources": [names.get(s, s) for s in detail.story.sources],
               "period": period, "entity_names": entity_names, "sentence_link": sentence_link, **LINKS}
    return page(request, "story.html", context, title=f"{detail.story.title} · story · dfwatch")
