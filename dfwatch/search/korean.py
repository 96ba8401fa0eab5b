"""Korean recall without a Korean analyser: each eojeol (space-separated word) becomes its stem.

Korean attaches particles and endings to words (딥페이크를, 성범죄가, 접수됐다), so a
whitespace or standard tokenizer never matches 딥페이크 against 딥페이크를. The minimal
Elasticsearch node and SQLite FTS5 have no Korean analyser, so dfwatch tokenises with
Kiwi itself: an eojeol's stem is the run of its leading content morphemes, joined
(딥+페이크+를 → 딥페이크, 성+범죄+가 → 성범죄, 접수+되+었+다 → 접수). Documents are
indexed, and queries searched, as these stems, one per eojeol, so phrases still match
in order and Kiwi's context-dependent splits of compounds (성범죄 vs 성+범죄) cancel out.
"""

from __future__ import annotations

import re

from nlp.kiwi import kiwi

HANGUL = re.compile(r"[\uac00-\ud7a3]")
CONTENT = ("NN", "NR", "NP", "SL", "SN", "SH", "XR", "XPN", "VV", "VA", "MAG", "MM")


def has_hangul(text: str) -> bool:
    return bool(HANGUL.search(text))


def stems(text: str) -> list[str]:
    """The stem of every eojeol with Hangul in it, in order; other words are left out."""
    out: list[str] = []
    tokens = kiwi().tokenize(text)
    i = 0
    for word in re.finditer(r"\S+", text):
        if not HANGUL.search(word.group()):
            continue
        start, end = word.span()
        while i < len(tokens) and tokens[i].start < start:
            i += 1
        parts: list[str] = []
        j = i
        while j < len(tokens) and tokens[j].start < end:
            tok = tokens[j]
            if tok.tag.startswith(CONTENT):
                parts.append(tok.form)
            elif parts:
                break
            j += 1
        if parts:
            out.append("".join(parts))
    return out


def stem_text(text: str) -> str:
    """The field value dfwatch indexes for Korean documents: stems separated by spaces."""
    return " ".join(stems(text)) if has_hangul(text) else ""


def stem_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """A query term's word run with every Hangul word replaced by its stem (for phrases too)."""
    return tuple((stems(w) or [w])[0] if has_hangul(w) else w for w in words)
