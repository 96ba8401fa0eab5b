"""The CLI as users run it: demo, extract."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_dfwatch

from dfwatch.fixtureweb.catalog import articles
from dfwatch.fixtureweb.server import SITES_DIR


def test_demo_crawls_the_fixture_web_and_finds_the_case_figures(env: dict[str, str]) -> None:
    proc = run_dfwatch("demo", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "top hits for 'telegram'" in out
    # the article that gives the 297 and 180 case figures is among the hits
    assert "Yoon orders crackdown as deepfake porn 'emergency' grips South Korea" in out
    assert "2024-08  ####" in out and "robots_disallowed=1" in out and "no_article_text=1" in out
    demo_db = Path(env["DFWATCH_DATA_DIR"]) / "demo" / "dfwatch.sqlite3"
    assert demo_db.is_file()
    again = run_dfwatch("demo", env=env)  # each run resets the demo namespace
    assert again.returncode == 0
    assert out.split("top hits")[1].split("done in")[0] == again.stdout.split("top hits")[1].split("done in")[0]


def page(kind: str, language: str | None = None) -> Path:
    art = next(a for a in articles(kind=kind) if language in (None, a.language))
    return SITES_DIR / art.site / art.path.lstrip("/") / ("index.html" if art.path.endswith("/") else "")


def test_extract_prints_metadata_as_json(env: dict[str, str]) -> None:
    korean = next(a for a in articles() if a.encoding == "euc-kr")
    path = SITES_DIR / korean.site / korean.path.lstrip("/")
    proc = run_dfwatch("extract", str(path), "--url", "http://127.0.0.1/press/view/x.html", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["title"] == korean.title
    assert data["language"] == "ko" and data["published"].startswith("2024-08-28T10:00:00")
    assert "297건" in data["text"] and "{{base}}" not in data["text"]
    assert set(data) >= {"title", "text", "published", "authors", "language"}

    english = run_dfwatch("extract", str(page("on_topic", "en")), env=env)
    data = json.loads(english.stdout)
    assert data["language"] == "en" and data["authors"] and data["published"]
    assert "ADVERTISEMENT" not in data["text"] and "t.me" not in data["text"]  # no furniture, no comments


def test_extract_reports_a_page_without_article_text(env: dict[str, str]) -> None:
    proc = run_dfwatch("extract", str(page("malformed")), env=env)
    assert proc.returncode == 1 and "no article text found" in proc.stderr
