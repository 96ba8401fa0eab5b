"""Relevance stage: keep articles about deepfake sexual crimes, drop the rest (counted)."""

from __future__ import annotations

import re

from scrapy.crawler import Crawler

from dfwatch.records import Article, Relevance
from dfwatch.settings import RelevanceSettings
from pipelines.common import drop


class KeywordRule:
    """Relevant = at least one deepfake term AND one sexual-crime term in title or text.

    Latin terms match at word starts ("deepfakes" matches "deepfake"); Hangul terms
    match anywhere, since Korean attaches particles to words.
    """

    def __init__(self, config: RelevanceSettings) -> None:
        self.deepfake = [(t, _pattern(t)) for t in config.deepfake_terms]
        self.sexual = [(t, _pattern(t)) for t in config.sexual_terms]

    def score(self, title: str, text: str) -> Relevance:
        haystack = f"{title}\n{text}"
        fake = [t for t, p in self.deepfake if p.search(haystack)]
        sexual = [t for t, p in self.sexual if p.search(haystack)]
        score = float(len(fake) + len(sexual)) if fake and sexual else 0.0
        return Relevance(score=score, matched_terms=fake + sexual)


def _pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term).replace(r"\ ", r"[\s-]+")
    prefix = r"\b" if term[:1].isascii() and term[:1].isalnum() else ""
    return re.compile(prefix + escaped, re.IGNORECASE)


class RelevancePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.rule = KeywordRule(crawler.settings["DFWATCH"].relevance)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RelevancePipeline:
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        item.relevance = self.rule.score(item.title, item.text)
        if item.relevance.score <= 0:
            raise drop(self.crawler, "off_topic", item.url)
        return item
