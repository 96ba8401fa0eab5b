"""Topical relevance: a score, topic labels and the evidence that produced them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

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


def _pattern(terms: list[str]) -> re.Pattern[str]:
    def one(term: str) -> str:
        escaped = re.escape(term).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")
        if term[:1].isascii() and term[:1].isalnum():  # whole words, with inflections
            return r"\b" + escaped + r"(?:s|es|ed|d|ing|ly|ment|ments)?\b"
        return escaped
    return re.compile("|".join(one(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)


class RelevanceScorer:
    def __init__(self, rules: dict, threshold: float = 2.5) -> None:
        self.threshold = threshold
        self.groups = {name: (float(g["weight"]), _pattern(g["terms"])) for name, g in rules["groups"].items()}
        self.topics = {name: _pattern(terms) for name, terms in rules["topics"].items()}

    @classmethod
    def load(cls, version: int = 1, threshold: float = 2.5) -> RelevanceScorer:
        return cls(_rules(version), threshold)

    def judge(self, text: str) -> Judgement:
        evidence: dict[str, list[str]] = {}
        for name, (_, pattern) in self.groups.items():
            hits = list(dict.fromkeys(m.group(0).lower() for m in pattern.finditer(text)))
            if hits:
                evidence[name] = hits
        score = sum(self.groups[g][0] for g in evidence if g not in ("negative", "non_synthetic"))
        if "negative" in evidence and "sexual" not in evidence:
            score += self.groups["negative"][0]
        if "non_synthetic" in evidence and "synthetic" not in evidence:
            score += self.groups["non_synthetic"][0]
        relevant = score >= self.threshold
        topics = [t for t, p in self.topics.items() if relevant and p.search(text)]
        return Judgement(score=round(score, 2), relevant=relevant, topics=topics, evidence=evidence)


@lru_cache(maxsize=2)
def _rules(version: int) -> dict:
    return yaml.safe_load((DATA / f"relevance.v{version}.yaml").read_text(encoding="utf-8"))
