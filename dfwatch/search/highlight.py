"""Highlights as safe HTML: stores mark matches with sentinels, we escape, then add <mark>.

Both stores ask their engine to wrap matches in two private-use characters that crawled
text cannot carry (`clean` strips them before indexing and before highlighting), so the
fragment can be HTML-escaped whole and only then get its markup.
"""

from __future__ import annotations

import html

PRE, POST = "\ue000", "\ue001"


def clean(text: str) -> str:
    """Text with the sentinel characters removed (apply to crawled text before marking it)."""
    return text.replace(PRE, "").replace(POST, "")


def to_html(fragment: str) -> str:
    """An engine fragment with sentinel-marked matches → escaped HTML with <mark> elements."""
    return html.escape(fragment, quote=True).replace(PRE, "<mark>").replace(POST, "</mark>")
