"""Topical relevance: a score, topic labels and the evidence that produced them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from re._casefix import _EXTRA_CASES

import yaml

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Judgement:
    score: float
    relevant: bool
    topics: list[str] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # group -> matched terms

    @property
    def matched_terms(self) -> list[str]:
        return [t for group, terms in self.evidence.items() if group not in ("negative", "non_synthetic")
                for t in terms]


def _one(term: str) -> str:
    escaped = re.escape(term).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")
    if term[:1].isascii() and term[:1].isalnum():  # whole words, with inflections
        return r"\b" + escaped + r"(?:s|es|ed|d|ing|ly|ment|ments)?\b"
    return escaped


# characters `re.IGNORECASE` takes as equal beyond what str.casefold folds (dotless ı and i, ...)
_SRE_FOLD = {x: min(k, *v) for k, v in _EXTRA_CASES.items() for x in (k, *v)}


def _fold(text: str) -> str:
    return text.casefold().translate(_SRE_FOLD)


@lru_cache(maxsize=8192)
def _alternation(terms: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(_one(t) for t in terms), re.IGNORECASE)


class Terms:
    """A list of terms matched as one case-insensitive alternation, longest first.

    Python's `re` tries every alternative at every position, so a 50-term group costs ~2 ms
    on a news article. A term can only match where its longest literal piece occurs, so each
    text is matched against the alternation of just the terms whose piece it contains (found
    with substring tests on the folded text, compiled once per combination): the same matches,
    in the same order, as the full alternation.
    """

    def __init__(self, terms: list[str]) -> None:
        self.terms = tuple(sorted(terms, key=len, reverse=True))
        self.pieces = tuple(_fold(max(re.split(r"[\s-]+", t), key=len)) for t in self.terms)

    def pattern(self, folded: str) -> re.Pattern[str] | None:
        """The alternation of the terms that may occur in a text (`folded` by `_fold`); None if none can."""
        present = tuple(t for t, piece in zip(self.terms, self.pieces, strict=True) if piece in folded)
        return _alternation(present) if present else None

    def finditer(self, text: str, folded: str) -> Iterator[re.Match[str]]:
        pattern = self.pattern(folded)
        return pattern.finditer(text) if pattern else iter(())

    def search(self, text: str, folded: str) -> bool:
        pattern = self.pattern(folded)
        return bool(pattern and pattern.search(text))


class RelevanceScorer:
    def __init__(self, rules: dict, threshold: float = 2.5) -> None:
        self.threshold = threshold
        self.groups = {name: (float(g["weight"]), Terms(g["terms"])) for name, g in rules["groups"].items()}
        self.topics = {name: Terms(terms) for name, terms in rules["topics"].items()}

    @classmethod
    def load(cls, version: int = 1, threshold: float = 2.5) -> RelevanceScorer:
        return cls(_rules(version), threshold)

    def judge(self, text: str) -> Judgement:
        evidence: dict[str, list[str]] = {}
        folded = _fold(text)
        for name, (_, terms) in self.groups.items():
            hits = list(dict.fromkeys(m.group(0).lower() for m in terms.finditer(text, folded)))
            if hits:
                evidence[name] = hits
        score = sum(self.groups[g][0] for g in evidence if g not in ("negative", "non_synthetic"))
        if "negative" in evidence and "sexual" not in evidence:
            score += self.groups["negative"][0]
        if "non_synthetic" in evidence and "synthetic" not in evidence:
            score += self.groups["non_synthetic"][0]
        relevant = score >= self.threshold
        topics = [t for t, terms in self.topics.items() if relevant and terms.search(text, folded)]
        return Judgement(score=round(score, 2), relevant=relevant, topics=topics, evidence=evidence)


@lru_cache(maxsize=2)
def _rules(version: int) -> dict:
    return yaml.safe_load((DATA / f"relevance.v{version}.yaml").read_text(encoding="utf-8"))
