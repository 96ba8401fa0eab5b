"""The search page `/` and the downloads of its query (`/export.csv`, `/export.jsonl`, `/export.parquet`).

The page reads the API's parameters (q, from, to, source, type, country, lang, entity, topic,
has_figures, story, sort, page) as a browser's form sends them: empty fields are dropped, and
each value is checked with the very types and functions the API declares (dfwatch/web/params.py),
so the page and the API accept and refuse the same input. Refused input is shown inline, as a
message beside its field, with the form still filled in (status 422). Results are collapsed by
story, 20 stories a page; within one story (`story=`) every match is listed.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, get_type_hints
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from markupsafe import Markup
from pydantic import TypeAdapter, ValidationError

from dfwatch.search import SearchService
from dfwatch.search.highlight import POST, PRE
from dfwatch.search.model import MAX_PAGE, ArticleHit, FigureQuery, SearchPage, SearchRequest
from dfwatch.web import api, params
from dfwatch.web.deps import get_service
from dfwatch.web.errors import ApiError
from dfwatch.web.ui.article import article_path, entity_path, outbound
from dfwatch.web.ui.render import highlight, page, query_string

router = APIRouter(include_in_schema=False)
Service = Annotated[SearchService, Depends(get_service)]

SIZE = 20  # stories per page
# URL parameter -> the parameter of params.filters / params.search_request that declares it
FIELDS = {"q": "q", "from": "date_from", "to": "date_to", "source": "source", "type": "type", "country": "country",
          "lang": "lang", "entity": "entity", "topic": "topic", "has_figures": "has_figures", "story": "story",
          "sort": "sort", "page": "page"}
REPEATED = ("source", "type", "country", "lang", "entity", "topic")
FILTER_ARGS = ("date_from", "date_to", "has_figures", "story", *REPEATED)
LABELS = {"q": "Search words", "from": "From", "to": "To", "source": "Source", "type": "Source type",
          "country": "Country", "lang": "Language", "entity": "Entity", "topic": "Topic",
          "has_figures": "Figures", "story": "Story", "sort": "Sort", "page": "Page"}
_HINTS = {**get_type_hints(params.filters, include_extras=True),
          **get_type_hints(params.search_request, include_extras=True)}
ADAPTERS: dict[str, TypeAdapter[Any]] = {key: TypeAdapter(_HINTS[name]) for key, name in FIELDS.items()}
SOURCE_TYPES = ("news", "government", "ngo", "court")
EXPORTS = (("CSV", "csv"), ("JSONL", "jsonl"), ("Parquet", "parquet"))
FACETS = (("sources", "source", "Sources"), ("entities", "entity", "Entities"), ("topics", "topic", "Topics"),
          ("countries", "country", "Countries"))
SYNTAX_HINT = ('Words are ANDed; "a phrase"; a OR b; -word or NOT word excludes; '
               "field:value filters on source, type, country, lang, entity, topic.")


@dataclass
class SearchForm:
    """The page's parameters as given (non-empty, to refill the form and build links) and what they mean."""

    given: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)  # URL parameter -> what is wrong with it
    request: SearchRequest | None = None  # None when there are errors

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(key, value) for key, values in self.given.items() for value in values]

    def first(self, key: str) -> str:
        return (self.given.get(key) or [""])[0]

    def rest(self, key: str) -> list[str]:
        return (self.given.get(key) or [])[1:]

    def link(self, **changes: Any) -> str:
        """`/` with these parameters, changed (a new query starts on its first page)."""
        return "/" + query_string(self.pairs, **{"page": None, **changes})


def _message(exc: ValidationError) -> str:
    return "; ".join(str(e.get("msg", "invalid")).removeprefix("Value error, ") for e in exc.errors())


def read_form(request: Request) -> SearchForm:
    """The search form from the query string, checked by the API's own parameter rules."""
    given: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key in FIELDS and value.strip():
            given.setdefault(key, []).append(value.strip())
    form = SearchForm(given)
    values: dict[str, Any] = {}
    for key, raw in given.items():
        try:
            values[FIELDS[key]] = ADAPTERS[key].validate_python(raw if key in REPEATED else raw[0])
        except ValidationError as exc:
            form.errors[key] = _message(exc)
    if form.errors:
        return form
    try:
        filters = params.filters(**{name: values[name] for name in FILTER_ARGS if name in values})
        in_story = filters.story_id is not None  # a story's matches are listed one by one, on one page
        form.request = params.search_request(filters, q=values.get("q", ""), sort=values.get("sort", "relevance"),
                                             size=MAX_PAGE if in_story else SIZE, collapse=not in_story,
                                             page=values.get("page", 0))
    except ApiError as exc:
        param = exc.fields[0].param if exc.fields else "q"
        form.errors[param] = exc.fields[0].message if exc.fields else exc.detail
    return form


def marked(fragment: str) -> Markup:
    """A hit's highlight (the store's escaped HTML with <mark>) printed through the `highlight` filter.

    The fragment is turned back into the engine's sentinel form (crawled text cannot hold the
    sentinels, and a `<mark>` written in crawled text arrives escaped, so only the store's marks
    match), unescaped, and escaped again by `highlight`: nothing the store returned is trusted as HTML.
    """
    return highlight(html.unescape(fragment.replace("<mark>", PRE).replace("</mark>", POST)))


def story_href(story_id: str) -> str:
    return f"/stories/{quote(story_id, safe='')}"



def hit_title(hit: ArticleHit) -> Markup | str:
    """The title, with its matches marked when the store highlighted it."""
    fragments = hit.highlights.get("title")
    return marked(fragments[0]) if fragments else hit.title


def hit_snippets(hit: ArticleHit) -> list[Markup | str]:
    """What matched in the text (else in the lead), marked; the plain lead when nothing was highlighted."""
    fragments = hit.highlights.get("text") or hit.highlights.get("lead")
    return [marked(f) for f in fragments[:2]] if fragments else ([hit.lead] if hit.lead else [])


# URL builders for the templates; an article's original URL is linked only if http(s) (article.outbound)
LINKS: dict[str, Callable[..., Any]] = {"web_url": outbound, "article_href": article_path,
                                        "story_href": story_href, "entity_href": entity_path}


def _active(form: SearchForm, key: str, value: str) -> bool:
    values = form.given.get(key, [])
    return value.casefold() in {v.casefold() for v in values} if key == "entity" else value in values


def _toggle(form: SearchForm, key: str, value: str) -> str:
    values = form.given.get(key, [])
    if _active(form, key, value):
        return form.link(**{key: [v for v in values if v.casefold() != value.casefold()]})
    return form.link(**{key: [*values, value]})


def source_names(result: SearchPage | None) -> dict[str, str]:
    """Source id -> name, for the sources of the hits shown (facets and filters carry ids)."""
    return {hit.source.id: hit.source.name for hit in result.hits} if result else {}


def facet_groups(form: SearchForm, result: SearchPage, names: dict[str, str]) -> list[dict[str, Any]]:
    """The sidebar: each facet's values with counts, a link that toggles the filter, and whether it is on."""
    groups = []
    for facet, key, heading in FACETS:
        items = [{"label": names.get(v.value, v.value) if key == "source" else v.value, "value": v.value,
                  "count": v.count, "href": _toggle(form, key, v.value), "active": _active(form, key, v.value)}
                 for v in result.facets.get(facet, [])]
        if items:
            groups.append({"key": key, "heading": heading, "entries": items})
    return groups


def chips(form: SearchForm, names: dict[str, str]) -> list[dict[str, str]]:
    """Each active filter, with the link that removes it."""
    out = []
    for key, values in form.given.items():
        if key in ("q", "sort", "page"):
            continue
        for value in values:
            shown = {"true": "with figures", "false": "without figures"}.get(value, value) \
                if key == "has_figures" else names.get(value, value) if key == "source" else value
            out.append({"label": f"{LABELS[key]}: {shown}",
                        "href": form.link(**{key: [v for v in values if v != value]})})
    return out


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, svc: Service) -> HTMLResponse:
    """The query box and filters, results collapsed by story, facets, and the query's export links."""
    form = read_form(request)
    result: SearchPage | None = None
    if form.request is not None:
        try:
            result = svc.search(form.request)
        except ValueError as exc:
            form.errors["q"] = str(exc) or "this query cannot be run"
    current = form.request.page if form.request else 0
    names = source_names(result)
    groups = facet_groups(form, result, names) if result else []
    context = {
        "form": form, "result": result, "labels": LABELS, "hint": SYNTAX_HINT,
        "type_options": [("", "Any"), *((t, t) for t in SOURCE_TYPES)], "hit_title": hit_title,
        "hit_snippets": hit_snippets, "facets": groups, "chips": chips(form, names),
        "datalists": {g["key"]: [e["value"] for e in g["entries"]] for g in groups},
        "newest": form.request is not None and not form.request.parsed,
        "previous": form.link(page=current - 1 or None) if current else None,
        "next": form.link(page=current + 1) if result and form.request and form.request.collapse
        and len(result.hits) == SIZE else None,
        "exports": [(label, f"/export.{fmt}" + query_string(form.pairs, page=None)) for label, fmt in EXPORTS],
        "page_number": current + 1, "first_rank": current * SIZE + 1, **LINKS,
    }
    title = f"{form.first('q')} · search · dfwatch" if form.first("q") else "Search · dfwatch"
    return page(request, "search.html", context, status=422 if form.errors else 200, title=title)


@router.get("/export.{fmt}", response_class=StreamingResponse)
def export(request: Request, svc: Service, fmt: params.Format) -> StreamingResponse:
    """Every article of the search page's query (all pages, not collapsed), as a download; streamed by
    the API's export, under the same limit on concurrent exports."""
    form = read_form(request)
    if form.request is None:
        raise ApiError(422, "; ".join(f"{LABELS[k]}: {m}" for k, m in form.errors.items()))
    req = form.request
    what = params.export_request(target="articles", format=fmt, fq=FigureQuery(), f=req.filters, q=req.q,
                                 sort=req.sort)
    return api.export(request, svc, what)
