"""Numbers as people write them: 220,000 · five · 50 million · 1.5 billion · 22만 · 5천만 · 3,000만."""

from __future__ import annotations

import re

WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100, "a hundred": 100, "dozen": 12, "a dozen": 12,
}
SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "mn": 1e6, "bn": 1e9,
          "m": 1e6, "b": 1e9, "k": 1e3}
KO_SMALL = {"십": 10, "백": 100, "천": 1000}
KO_LARGE = {"만": 1e4, "억": 1e8, "조": 1e12}

# the numeric part of an English figure: digits (with thousands separators) or number words
EN_NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|a hundred|hundred|a dozen|dozen"
)
EN_SCALE = r"(?:thousand|million|billion|trillion|mn|bn)"
# a Korean amount: 297 · 22만 · 5천만 · 3,000만 · 1억 5천만 · 2.5억
KO_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?[십백천])?(?:\s?[만억조](?:\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\s?[십백천])?)?)*"


def parse_en(number: str, scale: str | None = None) -> float | None:
    """'220,000' → 220000; 'five' → 5; ('50', 'million') → 5e7; 'twenty-one' → 21."""
    text = number.strip().lower()
    if re.fullmatch(r"[\d,]+(?:\.\d+)?", text):
        value = float(text.replace(",", ""))
    elif "-" in text and all(p in WORDS for p in text.split("-")):
        value = float(sum(WORDS[p] for p in text.split("-")))
    elif text in WORDS:
        value = float(WORDS[text])
    else:
        return None
    if scale:
        value *= SCALES[scale.lower()]
    return value


def parse_ko(number: str) -> float | None:
    """'22만' → 220000; '5천만' → 5e7; '3,000만' → 3e7; '1억 5천만' → 1.5e8; '297' → 297."""
    text = re.sub(r"\s+", "", number).replace(",", "")
    total, section = 0.0, 0.0
    for m in re.finditer(r"(\d+(?:\.\d+)?)?([십백천만억조])?", text):
        digits, unit = m.group(1), m.group(2)
        if not digits and not unit:
            continue
        value = float(digits) if digits else 1.0
        if unit in KO_SMALL:
            section += value * KO_SMALL[unit]
        elif unit in KO_LARGE:
            total += (section + (value if digits else 0) or 1.0) * KO_LARGE[unit]
            section = 0.0
        else:
            section += value
    result = total + section
    return result if result or text.startswith("0") else None
