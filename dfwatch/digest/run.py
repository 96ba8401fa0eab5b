"""One digest run: build → render → send, logged so each window goes out once.

`run_digest` is what `dfwatch digest send` and the scheduler's digest job call. The window
is the subscription's latest send time at or before `now`; a second run for a window that
was delivered is refused unless `force`. See `dfwatch.digest.ledger` for the states and
docs/digests.md for why a crash can never cause a second email.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dfwatch.digest.build import Known, Options, Search, build
from dfwatch.digest.ledger import Entry, Ledger
from dfwatch.digest.model import Digest, DigestOutcome
from dfwatch.digest.render import Envelope, Rendered, compose, message_id, preview, render, restamp
from dfwatch.digest.send import Hooks, InDoubt, SendError, deliver
from dfwatch.digest.subscriptions import Subscription, get_subscription

if TYPE_CHECKING:
    from dfwatch.settings import Settings


def open_ledger(settings: Settings) -> Ledger:
    return Ledger(settings.data_path / "digests.sqlite3")


def envelope_of(settings: Settings) -> Envelope:
    d = settings.digest
    return Envelope(d.from_address, d.reply_to, d.unsubscribe_mailto, d.unsubscribe_url)


def web_base_url(settings: Settings) -> str:
    """Where digest links point: `web.base_url` when the settings have it, else the local `dfwatch serve`."""
    base = getattr(settings.web, "base_url", None)
    return str(base) if base else f"http://{settings.web.host}:{settings.web.port}"


def run_digest(settings: Settings, subscription_name: str, now: datetime | None = None, force: bool = False,
               dry_run: bool = False, service: Search | None = None,
               sleep: Callable[[float], None] = time.sleep) -> DigestOutcome:
    """Build, render and send `subscription_name`'s digest for the window ending at its last send time.

    Raises ConfigError (bad subscription file or name), StoreError (the store is unreachable),
    SendError (SMTP failed every try: nothing was delivered, nothing is marked sent; a later run
    sends it), InDoubt (the connection ended during DATA: logged `unconfirmed`, never resent
    automatically), LedgerBusy (another process is running this subscription).
    """
    sub = get_subscription(settings.subscriptions_path, subscription_name)
    now = now.astimezone(UTC) if now else datetime.now(UTC)
    window_end = sub.last_slot(now)
    envelope = envelope_of(settings)
    with open_ledger(settings) as ledger:
        if dry_run:
            digest = _build(settings, sub, ledger, window_end, now, service)
            rendered = render(digest, envelope)
            msg_id = message_id(sub.name, window_end, envelope.domain)
            data = compose(digest, rendered, envelope, msg_id, now)
            return _outcome(digest, "dry-run", msg_id, rendered, message=data)
        with ledger.lock(sub.name):
            ledger.recover(sub.name)
            latest = ledger.delivered(sub.name, window_end)
            if latest is not None:
                if not force:
                    return DigestOutcome(
                        sub.name, "already-sent", latest.window_start, window_end, latest.message_id, latest.subject,
                        latest.recipients, latest.refused, latest.counts,
                        note=f"the digest for {window_end.isoformat()} is already {latest.state} "
                             f"({latest.message_id}); use --force to send it again")
                return _resend(settings, ledger, sub, latest, envelope, now, sleep)
            digest = _build(settings, sub, ledger, window_end, now, service)
            if digest.baseline is not None and digest.window_start is not None:
                ledger.add_baseline(sub.name, digest.window_start, digest.baseline)
            if digest.empty and sub.when_empty == "skip":
                ledger.begin(sub.name, digest.window_start, window_end, 0, None, None, [], digest.counts(), None,
                             {}, {}, state="skipped")
                return _outcome(digest, "skipped", None, None, note="nothing new; when_empty is skip")
            rendered = render(digest, envelope)
            msg_id = message_id(sub.name, window_end, envelope.domain)
            data = compose(digest, rendered, envelope, msg_id, now)
            figures = {f.key: f.value for f in (*digest.new_figures, *digest.changed_figures)}
            entry = ledger.begin(sub.name, digest.window_start, window_end, 0, msg_id, rendered.subject,
                                 sub.recipients, digest.counts(), data, digest.delivers, figures)
            tries, refused = _send(settings, ledger, entry, data, envelope, sub.recipients, sleep)
            outcome = _outcome(digest, "note-sent" if digest.empty else "sent", msg_id, rendered, message=data)
            outcome.attempts, outcome.refused = tries, refused
            return outcome


def preview_digest(settings: Settings, subscription_name: str, now: datetime | None = None,
                   service: Search | None = None) -> tuple[Digest, Rendered]:
    """The digest a send would build now, rendered for a file (chart inlined); writes nothing."""
    sub = get_subscription(settings.subscriptions_path, subscription_name)
    now = now.astimezone(UTC) if now else datetime.now(UTC)
    with open_ledger(settings) as ledger:
        digest = _build(settings, sub, ledger, sub.last_slot(now), now, service)
    return digest, preview(digest, envelope_of(settings))


def _build(settings: Settings, sub: Subscription, ledger: Ledger, window_end: datetime, now: datetime,
           service: Search | None) -> Digest:
    known: Known = ledger.known(sub.name)
    watermark = ledger.watermark(sub.name, before=window_end)
    window_start = watermark or sub.previous_slot(window_end)
    opts = Options(web_base=web_base_url(settings), max_stories=sub.max_stories or settings.digest.max_stories,
                   chart_bars=settings.digest.chart_bars)
    if service is not None:
        return build(service, sub, known, window_start, window_end, now, opts)
    from dfwatch.search.service import SearchService

    with SearchService.open(settings) as opened:
        return build(opened, sub, known, window_start, window_end, now, opts)


def _send(settings: Settings, ledger: Ledger, entry: int, data: bytes, envelope: Envelope, recipients: list[str],
          sleep: Callable[[float], None]) -> tuple[int, dict[str, str]]:
    hooks = Hooks(on_data=lambda: ledger.set_state(entry, "sending"),
                  on_refused=lambda: ledger.set_state(entry, "pending"),
                  on_accepted=lambda refused: ledger.set_state(entry, "sent", refused=refused))
    try:
        delivery = deliver(settings.smtp, data, envelope.sender, recipients, hooks, sleep)
    except InDoubt as exc:
        ledger.set_state(entry, "unconfirmed", error=str(exc))
        raise
    except SendError as exc:
        ledger.set_state(entry, "failed", error=str(exc))
        raise
    ledger.set_state(entry, "sent", refused=delivery.refused, tries=delivery.tries)  # `sent` already; adds tries
    return delivery.tries, delivery.refused


def _resend(settings: Settings, ledger: Ledger, sub: Subscription, latest: Entry, envelope: Envelope,
            now: datetime, sleep: Callable[[float], None]) -> DigestOutcome:
    """Send a delivered window's stored message again: a new Message-ID if it was surely sent, the same
    one if it is unconfirmed (a recipient who has it then sees one message)."""
    stored = ledger.message(latest.id)
    if stored is None:
        raise SendError(f"nothing stored to resend for {latest.window_end.isoformat()}")
    attempt = ledger.next_attempt(sub.name, latest.window_end)
    original = latest.message_id
    msg_id = message_id(sub.name, latest.window_end, envelope.domain, attempt) if latest.state == "sent" else original
    data = restamp(stored, msg_id or "", now, resend_of=original if msg_id != original else None)
    entry = ledger.begin(sub.name, latest.window_start, latest.window_end, attempt, msg_id, latest.subject,
                         sub.recipients, latest.counts, data, {}, {})
    tries, refused = _send(settings, ledger, entry, data, envelope, sub.recipients, sleep)
    return DigestOutcome(sub.name, "resent", latest.window_start, latest.window_end, msg_id, latest.subject,
                         sub.recipients, refused, latest.counts, attempts=tries, message=data,
                         note=f"resent (forced); the earlier message was {original}")


def _outcome(d: Digest, status: str, msg_id: str | None, rendered: Rendered | None, note: str = "",
             message: bytes | None = None) -> DigestOutcome:
    return DigestOutcome(d.subscription.name, status, d.window_start, d.window_end, msg_id,  # type: ignore[arg-type]
                         rendered.subject if rendered else None, list(d.subscription.recipients), {}, d.counts(),
                         note=note, message=message)
