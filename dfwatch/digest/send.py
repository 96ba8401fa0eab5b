"""Send a rendered digest over SMTP (STARTTLS, SSL, or plain on loopback), with retries.

The SMTP transaction is driven step by step (MAIL, RCPT, then DATA) so the caller learns
the one moment that matters for "exactly once": `on_data` runs just before DATA, when the
server could start to hold the message; `on_accepted` runs when it answered 250, before
QUIT. Failures before DATA, and explicit refusals of the message, deliver nothing and are
retried (4xx, unreachable) or given up (5xx); a connection lost during DATA leaves the
message in doubt (`InDoubt`): it is never retried, so it is never sent twice.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dfwatch.settings import SmtpSettings

AFTER_ACCEPT: Callable[[], None] | None = None  # test hook: runs right after the 250, before anything is logged


class SendError(RuntimeError):
    """Nothing was delivered: the server could not be reached or refused the message."""


class InDoubt(SendError):
    """The connection ended during DATA: the server may or may not have accepted the message."""


class _Retry(Exception):
    """A failure before the server took the message that a later try may not meet (4xx, network)."""


@dataclass
class Hooks:
    on_data: Callable[[], None] = lambda: None  # the ledger marks `sending`
    on_refused: Callable[[], None] = lambda: None  # the server refused the message after DATA began
    on_accepted: Callable[[dict[str, str]], None] = lambda refused: None  # the ledger marks `sent`


@dataclass
class Delivery:
    tries: int
    refused: dict[str, str] = field(default_factory=dict)  # recipients the server refused (others got it)


def deliver(smtp: SmtpSettings, message: bytes, sender: str, recipients: list[str], hooks: Hooks,
            sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Send `message` to `recipients` in one SMTP transaction; retry with exponential backoff."""
    if smtp.security == "none" and smtp.username and not _loopback(smtp.host):
        raise SendError(f"refusing to send SMTP credentials unencrypted to {smtp.host}; "
                        "use smtp.security starttls or ssl")
    tries = smtp.retries + 1
    last: BaseException | None = None
    for i in range(tries):
        if i:
            sleep(smtp.retry_backoff * 2 ** (i - 1))
        try:
            refused = _transaction(smtp, message, sender, recipients, hooks)
            return Delivery(tries=i + 1, refused=refused)
        except _Retry as exc:
            last = exc.__cause__ or exc
    raise SendError(f"SMTP {smtp.host}:{smtp.port} did not take the digest after {tries} "
                    f"{'try' if tries == 1 else 'tries'}: {_describe(last)}")


def _transaction(smtp: SmtpSettings, message: bytes, sender: str, recipients: list[str],
                 hooks: Hooks) -> dict[str, str]:
    in_data = False
    try:
        client = _connect(smtp)
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as exc:
        raise SendError(f"SMTP {smtp.host}:{smtp.port}: {_describe(exc)}") from exc
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise _Retry() from exc
        raise SendError(f"SMTP {smtp.host}:{smtp.port}: {_describe(exc)}") from exc
    except OSError as exc:  # refused, unreachable, timed out, TLS failures, disconnects
        raise _Retry() from exc
    try:
        code, reply = client.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused: dict[str, str] = {}
        codes = []
        for rcpt in recipients:
            code, reply = client.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = f"{code} {reply.decode('utf-8', 'replace')}"
                codes.append(code)
        if len(refused) == len(recipients):
            if any(400 <= c < 500 for c in codes):
                raise _Retry(f"every recipient refused: {refused}")
            raise SendError(f"SMTP {smtp.host}:{smtp.port} refused every recipient: {refused}")
        hooks.on_data()
        in_data = True
        code, reply = client.data(message)
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        in_data = False
        if AFTER_ACCEPT is not None:
            AFTER_ACCEPT()
        hooks.on_accepted(refused)
        return refused
    except smtplib.SMTPResponseException as exc:  # an explicit answer: the message was not taken
        if in_data:
            hooks.on_refused()
        if 400 <= exc.smtp_code < 500:
            raise _Retry() from exc
        raise SendError(f"SMTP {smtp.host}:{smtp.port} refused the digest: {_describe(exc)}") from exc
    except OSError as exc:  # disconnects and timeouts
        if in_data:
            raise InDoubt(f"SMTP {smtp.host}:{smtp.port}: the connection ended while the message was being "
                          f"accepted ({_describe(exc)}); it may have been delivered") from exc
        raise _Retry() from exc
    finally:
        _close(client)


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if smtp.ca_file:
        context.load_verify_locations(cafile=str(smtp.ca_file))
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        client.ehlo()
        if smtp.security == "starttls":
            if not client.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS (security: starttls)")
            client.starttls(context=context)
            client.ehlo()
        if smtp.username:
            password = smtp.password.get_secret_value() if smtp.password else ""
            client.login(smtp.username, password)
    except BaseException:
        client.close()  # no QUIT: after a failed handshake it would only wait for the timeout
        raise
    return client


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {reply}"
    return f"{type(exc).__name__}: {exc}" if exc else "unknown error"
