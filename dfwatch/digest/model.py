"""What a digest holds (built from the search layer) and what running one did.

Crawled strings (titles, leads, sentences, source names) are kept raw here; the renderer
escapes them. URLs of originals are kept only when they are http(s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from dfwatch.digest.subscriptions import Subscription


@dataclass
class ArticleLink:
    id: str
    title: str
    url: str | None  # the original, if http(s)
    source_name: str
    published_at: str | None
    web_url: str  # the article in dfwatch's web UI


@dataclass
class StoryItem:
    story_id: str
    title: str  # of the story's earliest article
    lead: str  # its lead sentence
    first_seen: str | None
    sources: list[str]  # names of every source that reported the story
    article_count: int  # every article of the story, not only the new ones
    update: bool  # an earlier digest already had this story; `articles` is its new coverage
    articles: list[ArticleLink]  # new in this digest, oldest first
    web_url: str


@dataclass
class FigureItem:
    measure: str
    place: str | None
    unit: str
    period_start: str | None
    period_end: str | None
    period_text: str
    value: float
    qualifier: str | None
    previous: float | None  # the value an earlier digest sent for this measure, place and period
    sentence: str  # as the first new report wrote it
    reported_by: list[str]  # sources of the new reports
    first_source: str  # who reported this value first (the whole corpus)
    first_published: str | None
    first_url: str | None
    conflict: bool  # sources disagree on the value for this measure, place and period
    versions: list[tuple[float, int]] = field(default_factory=list)  # (value, sources), majority first
    web_url: str = ""

    @property
    def key(self) -> str:
        return "|".join([self.measure, self.place or "", self.period_start or "", self.period_end or "", self.unit])

    @property
    def changed(self) -> bool:
        return self.previous is not None


@dataclass
class EntityItem:
    name: str
    label: str | None  # PERSON, ORG, GPE
    mentions: int  # new articles that mention it
    article: ArticleLink  # the first of them


@dataclass
class Chart:
    interval: Literal["day", "week"]
    bars: list[tuple[date, int]]  # bucket start (UTC day) -> matching articles, oldest first
    highlight_from: date  # bars from here on are in this digest's window


@dataclass
class Digest:
    subscription: Subscription
    window_start: datetime | None  # the previous send time (None: none yet)
    window_end: datetime  # this digest's send time
    generated_at: datetime
    stories: list[StoryItem]  # shown in full
    more: list[StoryItem]  # listed by title
    hidden: int  # further new stories, only counted
    new_figures: list[FigureItem]
    changed_figures: list[FigureItem]
    entities: list[EntityItem]
    chart: Chart | None
    delivers: dict[str, str]  # article id -> story id: every article this digest reports
    baseline: dict[str, str] | None  # first digest only: articles that count as already known
    web_base: str
    timeline_url: str

    @property
    def empty(self) -> bool:
        return not self.delivers

    @property
    def story_count(self) -> int:
        return len(self.stories) + len(self.more) + self.hidden

    def counts(self) -> dict[str, int]:
        every = self.stories + self.more
        return {"stories": sum(not s.update for s in every), "updates": sum(s.update for s in every),
                "hidden": self.hidden, "articles": len(self.delivers), "new_figures": len(self.new_figures),
                "changed_figures": len(self.changed_figures), "entities": len(self.entities)}


Status = Literal["sent", "note-sent", "skipped", "already-sent", "dry-run", "resent"]


@dataclass
class DigestOutcome:
    """What `run_digest` did; `status` says whether an email left (sent, note-sent, resent)."""

    subscription: str
    status: Status
    window_start: datetime | None
    window_end: datetime
    message_id: str | None = None
    subject: str | None = None
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> the server's answer
    counts: dict[str, int] = field(default_factory=dict)
    attempts: int = 0  # SMTP connections tried
    note: str = ""
    message: bytes | None = None  # the rendered message (dry runs and sends)

    def as_dict(self) -> dict[str, Any]:
        return {"subscription": self.subscription, "status": self.status,
                "window_start": self.window_start.isoformat() if self.window_start else None,
                "window_end": self.window_end.isoformat(), "message_id": self.message_id, "subject": self.subject,
                "recipients": self.recipients, "refused": self.refused, "counts": self.counts,
                "attempts": self.attempts, "note": self.note}
