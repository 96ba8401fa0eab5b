"""A search request as SQL over `articles a`: the FTS5 expression, filter clauses, date buckets.

User text reaches SQLite only as bound parameters: words as quoted FTS5 strings
(`query.to_fts5`), filter values as `?` parameters.
"""

# SQL is assembled from fixed fragments chosen in code; every user value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from dfwatch.query import Parsed, to_fts5
from dfwatch.search.korean import has_hangul, stem_words
from dfwatch.search.model import Filters, SearchRequest, decode_cursor

COLUMNS = {"source": "a.source_id", "source_type": "a.source_type", "country": "a.country", "lang": "a.lang",
           "story_id": "a.story_id"}
BUCKETS = {
    "day": "substr({c}, 1, 10)",
    "week": "date(substr({c}, 1, 10), '-6 days', 'weekday 1')",  # the Monday on or before
    "month": "substr({c}, 1, 7) || '-01'",
    "quarter": "substr({c}, 1, 5) || printf('%02d', (CAST(substr({c}, 6, 2) AS INTEGER) + 2) / 3 * 3 - 2) || '-01'",
    "year": "substr({c}, 1, 4) || '-01-01'",
}
SCORE = "-bm25(articles_fts, 3.0, 2.0, 1.0, 1.0)"  # title, lead, text, text_ko
DATE_KEY = "ifnull(a.published_at, '')"  # date order: newest first, undated last


def bucket(interval: str, column: str = "a.published_at") -> str:
    if interval not in BUCKETS:
        raise ValueError(f"interval must be one of {', '.join(BUCKETS)}")
    return BUCKETS[interval].format(c=column)


@lru_cache(maxsize=8192)
def _key(day: str, interval: str) -> str:
    if interval == "week":
        d = date.fromisoformat(day)
        return (d - timedelta(days=d.weekday())).isoformat()
    if interval == "quarter":
        return f"{day[:5]}{(int(day[5:7]) - 1) // 3 * 3 + 1:02d}-01"
    return {"day": day, "month": f"{day[:7]}-01", "year": f"{day[:4]}-01-01"}[interval]


def bucket_key(interval: str) -> Callable[[str], str]:
    """The bucket key (its first day) of a day `YYYY-MM-DD`, as the SQL of `bucket()` computes it."""
    bucket(interval)  # validates
    return lambda day: _key(day, interval)


def bucket_end(key: str, interval: str) -> str:
    """The first day after the bucket that starts on `key`."""
    d = date.fromisoformat(key)
    if interval in ("day", "week"):
        return (d + timedelta(days=1 if interval == "day" else 7)).isoformat()
    months = {"month": 1, "quarter": 3, "year": 12}[interval]
    year, month = divmod(d.month - 1 + months, 12)
    return date(d.year + year, month + 1, 1).isoformat()


def stemmed(parsed: Parsed) -> Parsed:
    """Hangul query words as their Kiwi stems, matching the indexed `text_ko`."""
    def stem(words: tuple[str, ...]) -> tuple[str, ...]:
        return stem_words(words) if any(has_hangul(w) for w in words) else words

    return Parsed(groups=[[stem(w) for w in g] for g in parsed.groups], excluded=[stem(w) for w in parsed.excluded])


@dataclass
class Match:
    """Which articles a request matches.

    `fts` is the MATCH expression of its positive words (None without words); `filters` and
    `params` are the other conditions over `articles a` (ANDed, "1" for none).
    """

    fts: str | None
    filters: str
    params: list[Any] = field(default_factory=list)

    @property
    def everything(self) -> bool:
        return self.fts is None and self.filters == "1"

    def where(self) -> tuple[str, list[Any]]:
        """All conditions over `articles a` alone (the FTS match as a rowid subquery)."""
        if self.fts is None:
            return self.filters, list(self.params)
        return (f"a.rid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?) AND {self.filters}",
                [self.fts, *self.params])

    def source(self) -> tuple[str, str, list[Any]]:
        """FROM, WHERE and parameters that also make the FTS row (and `bm25`) available when there are words."""
        if self.fts is None:
            return "articles a", self.filters, list(self.params)
        return ("articles_fts JOIN articles a ON a.rid = articles_fts.rowid",
                f"articles_fts MATCH ? AND {self.filters}", [self.fts, *self.params])


def _condition(attr: str, values: tuple[str, ...] | list[str]) -> tuple[str, list[Any]]:
    marks = ", ".join("?" * len(values))
    if attr in COLUMNS:
        return f"{COLUMNS[attr]} IN ({marks})", list(values)
    if attr == "entity":
        return (f"a.rid IN (SELECT ae.article FROM entities e JOIN article_entities ae ON ae.eid = e.eid "
                f"WHERE e.key IN ({marks}))", [v.casefold() for v in values])
    if attr == "topic":
        return f"a.rid IN (SELECT article FROM article_topics WHERE topic IN ({marks}))", list(values)
    raise ValueError(f"cannot filter on {attr!r}")


def match(req: SearchRequest) -> Match:
    parsed = stemmed(req.parsed)
    f = req.effective_filters()
    clauses: list[str] = []
    params: list[Any] = []

    def add(sql: str, values: list[Any]) -> None:
        clauses.append(sql)
        params.extend(values)

    if not parsed and not parsed.excluded and req.q.strip() and not re.search(r"\w", req.q):
        add("a.rid < 0", [])  # only punctuation: nothing (rowids are positive), as on Elasticsearch
    elif not parsed and parsed.excluded:  # only exclusions: everything but their matches
        add("a.rid NOT IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)",
            [" OR ".join('"' + " ".join(w) + '"' for w in parsed.excluded)])
    filters(f, add)
    return Match(to_fts5(parsed), " AND ".join(clauses) or "1", params)


def filters(f: Filters, add: Any) -> None:
    if f.date_from:
        add("a.published_at >= ?", [f.date_from.isoformat()])
    if f.date_to:
        add("a.published_at < ?", [(f.date_to + timedelta(days=1)).isoformat()])
    for attr in ("source", "source_type", "country", "lang", "entity", "topic"):
        if getattr(f, attr):
            add(*_condition(attr, getattr(f, attr)))
    if f.has_figures is not None:
        add("a.figure_count > 0" if f.has_figures else "a.figure_count = 0", [])
    if f.story_id:
        add("a.story_id = ?", [f.story_id])
    excluded: dict[str, list[str]] = {}
    for attr, value in f.exclude:
        excluded.setdefault(attr, []).append(value)
    for attr, values in excluded.items():
        sql, values_ = _condition(attr, values)
        add(f"NOT ({sql})", values_)


def cursor(after: str | None, kinds: tuple[Any, ...]) -> list[Any] | None:
    """A decoded cursor whose values have the given types (None allowed); ValueError otherwise."""
    if not after:
        return None
    values = decode_cursor(after)
    if len(values) != len(kinds) or not all(v is None or isinstance(v, k) for v, k in zip(values, kinds, strict=True)):
        raise ValueError("invalid cursor")
    return values
