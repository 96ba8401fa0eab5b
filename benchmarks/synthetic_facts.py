"""The facts that synthetic on-topic articles report as figures (benchmarks/synthetic.py).

Yearly police counts and charges per place, a few special periods (the first seven months
of 2024, the first half of 2025), Telegram room sizes and maximum prison terms. Every
third fact has a conflicting value that some articles report instead. A fact can be
reported from its `available` day on (after its period ended, or when the law passed).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate
from typing import Any

UNITS = {"cases": ("cases", "건"), "people": ("people", "명"), "members": ("members", "명"), "years": ("years", "년")}
PLACES_KO = {"South Korea": "한국", "Seoul": "서울", "United States": "미국", "United Kingdom": "영국",
             "Australia": "호주", "Japan": "일본"}
KR_CASES = {2018: 40, 2019: 95, 2020: 102, 2021: 156, 2022: 160, 2023: 180, 2024: 1202, 2025: 868}
KR_CHARGED = {2018: 22, 2019: 60, 2020: 74, 2021: 74, 2022: 75, 2023: 120, 2024: 682, 2025: 540}
SCALE = {"Seoul": 0.3, "United States": 1.6, "United Kingdom": 0.9, "Australia": 0.5, "Japan": 0.6}
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


@dataclass(frozen=True)
class Fact:
    measure: str
    unit: str
    place: str
    value: int
    start: date | None  # the period the figure counts (None: a standing rule, e.g. a penalty)
    end: date | None
    kind: str  # year | first7 | h1 | month | none
    available: date
    alt: int | None = None  # a conflicting value some outlets report

    def text(self, value: int, lang: str) -> str:
        en, ko = UNITS[self.unit]
        return f"{value:,} {en}" if lang == "en" else f"{value:,}{ko}"

    def place_text(self, lang: str) -> str:
        if lang == "ko":
            return PLACES_KO[self.place]
        return f"the {self.place}" if self.place.startswith("United") else self.place

    def period_text(self, lang: str) -> str:
        if self.start is None:
            return ""
        y = self.start.year
        en, ko = {
            "year": (str(y), f"{y}년"),
            "first7": (f"the first seven months of {y}", f"{y}년 1~7월"),
            "h1": (f"the first half of {y}", f"{y}년 상반기"),
            "month": (f"{MONTHS_EN[self.start.month - 1]} {y}", f"{y}년 {self.start.month}월"),
        }[self.kind]
        return en if lang == "en" else ko

    def period(self, lang: str) -> dict[str, str] | None:
        if self.start is None or self.end is None:
            return None
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "text": self.period_text(lang)}


def _facts() -> tuple[Fact, ...]:
    out: list[Fact] = []
    yearly = (("police_cases_reported", "cases", KR_CASES), ("people_charged", "people", KR_CHARGED))
    for measure, unit, table in yearly:
        for year, value in table.items():
            out.append(Fact(measure, unit, "South Korea", value, date(year, 1, 1), date(year, 12, 31), "year",
                            date(year + 1, 1, 10 + year % 15)))
            if year >= 2019:
                for place, scale in SCALE.items():
                    out.append(Fact(measure, unit, place, max(3, round(value * scale * (0.8 + 0.05 * (year % 5)))),
                                    date(year, 1, 1), date(year, 12, 31), "year", date(year + 1, 2, 1 + year % 25)))
    out += [
        Fact("police_cases_reported", "cases", "South Korea", 297, date(2024, 1, 1), date(2024, 7, 31), "first7",
             date(2024, 8, 1)),
        Fact("people_charged", "people", "South Korea", 178, date(2024, 1, 1), date(2024, 7, 31), "first7",
             date(2024, 8, 1)),
        Fact("police_cases_reported", "cases", "South Korea", 420, date(2025, 1, 1), date(2025, 6, 30), "h1",
             date(2025, 7, 20)),
        Fact("people_charged", "people", "South Korea", 310, date(2025, 1, 1), date(2025, 6, 30), "h1",
             date(2025, 7, 20)),
        Fact("channel_members", "members", "South Korea", 220_000, date(2024, 8, 1), date(2024, 8, 31), "month",
             date(2024, 8, 20)),
        Fact("channel_members", "members", "South Korea", 133_400, date(2024, 9, 1), date(2024, 9, 30), "month",
             date(2024, 9, 10)),
        Fact("channel_members", "members", "Australia", 12_000, date(2024, 6, 1), date(2024, 6, 30), "month",
             date(2024, 6, 15)),
        Fact("channel_members", "members", "United Kingdom", 45_000, date(2024, 11, 1), date(2024, 11, 30), "month",
             date(2024, 11, 20)),
        Fact("channel_members", "members", "Japan", 31_000, date(2025, 1, 1), date(2025, 1, 31), "month",
             date(2025, 1, 25)),
        Fact("max_prison_years", "years", "South Korea", 5, None, None, "none", date(2020, 6, 25)),
        Fact("max_prison_years", "years", "South Korea", 7, None, None, "none", date(2024, 10, 16)),
        Fact("max_prison_years", "years", "Australia", 6, None, None, "none", date(2024, 8, 21)),
        Fact("max_prison_years", "years", "United Kingdom", 2, None, None, "none", date(2025, 6, 1)),
        Fact("max_prison_years", "years", "United States", 3, None, None, "none", date(2025, 5, 19)),
    ]
    with_alt = []
    for k, f in enumerate(out):
        alt = None
        if f.measure == "max_prison_years":
            alt = f.value - 2 if f.value > 2 else None
        elif k % 3 == 1:
            alt = f.value + max(1, round(f.value * 0.06))
        with_alt.append(Fact(**{**f.__dict__, "alt": alt}))
    return tuple(with_alt)


FACTS = _facts()


@cache
def _month(year: int, month: int) -> tuple[list[int], list[float]]:
    """Facts reportable in a month, and cumulative weights favouring the freshest."""
    first = date(year, month, 1)
    month_end = date(year + month // 12, month % 12 + 1, 1)
    ids, weights = [], []
    for k, f in enumerate(FACTS):
        if f.available < month_end:
            age = max(0, (first - f.available).days) / 30
            ids.append(k)
            weights.append(0.5 ** (age / 6))
    return ids, list(accumulate(weights))


def facts_by_month(day: date) -> tuple[list[int], list[float]]:
    return _month(day.year, day.month)


def pick(day: date, r: float) -> int | None:
    """The fact for a uniform draw r in [0, 1) on a day, or None if nothing was reported yet."""
    ids, cum = facts_by_month(day)
    return ids[bisect.bisect_left(cum, r * cum[-1])] if ids else None


def summary() -> list[dict[str, Any]]:
    return [{"measure": f.measure, "place": f.place, "period": f.period("en"), "value": f.value, "alt": f.alt}
            for f in FACTS]
