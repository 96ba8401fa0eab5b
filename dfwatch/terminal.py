"""Printing crawled text to a terminal: it is untrusted, so control characters go."""


def safe_line(text: str | None) -> str:
    """Drop control and escape characters (ANSI sequences, bidi tricks stay harmless)."""
    return "".join(ch for ch in (text or "") if ch.isprintable() or ch == " ")
