"""`dfwatch digest preview | send | list` on a Typer app with the digest commands registered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
import yaml
from digest_support import T1, SmtpSink, first_window_docs, free_port, subscription, write_subscriptions
from typer.testing import CliRunner

from dfwatch import cli, cli_digest
from dfwatch.store.sqlite import SqliteStore


def digest_cli() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
    app.callback()(cli.main)  # the real `--config` option
    cli_digest.register(app)
    return app


@pytest.fixture
def setup(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[typer.Typer, Path, SmtpSink]]:
    with SmtpSink() as sink:
        subs = write_subscriptions(tmp_path / "subscriptions.yaml", subscription())
        config = tmp_path / "dfwatch.yaml"
        config.write_text(yaml.safe_dump({
            "data_dir": str(tmp_path / "data"),
            "digest": {"subscriptions_file": str(subs), "from_address": "digest@dfwatch.test"},
            "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none", "retries": 0},
        }), encoding="utf-8")
        store = SqliteStore(tmp_path / "data" / "dfwatch.sqlite3")
        store.setup()
        store.upsert(first_window_docs())
        store.close()
        yield digest_cli(), config, sink


def invoke(app: typer.Typer, config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "digest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_preview_writes_files_and_sends_nothing(setup: tuple[typer.Typer, Path, SmtpSink], tmp_path: Path) -> None:
    app, config, sink = setup
    code, out, err = invoke(app, config, "preview", "kr-daily", "--html", str(tmp_path / "d.html"),
                            "--text", str(tmp_path / "d.txt"), "--at", T1)
    assert code == 0, err
    assert "2 new stories" in err and "3 new articles" in err
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html and "경찰, 딥페이크 성범죄 297건 집계" in html
    assert "Police cases, South Korea, Jan–Jul 2024: 297 cases" in (tmp_path / "d.txt").read_text(encoding="utf-8")
    assert sink.messages == []
    code, out, _ = invoke(app, config, "preview", "kr-daily", "--at", T1)  # no files: the text on stdout
    assert code == 0 and "== New stories ==" in out


def test_send_dry_run_send_refuse_force_and_list(setup: tuple[typer.Typer, Path, SmtpSink]) -> None:
    app, config, sink = setup
    code, out, err = invoke(app, config, "send", "kr-daily", "--dry-run", "--at", T1)
    assert code == 0 and "kr-daily: dry-run" in out and sink.messages == []
    code, out, err = invoke(app, config, "send", "kr-daily", "--at", T1)
    assert code == 0, err
    assert "kr-daily: sent (window ending 2024-08-28T23:00:00+00:00)" in out
    assert "Message-ID <dfwatch.kr-daily.20240828T2300Z@dfwatch.test>" in out and len(sink.messages) == 1
    code, out, _ = invoke(app, config, "send", "kr-daily", "--at", T1)
    assert code == 1 and "already-sent" in out and "use --force" in out and len(sink.messages) == 1
    code, out, _ = invoke(app, config, "send", "kr-daily", "--at", T1, "--force", "--json")
    assert code == 0 and json.loads(out)["status"] == "resent" and len(sink.messages) == 2
    code, out, _ = invoke(app, config, "list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["kr-daily"]
    assert [(e["attempt"], e["state"]) for e in rows[0]["last"]] == [(1, "sent"), (0, "sent")]
    code, out, _ = invoke(app, config, "list")
    assert code == 0 and "kr-daily: daily at 08:00 Asia/Seoul, 2 recipient(s)" in out and " sent " in out


def test_errors_have_exit_codes(setup: tuple[typer.Typer, Path, SmtpSink]) -> None:
    app, config, sink = setup
    code, _, err = invoke(app, config, "send", "no-such-sub")
    assert code == 2 and "no subscription named 'no-such-sub' (known: kr-daily)" in err
    code, _, err = invoke(app, config, "send", "kr-daily", "--at", "yesterday")
    assert code == 2 and "invalid time for --at" in err
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["smtp"]["port"] = free_port()  # nobody listens there
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = invoke(app, config, "send", "kr-daily", "--at", T1)
    assert code == 4 and "did not take the digest after 1 try" in err and "Nothing was marked sent" in err
