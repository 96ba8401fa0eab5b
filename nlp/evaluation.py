"""Score NLP predictions against gold passages: relevance, entities, figures (P/R/F1),
period and qualifier accuracy. The matching rules are those of the project's evaluation:

- entity: same label and same surface text (whitespace and case folded);
- figure: same kind of unit (the currency for money, else percent, a duration, rate, ratio
  or count) and a value within 0.5 %, each gold figure matched at most once; qualifier and
  period are then compared on matched pairs (periods match when both ends are within 31 days).
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

CURRENCIES = {"krw": "KRW", "won": "KRW", "원": "KRW", "usd": "USD", "$": "USD", "dollars": "USD", "eur": "EUR",
              "euros": "EUR", "gbp": "GBP", "pounds": "GBP", "aud": "AUD", "jpy": "JPY", "yen": "JPY"}
DURATIONS = {"year": "year", "years": "year", "month": "month", "months": "month", "week": "week", "weeks": "week",
             "day": "day", "days": "day", "hour": "hour", "hours": "hour", "년": "year", "개월": "month", "시간": "hour"}


def unit_kind(unit: str | None) -> str:
    key = " ".join(str(unit or "").lower().split())
    if key in CURRENCIES or key.upper() in CURRENCIES.values():
        return CURRENCIES.get(key, key.upper())
    if key in ("percent", "%", "per cent", "percentage", "percentage points", "퍼센트"):
        return "percent"
    if key in DURATIONS:
        return "duration:" + DURATIONS[key]
    if key in ("times", "fold", "배"):
        return "ratio"
    if " per " in f" {key} " or "/" in key:
        return "rate"
    return "count"


def parse_period(text: str | None) -> tuple[date, date] | None:
    if not text:
        return None
    parts = re.split(r"/|\.\.", str(text).strip())
    bounds: list[date] = []
    for i, part in enumerate(parts[:2]):
        m = re.fullmatch(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", part.strip())
        if not m:
            return None
        y, mo, d = int(m[1]), int(m[2]) if m[2] else None, int(m[3]) if m[3] else None
        first = date(y, mo or 1, d or 1)
        last_mo = mo or 12
        last = date(y, last_mo, d or calendar.monthrange(y, last_mo)[1])
        if len(parts) == 1:
            return first, last
        bounds.append(first if i == 0 else last)
    return (bounds[0], bounds[1]) if len(bounds) == 2 else None


def _close(a: Any, b: Any) -> bool:
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return abs(x - y) <= 0.005 * max(abs(x), abs(y), 1e-9)


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Scores:
    passages: int
    relevance: PRF
    entities: PRF
    figures: PRF
    period_accuracy: float | None
    qualifier_accuracy: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"passages": self.passages, "relevance_f1": round(self.relevance.f1, 3),
                "entities_f1": round(self.entities.f1, 3), "figures_f1": round(self.figures.f1, 3),
                "period_accuracy": None if self.period_accuracy is None else round(self.period_accuracy, 3),
                "qualifier_accuracy": None if self.qualifier_accuracy is None else round(self.qualifier_accuracy, 3)}


def score(gold: list[dict[str, Any]], pred: dict[str, dict[str, Any]]) -> Scores:
    rel, ent, fig = PRF(), PRF(), PRF()
    periods = [0, 0]
    quals = [0, 0]
    fold = lambda t: " ".join(str(t).split()).casefold()  # noqa: E731
    for g in gold:
        p = pred.get(g["id"], {})
        ge = Counter((e["label"], fold(e["text"])) for e in g.get("entities", []))
        pe = Counter((e.get("label"), fold(e.get("text", ""))) for e in p.get("entities", []))
        tp = sum((ge & pe).values())
        ent.tp, ent.fp, ent.fn = ent.tp + tp, ent.fp + sum(pe.values()) - tp, ent.fn + sum(ge.values()) - tp
        unused = list(p.get("figures", []))
        for gf in g.get("figures", []):
            match = next((x for x in unused if unit_kind(x.get("unit")) == unit_kind(gf.get("unit"))
                          and _close(x.get("value"), gf.get("value"))), None)
            if match is None:
                fig.fn += 1
                continue
            unused.remove(match)
            fig.tp += 1
            gp = parse_period(gf.get("period"))
            if gp is not None:
                pp = parse_period(match.get("period"))
                periods[1] += 1
                periods[0] += bool(pp and abs((gp[0] - pp[0]).days) <= 31 and abs((gp[1] - pp[1]).days) <= 31)
            quals[1] += 1
            quals[0] += (match.get("qualifier") or None) == (gf.get("qualifier") or None)
        fig.fp += len(unused)
        truth, guess = bool(g.get("relevant")), bool(p.get("relevant", False))
        rel.tp += truth and guess
        rel.fp += guess and not truth
        rel.fn += truth and not guess
    return Scores(len(gold), rel, ent, fig, periods[0] / periods[1] if periods[1] else None,
                  quals[0] / quals[1] if quals[1] else None)
