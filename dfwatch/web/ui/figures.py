"""The figure ledger `/figures` and its CSV `/figures.csv`: every figure with its source and sentence.

Filters: measure, place, period (period_from/period_to), source, plus the words `q` and the
other article filters (from, to, type, country, lang, entity, topic) carried in the URL. The
parameters are the JSON API's (`dfwatch.web.params`), validated by the same functions and
types; an invalid value is shown next to the form, which keeps what was typed. Every row
links to its sentence in context (`article.sentence_link`). With a measure chosen, rows whose
measure, place and period the sources disagree on are flagged (`SearchService.figure_series`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from fastapi import APIRouter, Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from dfwatch.search import SearchService
from dfwatch.search.model import FigureQuery, SearchRequest
from dfwatch.web import api, params
from dfwatch.web.deps import get_service
from dfwatch.web.errors import ApiError
from dfwatch.web.ui.article import sentence_link
from dfwatch.web.ui.render import page, query_string
from dfwatch.web.ui.sources import configured_sources
from dfwatch.yamlconf import ConfigError
from nlp.measures import EN_MEASURES, KO_MEASURES

router = APIRouter(include_in_schema=False)
Service = Annotated[SearchService, Depends(get_service)]

PAGE_SIZE = 50
MEASURES = sorted({m for m, _, _ in (*EN_MEASURES, *KO_MEASURES)})
FORM_FIELDS = ("measure", "place", "period_from", "period_to", "source", "q")  # shown as inputs
CARRIED = ("from", "to", "type", "country", "lang", "entity", "topic", "has_figures", "story")  # kept as hidden


# ---------------------------------------------------------------- the form → FigureQuery, with the API's rules
@cache
def _parameters(func: Any) -> tuple[tuple[str, str, TypeAdapter[Any], bool], ...]:
    """(argument, query name, validator, repeatable) for each query parameter of a params.py dependency."""
    out = []
    for name, hint in get_type_hints(func, include_extras=True).items():
        if name == "return" or get_origin(hint) is not Annotated:
            continue
        meta = get_args(hint)[1:]
        if any(isinstance(m, DependsParam) for m in meta):
            continue
        info = next((m for m in meta if isinstance(m, FieldInfo)), None)
        repeatable = get_origin(get_args(hint)[0]) is tuple
        out.append((name, (info.alias if info and info.alias else name), TypeAdapter(hint), repeatable))
    return tuple(out)


def form_call(func: Any, pairs: list[tuple[str, str]], errors: dict[str, str], **given: Any) -> Any:
    """Call a params.py dependency with the form's values (empty ones dropped), validated by its own
    annotations; on invalid input, record `{query name: message}` in `errors` and return None."""
    kwargs = dict(given)
    ok = True
    for name, query_name, adapter, repeatable in _parameters(func):
        if name in given:
            continue
        values = [v for k, v in pairs if k == query_name]
        if not values:
            continue
        try:
            kwargs[name] = adapter.validate_python(values if repeatable else values[0])
        except ValidationError as exc:
            errors[query_name] = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            ok = False
    if not ok:
        return None
    try:
        return func(**kwargs)
    except ApiError as exc:
        for f in exc.fields or []:
            errors[f.param] = f.message
        if not exc.fields:
            errors["request"] = exc.detail
        return None


@dataclass
class Ledger:
    pairs: list[tuple[str, str]]  # the request's non-empty parameters
    values: dict[str, str]  # the form's fields as typed
    errors: dict[str, str] = field(default_factory=dict)
    query: FigureQuery | None = None


def ledger_form(request: Request, size: int = PAGE_SIZE) -> Ledger:
    pairs = [(k, v.strip()) for k, v in request.query_params.multi_items() if v.strip()]
    values = {name: next((v for k, v in pairs if k == name), "") for name in FORM_FIELDS}
    ledger = Ledger(pairs=pairs, values=values)
    errors = ledger.errors
    filters = form_call(params.filters, pairs, errors)
    selection = form_call(params.figure_filters, pairs, errors)
    if filters is None or selection is None:
        return ledger
    q = next((v for k, v in pairs if k == "q"), "")
    paging = {} if any(k == "size" for k, _ in pairs) else {"size": size}  # `size` in the URL: the API's rule
    ledger.query = form_call(params.figure_query, pairs, errors, fq=selection, f=filters, q=q, **paging)
    return ledger


# ---------------------------------------------------------------- conflicts
def conflicts(svc: SearchService, fq: FigureQuery, records: list[dict[str, Any]]) -> dict[str, str]:
    """Figure id → how the sources disagree, for the figures of `records` whose measure, place and period
    the stored reports give different values for (`SearchService.figure_series`).

    Needs a measure (a series is one measure). Every stored report of the measure and place counts,
    whatever source or words the ledger is filtered by; only the periods on this page are read, one
    series per place on it. A figure without a period or a place is not compared."""
    if not fq.measure:
        return {}
    dated: dict[str, list[tuple[str, str]]] = {}  # place -> (start, end) of the page's figures there
    for fig in records:
        period, place = fig.get("period") or {}, fig.get("place")
        if period.get("start") and period.get("end") and place:
            dated.setdefault(place, []).append((period["start"], period["end"]))
    out: dict[str, str] = {}
    for place, periods in dated.items():
        window = FigureQuery(period_from=date.fromisoformat(min(e for _, e in periods)[:10]),
                             period_to=date.fromisoformat(max(s for s, _ in periods)[:10]))
        for point in svc.figure_series(fq.measure, place, window).points:
            if not point.conflict or (point.period_start, point.period_end) not in periods:
                continue
            summary = "; ".join(
                f"{v.value:g} {v.unit} ({len(v.reports)} report{'s' if len(v.reports) != 1 else ''})"
                for v in point.versions)
            for version in point.versions:
                for report in version.reports:
                    out[report.figure_id] = (f"sources disagree on {place}, {point.period_start} to "
                                             f"{point.period_end}: {summary}")
    return out


# ---------------------------------------------------------------- pages
def _sources(request: Request, svc: SearchService) -> list[tuple[str, str]]:
    """(id, name) of the sources to choose from: configured ones, else those in the store."""
    try:
        configured = configured_sources(request.app.state.settings)
    except ConfigError:  # the sources page says what is wrong with the file
        configured = {}
    if configured:
        return [(s.id, s.name) for s in configured.values()]
    facets = svc.search(SearchRequest(size=0, facets=True, highlight=False)).facets.get("sources", [])
    return [(f.value, f.value) for f in facets]


def _row(fig: dict[str, Any], disagreement: str | None) -> dict[str, Any]:
    period = fig.get("period") or {}
    source = fig.get("source") or {}
    sentence = fig.get("sentence") or ""
    written = fig.get("text") or ""
    before, found, after = sentence.partition(written) if written else (sentence, "", "")
    return {"value": fig.get("value"), "unit": fig.get("unit") or "", "measure": fig.get("measure") or "",
            "qualifier": fig.get("qualifier") or "", "period_start": period.get("start") or "",
            "period_end": period.get("end") or "", "period_text": period.get("text") or "",
            "place": fig.get("place") or "", "source_id": source.get("id") or "",
            "source_name": source.get("name") or source.get("id") or "", "published_at": fig.get("published_at"),
            "attribution": fig.get("attribution") or "", "title": fig.get("title") or "",
            "sentence": (before, found, after) if found else (sentence, "", ""),
            "link": sentence_link(fig.get("article_id") or "", fig.get("start")),
            "conflict": disagreement}


@router.get("/figures", response_class=HTMLResponse)
def figures(request: Request, svc: Service) -> HTMLResponse:
    ledger = ledger_form(request)
    rows: list[dict[str, Any]] = []
    next_link = None
    if ledger.query is not None:
        records, cursor = svc.figures(ledger.query)
        flagged = conflicts(svc, ledger.query, records)
        rows = [_row(fig, flagged.get(fig.get("id") or "")) for fig in records]
        if cursor:
            next_link = "/figures" + query_string(ledger.pairs, after=cursor)
    measures = MEASURES if ledger.values["measure"] in ("", *MEASURES) else [*MEASURES, ledger.values["measure"]]
    without_after = [(k, v) for k, v in ledger.pairs if k != "after"]
    context = {
        "form": ledger.values, "errors": ledger.errors, "rows": rows, "measures": measures,
        "sources": _sources(request, svc), "carried": [(k, v) for k, v in ledger.pairs if k in CARRIED],
        "next_link": next_link, "first_link": ("/figures" + query_string(without_after))
        if any(k == "after" for k, _ in ledger.pairs) else None,
        "csv_link": "/figures.csv" + query_string(without_after),
        "measure_chosen": bool(ledger.query and ledger.query.measure),
    }
    return page(request, "figures.html", context, status=422 if ledger.errors else 200,
                title="Figure ledger · dfwatch")


@router.get("/figures.csv", response_class=StreamingResponse)
def figures_csv(request: Request, svc: Service) -> Response:
    """Every figure the ledger's filters select (all pages): the API's figures export as CSV, streamed under
    the same limit on concurrent exports. Invalid filters answer the ledger with its messages."""
    ledger = ledger_form(request)
    if ledger.query is None:
        return figures(request, svc)
    return api.export(request, svc, ("figures", "csv", None, replace(ledger.query, after=None, size=100)))
