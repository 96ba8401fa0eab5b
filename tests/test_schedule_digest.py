"""The scheduler on a compressed clock (a day per 15 s) crawls the fixture web and a feed the test
serves, and sends a daily digest to a real SMTP server on loopback (aiosmtpd). An article added
to the feed reaches the analyst in exactly one digest; the digest after it does not repeat it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from digest_support import SmtpSink, free_port
from schedule_support import ScheduleProcess, runs, schedule_env, wait_for, with_schedule

from dfwatch.digest import Subscription
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.fixtureweb.hostile import article_html
from dfwatch.schedule.outcomes import overlapping

pytestmark = pytest.mark.slow

FIRST = ("Korean schools warn students about deepfake sex crime apps", (
    "Schools across South Korea sent letters to parents warning that students who make or share sexually "
    "explicit deepfakes of classmates face police investigation, after Telegram chat rooms trading such "
    "images were uncovered in August 2024.",
    "Education officials said victims of deepfake sexual abuse can ask for help from counsellors and that "
    "the images are removed quickly at the request of the Korea Communications Standards Commission.",
    "Police urged teenagers not to download or forward doctored sexual images, saying distribution is a crime "
    "even when the pictures are fake."))
ADDED = ("National Assembly votes to jail viewers of sexual deepfakes", (
    "South Korea's National Assembly on 26 September 2024 passed a revision of the sexual violence law that "
    "makes possessing, purchasing, storing or watching sexually explicit deepfakes a crime.",
    "Offenders face up to three years in prison or a fine of up to 30 million won, lawmakers said after the "
    "vote, which followed weeks of public anger over deepfake sex crimes spread in Telegram chat rooms.",
    "Victims' advocates welcomed the bill and asked the police and platforms to take down the synthetic "
    "images faster."))


class ExtraFeed:
    """A small news site on 127.0.0.1 whose RSS feed the test can add an article to."""

    def __init__(self) -> None:
        self.articles: dict[str, tuple[str, tuple[str, ...]]] = {"/news/schools-warn.html": FIRST}
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body, kind = feed.answer(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, path: str, article: tuple[str, tuple[str, ...]]) -> str:
        self.articles = {path: article, **self.articles}
        return self.base + path

    def answer(self, path: str) -> tuple[bytes | None, str]:
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n", "text/plain"
        if path == "/feed.xml":
            items = "".join(f"<item><title>{escape(title)}</title><link>{self.base}{p}</link><guid>{self.base}{p}"
                            f"</guid><pubDate>Thu, 26 Sep 2024 1{i}:00:00 +0900</pubDate></item>"
                            for i, (p, (title, _)) in enumerate(self.articles.items()))
            return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Extra News</title>'
                    f"<link>{self.base}/</link><description>test feed</description>{items}</channel></rss>"
                    ).encode(), "application/rss+xml"
        if path in self.articles:
            return article_html(*self.articles[path]).encode(), "text/html; charset=utf-8"
        return None, "text/plain"

    def __enter__(self) -> ExtraFeed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def extra() -> Iterator[ExtraFeed]:
    with ExtraFeed() as feed:
        yield feed


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_scheduled_digest_delivers_each_new_article_exactly_once(
        env: dict[str, str], web: FixtureWeb, extra: ExtraFeed, tmp_path: Path) -> None:
    fixture = next(s for s in web.sources() if s["id"] == "asia-wire")
    mine = {"id": "extra-news", "name": "Extra News", "type": "news", "country": "KR", "language": "en",
            "strategy": "feed", "urls": [extra.base + "/feed.xml"]}
    daily = {"name": "kr-daily", "title": "Deepfake crimes", "recipients": ["analyst@example.org"],
             "query": "deepfake", "frequency": "daily", "send_at": "08:00", "timezone": "Asia/Seoul",
             "when_empty": "note"}
    with SmtpSink() as smtp:
        e = schedule_env(env, tmp_path, [with_schedule(s, interval_minutes=60, jitter_seconds=0) for s in (fixture, mine)],
                         [daily], DFWATCH_SCHEDULE__CLOCK_SPEED="5760",  # a day per 15 s
                         DFWATCH_SCHEDULE__HOUSEKEEPING_MINUTES="0", DFWATCH_SMTP__HOST="127.0.0.1",
                         DFWATCH_SMTP__PORT=str(smtp.port), DFWATCH_SMTP__SECURITY="none",
                         DFWATCH_DIGEST__FROM_ADDRESS="dfwatch <digest@dfwatch.test>")
        with ScheduleProcess(e, tmp_path / "service.log") as service:
            service.wait_ready()

            def crawled_then_digested() -> bool:
                done = {r.job_id: r for r in runs(e) if r.outcome == "ok" and r.kind == "crawl"}
                if {"crawl:asia-wire", "crawl:extra-news"} - set(done):
                    return False
                crawled = max(r.finished_at or r.started_at for r in done.values())
                return any(r.outcome == "ok" and r.started_at > crawled for r in runs(e, "digest:kr-daily"))

            wait_for(crawled_then_digested, 240, "both sources crawled and a digest after that")
            added = extra.add("/news/assembly-votes.html", ADDED)
            sent_before = len(smtp.messages)

            def delivered_and_one_more() -> bool:
                texts = [text_of(m.message) for m in smtp.messages[sent_before:]]
                hits = [i for i, t in enumerate(texts) if added in t]
                return bool(hits) and len(texts) > hits[0] + 1

            wait_for(delivered_and_one_more, 240, "a digest with the added article, and the next one")
            assert service.stop() == 0, service.output[-4000:]

    messages = [m.message for m in smtp.messages]
    texts = [text_of(m) for m in messages]
    with_added = [i for i, t in enumerate(texts) if added in t]
    assert len(with_added) == 1, "the added article must reach the analyst exactly once"
    assert with_added[0] < len(texts) - 1 and added not in texts[with_added[0] + 1]
    assert ADDED[0] in texts[with_added[0]] or "Assembly" in texts[with_added[0]]
    for article in (extra.base + "/news/schools-warn.html", *(web.url("asia-wire", p) for p in (
            "/asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/",))):
        assert sum(article in t for t in texts) <= 1, article  # nothing is ever sent twice
    ids = [m["Message-ID"] for m in messages]
    assert len(set(ids)) == len(ids) and all(m["List-Unsubscribe"] for m in messages)
    assert all(m["To"] == "analyst@example.org" or "analyst@example.org" in str(m["To"]) for m in messages)

    digests = [r for r in runs(e, "digest:kr-daily") if r.outcome not in ("skipped", "missed")]
    assert all(r.outcome == "ok" for r in digests), [r.as_dict() for r in digests]
    statuses = [r.detail["status"] for r in digests]
    assert statuses.count("sent") + statuses.count("note-sent") == len(messages)
    windows = [r.detail["window_end"] for r in digests if r.detail["status"] in ("sent", "note-sent")]
    assert len(set(windows)) == len(windows)  # one message per daily window
    assert overlapping(runs(e)) == []


def test_a_digest_smtp_refused_is_retried_and_sent_once(env: dict[str, str], tmp_path: Path) -> None:
    """SMTP is down at send time: the digest job fails and schedules a retry, which delivers that window."""
    slot = (datetime.now(UTC) + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Seoul"))  # ~1 s away at 5760x
    weekly = {"name": "kr-weekly", "recipients": ["analyst@example.org"], "query": "deepfake", "frequency": "weekly",
              "weekday": slot.strftime("%a").lower(), "send_at": slot.strftime("%H:%M"), "timezone": "Asia/Seoul",
              "when_empty": "note"}
    port = free_port()  # nothing listens here yet
    e = schedule_env(env, tmp_path, [], [weekly], DFWATCH_SCHEDULE__CLOCK_SPEED="5760",
                     DFWATCH_SCHEDULE__DIGEST_RETRY_MINUTES="180", DFWATCH_SCHEDULE__HOUSEKEEPING_MINUTES="0",
                     DFWATCH_SMTP__HOST="127.0.0.1", DFWATCH_SMTP__PORT=str(port), DFWATCH_SMTP__SECURITY="none",
                     DFWATCH_SMTP__RETRIES="0")
    with ScheduleProcess(e, tmp_path / "service.log") as service:
        service.wait_ready()
        failed = wait_for(lambda: [r for r in runs(e, "digest:kr-weekly") if r.outcome == "failed"], 60,
                          "the digest to fail")[0]
        with SmtpSink(port=port) as smtp:
            sent = wait_for(lambda: [r for r in runs(e, "digest:kr-weekly") if r.outcome == "ok"], 60,
                            "the retry to send it")[0]
            assert service.stop() == 0
    assert "retry_at" in failed.detail and failed.detail["retry_at"]
    assert sent.detail["status"] == "note-sent" and len(smtp.messages) == 1  # the next weekly slot is days away
    assert smtp.messages[0].message["Message-ID"] == sent.detail["message_id"]
    window = Subscription.model_validate(weekly).last_slot(datetime.fromisoformat(failed.detail["schedule_time"]))
    assert datetime.fromisoformat(sent.detail["window_end"]) == window  # the window that failed is the one sent
