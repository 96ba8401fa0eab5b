"""`dfwatch digest preview | send | list`: digest emails on the command line.

Exit codes: 1 when a send is refused (the window was already sent: use --force; or another
process is sending it), 2 for bad input or configuration, 3 when the store cannot be
reached, 4 when SMTP did not take the message (nothing is marked sent; a later run sends
it) or the connection ended during DATA (logged unconfirmed, not resent automatically).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from dfwatch.cli import fail, settings_from
from dfwatch.settings import Settings
from dfwatch.store.base import StoreError
from dfwatch.terminal import safe_line
from dfwatch.yamlconf import ConfigError

digest_app = typer.Typer(help="Digest emails: what is new for each subscription.", no_args_is_help=True)
NameArg = Annotated[str, typer.Argument(help="A subscription name from the subscriptions file.")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Act as if it were this time (ISO 8601; naive = UTC): "
                                                        "picks the window, for tests and catch-up.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")]


def register(app: typer.Typer) -> None:
    """Add `digest preview`, `digest send` and `digest list` to `app`."""
    app.add_typer(digest_app, name="digest")


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"invalid time for --at: {value!r} (use ISO 8601, e.g. 2024-08-29T08:00+09:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@digest_app.command("preview")
def preview(
    ctx: typer.Context,
    name: NameArg,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML here (the chart inlined).")] = None,
    text: Annotated[Path | None, typer.Option("--text", help="Write the plain-text version here.")] = None,
    at: AtOpt = None,
) -> None:
    """Build and render the digest a send would make now, without sending or logging anything."""
    from dfwatch.digest.run import preview_digest

    settings = settings_from(ctx)
    try:
        digest, rendered = preview_digest(settings, name, _moment(at))
    except ConfigError as exc:
        raise fail(f"subscriptions error:\n{exc}") from None
    except StoreError as exc:
        raise fail(f"store unreachable or failing: {exc}", 3) from None
    for path, body in ((html, rendered.html), (text, rendered.text)):
        if path is not None:
            path.write_text(body, encoding="utf-8")
    if html is None and text is None:
        typer.echo("\n".join(map(safe_line, rendered.text.splitlines())))  # crawled text: no control chars
    counts = digest.counts()
    typer.echo(f"{rendered.subject}\n  {counts['articles']} new articles in {counts['stories']} new stories and "
               f"{counts['updates']} updates; {counts['new_figures']} new and {counts['changed_figures']} changed "
               f"figures; {counts['entities']} new names", err=True)


@digest_app.command("send")
def send(
    ctx: typer.Context,
    name: NameArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Build and render, print what would be sent; "
                                                            "send and log nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Send again a window that was already sent.")] = False,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send the digest for the subscription's latest send time, once (a repeat is refused unless --force)."""
    from dfwatch.digest import InDoubt, LedgerBusy, SendError, run_digest

    settings = settings_from(ctx)
    try:
        outcome = run_digest(settings, name, now=_moment(at), force=force, dry_run=dry_run)
    except ConfigError as exc:
        raise fail(f"subscriptions error:\n{exc}") from None
    except StoreError as exc:
        raise fail(f"store unreachable or failing: {exc}", 3) from None
    except InDoubt as exc:
        raise fail(f"{exc}. Logged as unconfirmed; it will not be resent automatically (--force resends it).",
                   4) from None
    except SendError as exc:
        raise fail(f"{exc}. Nothing was marked sent; the next run sends it.", 4) from None
    except LedgerBusy as exc:
        raise fail(str(exc), 1) from None
    if as_json:
        typer.echo(json.dumps(outcome.as_dict(), ensure_ascii=False))
    else:
        window = f"{outcome.window_end.isoformat()}"
        typer.echo(f"{name}: {outcome.status} (window ending {window})"
                   + (f"\n  {outcome.subject}" if outcome.subject else "")
                   + (f"\n  to {', '.join(outcome.recipients)}" if outcome.status != "skipped" else "")
                   + (f"\n  Message-ID {outcome.message_id}" if outcome.message_id else "")
                   + (f"\n  refused: {outcome.refused}" if outcome.refused else "")
                   + (f"\n  {outcome.note}" if outcome.note else ""))
    if outcome.status == "already-sent":
        raise typer.Exit(1)


@digest_app.command("list")
def list_subscriptions(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every subscription: when it is sent, to whom, and its last digests."""
    settings = settings_from(ctx)
    rows = _rows(settings)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(f"no subscriptions in {settings.subscriptions_path}")
    for r in rows:
        when = f"{r['frequency']}{' ' + r['weekday'] if r['weekday'] else ''} at {r['send_at']} {r['timezone']}"
        typer.echo(f"{r['name']}{'' if r['enabled'] else ' (disabled)'}: {when}, {len(r['recipients'])} "
                   f"recipient(s), query {r['query']!r}\n  next {r['next_send']}")
        for e in r["last"]:
            counts = e["counts"]
            typer.echo(f"  {e['window_end']}  {e['state']:<11} {e['sent_at'] or '':<32} "
                       f"{counts.get('articles', 0)} articles  {e['message_id'] or ''}"
                       + (f"\n      {e['error']}" if e["error"] and e["state"] != "sent" else ""))


def _rows(settings: Settings) -> list[dict[str, Any]]:
    from dfwatch.digest.run import open_ledger
    from dfwatch.digest.subscriptions import load_subscriptions

    try:
        subs = load_subscriptions(settings.subscriptions_path)
    except ConfigError as exc:
        raise fail(f"subscriptions error:\n{exc}") from None
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with open_ledger(settings) as ledger:
        for sub in subs.values():
            last = [e.as_dict() for e in ledger.entries(sub.name, limit=3) if e.state != "baseline"]
            rows.append({"name": sub.name, "title": sub.display_title, "enabled": sub.enabled,
                         "frequency": sub.frequency, "weekday": sub.weekday, "send_at": sub.send_at.strftime("%H:%M"),
                         "timezone": sub.timezone, "recipients": sub.recipients, "query": sub.query,
                         "next_send": sub.next_slot(now).astimezone(sub.zone).isoformat(), "last": last})
    return rows
