"""Relevance stage: score articles for the topic and drop the rest (counted) before NLP."""

from __future__ import annotations

from scrapy.crawler import Crawler

from dfwatch.records import Article, Relevance
from nlp.relevance import RelevanceScorer
from pipelines.common import drop


class RelevancePipeline:
    def __init__(self, crawler: Crawler) -> None:
        cfg = crawler.settings["DFWATCH"].relevance
        self.crawler = crawler
        self.scorer = RelevanceScorer.load(cfg.rules_version, cfg.threshold)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RelevancePipeline:
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        judgement = self.scorer.judge(f"{item.title}\n{item.text}")
        item.relevance = Relevance(score=judgement.score, matched_terms=judgement.matched_terms,
                                   topics=judgement.topics)
        if not judgement.relevant:
            raise drop(self.crawler, "off_topic", item.url)
        return item
