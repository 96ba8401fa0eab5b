"""The entity page `/entities/{name}`: mentions over time, co-occurring entities, aliases, recent articles.

`name` is an entity's normalised name (the `norm` the NLP stage stores, matched case-insensitively
as the `entity` search filter does). Everything comes from the search layer:
- mentions: the month histogram of articles with the entity (`SearchService.timeline`); each bar
  links to the search page filtered by the entity and that month;
- co-occurring entities: the entity facet of those articles (the entity itself left out);
- aliases: the gazetteer's English and Korean names for it (`nlp.gazetteer`, as nlp/entities.py
  loads it) and the surface forms seen in its most recent articles (entity `text` vs `norm`);
- recent articles, newest first, linking to their stories.
A name with no mentions that the gazetteer does not know either is a 404 page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse

from dfwatch.search import SearchService
from dfwatch.search.model import ArticleHit, FacetValue, Filters, SearchRequest
from dfwatch.web.deps import get_service
from dfwatch.web.ui.render import error_page, page, query_string
from dfwatch.web.ui.timeline import bucket_rows, coverage_chart, entity_href, story_href
from nlp.gazetteer import HANGUL, GazetteerEntry, load_gazetteer

router = APIRouter(include_in_schema=False)
Service = Annotated[SearchService, Depends(get_service)]
RECENT = 10  # recent articles listed (their entity mentions give the surface forms)


@dataclass
class Aliases:
    label: str | None  # the gazetteer's label (ORG, GPE, PERSON, LAW), if it knows the entity
    english: list[str]
    korean: list[str]
    seen: list[tuple[str, int]]  # surface forms in recent articles, with how many mentions


def gazetteer_entries(name: str) -> list[GazetteerEntry]:
    """The gazetteer entries whose canonical name is `name` (case-insensitive; a name may have several)."""
    folded = name.casefold()
    return [e for e in load_gazetteer().entries if e.name.casefold() == folded]


def aliases(name: str, recent: list[dict[str, Any]]) -> Aliases:
    """Known aliases (English and Korean) and the forms the articles used for the entity."""
    entries = gazetteer_entries(name)
    known = list(dict.fromkeys(a for e in entries for a in e.aliases))
    folded = name.casefold()
    seen: Counter[str] = Counter(
        " ".join(str(m.get("text") or "").split()) for doc in recent for m in doc.get("entities") or []
        if str(m.get("norm") or "").casefold() == folded and m.get("text"))
    return Aliases(label=entries[0].label if entries else None,
                   english=[a for a in known if not HANGUL.search(a)], korean=[a for a in known if HANGUL.search(a)],
                   seen=seen.most_common())


def display_name(name: str, facet: list[FacetValue]) -> str:
    """The name as stored (its case) when the facet has it, else the gazetteer's, else as asked."""
    folded = name.casefold()
    stored = next((f.value for f in facet if f.value.casefold() == folded), None)
    return stored or next((e.name for e in gazetteer_entries(name)), name)


@router.get("/entities/{name:path}", response_class=HTMLResponse)
def entity_page(request: Request, svc: Service,
                name: Annotated[str, Path(min_length=1, max_length=200)]) -> HTMLResponse:
    req = SearchRequest(filters=Filters(entity=(name,)), sort="date", size=RECENT, facets=True, highlight=False)
    found = svc.search(req)
    if found.total == 0 and not gazetteer_entries(name):
        return error_page(request, 404, f"no articles mention an entity named {name!r}")
    facet = found.facets.get("entities", [])
    shown = display_name(name, facet)
    timeline = svc.timeline(SearchRequest(filters=Filters(entity=(name,)), facets=False, highlight=False),
                            interval="month", top_stories=0, events=0, entities=0)
    rows = bucket_rows(timeline.buckets, "month", [("entity", shown)], None, None)
    recent = [doc for hit in found.hits if (doc := svc.article(hit.id)) is not None]
    context = {
        "name": shown, "total": found.total, "timeline": timeline, "rows": rows,
        "chart": coverage_chart(rows, f"mentioning {shown}", "month"),
        "cooccurring": [f for f in facet if f.value.casefold() != name.casefold()],
        "aliases": aliases(name, recent), "recent": found.hits, "hit_href": hit_href,
        "entity_href": entity_href, "search_href": "/" + query_string({"entity": shown}),
    }
    return page(request, "entity.html", context, title=f"{shown} · dfwatch")


def hit_href(hit: ArticleHit) -> str:
    """A recent article links to its story (with all its versions), else to itself."""
    return story_href(hit.story_id) if hit.story_id else "/articles/" + quote(hit.id, safe="")
