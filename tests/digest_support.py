"""Helpers for the digest tests: a real SMTP server on loopback, a small store, settings, documents."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dfwatch.search.service import SearchService
from dfwatch.settings import Settings, load_settings
from dfwatch.store.sqlite import SqliteStore

SOURCES = {
    "hanbit-times": ("The Hanbit Times", "news", "KR", "en"),
    "asia-wire": ("Asia Wire Today", "news", "SG", "en"),
    "police-press": ("Korean National Police Agency", "government", "KR", "ko"),
    "seoul-daily": ("서울일보", "news", "KR", "ko"),
}


def ent(norm: str, label: str = "ORG") -> dict[str, Any]:
    return {"text": norm, "label": label, "norm": norm, "start": 0, "end": len(norm)}


def fig(value: float, start: int, measure: str = "police_cases_reported", unit: str = "cases",
        period: tuple[str, str] | None = ("2024-01-01", "2024-07-31"), place: str | None = "South Korea",
        sentence: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "measure": measure, "qualifier": None, "text": f"{value} {unit}",
            "start": start, "end": start + 9, "sentence": sentence or f"Police said {value:g} {unit} were reported.",
            "place": place, "attribution": "police",
            "period": {"start": period[0], "end": period[1], "text": "the first seven months"} if period else None}


def doc(id: str, source: str, published: str | None, title: str, text: str, *, story_id: str | None = None,
        entities: tuple[dict[str, Any], ...] = (), figures: tuple[dict[str, Any], ...] = (), lang: str = "en",
        url: str | None = None) -> dict[str, Any]:
    name, type_, country, language = SOURCES[source]
    out: dict[str, Any] = {
        "id": id, "url": url or f"https://{source}.example/{id}", "canonical_url": f"https://{source}.example/{id}",
        "source": {"id": source, "name": name, "type": type_, "country": country, "language": language},
        "title": title, "text": text, "lead": text.split("\n")[0], "published_at": published, "modified_at": None,
        "crawled_at": "2024-08-28T00:00:00+00:00", "authors": [], "language": lang, "content_hash": f"h-{id}",
        "relevance": {"score": 3.0, "matched_terms": ["deepfake"], "topics": ["policing"]},
        "entities": list(entities), "figures": list(figures),
        "people": [e["norm"] for e in entities if e["label"] == "PERSON"],
        "orgs": [e["norm"] for e in entities if e["label"] == "ORG"],
        "places": [e["norm"] for e in entities if e["label"] == "GPE"],
    }
    if story_id:
        out["story_id"] = story_id
    return out


def sqlite_service(path: Path, docs: list[dict[str, Any]] = ()) -> SearchService:  # type: ignore[assignment]
    store = SqliteStore(path)
    store.setup()
    if docs:
        store.upsert(docs)
    return SearchService(store)


def write_subscriptions(path: Path, *subs: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"subscriptions": list(subs)}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def subscription(name: str = "kr-daily", **changes: Any) -> dict[str, Any]:
    base = {"name": name, "title": "Deepfake crimes in Korea", "recipients": ["analyst@example.org",
                                                                             "desk@example.org"],
            "query": "deepfake country:KR", "frequency": "daily", "send_at": "08:00", "timezone": "Asia/Seoul",
            "language": "en", "when_empty": "note"}
    base.update(changes)
    return base


def overrides(tmp_path: Path, subscriptions: Path, smtp_port: int, **smtp: Any) -> dict[str, Any]:
    """Settings for a test: own data dir, the given subscriptions, SMTP on loopback without TLS."""
    return {
        "data_dir": str(tmp_path / "data"),
        "digest": {"subscriptions_file": str(subscriptions), "from_address": "dfwatch <digest@dfwatch.test>",
                   "unsubscribe_url": "https://dfwatch.test/unsubscribe/{subscription}"},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "retries": 2, "retry_backoff": 0.01,
                 "timeout": 10, **smtp},
    }


def make_settings(tmp_path: Path, subscriptions: Path, smtp_port: int, **smtp: Any) -> Settings:
    return load_settings(**overrides(tmp_path, subscriptions, smtp_port, **smtp))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default)  # type: ignore[return-value]


@dataclass
class Recorder:
    """An aiosmtpd handler that records every message; `answers` queues non-250 replies to DATA."""

    messages: list[Received] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    drop_after_data: bool = False  # close the connection instead of answering DATA (the message is kept)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                                          or envelope.content))
            if self.drop_after_data:
                server.transport.close()
                return "250 never seen"
        return "250 OK queued"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), optionally with STARTTLS and a login."""

    def __init__(self, port: int | None = None, tls: ssl.SSLContext | None = None,
                 login: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.recorder = Recorder()
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if login is not None:
            def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == login
                return AuthResult(success=ok, handled=False)
            kwargs.update(authenticator=check, auth_required=True)
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------- a small corpus around one digest window
# `kr-daily` is sent at 08:00 Asia/Seoul = 23:00 UTC: the first window ends 2024-08-28T23:00Z.
T1 = "2024-08-28T23:05:00+00:00"
T2 = "2024-08-29T23:05:00+00:00"
T3 = "2024-08-30T23:05:00+00:00"
HOSTILE_TITLE = "<script>alert(1)</script> deepfake <img src=x onerror=alert(2)>"


def first_window_docs() -> list[dict[str, Any]]:
    """One article before the first window (the baseline) and three new ones in two stories."""
    return [
        doc("old1", "hanbit-times", "2024-08-20T01:00:00+00:00", "Deepfake crimes rose last year",
            "Deepfake sex crimes rose last year, police said.", entities=(ent("Korean National Police Agency"),)),
        doc("a2", "hanbit-times", "2024-08-28T01:00:00+00:00", "Police count 297 deepfake cases",
            "Police said 297 deepfake cases were reported in the first seven months. Telegram rooms spread them.",
            story_id="s297", entities=(ent("Korean National Police Agency"), ent("Telegram")),
            figures=(fig(297, 10),)),
        doc("a3", "police-press", "2024-08-27T23:30:00+00:00", "경찰, 딥페이크 성범죄 297건 집계",
            "올해 1~7월 딥페이크 성범죄 297건이 신고됐다. deepfake", story_id="s297", lang="ko",
            entities=(ent("Korean National Police Agency"),), figures=(fig(297, 5, sentence="297건이 신고됐다."),)),
        doc("a4", "hanbit-times", "2024-08-28T03:00:00+00:00", "Schools warn students about deepfake apps",
            "Schools across Seoul sent letters about deepfake apps.", entities=(ent("Seoul", "GPE"),)),
    ]
