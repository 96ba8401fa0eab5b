"""Stories stage: each article gets its MinHash `signature` and the `story_id` it belongs to.

After enrich (the rule compares entities and figures) and before index. The rule and the
window are in `dfwatch.stories`; the crawls of one process share the window
(`LiveStories`), loaded from the store around each article's date. Articles without a
publication date are not matched: each is a story of its own.
"""

from __future__ import annotations

from scrapy.crawler import Crawler

from dfwatch.records import Article
from dfwatch.stories import encode_signature, features
from dfwatch.stories.live import LiveStories


class StoriesPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.settings = crawler.settings["DFWATCH"]
        self.live: LiveStories | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoriesPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.live = LiveStories.acquire(self.settings)

    def process_item(self, item: Article) -> Article:
        assert self.live is not None and self.crawler.stats is not None
        f = features(item.to_doc())
        item.signature = encode_signature(f.signature)
        item.story_id = self.live.assign(f) if item.published_at else item.id
        self.crawler.stats.inc_value("dfwatch/stories/joined" if item.story_id != item.id else "dfwatch/stories/own")
        return item

    def close_spider(self) -> None:
        if self.live is not None:
            self.live.release()
            self.live = None
