"""The figure ledger: every statistic or penalty in a text as a typed record.

Each figure has a value, unit, normalised measure, qualifier, period (resolved against
the publication date), place, attribution, and the sentence and character span it came
from. English and Korean rules share the record and the period/measure logic.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from nlp.measures import attribution, measure_of, takes_period
from nlp.numbers import EN_NUMBER, EN_SCALE, KO_NUMBER, parse_en, parse_ko
from nlp.periods import Period, find_periods
from nlp.sentences import split_sentences


@dataclass
class Figure:
    value: float
    unit: str
    measure: str
    qualifier: str | None
    text: str
    start: int
    end: int
    sentence: str
    period: dict[str, str] | None = None
    place: str | None = None
    attribution: str | None = None
    _period_iso: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_period_iso")
        d["value"] = int(self.value) if float(self.value).is_integer() else self.value
        return d


# ---------------------------------------------------------------- English
PEOPLE = (r"people|persons|individuals|suspects|teenagers|teens|minors|students|victims|women|girls|men|boys|"
          r"perpetrators|offenders|defendants|users|children|adults|soldiers|teachers|officers|accounts?")
UNIT_NOUNS = (rf"cases|case|reports|complaints|{PEOPLE}|members|subscribers|participants|videos|images|photos|"
              r"pictures|clips|files|posts|items|materials|pieces|requests|channels|chatrooms|chat rooms|rooms|groups|"
              r"sites|websites|schools|arrests|incidents|crimes|offences|offenses|takedowns|deletions|"
              r"kilograms|kg|grams|tons|years|year|months|month|weeks|days|hours|percent|per cent|percentage points|times")
QUAL_BEFORE = {
    "approx": r"about|around|roughly|approximately|some|an estimated|estimated|circa|close to",
    "more_than": r"more than|over|upwards of|at least|in excess of|above|exceeding",
    "less_than": r"less than|fewer than|under|below",
    "up_to": r"up to|as many as|as much as|a maximum of|maximum of|at most|no more than",
    "nearly": r"nearly|almost|just under|close to",
}
QUAL_RE = "|".join(f"(?P<{k}>{v})" for k, v in QUAL_BEFORE.items())
CURRENCY_SYM = {"$": "USD", "US$": "USD", "£": "GBP", "€": "EUR", "₩": "KRW", "W": "KRW", "¥": "JPY"}
CURRENCY_WORD = {"won": "KRW", "dollars": "USD", "dollar": "USD", "usd": "USD", "euros": "EUR", "euro": "EUR",
                 "eur": "EUR", "pounds": "GBP", "gbp": "GBP", "krw": "KRW", "yen": "JPY"}
ADJ = r"(?:[a-z]+(?:-[a-z]+)?\s+){0,3}?"

EN_FIGURE = re.compile(
    rf"(?:(?:{QUAL_RE})\s+)?"
    rf"(?P<cur>US\$|\$|£|€|₩)?\s?"
    rf"(?P<num>{EN_NUMBER})(?:\s?(?P<scale>{EN_SCALE})\b)?"
    rf"(?:\s?(?P<curword>won|dollars?|euros?|pounds|USD|KRW|EUR|GBP|yen)\b"
    rf"|(?:-|\s)(?P<dur>year|month|week|day)s?(?=[-\s]+(?!old\b)[a-z])(?!-old)"
    rf"|\s?(?P<pct>%|percent|per cent|percentage points)"
    rf"|\s+(?:(?:are|were|of them|of whom|of those|of these)\s+)?{ADJ}(?P<noun>{UNIT_NOUNS})\b"
    rf"|(?=\s+(?:are|were|was|is)\s+(?P<pred>{PEOPLE})\b)"
    r"|(?(cur)|(?!)))",  # a currency symbol needs no unit word after the amount
    re.IGNORECASE,
)
NOT_FIGURE_AFTER = re.compile(r"^(?:-|\s)(?:years?|months?)[-\s]old|^(?:st|nd|rd|th)\b|^\s?(?:a\.m|p\.m)", re.I)
NOT_FIGURE_BEFORE = re.compile(
    r"(?:\b(?:aged|age|ages|article|articles|section|no\.|number|page|chapter|paragraph|clause|room|at)\s*$"
    rf"|\b{'|'.join(['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sept?', 'oct', 'nov', 'dec'])}\.?\s*$)",
    re.I,
)
NOUN_UNIT = {"case": "cases", "chat rooms": "chatrooms", "kg": "kilograms", "per cent": "percent",
             "percentage points": "percentage points", "%": "percent", "year": "years", "month": "months"}


def _en_unit(m: re.Match[str]) -> str | None:
    if m.group("cur"):
        return CURRENCY_SYM[m.group("cur")]
    if m.group("curword"):
        return CURRENCY_WORD[m.group("curword").lower()]
    if m.group("pct"):
        return NOUN_UNIT.get(m.group("pct").lower(), "percent")
    if m.group("dur"):
        return m.group("dur").lower() + "s"
    noun = (m.group("noun") or m.group("pred") or "").lower()
    if not noun:
        return None
    if re.fullmatch(PEOPLE, noun):
        return "people"
    return NOUN_UNIT.get(noun, noun)


def _en_qualifier(m: re.Match[str]) -> str | None:
    return next((k for k in QUAL_BEFORE if m.group(k)), None)


def extract_en(text: str, published: date) -> list[Figure]:
    figures: list[Figure] = []
    for s_start, s_end in split_sentences(text):
        sentence = text[s_start:s_end]
        for m in EN_FIGURE.finditer(sentence):
            num = m.group("num")
            unit = _en_unit(m)
            if unit is None or NOT_FIGURE_AFTER.match(sentence[m.end("num"):]):
                continue
            if NOT_FIGURE_BEFORE.search(sentence[:m.start("num")].rstrip("$£€₩ ")):
                continue
            if re.fullmatch(r"(?:19|20)\d{2}", num) and unit not in ("cases", "people") and not m.group("cur"):
                continue  # a year, not a count
            value = parse_en(num, m.group("scale"))
            if value is None:
                continue
            start = s_start + m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            figures.append(Figure(value=value, unit=unit, measure="", qualifier=_en_qualifier(m),
                                  text=m.group(0).strip(), start=start, end=s_start + m.end(), sentence=sentence))
    return figures


def _conversions(figures: list[Figure], text: str) -> None:
    """'a fine of 50 million won ($37,500)': the bracketed amount shares the qualifier."""
    for prev, fig in zip(figures, figures[1:], strict=False):
        between = text[prev.end:fig.start]
        if re.fullmatch(r"\s*\(\s*(?:about|around|roughly|approximately|or)?\s*", between, re.I) \
                and prev.unit != fig.unit and fig.qualifier is None:
            fig.qualifier = prev.qualifier


# ---------------------------------------------------------------- Korean
KO_COUNTERS = {"건": "cases", "명": "people", "개": "items", "회": "times", "원": "KRW", "달러": "USD",
               "유로": "EUR", "%": "percent", "퍼센트": "percent", "개월": "months", "년": "years",
               "배": "times", "편": "videos", "장": "images", "곳": "places", "차례": "times"}
KO_FIGURE = re.compile(
    rf"(?P<pre>약|최대|최소|총|무려|모두)?\s*(?P<num>{KO_NUMBER})\s?"
    r"(?P<counter>개월|달러|유로|퍼센트|차례|건|명|개|회|원|%|년|배|편|장|곳)"
    r"(?P<post>\s?(?:이상|이하|미만|가량|여|넘게|넘는|남짓|가까이|안팎|초과|정도|육박))?"
)
KO_QUAL_PRE = {"약": "approx", "최대": "up_to", "최소": "more_than"}
KO_QUAL_POST = {"이상": "more_than", "넘게": "more_than", "넘는": "more_than", "초과": "more_than", "여": "approx",
                "이하": "up_to", "미만": "less_than", "가량": "approx", "남짓": "approx", "안팎": "approx",
                "정도": "approx", "가까이": "nearly", "육박": "nearly"}


def extract_ko(text: str, published: date) -> list[Figure]:
    figures: list[Figure] = []
    for s_start, s_end in split_sentences(text):
        sentence = text[s_start:s_end]
        for m in KO_FIGURE.finditer(sentence):
            counter, num = m.group("counter"), m.group("num")
            after = sentence[m.end("counter"):]
            before = sentence[:m.start("num")]
            if counter == "년" and (re.match(r"\s*\d{1,2}\s*월", after) or not re.search(r"(징역|금고|형|실형|이하|최대)\s*$", before)):
                continue  # 2024년 8월: a date; only prison terms count as years
            if counter == "회" and re.search(r"제\s*$", before):
                continue  # 제22회: an ordinal
            if re.search(r"(제|만)\s*$", before) or re.match(r"\s*(세|살|대\b|차|조|항|호|일|시|분)", after):
                continue
            if counter == "명" and re.search(r"\d\s*$", before):
                continue
            value = parse_ko(num)
            if value is None:
                continue
            qual = KO_QUAL_PRE.get(m.group("pre") or "") or KO_QUAL_POST.get((m.group("post") or "").strip())
            if counter == "원" and re.search(r"벌금", sentence) and re.search(r"이하", after[:6]) and qual is None:
                qual = "up_to"
            unit = KO_COUNTERS[counter]
            start = s_start + m.start("pre") if m.group("pre") else s_start + m.start("num")
            figures.append(Figure(value=value, unit=unit, measure="", qualifier=qual,
                                  text=text[start:s_start + m.end()].strip(), start=start,
                                  end=s_start + m.end(), sentence=sentence))
    return figures


# ---------------------------------------------------------------- shared
def extract_figures(text: str, published: date, lang: str = "en", place: str | None = None) -> list[Figure]:
    """All figures of `text`, with measure, period, attribution and place filled in."""
    figures = extract_ko(text, published) if lang == "ko" else extract_en(text, published)
    periods = find_periods(text, published, lang)
    figures = _claim_period_words(figures, periods)
    primary = next((p for p in periods if not p.campaign), None)
    _penalty_qualifiers(figures, lang)
    _conversions(figures, text)
    for fig in figures:
        fig.measure = measure_of(fig, lang)
        own = next((p for p in periods if p.campaign and p.span[0] <= fig.start < p.span[1]), None)
        if own is not None:  # "a seven-month campaign beginning this August"
            fig.period, fig._period_iso = own.as_dict(), own.iso()
        elif takes_period(fig.measure, fig.unit):
            period = _nearest_period(fig, figures, periods, lang) or primary
            if period is not None:
                fig.period = period.as_dict()
                fig._period_iso = period.iso()
        fig.attribution = attribution(fig.sentence, text, lang)
        fig.place = place
    return figures


def _claim_period_words(figures: list[Figure], periods: list[Period]) -> list[Figure]:
    """'the first seven months of the year' is a period, not a figure (campaign lengths stay)."""
    return [f for f in figures
            if not any(p.span[0] <= f.start < p.span[1] and not p.campaign for p in periods)]


def _nearest_period(fig: Figure, figures: list[Figure], periods: list[Period], lang: str) -> Period | None:
    """The period expression that belongs to this figure: in its sentence, not claimed by a closer figure."""
    sent_start = fig.start - fig.sentence.find(fig.text) if fig.text in fig.sentence else fig.start
    sent_end = sent_start + len(fig.sentence)
    best, best_cost = None, float("inf")
    for p in periods:
        if p.campaign:
            continue
        if not (sent_start <= p.span[0] < sent_end):
            continue
        if p.span[0] >= fig.end:
            cost = p.span[0] - fig.end + (15 if lang == "ko" else 0)  # Korean puts the period first
            between = [f for f in figures if fig.end <= f.start < p.span[0] and takes_period(f.measure, f.unit)]
        else:
            cost = fig.start - p.span[1] + (0 if lang == "ko" else 15)  # English: the period usually follows
            between = [f for f in figures if p.span[1] <= f.start < fig.start and takes_period(f.measure, f.unit)]
        cost += 200 * len(between)
        if cost < best_cost:
            best, best_cost = p, cost
    return best


def _penalty_qualifiers(figures: list[Figure], lang: str) -> None:
    """'up to five years in prison or a fine of 50 million won': the ceiling covers the fine too."""
    for fig, nxt in zip(figures, figures[1:], strict=False):
        if fig.qualifier == "up_to" and nxt.qualifier is None and fig.sentence == nxt.sentence:
            between = fig.sentence[fig.sentence.find(fig.text) + len(fig.text):fig.sentence.find(nxt.text)]
            if re.search(r"\bor\b.*\bfine|벌금", between, re.I):
                nxt.qualifier = "up_to"
