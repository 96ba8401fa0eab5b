"""The search syntax users type, parsed once and rendered for each store.

Words are ANDed; "a phrase" matches words in order; `a OR b` matches either; `-word`
excludes. Only the words (\\w+ runs) of each term reach a store, so user input can never
inject the store's own operators, fields or functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOKEN = re.compile(r'-?"[^"]*"?|\S+')


@dataclass(frozen=True)
class Parsed:
    groups: list[list[tuple[str, ...]]] = field(default_factory=list)  # AND of ORs of word runs
    excluded: list[tuple[str, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.groups)


def parse(text: str) -> Parsed:
    parsed = Parsed()
    pending_or = False
    for raw in TOKEN.findall(text):
        if raw == "OR":
            pending_or = bool(parsed.groups)
            continue
        negative = raw.startswith("-") and len(raw) > 1
        words = tuple(re.findall(r"\w+", raw[1:] if negative else raw))
        if not words:
            continue
        if negative:
            parsed.excluded.append(words)
        elif pending_or:
            parsed.groups[-1].append(words)
        else:
            parsed.groups.append([words])
        pending_or = False
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
