"""Render a digest: subject, HTML and plain text (Jinja2), the chart, and the MIME message.

The message (email.mime, CRLF line ends, 7-bit clean) is multipart/alternative: text/plain
first, then multipart/related holding the HTML and the chart PNG it shows through `cid:`.
Headers: From, To, Subject (RFC 2047 for Korean), Date, a Message-ID derived from the
subscription and its window (so a retry of the same window sends the same id), List-Id,
List-Unsubscribe (mailto, and an https URL with List-Unsubscribe-Post when one is
configured), Auto-Submitted.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dfwatch.digest import labels
from dfwatch.digest.build import query_text
from dfwatch.digest.chart import render_chart
from dfwatch.digest.model import Digest, FigureItem, StoryItem
from dfwatch.terminal import safe_line

CHART_CID = "coverage-chart"
WIRE = compat32.clone(linesep="\r\n")  # email.mime + compat32 fold encoded words cleanly (the new API can
# double a space where ASCII meets an encoded word, or fold right after "Subject:")


@dataclass(frozen=True)
class Envelope:
    """Who the message is from, and how to unsubscribe (the digest settings)."""

    from_address: str
    reply_to: str | None = None
    unsubscribe_mailto: str | None = None  # None = the From address
    unsubscribe_url: str | None = None  # https; {subscription} is filled in

    @property
    def sender(self) -> str:
        """The bare From address (the SMTP envelope sender)."""
        address = parseaddr(self.from_address)[1]
        if "@" not in address:
            raise ValueError(f"digest.from_address {self.from_address!r} holds no email address")
        return address

    @property
    def domain(self) -> str:
        return self.sender.rsplit("@", 1)[1]


@dataclass
class Rendered:
    subject: str
    text: str
    html: str  # shows the chart through `cid:` (email) or a data: URI (previews)
    chart: bytes | None


def plain(value: Any) -> str:
    """A crawled string on one line, without control or bidi-override characters."""
    return " ".join(safe_line(" ".join(str(value or "").split())).split())


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("dfwatch.digest", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(("html.j2",), ("txt.j2",), default=True),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["plain"] = plain
    return env


ENV = _environment()


def subject(d: Digest) -> str:
    lang, sub = d.subscription.language, d.subscription
    c = d.counts()
    parts = []
    if c["stories"] + c["hidden"]:
        n = c["stories"] + c["hidden"]
        parts.append(labels.count(lang, n, "1 new story", "{n} new stories", "새 소식 {n}건"))
    if c["updates"]:
        parts.append(labels.count(lang, c["updates"], "1 update", "{n} updates", "후속 보도 {n}건"))
    if c["new_figures"]:
        parts.append(labels.count(lang, c["new_figures"], "1 new figure", "{n} new figures", "새 수치 {n}건"))
    if c["changed_figures"]:
        parts.append(labels.count(lang, c["changed_figures"], "1 changed figure", "{n} changed figures",
                                  "달라진 수치 {n}건"))
    what = ", ".join(parts) or labels.text(lang, "subject_empty")
    day = labels.when_text(lang, d.window_end, sub.zone)
    return " ".join(f"[dfwatch] {sub.display_title}: {what} ({day})".split())


def render(d: Digest, envelope: Envelope | None = None, chart_src: str | None = None) -> Rendered:
    """Subject, text and HTML of `d`, with `envelope`'s unsubscribe links in the footer.

    `chart_src` is where the HTML finds the chart: the message's `cid:` part by default.
    """
    lang, zone = d.subscription.language, d.subscription.zone
    chart = render_chart(d.chart) if d.chart and any(n for _, n in d.chart.bars) else None
    if chart is not None and chart_src is None:
        chart_src = f"cid:{CHART_CID}"

    def t(key: str, **values: object) -> str:
        return labels.text(lang, key, **values)

    def when(moment: str | datetime | None) -> str:
        return labels.when_text(lang, moment, zone)

    def value(v: float | None, unit: str, qualifier: str | None = None) -> str:
        return labels.value_text(lang, v or 0, unit, qualifier)

    def story_meta(s: StoryItem) -> str:
        parts = [labels.count(lang, len(s.sources), "1 source", "{n} sources", "출처 {n}곳"),
                 labels.count(lang, s.article_count, "1 article", "{n} articles", "기사 {n}건")]
        if s.first_seen:
            parts.append(t("first_seen", date=when(s.first_seen)))
        return " · ".join(parts)

    def figure_head(f: FigureItem) -> str:
        period = labels.period_text(lang, f.period_start, f.period_end, plain(f.period_text))
        return ", ".join(p for p in (labels.measure_text(lang, f.measure), plain(f.place), period) if p)

    def versions(f: FigureItem) -> str:
        return " · ".join(f"{labels.value_text(lang, v, f.unit)} "
                          f"({labels.count(lang, n, '1 source', '{n} sources', '출처 {n}곳')})" for v, n in f.versions)

    since = labels.when_text(lang, d.window_start, zone, with_time=True)
    first = d.baseline is not None
    subject_line = subject(d)
    context: dict[str, Any] = {
        "d": d, "lang": lang, "t": t, "when": when, "value": value, "story_meta": story_meta,
        "figure_head": figure_head, "versions": versions, "entity_label": lambda x: labels.entity_label(lang, x),
        "mentions": lambda n: labels.count(lang, n, "1 new article", "{n} new articles", "새 기사 {n}건"),
        "since": since, "since_line": t("first_digest" if first else "since", since=since),
        "story_sections": [(t("new_stories"), [s for s in d.stories if not s.update]),
                           (t("updates"), [s for s in d.stories if s.update])],
        "figure_sections": [(t("new_figures"), d.new_figures), (t("changed_figures"), d.changed_figures)],
        "query": query_text(d.subscription) or t("query_all"), "chart_src": chart_src if chart else None,
        "subject": subject_line,
        "unsubscribe_links": unsubscribe_links(d.subscription.name, envelope)[-1:] if envelope else [],
    }
    return Rendered(subject=subject_line, text=ENV.get_template("digest.txt.j2").render(context),
                    html=ENV.get_template("digest.html.j2").render(context), chart=chart)


def preview(d: Digest, envelope: Envelope | None = None) -> Rendered:
    """Like the email, with the chart inlined as a data: URI so the HTML file stands alone."""
    chart = render_chart(d.chart) if d.chart and any(n for _, n in d.chart.bars) else None
    src = f"data:image/png;base64,{base64.b64encode(chart).decode()}" if chart else None
    return render(d, envelope, chart_src=src)


def unsubscribe_links(name: str, envelope: Envelope) -> list[str]:
    """The mailto link, then the web link if configured (the footer shows the last; the header both)."""
    mailto = parseaddr(envelope.unsubscribe_mailto or envelope.from_address)[1]
    links = [f"mailto:{mailto}?subject={quote('unsubscribe ' + name)}"]
    if envelope.unsubscribe_url:
        links.append(envelope.unsubscribe_url.replace("{subscription}", quote(name, safe="")))
    return links


def message_id(name: str, window_end: datetime, domain: str, attempt: int = 0) -> str:
    """Deterministic per (subscription, window); forced resends (attempt > 0) get their own."""
    stamp = window_end.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    return f"<dfwatch.{name}.{stamp}{f'.r{attempt}' if attempt else ''}@{domain}>"


def compose(d: Digest, rendered: Rendered, envelope: Envelope, msg_id: str, date: datetime) -> bytes:
    """The message as it goes over SMTP: CRLF line ends, 7-bit clean, headers folded per RFC 5322/2047."""
    sub = d.subscription
    msg = MIMEMultipart("alternative")
    msg["Subject"] = _header(rendered.subject)
    msg["From"] = _address(envelope.from_address)
    msg["To"] = ", ".join(sub.recipients)
    if envelope.reply_to:
        msg["Reply-To"] = _address(envelope.reply_to)
    msg["Date"] = format_datetime(date.astimezone(UTC))
    msg["Message-ID"] = msg_id
    msg["List-Id"] = _header(f"{sub.display_title} <{sub.name}.digest.{envelope.domain}>")
    links = unsubscribe_links(sub.name, envelope)
    msg["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in links)
    if envelope.unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Dfwatch-Window"] = f"{d.window_start.isoformat() if d.window_start else ''}/{d.window_end.isoformat()}"
    msg.attach(_text(rendered.text, "plain"))
    html = _text(rendered.html, "html")
    if rendered.chart:
        related = MIMEMultipart("related")
        related.attach(html)
        image = MIMEImage(rendered.chart, "png")
        image["Content-ID"] = f"<{CHART_CID}>"
        image["Content-Disposition"] = 'inline; filename="coverage.png"'
        related.attach(image)
        msg.attach(related)
    else:
        msg.attach(html)
    return msg.as_bytes(policy=WIRE)


def restamp(message: bytes, msg_id: str, date: datetime, resend_of: str | None = None) -> bytes:
    """A stored message with a new Message-ID and Date (forced resends); the rest byte for byte."""
    msg = message_from_bytes(message)  # compat32 keeps the other headers as they were folded
    del msg["Message-ID"], msg["Date"]
    msg["Message-ID"] = msg_id
    msg["Date"] = format_datetime(date.astimezone(UTC))
    if resend_of:
        msg["X-Dfwatch-Resend-Of"] = resend_of
    return msg.as_bytes(policy=WIRE)


def _header(value: str) -> Any:  # str, or a Header that compat32 folds into encoded words
    return value if value.isascii() else Header(value, "utf-8")


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")


def _text(body: str, subtype: str) -> MIMEText:
    """7-bit safe either way: quoted-printable for mostly-ASCII text, base64 for Korean."""
    charset = Charset("utf-8")
    wide = sum(ord(ch) > 127 for ch in body)
    charset.body_encoding = BASE64 if wide > len(body) // 10 else QP
    return MIMEText(body, subtype, charset)  # type: ignore[arg-type]
