"""Redact stage: invite links into messaging apps and links to file hosts never reach the index.

Abuse material is traded through Telegram, KakaoTalk open chats, Discord and file
lockers; articles and their comments sometimes quote the links. dfwatch never follows
them (crawler.middlewares) and replaces them in the title, lead and text before anything
is stored, counting `dfwatch/redacted/links`.
"""

from __future__ import annotations

import re

from scrapy.crawler import Crawler

from dfwatch.records import Article, content_hash

MESSAGING = ("t.me", "telegram.me", "telegram.dog", "telegram.org/joinchat", "open.kakao.com", "discord.gg",
             "discord.com/invite", "discordapp.com/invite", "chat.whatsapp.com", "wa.me", "line.me",
             "signal.group", "signal.me")
FILE_HOSTS = ("mega.nz", "mega.io", "mediafire.com", "drive.google.com", "dropbox.com", "wetransfer.com",
              "we.tl", "1drv.ms", "pixeldrain.com", "gofile.io", "anonfiles.com")
INVITE = "[invite link removed]"
FILE_LINK = "[file link removed]"

_PATH = r"/[^\s<>\"'\]\)]*[^\s<>\"'\]\).,;:!?]"  # a path, without trailing punctuation


def _links(hosts: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(h) for h in sorted(hosts, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:https?://)?(?:www\.)?(?:{alternatives}){_PATH}", re.IGNORECASE)


PATTERNS = ((re.compile(r"\btg://\S+", re.IGNORECASE), INVITE), (_links(MESSAGING), INVITE),
            (_links(FILE_HOSTS), FILE_LINK))


def redact(text: str) -> tuple[str, int]:
    """The text with invite and file-host links replaced, and how many were."""
    total = 0
    for pattern, replacement in PATTERNS:
        text, n = pattern.subn(replacement, text)
        total += n
    return text, total


class RedactPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedactPipeline:
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        item.title, n_title = redact(item.title)
        item.lead, n_lead = redact(item.lead)
        item.text, n_text = redact(item.text)
        if n_title or n_lead or n_text:
            item.content_hash = content_hash(item.text)
            self.crawler.stats.inc_value("dfwatch/redacted/links", n_title + n_lead + n_text)
        return item
