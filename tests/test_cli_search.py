"""`dfwatch search | timeline | figures | export` as users run them, on a small SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_dfwatch

from dfwatch.search.model import encode_cursor

KR = {"id": "hanbit-times", "name": "The Hanbit Times", "type": "news", "country": "KR", "language": "en"}
GOV = {"id": "police-press", "name": "Police \x1b[31mPress\x1b[0m", "type": "government", "country": "KR",
       "language": "en"}


def doc(i: int, day: str, source: dict[str, str], story: str | None = None, value: int | None = None,
        **extra: Any) -> dict[str, Any]:
    figures = [] if value is None else [{
        "value": value, "unit": "cases", "measure": "police_cases_reported", "qualifier": None,
        "text": f"{value} cases", "start": 10, "end": 19, "sentence": f"Police counted {value} cases on Telegram.",
        "period": {"start": "2024-01-01", "end": "2024-07-31", "text": "January to July"},
        "place": "South Korea", "attribution": "police"}]
    return {"id": f"d{i:03d}", "url": f"https://example.org/{i}", "canonical_url": f"https://example.org/{i}",
            "source": source, "title": f"Telegram deepfake report {i}", "lead": f"Lead {i}.",
            "text": f"Police counted cases on Telegram. Report {i} about deepfake sexual abuse.",
            "published_at": f"{day}T09:00:00+00:00", "modified_at": None, "crawled_at": "2024-10-01T00:00:00+00:00",
            "authors": [], "language": "en", "content_hash": str(i),
            "relevance": {"score": 5.0, "matched_terms": ["deepfake"], "topics": ["enforcement"]},
            "entities": [{"text": "Telegram", "label": "ORG", "norm": "Telegram", "start": 0, "end": 8}],
            "people": [], "orgs": ["Telegram"], "places": [], "figures": figures, "story_id": story, **extra}


@pytest.fixture
def store_env(env: dict[str, str]) -> dict[str, str]:
    from dfwatch.store.sqlite import SqliteStore

    docs = [doc(i, f"2024-08-{1 + i:02d}", KR, story="s-aug" if i < 3 else None) for i in range(12)]
    docs += [doc(20, "2024-08-28", GOV, value=297), doc(21, "2024-08-29", KR, value=279),
             doc(22, "2024-09-02", KR, value=297, title="\x1b]8;;evil\x07Bidi \u202etxet")]
    store = SqliteStore(Path(env["DFWATCH_DATA_DIR"]) / "dfwatch.sqlite3")
    store.setup()
    store.upsert(docs)
    store.close()
    return env


def ok(*args: str, env: dict[str, str]) -> str:
    proc = run_dfwatch(*args, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_search_prints_hits_and_pages_with_the_cursor(store_env: dict[str, str]) -> None:
    out = ok("search", "telegram", "--sort", "date", "--size", "10", env=store_env)
    lines = out.splitlines()
    assert lines[0] == "15 articles match 'telegram'"
    assert lines[1].startswith("- 2024-09-02  ") and lines[1].endswith("[The Hanbit Times]")
    assert "\x1b" not in out and "\u202e" not in out  # crawled text cannot drive the terminal
    cursor = lines[-1].removeprefix("next page: --after ")
    assert lines[-1].startswith("next page: --after ")
    rest = ok("search", "telegram", "--sort", "date", "--size", "10", "--after", cursor, env=store_env)
    first = {line for line in lines if line.startswith("  https://")}
    second = {line for line in rest.splitlines() if line.startswith("  https://")}
    assert len(first) == 10 and len(second) == 5 and not first & second
    assert "next page" not in rest


def test_search_json_is_the_api_page_with_filters_from_options_and_query_fields(store_env: dict[str, str]) -> None:
    page = json.loads(ok("search", "telegram type:government", "--json", env=store_env))
    assert page["total"] == 1 and page["hits"][0]["source"]["id"] == "police-press"
    assert set(page) == {"total", "hits", "facets", "next_after"}
    page = json.loads(ok("search", "", "--from", "2024-08-28", "--to", "2024-08-31", "--has-figures", "--json",
                         env=store_env))
    assert {h["id"] for h in page["hits"]} == {"d020", "d021"}
    collapsed = json.loads(ok("search", "telegram", "--collapse", "--size", "100", "--json", env=store_env))
    assert collapsed["total"] == 15 and len(collapsed["hits"]) == 13  # three articles of one story fold into one
    assert next(h for h in collapsed["hits"] if h["story_id"] == "s-aug")["story_size"] == 3


@pytest.mark.parametrize(("args", "message"), [
    (("search", "x", "--from", "2024-13-01"), "invalid date for --from: '2024-13-01' (use YYYY-MM-DD)"),
    (("search", "x", "--from", "2024-09-01", "--to", "2024-08-01"), "--from 2024-09-01 is after --to 2024-08-01"),
    (("search", "x", "--size", "500"), "size must be between 0 and 100"),
    (("search", "x", "--sort", "newest"), "sort must be 'relevance' or 'date'"),
    (("search", "x", "--after", "not-a-cursor"), "invalid cursor"),
    (("search", "x", "--after", encode_cursor([{"a": 1}])[:-2] + "!!"), "invalid cursor"),
    (("search", "x", "--collapse", "--after", encode_cursor([1])), "do not combine with collapse"),
    (("timeline", "x", "--interval", "fortnight"), "interval must be one of day, week, month, quarter, year"),
    (("figures", "--series"), "--series needs --measure"),
    (("figures", "--period-from", "soon"), "invalid date for --period-from"),
    (("export", "x", "--format", "xlsx", "--out", "-"), "--format must be one of csv, jsonl, parquet"),
    (("export", "x", "--target", "stories", "--out", "-"), "--target must be one of articles, figures"),
    (("export", "x", "--measure", "people_charged", "--out", "-"), "--measure and --place apply to --target figures"),
])
def test_bad_input_exits_2_with_a_message(store_env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    proc = run_dfwatch(*args, env=store_env)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [("search", "telegram"), ("timeline", "telegram"), ("figures", "--measure", "x"),
                                  ("export", "telegram", "--out", "-")])
def test_an_unreachable_store_exits_3(env: dict[str, str], args: tuple[str, ...]) -> None:
    dead = {**env, "DFWATCH_STORE__ELASTICSEARCH_URL": "http://127.0.0.1:9", "DFWATCH_STORE__REQUEST_TIMEOUT": "2"}
    proc = run_dfwatch(*args, env=dead)
    assert proc.returncode == 3 and proc.stderr.startswith("dfwatch: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_timeline_picks_the_interval_for_the_range(store_env: dict[str, str]) -> None:
    t = json.loads(ok("timeline", "telegram", "--json", env=store_env))
    assert t["interval"] == "day" and (t["date_from"], t["date_to"]) == ("2024-08-01", "2024-09-02")
    assert sum(b["count"] for b in t["buckets"]) == t["total"] == 15
    assert t["events"][0]["story_id"] == "s-aug" and t["events"][0]["article_count"] == 3
    t = json.loads(ok("timeline", "telegram", "--from", "2024-01-01", "--to", "2024-12-31", "--json", env=store_env))
    assert t["interval"] == "week"  # the range asked for, not the data's
    out = ok("timeline", "telegram", "--interval", "month", env=store_env)
    assert out.splitlines()[0] == "15 articles match 'telegram', 2024-08-01 to 2024-09-02, by month"
    assert any(line.startswith("  2024-08    ") and line.split()[2] == "14" for line in out.splitlines())
    assert "Telegram (ORG) 15: 2024-08 14 · 2024-09 1" in out


def test_figures_list_pages_and_series_flags_the_conflict(store_env: dict[str, str]) -> None:
    first = json.loads(ok("figures", "--measure", "police_cases_reported", "--size", "2", "--json", env=store_env))
    assert [f["value"] for f in first["figures"]] == [297, 279] and first["next_after"]
    rest = json.loads(ok("figures", "--measure", "police_cases_reported", "--after", first["next_after"], "--json",
                         env=store_env))
    assert [f["article_id"] for f in rest["figures"]] == ["d022"] and rest["next_after"] is None
    out = ok("figures", "--measure", "police_cases_reported", "--source", "police-press", env=store_env)
    shown = "Police [31mPress[0m"  # the escape characters are gone, so the rest is inert text
    assert out.startswith(f"297 cases  police_cases_reported  2024-01-01..2024-07-31  South Korea  [{shown}]")
    series = json.loads(ok("figures", "--measure", "police_cases_reported", "--place", "South Korea", "--series",
                           "--json", env=store_env))
    (point,) = series["points"]
    assert point["conflict"] and [v["value"] for v in point["versions"]] == [297, 279]
    out = ok("figures", "--measure", "police_cases_reported", "--series", env=store_env)
    assert "2024-01-01..2024-07-31 (January to July): 297 cases  CONFLICT: sources disagree" in out
    assert f"297 cases: 2 reports, 2 sources ({shown}, The Hanbit Times)" in out and "\x1b" not in out


def test_export_writes_a_file_and_reports_it(store_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "figures.jsonl"
    stdout = ok("export", "--target", "figures", "--format", "jsonl", "--measure", "police_cases_reported",
                "--out", str(out), env=store_env)
    assert stdout.startswith(f"exported 3 figures as jsonl to {out}")
    header, *rows = map(json.loads, out.read_text().splitlines())
    assert header["_export"]["query"]["measure"] == "police_cases_reported" and len(rows) == 3
    proc = run_dfwatch("export", "--from", "2024-09-01", "--format", "csv", "--out", "-", env=store_env)
    assert proc.returncode == 0 and "exported 1 articles as csv to -" in proc.stderr
    assert proc.stdout.count("\n") == 3  # header comment, column names, one row
