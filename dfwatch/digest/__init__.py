"""Digest emails: for each subscription, what is new since its last digest (build → render → send).

    from dfwatch.digest import run_digest
    outcome = run_digest(settings, "korea-deepfake-daily")   # the scheduler's job and `dfwatch digest send`

Subscriptions are data (`config/subscriptions.yaml`, `subscriptions`); `build` asks the
search layer only; `render` makes the MIME message; `send` speaks SMTP; `ledger` logs each
(subscription, window) so every window goes out once. Design notes: docs/digests.md.
"""

from dfwatch.digest.ledger import LedgerBusy
from dfwatch.digest.model import DigestOutcome
from dfwatch.digest.run import run_digest
from dfwatch.digest.send import InDoubt, SendError
from dfwatch.digest.subscriptions import Subscription, get_subscription, load_subscriptions

__all__ = ["DigestOutcome", "InDoubt", "LedgerBusy", "SendError", "Subscription", "get_subscription",
           "load_subscriptions", "run_digest"]
