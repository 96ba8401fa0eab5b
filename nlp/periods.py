"""Time periods in text, resolved against the publication date.

"the first seven months of the year" (published 2024-08-28) → 2024-01-01..2024-07-31;
"last year" → 2023; "올해 1~7월" → 2024-01..2024-07; "a seven-month campaign beginning
this August" → 2024-08..2025-02.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from nlp.numbers import WORDS

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
NUM_WORD = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
YEAR = r"(?:19|20)\d{2}"


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    text: str
    span: tuple[int, int]
    campaign: bool = False  # the period of a campaign the text announces, not of a count

    def iso(self) -> str:
        """'2024-01-01/2024-07-31' (always full days)."""
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "text": self.text}


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def _num(text: str) -> int:
    return int(text) if text.isdigit() else WORDS[text.lower()]


def _month(text: str) -> int:
    return MONTHS[text.lower().rstrip(".")[:3] if text.lower().startswith("sept") else text.lower().rstrip(".")]


def _months(y: int, m1: int, m2: int) -> tuple[date, date]:
    return date(y, m1, 1), month_end(y, m2)


def _year(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 31)


def _year_of_month(month: int, published: date) -> int:
    """A bare month name means the latest such month not after publication."""
    return published.year if month <= published.month else published.year - 1


EN_RULES: list[tuple[re.Pattern[str], object]] = []
KO_RULES: list[tuple[re.Pattern[str], object]] = []


def rule(table: list, pattern: str, first: bool = False):
    """Register a period rule; `first` rules are tried before the others (more specific)."""
    def register(fn):
        entry = (re.compile(pattern, re.IGNORECASE), fn)
        if first:
            table.insert(sum(1 for _, f in table if getattr(f, "_first", False)), entry)
            fn._first = True
        else:
            table.append(entry)
        return fn
    return register


@rule(EN_RULES, rf"\b(?:a|an|the)?\s*({NUM_WORD})-month (?:\w+ ){{0,2}}(?:campaign|crackdown|operation|drive|period)\s+(?:beginning|starting|that (?:began|begins|started|starts)|from|running from)\s+(?:this |in |on )?({MONTH})(?:\s+({YEAR}))?")
def _campaign(m: re.Match[str], pub: date) -> tuple[date, date]:
    n, month = _num(m.group(1)), _month(m.group(2))
    year = int(m.group(3)) if m.group(3) else pub.year
    end_y, end_m = add_months(year, month, n - 1)
    return date(year, month, 1), month_end(end_y, end_m)


@rule(EN_RULES, rf"\b(?:from|between)\s+({MONTH})(?:\s+({YEAR}))?\s+(?:to|and|through|until)\s+({MONTH})(?:,?\s+({YEAR}))?")
def _month_range(m: re.Match[str], pub: date) -> tuple[date, date]:
    m1, m2 = _month(m.group(1)), _month(m.group(3))
    y2 = int(m.group(4)) if m.group(4) else _year_of_month(m2, pub)
    y1 = int(m.group(2)) if m.group(2) else (y2 if m1 <= m2 else y2 - 1)
    return date(y1, m1, 1), month_end(y2, m2)


@rule(EN_RULES, rf"\b(?:in |during |over )?the first ({NUM_WORD}) months of (?:the year|this year|(?:the year )?({YEAR}))")
def _first_months(m: re.Match[str], pub: date) -> tuple[date, date]:
    year = int(m.group(2)) if m.group(2) else pub.year
    return _months(year, 1, _num(m.group(1)))


@rule(EN_RULES, rf"\b(?:in |during |over )?the (first|second) half of (?:the year|this year|last year|({YEAR}))")
def _half(m: re.Match[str], pub: date) -> tuple[date, date]:
    year = int(m.group(2)) if m.group(2) else (pub.year - 1 if "last year" in m.group(0).lower() else pub.year)
    return _months(year, 1, 6) if m.group(1).lower() == "first" else _months(year, 7, 12)


@rule(EN_RULES, rf"\b(?:between|from) ({YEAR}) (?:and|to|through) ({YEAR})\b")
def _year_range(m: re.Match[str], pub: date) -> tuple[date, date]:
    return date(int(m.group(1)), 1, 1), date(int(m.group(2)), 12, 31)


@rule(EN_RULES, r"\b(?:last year|a year earlier|the previous year|the year before|a year ago)\b")
def _last_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(pub.year - 1)


@rule(EN_RULES, r"\b(?:this year|so far this year|year to date)\b")
def _this_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(pub.year)


@rule(EN_RULES, r"\blast month\b")
def _last_month(m: re.Match[str], pub: date) -> tuple[date, date]:
    y, mo = add_months(pub.year, pub.month, -1)
    return _months(y, mo, mo)


@rule(EN_RULES, rf"\b(?:in|during|for|throughout|over|of) (?:all of |the whole of |the year )?({YEAR})\b(?![-–]\d)")
def _in_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(int(m.group(1)))


@rule(EN_RULES, rf"\b(?:in|during|throughout|last|this) ({MONTH})(?:\s+({YEAR}))?\b(?!\s+\d)")
def _in_month(m: re.Match[str], pub: date) -> tuple[date, date]:
    month = _month(m.group(1))
    year = int(m.group(2)) if m.group(2) else _year_of_month(month, pub)
    return _months(year, month, month)


@rule(KO_RULES, r"(올해|지난해|작년|(\d{4})년)?\s*(?:1월부터\s*)?(\d{1,2})\s*[~∼\-–]\s*(\d{1,2})\s*월")
def _ko_month_range(m: re.Match[str], pub: date) -> tuple[date, date]:
    year = _ko_year(m.group(1), m.group(2), pub)
    return _months(year, int(m.group(3)), int(m.group(4)))


@rule(KO_RULES, r"(올해|지난해|작년|(\d{4})년)\s*(상반기|하반기)")
def _ko_half(m: re.Match[str], pub: date) -> tuple[date, date]:
    year = _ko_year(m.group(1), m.group(2), pub)
    return _months(year, 1, 6) if m.group(3) == "상반기" else _months(year, 7, 12)


@rule(KO_RULES, r"(지난해|작년)(?!\s*(?:같은|동기|동월))|전년(?!\s*(?:같은|동기))")
def _ko_last_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(pub.year - 1)


@rule(KO_RULES, r"올해(?!\s*\d)")
def _ko_this_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(pub.year)


@rule(KO_RULES, r"(\d{4})년(?:\s*한\s*해)?(?!\s*\d{1,2}\s*월)")
def _ko_year_only(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(int(m.group(1)))


# ---- more specific rules, tried first ------------------------------------------------
DAY = r"(?:\s+(\d{1,2})(?:st|nd|rd|th)?\b)?"


@rule(EN_RULES, rf"\b(?:from|between)\s+({MONTH}){DAY}(?:,?\s+({YEAR}))?\s+(?:to|and|through|until|till)\s+({MONTH}){DAY}(?:,?\s+({YEAR}))?", first=True)
def _date_range(m: re.Match[str], pub: date) -> tuple[date, date]:
    m1, d1, y1s, m2, d2, y2s = m.groups()
    mo1, mo2 = _month(m1), _month(m2)
    y1 = int(y1s) if y1s else (int(y2s) - (1 if mo1 > mo2 else 0) if y2s else pub.year)
    y2 = int(y2s) if y2s else (y1 + 1 if mo2 < mo1 else y1)
    start = date(y1, mo1, int(d1)) if d1 else date(y1, mo1, 1)
    end = date(y2, mo2, int(d2)) if d2 else month_end(y2, mo2)
    return start, end


@rule(EN_RULES, rf"\b(?:the\s+)?({NUM_WORD})-month (?:\w+ ){{0,3}}?(?:campaign|crackdown|operation|drive)(?: on [\w\s-]+?)?\s+(?:that|which)\s+(?:ended|ends|ran until|ran through|finished)\s+(?:in\s+)?({MONTH})(?:\s+({YEAR}))?", first=True)
def _campaign_ended(m: re.Match[str], pub: date) -> tuple[date, date]:
    n, month = _num(m.group(1)), _month(m.group(2))
    year = int(m.group(3)) if m.group(3) else _year_of_month(month, pub)
    start_y, start_m = add_months(year, month, -(n - 1))
    return date(start_y, start_m, 1), month_end(year, month)


@rule(EN_RULES, rf"\b(?:in |during |over )?the (first|second|third|fourth|1st|2nd|3rd|4th) quarter(?: of (?:the year|this year|last year|({YEAR})))?", first=True)
def _quarter(m: re.Match[str], pub: date) -> tuple[date, date]:
    q = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}[m.group(1).lower()]
    year = int(m.group(2)) if m.group(2) else (pub.year - 1 if "last year" in m.group(0).lower() else pub.year)
    return _months(year, 3 * q - 2, 3 * q)


@rule(EN_RULES, rf"\b(?:the\s+)?({YEAR})[-–/](\d{{2}}) (?:financial|fiscal) year", first=True)
def _financial_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return date(int(m.group(1)), 7, 1), date(int(m.group(1)) + 1, 6, 30)


@rule(EN_RULES, rf"\bsince ({YEAR})\b", first=True)
def _since_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return date(int(m.group(1)), 1, 1), month_end(pub.year, pub.month)


@rule(EN_RULES, r"\bnext year\b", first=True)
def _next_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(pub.year + 1)


KO_YEAR_WORD = r"(?:(올해|지난해|작년|내년|(\d{4})년)\s*)?"


def _ko_year_word(word: str | None, digits: str | None, default: int, pub: date) -> int:
    if digits:
        return int(digits)
    return {"올해": pub.year, "지난해": pub.year - 1, "작년": pub.year - 1, "내년": pub.year + 1}.get(word or "", default)


@rule(KO_RULES, KO_YEAR_WORD + r"(\d{1,2})월\s*(?:(\d{1,2})일\s*)?부터\s*" + KO_YEAR_WORD + r"(\d{1,2})월\s*(?:(\d{1,2})일\s*)?까지", first=True)
def _ko_date_range(m: re.Match[str], pub: date) -> tuple[date, date]:
    w1, y1d, mo1, d1, w2, y2d, mo2, d2 = m.groups()
    y1 = _ko_year_word(w1, y1d, pub.year, pub)
    y2 = _ko_year_word(w2, y2d, y1 + (1 if int(mo2) < int(mo1) else 0), pub)
    start = date(y1, int(mo1), int(d1) if d1 else 1)
    end = date(y2, int(mo2), int(d2)) if d2 else month_end(y2, int(mo2))
    return start, end


KO_COUNT = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7}


@rule(KO_RULES, KO_YEAR_WORD + r"(\d{1,2})월\s*(\d{1,2})일\s*부터\s*(?:(\d{1,2})\s*개월|(한|두|세|네|다섯|여섯|일곱)\s*달)\s*(?:동안|간)", first=True)
def _ko_from_for(m: re.Match[str], pub: date) -> tuple[date, date]:
    word, ydigits, mo, d, n_digits, n_word = m.groups()
    n = int(n_digits) if n_digits else KO_COUNT[n_word]
    start = date(_ko_year_word(word, ydigits, pub.year, pub), int(mo), int(d))
    y, mth = add_months(start.year, start.month, n)
    end = date.fromordinal(date(y, mth, min(start.day, calendar.monthrange(y, mth)[1])).toordinal() - 1)
    return start, end


@rule(KO_RULES, r"(\d{4})년\s*(?:이후|부터)(?![^.]{0,20}까지)", first=True)
def _ko_since(m: re.Match[str], pub: date) -> tuple[date, date]:
    return date(int(m.group(1)), 1, 1), month_end(pub.year, pub.month)


@rule(KO_RULES, r"내년", first=True)
def _ko_next_year(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _year(pub.year + 1)


@rule(EN_RULES, rf"\b(?:in |during |over )?the (?:12 months|twelve months|year) (?:to|through|ending(?: in)?) (?:the end of )?({MONTH})(?:\s+({YEAR}))?", first=True)
def _year_to(m: re.Match[str], pub: date) -> tuple[date, date]:
    month = _month(m.group(1))
    year = int(m.group(2)) if m.group(2) else _year_of_month(month, pub)
    sy, sm = add_months(year, month, -11)
    return date(sy, sm, 1), month_end(year, month)


@rule(EN_RULES, rf"\b(H1|H2|Q1|Q2|Q3|Q4)\s+({YEAR})\b", first=True)
def _short_half_quarter(m: re.Match[str], pub: date) -> tuple[date, date]:
    tag, year = m.group(1).upper(), int(m.group(2))
    if tag.startswith("H"):
        return _months(year, 1, 6) if tag == "H1" else _months(year, 7, 12)
    q = int(tag[1])
    return _months(year, 3 * q - 2, 3 * q)


@rule(EN_RULES, rf"\b(?:in |during |over )?the (?:past|last) ({NUM_WORD}) months\b", first=True)
def _past_months(m: re.Match[str], pub: date) -> tuple[date, date]:
    sy, sm = add_months(pub.year, pub.month, -_num(m.group(1)))
    return date(sy, sm, 1), pub


@rule(EN_RULES, rf"\b(?:in |during |over )?the first ({NUM_WORD}) months\b(?! of)", first=True)
def _first_months_bare(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _months(pub.year, 1, _num(m.group(1)))


@rule(KO_RULES, r"(?:올해|올)\s*들어\s*(\d{1,2})월\s*(?:(\d{1,2})일\s*)?까지|올해\s*(\d{1,2})월\s*(?:(\d{1,2})일\s*)?까지", first=True)
def _ko_this_year_until(m: re.Match[str], pub: date) -> tuple[date, date]:
    month = int(m.group(1) or m.group(3))
    day = m.group(2) or m.group(4)
    return date(pub.year, 1, 1), date(pub.year, month, int(day)) if day else month_end(pub.year, month)


@rule(KO_RULES, r"(\d{4})년\s*(?:(\d{1,2})월\s*)?부터\s*(?:(\d{4})년\s*)?(?:(\d{1,2})월\s*)?까지", first=True)
def _ko_year_range(m: re.Match[str], pub: date) -> tuple[date, date]:
    y1, m1, y2, m2 = m.groups()
    end_year = int(y2) if y2 else pub.year
    start = date(int(y1), int(m1) if m1 else 1, 1)
    end = month_end(end_year, int(m2)) if m2 else date(end_year, 12, 31)
    return start, end


@rule(KO_RULES, r"지난달", first=True)
def _ko_last_month(m: re.Match[str], pub: date) -> tuple[date, date]:
    y, mo = add_months(pub.year, pub.month, -1)
    return _months(y, mo, mo)


@rule(KO_RULES, r"이달|이번\s*달", first=True)
def _ko_this_month(m: re.Match[str], pub: date) -> tuple[date, date]:
    return date(pub.year, pub.month, 1), pub


@rule(KO_RULES, r"(?:(올해|지난해|작년|(\d{4})년)\s*)?(\d{1,2})월\s*한\s*달\s*(?:동안|간)?", first=True)
def _ko_one_month(m: re.Match[str], pub: date) -> tuple[date, date]:
    month = int(m.group(3))
    year = _ko_year(m.group(1), m.group(2), pub) if m.group(1) else _year_of_month(month, pub)
    return _months(year, month, month)


@rule(KO_RULES, r"(?<![가-힣])(상반기|하반기)", first=False)
def _ko_half_bare(m: re.Match[str], pub: date) -> tuple[date, date]:
    return _months(pub.year, 1, 6) if m.group(1) == "상반기" else _months(pub.year, 7, 12)


def _ko_year(word: str | None, digits: str | None, pub: date) -> int:
    if digits:
        return int(digits)
    if word in ("지난해", "작년"):
        return pub.year - 1
    return pub.year


SAME_PERIOD_LAST_YEAR = re.compile(r"(?:지난해|작년|전년)\s*(?:같은\s*기간|동기)|(?:the )?same period (?:of |in )?(?:last year|a year earlier|the previous year)", re.I)


def find_periods(text: str, published: date, lang: str = "en") -> list[Period]:
    """Every period expression in `text`, longest match first where they overlap.

    "지난해 같은 기간" / "the same period last year" is the first period found, a year earlier.
    """
    found = _find(text, published, lang)
    first = next((p for p in found if not p.campaign), None)
    for m in SAME_PERIOD_LAST_YEAR.finditer(text):
        if first is not None and not any(p.span[0] < m.end() and m.start() < p.span[1] for p in found):
            start = first.start.replace(year=first.start.year - 1)
            end = month_end(first.end.year - 1, first.end.month) if first.end.day >= 28 else first.end.replace(year=first.end.year - 1)
            found.append(Period(start, end, m.group(0), m.span()))
    return sorted(found, key=lambda p: p.span)


def _find(text: str, published: date, lang: str) -> list[Period]:
    found: list[Period] = []
    taken: list[tuple[int, int]] = []
    for pattern, fn in (KO_RULES if lang == "ko" else EN_RULES):
        for m in pattern.finditer(text):
            span = m.span()
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue
            try:
                start, end = fn(m, published)  # type: ignore[operator]
            except (KeyError, ValueError):
                continue
            found.append(Period(start, end, m.group(0).strip(), span, campaign=fn in (_campaign, _campaign_ended)))
            taken.append(span)
    return sorted(found, key=lambda p: p.span)
