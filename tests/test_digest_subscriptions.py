"""Subscriptions: the schema, errors that name file, line and field, and send times in time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import DIR as CONFIG_DIR
from dfwatch.digest.subscriptions import load_subscriptions
from dfwatch.settings import load_settings
from dfwatch.yamlconf import ConfigError

GOOD = """\
subscriptions:
  - name: kr-daily
    recipients: [analyst@example.org]
    query: deepfake country:KR
    frequency: daily
    send_at: '08:00'
    timezone: Asia/Seoul
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_subscriptions(path)
    return str(err.value).replace(str(path), "FILE")


def test_the_bundled_example_loads_and_follows_korea() -> None:
    subs = load_subscriptions(CONFIG_DIR / "subscriptions.yaml")
    daily = subs["korea-deepfake-daily"]
    assert daily.query == "deepfake country:KR" and daily.frequency == "daily" and daily.timezone == "Asia/Seoul"
    assert daily.request().effective_filters().country == ("KR",)
    assert len(daily.recipients) == 2  # from the shared x- anchor
    weekly = subs["korea-deepfake-weekly-ko"]
    assert weekly.language == "ko" and weekly.weekday == "mon" and weekly.when_empty == "skip"
    assert weekly.request().effective_filters().lang == ("ko", "en")


def test_filters_and_query_terms_combine(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "    filters:\n      type: [government]\n      has_figures: true\n"
                                  "      since: 2024-01-01\n")
    f = load_subscriptions(path)["kr-daily"].request().effective_filters()
    assert (f.country, f.source_type, f.has_figures, str(f.date_from)) == (("KR",), ("government",), True, "2024-01-01")


@pytest.mark.parametrize(("change", "expected"), [
    (("timezone: Asia/Seoul", "timezone: Asia/Sejong"),
     "FILE:7: field 'subscriptions.0.timezone': Value error, unknown time zone"),
    (("send_at: '08:00'", "send_at: 18:30"),  # YAML 1.1 reads this as 1110
     "FILE:6: field 'subscriptions.0.send_at': Value error, write the time in quotes"),
    (("send_at: '08:00'", "send_at: '8 am'"), "FILE:6: field 'subscriptions.0.send_at': Input should be in a valid"),
    (("[analyst@example.org]", "[analyst@example.org, not-an-address]"),
     "FILE:3: field 'subscriptions.0.recipients': Value error, 'not-an-address' is not an email address"),
    (("frequency: daily", "frequency: weekly"),
     "FILE:2: field 'subscriptions.0': Value error, a weekly subscription needs a weekday"),
    (("frequency: daily", "frequency: hourly"), "FILE:5: field 'subscriptions.0.frequency': Input should be"),
    (("query: deepfake country:KR", "query: deepfake\n    langauge: ko"),
     "FILE:5: field 'subscriptions.0.langauge': unknown field"),
    (("timezone: Asia/Seoul", "timezone: Asia/Seoul\n    filters:\n      country: [Korea]"),
     "FILE:9: field 'subscriptions.0.filters.country.0': String should match pattern"),
    (("name: kr-daily", "name: KR daily"), "FILE:2: field 'subscriptions.0.name': String should match pattern"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert GOOD.count(change[0]) == 1
    assert error_of(tmp_path, GOOD.replace(*change)).startswith(expected)


def test_a_duplicate_name_points_at_the_second(tmp_path: Path) -> None:
    text = GOOD + GOOD.split("\n", 1)[1]
    assert error_of(tmp_path, text) == "FILE:8: field 'subscriptions.1.name': duplicate subscription name 'kr-daily'"


def test_send_times_follow_the_subscription_time_zone(tmp_path: Path) -> None:
    sub = load_subscriptions(write(tmp_path, GOOD))["kr-daily"]  # 08:00 Asia/Seoul = 23:00 UTC the day before
    now = datetime(2024, 8, 28, 22, 59, tzinfo=UTC)
    assert sub.last_slot(now) == datetime(2024, 8, 27, 23, 0, tzinfo=UTC)
    assert sub.next_slot(now) == datetime(2024, 8, 28, 23, 0, tzinfo=UTC)
    at_slot = datetime(2024, 8, 28, 23, 0, tzinfo=UTC)
    assert sub.last_slot(at_slot) == at_slot  # the scheduler fires at the slot: that is the window's end
    assert sub.previous_slot(at_slot) == datetime(2024, 8, 27, 23, 0, tzinfo=UTC)
    assert sub.cron() == {"minute": 0, "hour": 8, "day_of_week": "*", "timezone": "Asia/Seoul"}


def test_weekly_slots_keep_local_time_across_daylight_saving(tmp_path: Path) -> None:
    text = GOOD.replace("frequency: daily", "frequency: weekly\n    weekday: fri").replace(
        "'08:00'", "'17:30'").replace("Asia/Seoul", "Europe/London")
    sub = load_subscriptions(write(tmp_path, text))["kr-daily"]
    # British Summer Time ended on Sunday 27 October 2024
    assert sub.last_slot(datetime(2024, 10, 30, tzinfo=UTC)) == datetime(2024, 10, 25, 16, 30, tzinfo=UTC)
    assert sub.next_slot(datetime(2024, 10, 30, tzinfo=UTC)) == datetime(2024, 11, 1, 17, 30, tzinfo=UTC)
    assert sub.cron()["day_of_week"] == "fri"


def test_smtp_password_only_from_the_environment(env: dict[str, str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "dfwatch.yaml"
    user.write_text("smtp:\n  host: mail.example.org\n  password: hunter2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(user)
    assert "field 'smtp.password': secrets are read only from the environment" in str(err.value)
    assert "DFWATCH_SMTP__PASSWORD" in str(err.value)
    user.write_text("smtp:\n  host: mail.example.org\n  username: digest\n", encoding="utf-8")
    monkeypatch.setenv("DFWATCH_SMTP__PASSWORD", "from-env")
    s = load_settings(user)
    assert (s.smtp.host, s.smtp.username, s.smtp.password.get_secret_value()) == (  # type: ignore[union-attr]
        "mail.example.org", "digest", "from-env")
    assert s.subscriptions_path == CONFIG_DIR / "subscriptions.yaml"
