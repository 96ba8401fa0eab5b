"""Must-show, through the CLI on both stores: the fixture web crawled, then searched like a researcher would.

- the timeline for `telegram` has the right articles per month (expected from the catalog);
- police_cases_reported in South Korea: 180 for 2023 and 297 for Jan-Jul 2024, each reported by
  both outlets, and the planted misprint (279) flagged as a conflict with each version and source;
- the two seed articles (Hanbit Times 28 Aug, Asia Wire 29 Aug) are one story;
- exports of the `telegram` query, in every format, hold the same articles as the search and carry the query.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pyarrow.parquet as pq
import pytest
from conftest import run_dfwatch
from w3lib.encoding import html_to_unicode

from dfwatch.fixtureweb.catalog import ARTICLES, PLANTED_CONFLICT, FixtureArticle
from dfwatch.fixtureweb.server import SITES_DIR

STORES = ("sqlite", "elasticsearch")
KEPT = ("on_topic", "borderline")  # what the pipeline indexes (decoys, robots-blocked and malformed pages go)
OUTLETS = {"The Hanbit Times", "Asia Wire Today"}
POLICE = "Korean National Police Agency — Press Room"
SEEDS = ("/news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html",  # seeds/000, The Guardian's report
         "/asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/")  # seeds/003


def body(a: FixtureArticle) -> str:
    """The headline and paragraphs of a fixture article page, read from the saved file."""
    path = SITES_DIR / a.site / a.path.strip("/")
    _, html = html_to_unicode(None, (path / "index.html" if path.is_dir() else path).read_bytes())
    return " ".join(lxml.html.fromstring(html).xpath("//article//h1//text() | //article//p//text()"))


def month(published: str) -> str:
    return datetime.fromisoformat(published).astimezone(UTC).strftime("%Y-%m")


TELEGRAM = [a for a in ARTICLES if a.kind in KEPT and "telegram" in body(a).lower()]
TELEGRAM_MONTHS = Counter(month(a.published) for a in TELEGRAM)


def cli_json(env: dict[str, str], *args: str) -> Any:
    proc = run_dfwatch(*args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("store", STORES)
def test_timeline_for_telegram_counts_articles_per_month(fixture_corpus: dict[str, dict[str, str]], store: str) -> None:
    env = fixture_corpus[store]
    assert TELEGRAM_MONTHS == {"2024-05": 1, "2024-08": 4, "2024-09": 3}  # the catalog as written today
    timeline = cli_json(env, "timeline", "telegram", "--interval", "month")
    assert {b["key"][:7]: b["count"] for b in timeline["buckets"]} == TELEGRAM_MONTHS
    assert timeline["total"] == len(TELEGRAM) and timeline["interval"] == "month"
    assert (timeline["date_from"], timeline["date_to"]) == ("2024-05-22", "2024-09-27")
    for bucket in timeline["buckets"]:
        assert bucket["stories"] and sum(s["count"] for s in bucket["stories"]) <= bucket["count"]
    first = timeline["events"][0]  # first-seen story: the May university case, with its lead
    assert first["title"] == "Deepfake abuse case at top Seoul university shocks South Korea" and first["lead"]
    assert [e["first_seen"] for e in timeline["events"]] == sorted(e["first_seen"] for e in timeline["events"])
    assert "Telegram" in {t["entity"] for t in timeline["entity_trends"]}
    assert cli_json(env, "timeline", "telegram")["interval"] == "week"  # 129 days: chosen for the range


def versions(point: dict[str, Any]) -> dict[float, set[str]]:
    return {v["value"]: {r["source_name"] for r in v["reports"]} for v in point["versions"]}


@pytest.mark.parametrize("store", STORES)
def test_police_case_series_for_south_korea_with_every_source_and_the_planted_conflict(
        fixture_corpus: dict[str, dict[str, str]], store: str) -> None:
    series = cli_json(fixture_corpus[store], "figures", "--measure", "police_cases_reported", "--place",
                      "South Korea", "--series")
    points = {(p["period_start"], p["period_end"]): p for p in series["points"]}
    y2023, jan_jul = points[("2023-01-01", "2023-12-31")], points[PLANTED_CONFLICT["period"]]
    assert list(points).index(("2023-01-01", "2023-12-31")) < list(points).index(PLANTED_CONFLICT["period"])

    assert y2023["value"] == 180 and not y2023["conflict"]
    assert OUTLETS <= versions(y2023)[180]
    assert jan_jul["value"] == 297
    assert OUTLETS | {POLICE} <= versions(jan_jul)[297]
    for report in jan_jul["versions"][0]["reports"]:
        assert "297" in report["sentence"] and report["url"].startswith("http://127.0.0.1:")

    # the planted misprint: flagged, the majority version first, each with its source and sentence
    assert jan_jul["conflict"]
    assert [v["value"] for v in jan_jul["versions"]] == [297, PLANTED_CONFLICT["value"]]
    (misprint,) = jan_jul["versions"][1]["reports"]
    assert misprint["source_name"] == "The Hanbit Times" and misprint["url"].endswith(PLANTED_CONFLICT["path"])
    assert "279 deepfake sex crime cases" in misprint["sentence"]


@pytest.mark.parametrize("store", STORES)
def test_the_two_seed_articles_are_one_story(fixture_corpus: dict[str, dict[str, str]], store: str) -> None:
    page = cli_json(fixture_corpus[store], "search", "", "--size", "100")
    story_of = {h["url"].split("/", 3)[3]: h["story_id"] for h in page["hits"]}
    seeds = [next(sid for path, sid in story_of.items() if ("/" + path).rstrip("/") == s.rstrip("/")) for s in SEEDS]
    assert seeds[0] == seeds[1], story_of


@pytest.mark.parametrize("store", STORES)
def test_exports_of_the_telegram_query_hold_the_searched_articles_and_the_query(
        fixture_corpus: dict[str, dict[str, str]], store: str, tmp_path: Path) -> None:
    env = fixture_corpus[store]
    searched = {h["id"] for h in cli_json(env, "search", "telegram", "--size", "100")["hits"]}
    assert len(searched) == len(TELEGRAM)

    proc = run_dfwatch("export", "telegram", "--format", "jsonl", "--out", "-", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    header, *rows = map(json.loads, proc.stdout.splitlines())
    assert header["_export"]["query"]["q"] == "telegram" and header["_export"]["target"] == "articles"
    assert {r["id"] for r in rows} == searched

    out = tmp_path / "telegram.csv"
    proc = run_dfwatch("export", "telegram", "--format", "csv", "--out", str(out), env=env)
    assert proc.returncode == 0 and f"exported {len(searched)} articles" in proc.stdout, proc.stderr
    first, rest = out.read_text(encoding="utf-8").split("\n", 1)
    assert json.loads(first.removeprefix("# dfwatch export "))["query"]["q"] == "telegram"
    assert {r["id"] for r in csv.DictReader(io.StringIO(rest))} == searched

    out = tmp_path / "telegram.parquet"
    proc = run_dfwatch("export", "telegram", "--format", "parquet", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pq.read_table(out)
    meta = json.loads(table.schema.metadata[b"dfwatch.export"])
    assert meta["query"]["q"] == "telegram" and meta["run_at"].endswith("+00:00")
    assert set(table.column("id").to_pylist()) == searched

    proc = run_dfwatch("export", "--target", "figures", "--measure", "police_cases_reported", "--format", "csv",
                       "--out", "-", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = list(csv.DictReader(io.StringIO(proc.stdout.split("\n", 1)[1])))
    assert {"180", "297", "279"} <= {f["value"].removesuffix(".0") for f in figures}
    assert all(f["story_id"] and f["sentence"] for f in figures)


def test_human_output_of_the_series_and_timeline(fixture_corpus: dict[str, dict[str, str]]) -> None:
    env = fixture_corpus["sqlite"]
    proc = run_dfwatch("figures", "--measure", "police_cases_reported", "--place", "South Korea", "--series", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "2024-01-01..2024-07-31" in proc.stdout and "CONFLICT: sources disagree" in proc.stdout
    assert "279 cases: 1 reports, 1 sources (The Hanbit Times)" in proc.stdout
    proc = run_dfwatch("timeline", "telegram", "--interval", "month", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{len(TELEGRAM)} articles match 'telegram', 2024-05-22 to 2024-09-27, by month")
    assert "  2024-08 " in proc.stdout and "entity trends:" in proc.stdout
    proc = run_dfwatch("search", "telegram", "--size", "3", env=env)
    assert proc.returncode == 0 and proc.stdout.startswith(f"{len(TELEGRAM)} articles match 'telegram'")
    assert "next page: --after " in proc.stdout
