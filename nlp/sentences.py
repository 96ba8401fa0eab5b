"""A small rule-based sentence splitter for English and Korean news text (fast, no model)."""

from __future__ import annotations

import re

ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Sen|Rep|St|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|No|Vol|"
                    r"U\.S|U\.K|a\.m|p\.m|e\.g|i\.e|etc|vs|Inc|Ltd|Co|Corp)\.$")
BOUNDARY = re.compile(r"(?<=[.!?。])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9가-힣])|(?<=다\.)\s*|\n+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of `text`."""
    spans, start = [], 0
    for m in BOUNDARY.finditer(text):
        end = m.start()
        if end <= start:
            continue
        if ABBREV.search(text[start:end]):
            continue
        spans.append((start, end))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(s, e) for s, e in ((s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans)
            if text[s:e].strip()]
