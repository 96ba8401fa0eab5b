"""Language of a text or passage: 'ko' for mostly-Hangul text, else 'en'."""

from __future__ import annotations

import re

HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    hangul, latin = len(HANGUL.findall(text)), len(LATIN.findall(text))
    return "ko" if hangul > latin / 3 else "en"
