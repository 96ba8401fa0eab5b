"""Digests over a real SMTP server on loopback (aiosmtpd): exactly once, through faults and crashes.

Each test owns a store, a digest log and an SMTP server. `kr-daily` goes out at 08:00
Asia/Seoul (23:00 UTC): T1, T2 and T3 fall just after three consecutive send times.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from digest_support import (
    T1,
    T2,
    T3,
    SmtpSink,
    doc,
    fig,
    first_window_docs,
    free_port,
    make_settings,
    overrides,
    subscription,
    write_subscriptions,
)

from dfwatch.digest import InDoubt, SendError, run_digest
from dfwatch.digest.model import DigestOutcome
from dfwatch.digest.run import open_ledger
from dfwatch.search.service import SearchService
from dfwatch.settings import StoreSettings
from dfwatch.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
W1 = "2024-08-28T23:00:00+00:00"  # the first window's end
LATE = doc("late1", "hanbit-times", "2024-08-10T00:00:00+00:00", "Deepfake victims wait months for takedowns",
           "Support centres said deepfake victims waited months for takedowns.")  # crawled late, dated early
UPDATE = doc("a5", "seoul-daily", "2024-08-29T05:00:00+00:00", "Deepfake cases climb to 310, police say",
             "Police said 310 deepfake cases were reported in the first seven months.", story_id="s297",
             figures=(fig(310, 3),))


class World:
    """Settings, a store (SQLite, or Elasticsearch through `service`) and the digest log of one test."""

    def __init__(self, tmp_path: Path, port: int, docs: list[dict[str, Any]], service: SearchService | None = None,
                 **sub: Any) -> None:
        self.tmp = tmp_path
        self.port = port
        self.subs = write_subscriptions(tmp_path / "subscriptions.yaml", subscription(**sub))
        self.settings = make_settings(tmp_path, self.subs, port)
        self.service = service
        self.store = service.store if service else SqliteStore(self.settings.sqlite_file)
        self.store.setup()
        self.add(*docs)

    def add(self, *docs: dict[str, Any]) -> None:
        if docs:
            self.store.upsert(list(docs))
        self.store.refresh()

    def run(self, at: str, **kw: Any) -> DigestOutcome:
        return run_digest(self.settings, "kr-daily", now=datetime.fromisoformat(at), service=self.service,
                          sleep=lambda s: None, **kw)

    def states(self) -> list[tuple[str, int, str]]:
        with open_ledger(self.settings) as ledger:
            return [(e.window_end.isoformat(), e.attempt, e.state) for e in reversed(ledger.entries("kr-daily"))]

    def known(self) -> set[str]:
        with open_ledger(self.settings) as ledger:
            return set(ledger.known("kr-daily").articles)

    def crash(self, mode: str, at: str) -> subprocess.CompletedProcess[str]:
        """Run the digest in a child process that dies at `mode`: after-accept or before-data."""
        driver = self.tmp / "crash_driver.py"
        driver.write_text(CRASH_DRIVER, encoding="utf-8")
        args = json.dumps(overrides(self.tmp, self.subs, self.port))
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        return subprocess.run([sys.executable, str(driver), mode, args, at], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONPATH": path})


CRASH_DRIVER = """
import json, os, sys
from datetime import datetime
import dfwatch.digest.run as run
import dfwatch.digest.send as send
from dfwatch.settings import load_settings

mode, args, at = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
if mode == "after-accept":  # the server said 250; the process dies before the log knows
    send.AFTER_ACCEPT = lambda: os._exit(17)
elif mode == "before-data":  # logged pending; the process dies before it reaches SMTP
    run.deliver = lambda *a, **k: os._exit(18)
run.run_digest(load_settings(**args), "kr-daily", now=datetime.fromisoformat(at))
os._exit(0)
"""


def body(message: EmailMessage | bytes) -> str:
    msg = message if isinstance(message, EmailMessage) else message_from_bytes(message, policy=default)
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]


def texts(sink: SmtpSink) -> list[str]:
    return [body(m.message) for m in sink.messages]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def es_service(request: pytest.FixtureRequest) -> SearchService:
    from dfwatch.store.elastic import ElasticsearchStore

    url, prefix = request.getfixturevalue("es_url"), request.getfixturevalue("es_prefix")
    request.addfinalizer(lambda: _drop_templates(url, prefix))
    return SearchService(ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=url, index_prefix=prefix)))


def _drop_templates(url: str, prefix: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(url)
    found = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for t in found.get("index_templates", []) if found.meta.status == 200 else []:
        es.indices.delete_index_template(name=t["name"])
    es.close()


# ---------------------------------------------------------------- exactly once
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def test_each_article_reaches_the_analyst_exactly_once(kind: str, env: dict[str, str], tmp_path: Path,
                                                       sink: SmtpSink, request: pytest.FixtureRequest) -> None:
    service = es_service(request) if kind == "elasticsearch" else None
    w = World(tmp_path, sink.port, first_window_docs(), service=service)
    first = w.run(T1)
    assert first.status == "sent" and first.counts["articles"] == 3 and first.attempts == 1
    assert [m.rcpt_tos for m in sink.messages] == [["analyst@example.org", "desk@example.org"]]
    assert sink.messages[0].mail_from == "digest@dfwatch.test"
    one = texts(sink)[0]
    for link in ("https://hanbit-times.example/a2", "https://police-press.example/a3",
                 "https://hanbit-times.example/a4"):
        assert one.count(link) == 1, link  # each article once
    assert "Deepfake crimes rose last year" not in one  # before the first window: the baseline

    again = w.run("2024-08-29T02:00:00+00:00")  # the same window
    assert again.status == "already-sent" and "use --force" in again.note and len(sink.messages) == 1

    w.add(LATE, UPDATE)  # a late crawl of an old article; new coverage of story s297 with a revised figure
    second = w.run(T2)
    assert second.status == "sent" and second.counts == {
        "stories": 1, "updates": 1, "hidden": 0, "articles": 2, "new_figures": 0, "changed_figures": 1,
        "entities": 0}
    two = texts(sink)[1]
    assert two.count("https://hanbit-times.example/late1") == 1  # the late article, once
    assert "== More coverage of earlier stories ==" in two and two.count("https://seoul-daily.example/a5") == 1
    for old in ("https://hanbit-times.example/a2", "https://police-press.example/a3",
                "https://hanbit-times.example/a4", "Schools warn students"):
        assert old not in two, old  # nothing of the first digest again
    assert "* Police cases, South Korea, Jan–Jul 2024: 310 cases (was 297 cases)" in two

    third = w.run(T3)
    assert third.status == "note-sent" and third.counts["articles"] == 0
    three = texts(sink)[2]
    assert "No new coverage for this subscription since 30 Aug 2024 08:00 KST." in three
    assert "Deepfake victims wait months" not in three and "climb to 310" not in three
    assert w.states() == [("2024-08-27T23:00:00+00:00", -1, "baseline"), (W1, 0, "sent"),
                          ("2024-08-29T23:00:00+00:00", 0, "sent"), ("2024-08-30T23:00:00+00:00", 0, "sent")]
    ids = [m.message["Message-ID"] for m in sink.messages]
    assert len(set(ids)) == 3 and ids[0] == "<dfwatch.kr-daily.20240828T2300Z@dfwatch.test>"


def test_when_empty_skip_sends_nothing_until_something_is_new(env: dict[str, str], tmp_path: Path,
                                                              sink: SmtpSink) -> None:
    w = World(tmp_path, sink.port, first_window_docs()[:1], when_empty="skip")
    assert w.run(T1).status == "skipped" and sink.messages == []
    w.add(UPDATE)
    late = w.run("2024-08-29T06:00:00+00:00")  # still the first window: the skipped row is taken over
    assert late.status == "sent" and len(sink.messages) == 1 and "climb to 310" in texts(sink)[0]
    assert w.states()[-1] == (W1, 0, "sent")


# ---------------------------------------------------------------- SMTP faults
def test_smtp_down_then_a_later_run_sends_it(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    w = World(tmp_path, port, first_window_docs())
    with pytest.raises(SendError, match=r"did not take the digest after 3 tries: ConnectionRefusedError"):
        w.run(T1)
    assert w.states()[-1] == (W1, 0, "failed")
    assert w.known() == {"old1"}  # only the baseline: nothing is marked sent
    with SmtpSink(port=port) as sink:
        retry = w.run("2024-08-29T01:00:00+00:00")  # the same window, an hour later
        assert retry.status == "sent" and len(sink.messages) == 1
        assert retry.message_id == "<dfwatch.kr-daily.20240828T2300Z@dfwatch.test>"  # the id the failed try had
        assert "Schools warn students" in texts(sink)[0]
        assert w.run(T2).status == "note-sent" and "Schools warn students" not in texts(sink)[1]


def test_smtp_down_for_a_whole_window_the_next_digest_carries_it(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    w = World(tmp_path, port, first_window_docs())
    with pytest.raises(SendError):
        w.run(T1)
    w.add(UPDATE)
    with SmtpSink(port=port) as sink:
        assert w.run(T2).status == "sent"
    text = texts(sink)[0]
    assert "Schools warn students" in text and "climb to 310" in text  # both windows' news, once
    assert [s for _, _, s in w.states()] == ["baseline", "failed", "sent"]


def test_a_4xx_answer_is_retried_with_backoff(env: dict[str, str], tmp_path: Path, sink: SmtpSink) -> None:
    sink.recorder.answers = ["451 4.3.0 Try again later"]
    w = World(tmp_path, sink.port, first_window_docs())
    waits: list[float] = []
    outcome = run_digest(w.settings, "kr-daily", now=datetime.fromisoformat(T1), sleep=waits.append)
    assert outcome.status == "sent" and outcome.attempts == 2 and len(sink.messages) == 1
    assert waits == [0.01]  # retry_backoff, doubled for each further try


def test_a_5xx_refusal_is_not_retried_and_nothing_is_marked(env: dict[str, str], tmp_path: Path,
                                                            sink: SmtpSink) -> None:
    sink.recorder.answers = ["554 5.6.0 Message refused"]
    w = World(tmp_path, sink.port, first_window_docs())
    with pytest.raises(SendError, match="refused the digest: 554 5.6.0 Message refused"):
        w.run(T1)
    assert sink.messages == [] and w.states()[-1] == (W1, 0, "failed") and w.known() == {"old1"}
    assert w.run(T1).status == "sent" and len(sink.messages) == 1


def test_connection_lost_during_data_is_in_doubt_and_never_resent(env: dict[str, str], tmp_path: Path,
                                                                  sink: SmtpSink) -> None:
    sink.recorder.drop_after_data = True  # the server keeps the message but never answers
    w = World(tmp_path, sink.port, first_window_docs())
    with pytest.raises(InDoubt, match="may have been delivered"):
        w.run(T1)
    assert len(sink.messages) == 1 and w.states()[-1] == (W1, 0, "unconfirmed")
    sink.recorder.drop_after_data = False
    assert w.run(T1).status == "already-sent" and len(sink.messages) == 1
    assert w.run(T2).status == "note-sent" and "Schools warn students" not in texts(sink)[1]


# ---------------------------------------------------------------- crashes
def test_crash_after_acceptance_before_the_log_write_sends_no_duplicate(env: dict[str, str], tmp_path: Path,
                                                                        sink: SmtpSink) -> None:
    w = World(tmp_path, sink.port, first_window_docs())
    child = w.crash("after-accept", T1)
    assert child.returncode == 17, child.stderr
    assert len(sink.messages) == 1  # the server took it
    assert w.states()[-1] == (W1, 0, "sending")  # and the log never heard back
    rerun = w.run(T1)
    assert rerun.status == "already-sent" and len(sink.messages) == 1  # no duplicate
    assert w.states()[-1] == (W1, 0, "unconfirmed")
    assert w.run(T2).status == "note-sent"
    assert "Schools warn students" not in texts(sink)[1]  # its stories count as delivered
    resend = w.run(T1, force=True)  # an operator who learns it was lost can resend: the same id
    assert resend.status == "resent" and resend.message_id == sink.messages[0].message["Message-ID"]


def test_crash_before_data_sends_once_on_the_next_run(env: dict[str, str], tmp_path: Path, sink: SmtpSink) -> None:
    w = World(tmp_path, sink.port, first_window_docs())
    child = w.crash("before-data", T1)
    assert child.returncode == 18, child.stderr
    assert sink.messages == [] and w.states()[-1] == (W1, 0, "pending")
    assert w.run(T1).status == "sent" and len(sink.messages) == 1
    assert sink.messages[0].message["Message-ID"] == "<dfwatch.kr-daily.20240828T2300Z@dfwatch.test>"


def test_a_forced_resend_gets_its_own_message_id(env: dict[str, str], tmp_path: Path, sink: SmtpSink) -> None:
    w = World(tmp_path, sink.port, first_window_docs())
    first = w.run(T1)
    assert w.run(T1).status == "already-sent"
    forced = w.run("2024-08-29T03:00:00+00:00", force=True)
    assert forced.status == "resent" and len(sink.messages) == 2
    original, copy = (m.message for m in sink.messages)
    assert copy["Message-ID"] == "<dfwatch.kr-daily.20240828T2300Z.r1@dfwatch.test>"
    assert copy["X-Dfwatch-Resend-Of"] == first.message_id == original["Message-ID"]
    assert copy["Subject"] == original["Subject"] and body(copy) == body(original)
    assert copy["Date"] != original["Date"]
    assert w.run(T1, force=True).message_id == "<dfwatch.kr-daily.20240828T2300Z.r2@dfwatch.test>"
    assert w.states()[1:] == [(W1, 0, "sent"), (W1, 1, "sent"), (W1, 2, "sent")]


# ---------------------------------------------------------------- TLS and credentials
def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dfwatch test relay")])
    now = datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_and_login_with_a_password_from_the_environment(env: dict[str, str], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cert, key = _certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with SmtpSink(tls=tls, login=("digest", "s3cret-pass")) as sink:
        subs = write_subscriptions(tmp_path / "subscriptions.yaml", subscription())
        store = SqliteStore(tmp_path / "data" / "dfwatch.sqlite3")
        store.setup()
        store.upsert(first_window_docs())
        monkeypatch.setenv("DFWATCH_SMTP__PASSWORD", "s3cret-pass")
        settings = make_settings(tmp_path, subs, sink.port, security="starttls", ca_file=str(cert),
                                 username="digest")
        assert run_digest(settings, "kr-daily", now=datetime.fromisoformat(T1)).status == "sent"
        assert len(sink.messages) == 1
        monkeypatch.setenv("DFWATCH_SMTP__PASSWORD", "wrong")
        bad = make_settings(tmp_path, subs, sink.port, security="starttls", ca_file=str(cert), username="digest")
        with pytest.raises(SendError, match="535"):  # authentication fails: given up at once
            run_digest(bad, "kr-daily", now=datetime.fromisoformat(T2), sleep=lambda s: pytest.fail("retried"))
        untrusted = make_settings(tmp_path, subs, sink.port, security="starttls")  # no ca_file
        with pytest.raises(SendError, match="CERTIFICATE_VERIFY_FAILED"):
            run_digest(untrusted, "kr-daily", now=datetime.fromisoformat(T2), sleep=lambda s: pytest.fail("retried"))


def test_no_plaintext_fallback_or_credentials(env: dict[str, str], tmp_path: Path, sink: SmtpSink) -> None:
    w = World(tmp_path, sink.port, first_window_docs())
    starttls = make_settings(tmp_path, w.subs, sink.port, security="starttls")  # this server offers no STARTTLS
    with pytest.raises(SendError, match="does not offer STARTTLS"):
        run_digest(starttls, "kr-daily", now=datetime.fromisoformat(T1))
    remote = make_settings(tmp_path, w.subs, 25, host="mail.example.org", username="digest")  # security: none
    with pytest.raises(SendError, match="refusing to send SMTP credentials unencrypted to mail.example.org"):
        run_digest(remote, "kr-daily", now=datetime.fromisoformat(T1))
    assert sink.messages == [] and w.known() == {"old1"}


def test_a_resend_that_died_midway_does_not_block_the_window(env: dict[str, str], tmp_path: Path,
                                                             sink: SmtpSink) -> None:
    w = World(tmp_path, sink.port, first_window_docs())
    assert w.run(T1).status == "sent"
    with open_ledger(w.settings) as ledger:  # what a process killed during a forced resend leaves behind
        ledger.begin("kr-daily", None, datetime.fromisoformat(W1), 1, "<x@dfwatch.test>", "s", [], {}, b"x", {}, {})
    assert w.run(T1).status == "already-sent"
    assert w.states()[1:] == [(W1, 0, "sent"), (W1, 1, "failed")]
    assert w.run(T1, force=True).message_id == "<dfwatch.kr-daily.20240828T2300Z.r2@dfwatch.test>"
    assert len(sink.messages) == 2
