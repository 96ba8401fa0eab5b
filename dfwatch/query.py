"""The search syntax users type, parsed once and rendered for each store.

- Words are ANDed (`AND` may be written); "a phrase" matches words in order.
- `a OR b` matches either; `NOT word` or `-word` excludes.
- `field:value` or `field:"two words"` filters on source, type, country, lang, entity or
  topic; values of one field are ORed, different fields ANDed; `-field:value` excludes.

Only the words (\\w+ runs) of each term reach a store's full-text engine, and field values
are passed as exact-match parameters, so user input can never inject the store's own
operators, fields or functions. An unknown `field:value` is searched as words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOKEN = re.compile(r'-?\w+:"[^"]*"?|-?"[^"]*"?|\S+')
FIELDS = ("source", "type", "country", "lang", "entity", "topic")
FIELD_TERM = re.compile(r'^(-?)(\w+):(.+)$')


@dataclass(frozen=True)
class Parsed:
    groups: list[list[tuple[str, ...]]] = field(default_factory=list)  # AND of ORs of word runs
    excluded: list[tuple[str, ...]] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)  # field -> values (ORed)
    excluded_fields: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.groups)


def _field_term(raw: str) -> tuple[bool, str, str] | None:
    match = FIELD_TERM.match(raw)
    if not match or match.group(2).lower() not in FIELDS:
        return None
    value = match.group(3).strip('"').strip()
    if not value:
        return None
    return match.group(1) == "-", match.group(2).lower(), value


def parse(text: str) -> Parsed:
    parsed = Parsed()
    pending_or = pending_not = False
    for raw in TOKEN.findall(text):
        if raw in ("OR", "AND", "NOT"):
            pending_or = raw == "OR" and bool(parsed.groups)
            pending_not = raw == "NOT"
            continue
        fielded = _field_term(raw)
        if fielded:
            negative, name, value = fielded
            target = parsed.excluded_fields if negative or pending_not else parsed.fields
            target.setdefault(name, []).append(value)
            pending_or = pending_not = False
            continue
        negative = pending_not or (raw.startswith("-") and len(raw) > 1)
        body = raw[1:] if raw.startswith("-") and len(raw) > 1 else raw
        words = tuple(re.findall(r"\w+", body))
        if not words:
            continue
        if negative:
            parsed.excluded.append(words)
        elif pending_or:
            parsed.groups[-1].append(words)
        else:
            parsed.groups.append([words])
        pending_or = pending_not = False
    return parsed


def to_fts5(parsed: Parsed) -> str | None:
    """An SQLite FTS5 MATCH expression (every term quoted), or None for no positive term."""
    if not parsed:
        return None
    quote = lambda words: '"' + " ".join(words) + '"'  # noqa: E731
    expr = " AND ".join("(" + " OR ".join(map(quote, g)) + ")" for g in parsed.groups)
    for words in parsed.excluded:
        expr = f"{expr} NOT {quote(words)}"
    return expr


def to_simple_query_string(parsed: Parsed) -> str:
    """Elasticsearch simple_query_string text (with default_operator=and)."""
    def term(words: tuple[str, ...]) -> str:
        return words[0] if len(words) == 1 else '"' + " ".join(words) + '"'

    parts = ["(" + " | ".join(map(term, g)) + ")" for g in parsed.groups]
    parts += [f"-{term(w)}" for w in parsed.excluded]
    return " ".join(parts)
