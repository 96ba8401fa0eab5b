"""Sentences of the synthetic corpus: templates and word pools (synthetic.yaml) rendered once.

Each template group (e.g. English `sections:economy`) becomes a `Group` of `variants`
renderings per template, built on first use and kept: a document is assembled from
pieces by index, so generating it costs lookups, not rendering. Korean pieces carry their
Kiwi stems (`dfwatch.search.korean.stems`, the `text_ko` that prepare() would compute),
so Kiwi runs once per distinct sentence, never per document.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from benchmarks.synthetic_facts import FACTS
from dfwatch.search.korean import stems

DATA = Path(__file__).with_name("synthetic.yaml")
VARIANTS = {"en": 160, "ko": 24}  # renderings per template with slots (titles: twice as many)
SLOT = re.compile(r"\{(\w+)(?:\|(\w+))?\}")
JOSA = {"은": ("은", "는"), "이": ("이", "가"), "을": ("을", "를"), "과": ("과", "와"), "으로": ("으로", "로")}
QUALIFIERS = {"about": "approx", "around": "approx", "nearly": "nearly", "more than": "more_than",
              "up to": "up_to", "약": "approx", "최대": "up_to"}
FIGURE_TEMPLATES = 6  # a fact sentence's template number is taken modulo the measure's templates


@dataclass(frozen=True)
class Value:
    """A slot value: plain words, or an entity mention with its label and normalised name."""

    text: str
    label: str | None = None
    norm: str | None = None


@dataclass(frozen=True)
class Piece:
    """A rendered sentence: text, word count, entities (start, end, text, label, norm), Kiwi stems."""

    text: str
    words: int
    ents: tuple[tuple[int, int, str, str, str], ...] = ()
    stems: str = ""
    figure: tuple[int, int] | None = None  # span of the {fig} slot


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def pools() -> dict[str, tuple[Value, ...]]:
    out: dict[str, tuple[Value, ...]] = {}
    for name, spec in data()["pools"].items():
        if isinstance(spec, dict):
            items = [str(x).split("=", 1) for x in spec["items"]]
            out[name] = tuple(Value(p[0], spec["label"], p[-1]) for p in items)
        else:
            out[name] = tuple(Value(str(x)) for x in spec)
    return out


# ------------------------------------------------------------------ slots
def _batchim(text: str) -> int:
    """Final consonant of the last syllable (0 = none); digits read aloud, Latin letters as vowels."""
    ch = text.rstrip()[-1:]
    if "\uac00" <= ch <= "\ud7a3":
        return (ord(ch) - 0xAC00) % 28
    return {"0": 21, "1": 8, "3": 16, "6": 1, "7": 8, "8": 8}.get(ch, 0)


def particle(value: str, josa: str) -> str:
    """The form of a Korean particle that agrees with `value` (을/를, 은/는, 으로/로, ...)."""
    final = _batchim(value)
    with_final, without = JOSA[josa]
    if josa == "으로" and final == 8:  # ㄹ takes 로
        return without
    return with_final if final else without


def _number(slot: str, rnd: random.Random) -> str | None:
    numbers = {
        "n": lambda: str(rnd.choice((2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15, 18, 20, 23, 25, 30, 37, 41, 52, 64))),
        "n_big": lambda: f"{rnd.randrange(1_000, 90_000, 10):,}",
        "pct": lambda: f"{rnd.uniform(0.5, 35):.1f}",
        "money": lambda: rnd.choice(("$", "€", "£")) + f"{rnd.randrange(2, 950)} million",
        "money_ko": lambda: f"{rnd.randrange(2, 950)}억 원",
        "years": lambda: str(rnd.choice((1, 2, 3, 4, 5, 6, 7))),
        "temp": lambda: str(rnd.randrange(-12, 39)),
        "score": lambda: f"{rnd.randrange(1, 9)}-{rnd.randrange(0, 4)}",
        "weekday_ko": lambda: f"{rnd.randrange(1, 29)}일",
    }
    make = numbers.get(slot)
    return make() if make else None


def _value(slot: str, rnd: random.Random, fixed: dict[str, Value]) -> Value:
    if slot in fixed:
        return fixed[slot]
    p = pools()
    if slot == "person":
        name = f"{rnd.choice(p['first_en']).text} {rnd.choice(p['last_en']).text}"
        return Value(name, "PERSON", name)
    if slot == "person_ko":
        name = rnd.choice(p["sur_ko"]).text + rnd.choice(p["given_ko"]).text
        return Value(name, "PERSON", name)
    if slot == "company":
        name = f"{rnd.choice(p['company_prefix']).text} {rnd.choice(p['company_kind']).text}"
        return Value(name, "ORG", name)
    if slot == "company_ko":
        name = rnd.choice(p["company_prefix_ko"]).text + rnd.choice(p["company_kind_ko"]).text
        return Value(name, "ORG", name)
    if slot in p:
        return rnd.choice(p[slot])
    number = _number(slot, rnd)
    if number is None:
        raise KeyError(f"{DATA.name}: unknown slot {{{slot}}}")
    return Value(number)


def render(template: str, rnd: random.Random, lang: str, fixed: dict[str, Value] | None = None) -> Piece:
    """Fill a template's slots, keeping the spans of entity values and of the {fig} slot."""
    fixed = fixed or {}
    parts: list[str] = []
    ents: list[tuple[int, int, str, str, str]] = []
    figure = None
    pos = last = 0
    for m in SLOT.finditer(template):
        literal = template[last:m.start()]
        parts.append(literal)
        pos += len(literal)
        value = _value(m.group(1), rnd, fixed)
        text = value.text
        if pos == 0 and lang == "en":
            text = text[:1].upper() + text[1:]
        if value.label:
            ents.append((pos, pos + len(text), text, value.label, value.norm or text))
        if m.group(1) == "fig":
            figure = (pos, pos + len(text))
        parts.append(text)
        pos += len(text)
        if m.group(2):
            parts.append(particle(text, m.group(2)))
            pos += len(parts[-1])
        last = m.end()
    parts.append(template[last:])
    text = "".join(parts)
    return Piece(text, text.count(" ") + 1, tuple(ents), " ".join(stems(text)) if lang == "ko" else "", figure)


# ------------------------------------------------------------------ groups
class Group:
    """The renderings of one template group; piece k is variant k % variants of template k // variants."""

    def __init__(self, lang: str, name: str, templates: tuple[str, ...]) -> None:
        self.lang, self.name, self.templates = lang, name, templates
        self.variants = VARIANTS[lang] * (2 if name.startswith("titles") else 1)
        self.size = len(templates) * self.variants
        self.pieces: list[Piece | None] = [None] * self.size

    def __repr__(self) -> str:
        return f"Group({self.lang}:{self.name})"

    def piece(self, k: int) -> Piece:
        got = self.pieces[k]
        if got is None:
            tid, variant = divmod(k, self.variants)
            template = self.templates[tid]
            if variant and "{" not in template:  # no slots: one rendering serves every variant
                got = self.piece(tid * self.variants)
            else:
                rnd = random.Random(f"{self.lang}:{self.name}:{tid}:{variant}")  # noqa: S311 - test data
                got = render(template, rnd, self.lang)
            self.pieces[k] = got
        return got


@lru_cache(maxsize=1)
def groups() -> dict[tuple[str, str], Group]:
    """(language, name) -> Group. Names: titles_on, titles_negative, negative, generic,
    topical:<relevance topic>, sections:<news section>, titles_sections:<news section>."""
    out: dict[tuple[str, str], Group] = {}
    for lang in ("en", "ko"):
        block = data()[lang]
        for key in ("titles_on", "titles_negative", "negative", "generic"):
            out[lang, key] = Group(lang, key, tuple(block[key]))
        for kind in ("topical", "sections", "titles_sections"):
            for name, templates in block[kind].items():
                out[lang, f"{kind}:{name}"] = Group(lang, f"{kind}:{name}", tuple(templates))
    return out


def sections(lang: str) -> list[Group]:
    return [g for (la, name), g in groups().items() if la == lang and name.startswith("sections:")]


# ------------------------------------------------------------------ figures
@cache
def fact_piece(lang: str, fact_index: int, template: int, alt: bool) -> tuple[Piece, dict[str, Any]]:
    """A sentence reporting a fact (or its conflicting value), and the figure record it holds."""
    fact = FACTS[fact_index]
    value = fact.alt if alt and fact.alt is not None else fact.value
    templates = data()["figures"][lang][fact.measure]
    tpl = templates[template % len(templates)]
    rnd = random.Random(f"fact:{lang}:{fact_index}:{template}:{alt}")  # noqa: S311 - test data
    fig_text = fact.text(value, lang)
    attribution = rnd.choice(data()["figures"]["attribution"][lang])
    fixed = {"fig": Value(fig_text), "period": Value(fact.period_text(lang)),
             "place": Value(fact.place_text(lang), "GPE", fact.place), "attribution": Value(attribution),
             "Attribution": Value(attribution[:1].upper() + attribution[1:])}
    p = render(tpl, rnd, lang, fixed)
    assert p.figure is not None, tpl
    before = tpl[:tpl.index("{fig")].split()[-2:]
    qualifier = next((q for k, q in QUALIFIERS.items() if k in before or " ".join(before) == k), None)
    figure = {"value": value, "unit": fact.unit, "measure": fact.measure, "qualifier": qualifier,
              "text": fig_text, "start": p.figure[0], "end": p.figure[1], "sentence": p.text,
              "period": fact.period(lang), "place": fact.place, "attribution": attribution}
    return p, figure
