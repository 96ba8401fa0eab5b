"""Fields both stores derive from an article document when they write it."""

from __future__ import annotations

from typing import Any

from dfwatch.search.korean import has_hangul, stem_text


def prepare(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as stored: its own fields plus what search filters and Korean recall need.

    - `story_id`: the story the stories stage assigned, or the article's own id (a story of one);
    - `entity_keys`: case-folded entity names, for the case-insensitive `entity:` filter;
    - `figure_count`: for the has-figures filter;
    - `text_ko`: Kiwi stems of a Korean title and text (`dfwatch.search.korean`), unless given.
    """
    out = dict(doc)
    out["story_id"] = doc.get("story_id") or doc["id"]
    out["entity_keys"] = sorted({e["norm"].casefold() for e in doc.get("entities") or [] if e.get("norm")})
    out["figure_count"] = len(doc.get("figures") or [])
    if "text_ko" not in doc:
        body = f"{doc.get('title', '')}\n{doc.get('text', '')}"
        out["text_ko"] = stem_text(body) if doc.get("language") == "ko" or has_hangul(doc.get("title", "")) else ""
    return out
