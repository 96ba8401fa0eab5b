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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Figure:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "_period_iso"}
        return cls(**known, _period_iso=d.get("period_iso"))

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
    "more_than": r"more than|over|upwards of|at least|in excess of|above|exceeding|passed|passing|surpassed|surpassing|topped|topping|exceeded",
    "less_than": r"less than|fewer than|under|below",
    "up_to": r"up to|as many as|as much as|a maximum of|maximum of|at most|no more than|within",
    "nearly": r"nearly|almost|just under|close to",
}
QUAL_RE = "|".join(f"(?P<{k}>{v})" for k, v in QUAL_BEFORE.items())
CURRENCY_SYM = {"$": "USD", "US$": "USD", "£": "GBP", "€": "EUR", "₩": "KRW", "W": "KRW", "¥": "JPY",
                "A$": "AUD", "AU$": "AUD", "C$": "CAD", "HK$": "HKD", "S$": "SGD", "NZ$": "NZD"}
CURRENCY_WORD = {"won": "KRW", "dollars": "USD", "dollar": "USD", "usd": "USD", "euros": "EUR", "euro": "EUR",
                 "eur": "EUR", "pounds": "GBP", "gbp": "GBP", "krw": "KRW", "yen": "JPY"}
FUNCTION_WORDS = (r"of|in|within|to|for|from|at|by|on|with|a|an|the|and|or|than|was|were|is|are|be|been|had|has|"
                  r"have|this|that|these|those|who|which|per|each|every|after|before|during|over|under|into")
ADJ = rf"(?:(?!(?:{FUNCTION_WORDS})\b)[a-z]+(?:-[a-z]+)?\s+){{0,3}}?"  # e.g. 'sexually explicit'
NOT_NOUNS = frozenset({"this", "does", "goes", "says", "makes", "takes", "gives", "comes", "seems", "uses", "yes",
                       "was", "has", "is", "its", "his", "hers", "ours", "yours", "theirs", "as", "us", "less",
                       "plus", "minus", "across", "always", "perhaps", "besides", "towards", "unless", "whereas"})

EN_FIGURE = re.compile(
    rf"(?:(?:{QUAL_RE})\s+)?"
    rf"(?P<cur>US\$|AU?\$|C\$|HK\$|S\$|NZ\$|\$|£|€|₩)?\s?"
    rf"(?<!\w)(?P<num>{EN_NUMBER})(?:\s?(?P<scale>{EN_SCALE})\b)?"
    rf"(?:\s?(?P<curword>won|dollars?|euros?|pounds|USD|KRW|EUR|GBP|yen)\b"
    rf"|(?:-|\s)(?P<dur>year|month|week|day)s?(?=[-\s]+(?!old\b)[a-z])(?!-old)"
    rf"|\s?(?P<pct>%|percent|per cent|percentage points)"
    rf"|\s+(?:(?:are|were|of them|of whom|of those|of these)\s+)?{ADJ}(?P<noun>{UNIT_NOUNS})\b"
    rf"|\s+{ADJ}(?P<gnoun>[a-z]{{2,}}s)\b"
    rf"|(?=\s+(?:are|were|was|is)\s+(?P<pred>{PEOPLE})\b)"
    r"|(?(cur)|(?!)))",  # a currency symbol needs no unit word after the amount
    re.IGNORECASE,
)
NOT_FIGURE_AFTER = re.compile(r"^(?:-|\s)(?:years?|months?)[-\s]old|^(?:st|nd|rd|th)\b|^\s?(?:a\.m|p\.m)", re.I)
NOT_FIGURE_BEFORE = re.compile(
    r"(?:\b(?:aged|age|ages|article|articles|section|no\.|number|page|chapter|paragraph|clause|room|at)\s*$"
    r"|\b(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?\s*$"
    r"|\d[-–/]$)",  # the '24' of '2023-24', the '6' of '9/6' 
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
    noun = (m.group("noun") or m.group("pred") or m.group("gnoun") or "").lower()
    if not noun or noun in NOT_NOUNS:
        return None
    if noun == "times":  # '3 times higher' is a ratio; 'viewed 300,000 times' a count
        ratio = re.match(r"\s+(?:more|higher|larger|greater|bigger|as|the|its|their|that|what)\b", m.string[m.end():])
        return "times" if ratio else "views"
    if re.fullmatch(PEOPLE, noun):
        return "people"
    return NOUN_UNIT.get(noun, noun)


def _en_qualifier(m: re.Match[str]) -> str | None:
    return next((k for k in QUAL_BEFORE if m.group(k)), None)


def extract_en(text: str, published: date) -> list[Figure]:
    figures: list[Figure] = []
    nouns: list[str] = []  # units named by count nouns before the current sentence
    scanned = 0
    for s_start, s_end in split_sentences(text):
        sentence = text[s_start:s_end]
        found: list[Figure] = []
        for m in EN_FIGURE.finditer(sentence):
            num = m.group("num")
            unit = _en_unit(m)
            if unit is None or NOT_FIGURE_AFTER.match(sentence[m.end("num"):]):
                continue
            if NOT_FIGURE_BEFORE.search(sentence[:m.start("num")].rstrip("$£€₩ ")):
                continue
            if re.fullmatch(r"(?:19|20)\d{2}", num) and unit not in ("cases", "people") and not m.group("cur"):
                continue  # a year, not a count
            if unit in ("years", "months", "weeks", "days") and _period_like(sentence, m):
                continue
            value = parse_en(num, m.group("scale"))
            if value is None:
                continue
            if re.search(r"\b(?:per day|a day|daily|each day|on average every day)\b", sentence[m.end():m.end() + 40]):
                unit = f"{unit} per day"
            start = s_start + m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            found.append(Figure(value=value, unit=unit, measure="", qualifier=_en_qualifier(m),
                                text=m.group(0).strip(), start=start, end=s_start + m.end(), sentence=sentence))
        nouns += [_noun_unit(w) for w in UNIT_WORD.findall(text, scanned, s_start)]  # linear, not per-sentence rescans
        scanned = s_start
        found += _bare_numbers(sentence, s_start, found, nouns + [f.unit for f in figures])
        figures += sorted(found, key=lambda f: f.start)
    return figures


def _period_like(sentence: str, m: re.Match[str]) -> bool:
    """'in the first two weeks of this year', 'over one month': a time span, not a statistic."""
    before, after = sentence[:m.start("num")].lower(), sentence[m.end():].lower()
    if re.search(r"prison|jail|sentence|campaign|crackdown|ban|suspend|probation|deadline|within", sentence, re.I):
        return bool(re.search(r"\b(?:the first|the past|the last)\s*$", before))
    return bool(re.search(r"\b(?:the first|the past|the last|over|during|in|for the past)\s*$", before)
                or re.match(r"\s*(?:of (?:this|the|last) year|of \d{4}|ago|earlier|later)", after))


BARE = re.compile(r"(?<![\w$£€₩.,/-])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w%,./-]?\w)")
BARE_BEFORE = re.compile(r"(?:totall?ed|numbered|reached|stood at|rose to|fell to|climbed to|jumped to|dropped to|"
                         r"compared with|compared to|up from|down from|against|versus|vs\.?|to|from|with|and|made up|"
                         r"accounted for|including|among them|of the|of)\s+$", re.I)


def _bare_numbers(sentence: str, s_start: int, figures: list[Figure], passage_units: list[str]) -> list[Figure]:
    """Numbers whose unit is implied: '113 of those charged', 'totalled 297', 'by 409 votes to 2'."""
    out = []
    taken = [(f.start - s_start, f.end - s_start) for f in figures]
    for m in BARE.finditer(sentence):
        s, e = m.span()
        if any(ts <= s < te for ts, te in taken) or re.fullmatch(r"(?:19|20)\d{2}", m.group("num")):
            continue
        before, after = sentence[:s], sentence[e:]
        if (NOT_FIGURE_BEFORE.search(before) or NOT_FIGURE_AFTER.match(after) or re.match(r"\s*(?:a\.m|p\.m|%)", after)
                or re.search(r"\b(?:aged?|ages)\b[^.;]{0,25}$", before, re.I)):
            continue
        prior = [f for f in figures if f.end - s_start <= s
                 and f.unit not in ("years", "months", "weeks", "days", "hours", "percent", "times")]
        noun = UNIT_WORD.findall(before)
        if re.match(r"\s+of (?:them|whom|those|these)\b", after):
            unit = prior[-1].unit if prior else "people"
        elif BARE_BEFORE.search(before) and (prior or noun or passage_units):
            unit = prior[-1].unit if prior else (_noun_unit(noun[-1]) if noun else passage_units[-1])
        else:
            continue
        value = parse_en(m.group("num"))
        if value is None or unit in ("years", "months", "weeks", "days", "percent"):
            continue
        qual = QUAL_TAIL.search(before)
        out.append(Figure(value=value, unit=unit, measure="",
                          qualifier=next((k for k in QUAL_BEFORE if qual and qual.group(k)), None),
                          text=m.group("num"), start=s_start + s, end=s_start + e, sentence=sentence))
    return out


UNIT_WORD = re.compile(rf"\b({UNIT_NOUNS}|reports?|complaints?)\b", re.I)
QUAL_TAIL = re.compile(rf"(?:{QUAL_RE})\s+$", re.I)


def _noun_unit(noun: str) -> str:
    noun = noun.lower()
    if re.fullmatch(PEOPLE, noun):
        return "people"
    if noun.startswith(("report", "complaint", "case")):
        return "cases"
    return NOUN_UNIT.get(noun, noun)


def _conversions(figures: list[Figure], text: str) -> None:
    """'a fine of 50 million won ($37,500)': the bracketed amount shares the qualifier."""
    for prev, fig in zip(figures, figures[1:], strict=False):
        between = text[prev.end:fig.start]
        if re.fullmatch(r"\s*\(\s*(?:about|around|roughly|approximately|or)?\s*", between, re.I) \
                and prev.unit != fig.unit and fig.qualifier is None:
            fig.qualifier = prev.qualifier


# ---------------------------------------------------------------- Korean
KO_COUNTERS = {"건": "cases", "명": "people", "개": "items", "회": "occurrences", "원": "KRW", "달러": "USD",
               "시간": "hours", "kg": "kilograms", "킬로그램": "kilograms", "톤": "tons",
               "유로": "EUR", "%": "percent", "퍼센트": "percent", "개월": "months", "년": "years",
               "배": "times", "편": "videos", "장": "images", "곳": "places", "차례": "times"}
KO_FIGURE = re.compile(
    rf"(?P<pre>약|최대|최소|총|무려|모두)?\s*(?P<num>{KO_NUMBER})(?P<yeo>여)?\s?"
    r"(?P<counter>개월|달러|유로|퍼센트|킬로그램|시간|차례|건|명|개|회|원|%|년|배|편|장|곳|톤|kg)"
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
            prison = re.search(r"(징역|금고|형|실형|이하|최대)\s*$", before) or re.match(
                r"\s*(?:이하|이상)?\s*(?:의)?\s*(?:징역|금고|실형)", after)
            if counter == "년" and (re.match(r"\s*\d{1,2}\s*월", after) or not prison):
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
            qual = (KO_QUAL_PRE.get(m.group("pre") or "") or KO_QUAL_POST.get((m.group("post") or "").strip())
                    or ("approx" if m.group("yeo") else None))
            if qual is None and re.match(r"\s*(?:을|를|이|가|은|는)?\s*(?:넘어섰|넘었|넘기|넘는|넘게|돌파|웃돌)", after):
                qual = "more_than"
            if qual is None and re.match(r"\s*(?:안에|이내|내에)", after):
                qual = "up_to"
            if counter == "원" and re.search(r"벌금", sentence) and re.search(r"이하", after[:6]) and qual is None:
                qual = "up_to"
            unit = KO_COUNTERS[counter]
            if re.search(r"하루\s*평균|일평균|하루에", before[-20:]):
                unit = f"{unit} per day"
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
        if own is None and fig.measure == "campaign_months":  # "from Aug. 28 through March 31, a seven-month campaign"
            own = _nearest_period(fig, figures, [p for p in periods if p.start.month != p.end.month or p.start.year != p.end.year], lang)
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
        if not (sent_start <= p.span[0] < sent_end):
            continue
        if p.span[0] >= fig.end:
            cost = p.span[0] - fig.end + (15 if lang == "ko" else 0)  # Korean puts the period first
            between = [f for f in figures if fig.end <= f.start < p.span[0] and takes_period(f.measure, f.unit)]
            gap = fig.sentence[fig.end - sent_start:p.span[0] - sent_start]
        else:
            cost = fig.start - p.span[1] + (0 if lang == "ko" else 15)  # English: the period usually follows
            between = [f for f in figures if p.span[1] <= f.start < fig.start and takes_period(f.measure, f.unit)]
            gap = ""
        cost += 200 * len(between)
        if re.search(r"\b(?:than|compared|versus|vs|from|up from|down from)\b|보다|대비|비해", gap):
            cost += 100  # "more than in the first half": the comparison's period, not this figure's
        lead_in = fig.sentence[max(0, p.span[0] - sent_start - 25):p.span[0] - sent_start]
        if re.search(r"\b(?:increase|rise|decrease|drop|fall|up|down|more|less|higher|lower)\s+(?:on|over|from|than)\s+(?:in\s+)?$", lead_in):
            cost += 100  # "a 17 percent increase on the previous year"
        owner = _owner(p, figures, lang)
        if owner is fig:
            cost -= 30
        elif owner is not None:
            cost += 300  # "180 in 2023", "2023년(180건)": that period is another figure's
        if cost < best_cost:
            best, best_cost = p, cost
    if best is not None and _owner(best, figures, lang) not in (None, fig):
        return None  # every nearby period belongs to another figure: fall back to the passage's
    return best


def _owner(period: Period, figures: list[Figure], lang: str) -> Figure | None:
    """The figure a period is written right next to: after it in English ('180 in 2023'),
    before it in Korean ('2023년(180건)', '지난해 한 해 동안의 180건')."""
    for f in figures:
        if not takes_period(f.measure, f.unit):
            continue
        if lang == "ko" and 0 <= f.start - period.span[1] <= 12:
            return f
        if lang != "ko" and 0 <= period.span[0] - f.end <= 12:
            return f
    return None


def _penalty_qualifiers(figures: list[Figure], lang: str) -> None:
    """Ceilings: 'up to five years in prison or a fine of 50 million won' covers the fine too;
    'the maximum prison term ... from five years to seven years' is a ceiling for both."""
    for fig in figures:
        at = fig.sentence.find(fig.text)
        if (fig.qualifier is None and fig.unit in ("years", "months") and at > 0
                and re.search(r"\bmaximum\b|법정형|상한", fig.sentence[:at], re.I)):
            fig.qualifier = "up_to"
    for fig, nxt in zip(figures, figures[1:], strict=False):
        if fig.qualifier == "up_to" and nxt.qualifier is None and fig.sentence == nxt.sentence:
            between = fig.sentence[fig.sentence.find(fig.text) + len(fig.text):fig.sentence.find(nxt.text)]
            if re.search(r"\bor\b|또는|이나", between, re.I) and len(between) < 60:
                nxt.qualifier = "up_to"
