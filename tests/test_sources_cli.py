"""`dfwatch sources check [--live ID]` and `dfwatch sources new`, on the loopback fixture web only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import yaml
from conftest import ROOT, run_dfwatch

from config import DIR as CONFIG_DIR
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.scaffold import Fetched, new_source, scaffold
from dfwatch.sources import load_sources

LOOPBACK = {"DFWATCH_CRAWL__ALLOW_LOOPBACK": "true", "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0"}  # the fixture web
SMALL = ("sources:\n  - id: one\n    name: One\n    type: news\n    country: KR\n    language: en\n"
         "    strategy: feed\n    urls: ['https://example.org/rss']\n")


def run_generated_tests(tests_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run scaffolded tests on their own (not inside this session), as `pytest tests/sources` would."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests_dir)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def fixture_sources(web: FixtureWeb, tmp_path: Path) -> Path:
    """The police press room's feed, and a feed that is not there."""
    police = {"id": "police-press", "name": "Police press room", "type": "government", "country": "KR",
              "language": "ko", "strategy": "feed", "urls": [web.url("police-press", "/press/rss.xml")]}
    dead = {**police, "id": "dead-feed", "urls": [web.url("police-press", "/press/gone.xml")]}
    f = tmp_path / "sources.yaml"
    f.write_text(yaml.safe_dump({"sources": [police, dead]}, allow_unicode=True), encoding="utf-8")
    return f


def test_check_prints_the_counts_and_the_minimums(env: dict[str, str]) -> None:
    proc = run_dfwatch("sources", "check", env=env)
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"sources\.yaml: (\d+) sources, all valid", proc.stdout)
    assert m and int(m[1]) >= 30, proc.stdout
    total = int(m[1])
    for label in ("by type:", "by language:", "by country:", "by strategy:", "verified:"):
        assert label in proc.stdout
    assert f"0 verified, {total} not yet crawled live" in proc.stdout
    ok = [line.split(None, 1)[1] for line in proc.stdout.splitlines() if line.strip().startswith("ok ")]
    assert [line.split(":")[0] for line in ok] == [
        "at least 30 sources", "at least 8 in Korean (ko)", "at least 8 government or regulator",
        "at least 1 discovery API"]


def test_check_locates_an_invalid_file(env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "sources.yaml"
    f.write_text(SMALL + "    schedule: {cron: '0 25 * * *'}\n", encoding="utf-8")
    proc = run_dfwatch("sources", "check", env={**env, "DFWATCH_SOURCES_FILE": str(f)})
    assert proc.returncode == 2
    assert f"{f}:9: field 'sources.0.schedule.cron': Value error, not a valid cron expression" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_fails_a_valid_file_below_the_minimums(env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "sources.yaml"
    f.write_text(SMALL, encoding="utf-8")
    e = {**env, "DFWATCH_SOURCES_FILE": str(f)}
    proc = run_dfwatch("sources", "check", env=e)
    assert proc.returncode == 1 and "BELOW  at least 30 sources: 1" in proc.stdout
    assert "below the project's minimums" in proc.stderr
    assert run_dfwatch("sources", "check", "--no-coverage", env=e).returncode == 0


def test_live_check_crawls_one_source_into_a_temporary_store(
    env: dict[str, str], web: FixtureWeb, tmp_path: Path
) -> None:
    e = {**env, "DFWATCH_SOURCES_FILE": str(fixture_sources(web, tmp_path)), **LOOPBACK}
    proc = run_dfwatch("sources", "check", "--live", "police-press", env=e)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "items listed by the entry points: 4; articles extracted: 4; dated: 4" in proc.stdout
    assert "2024-08-28  경찰청, 딥페이크 성범죄 7개월간 특별 집중단속 착수" in proc.stdout  # the EUC-KR release
    assert "justifies setting `verified: true` for police-press" in proc.stdout
    assert ("police-press", "/press/rss.xml") in web.requests
    assert not Path(env["DFWATCH_DATA_DIR"]).exists()  # the user's data dir and store are untouched

    proc = run_dfwatch("sources", "check", "--live", "dead-feed", env=e)
    assert proc.returncode == 1
    assert "HTTP statuses: 200 x1, 404 x1" in proc.stdout  # robots.txt, then the missing feed
    assert "NOT VERIFIED: no dated items from dead-feed; keep `verified: false`" in proc.stdout

    proc = run_dfwatch("sources", "check", "--live", "nope", env=e)
    assert proc.returncode == 2 and "no source with id 'nope'" in proc.stderr


def test_new_scaffolds_entry_fixture_and_test(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    sources_file = tmp_path / "sources.yaml"
    original = (CONFIG_DIR / "sources.yaml").read_text(encoding="utf-8")
    sources_file.write_text(original, encoding="utf-8")
    tests_dir = tmp_path / "tests" / "sources"
    where = ("--sources-file", str(sources_file), "--tests-dir", str(tests_dir))

    def new(url: str, source_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run_dfwatch("sources", "new", url, "--id", source_id, "--name", f"Fixture {source_id}",
                           "--type", "news", "--country", "KR", "--language", "en", *extra, *where,
                           env={**env, **LOOPBACK})

    proc = new(web.url("hanbit-times", "/rss.xml"), "hanbit-rss")
    assert proc.returncode == 0, proc.stderr
    assert "the fixture lists 7 dated items" in proc.stdout
    text = sources_file.read_text(encoding="utf-8")
    assert text.startswith(original)  # appended: every comment and anchor kept
    added = load_sources(sources_file)["hanbit-rss"]
    assert added.strategy == "feed" and not added.verified and added.schedule.interval_minutes == 360
    assert str(added.urls[0]) == web.url("hanbit-times", "/rss.xml")
    fixture = tests_dir / "fixtures" / "hanbit-rss.xml"
    assert b"<rss" in fixture.read_bytes() and web.base_urls["hanbit-times"].encode() in fixture.read_bytes()
    assert "import feedparser" in (tests_dir / "test_hanbit_rss.py").read_text()

    proc = new(web.url("hanbit-times", "/sitemap.xml"), "hanbit-sitemap", "--strategy", "sitemap")
    assert proc.returncode == 0, proc.stderr
    proc = new(web.url("police-press", "/press/list.html"), "police-list", "--strategy", "listing",
               "--rows", "table.board_list tbody tr", "--link", "td.subject a", "--date", "td.date",
               "--date-format", "%Y-%m-%d")
    assert proc.returncode == 0, proc.stderr
    assert "the fixture lists 4 dated items" in proc.stdout
    listing = load_sources(sources_file)["police-list"].listing
    assert listing is not None and listing.rows == "table.board_list tbody tr"

    result = run_generated_tests(tests_dir)
    assert result.returncode == 0 and "3 passed" in result.stdout, result.stdout + result.stderr

    # refused before anything is written: a duplicate id, a bad option, a failed or forbidden fetch
    before, fetches = sources_file.read_text(encoding="utf-8"), len(web.requests)
    proc = new(web.url("asia-wire", "/feeds/atom.xml"), "hanbit-rss")
    assert proc.returncode == 2 and "already has a source with id 'hanbit-rss'" in proc.stderr
    proc = new(web.url("asia-wire", "/feeds/atom.xml"), "asia-atom", "--strategy", "scraper")
    assert proc.returncode == 2 and "invalid source: --strategy:" in proc.stderr
    assert len(web.requests) == fetches  # neither was fetched
    proc = new(web.url("asia-wire", "/feeds/missing.xml"), "asia-missing")
    assert proc.returncode == 2 and "missing.xml failed: HTTP 404" in proc.stderr
    proc = new(web.url("hanbit-times", "/members/2024/08/subscriber-briefing.html"), "members", "--strategy",
               "listing", "--rows", "li", "--link", "a")
    assert proc.returncode == 2 and "robots.txt disallows" in proc.stderr
    proc = run_dfwatch("sources", "new", web.url("asia-wire", "/feeds/atom.xml"), "--id", "asia-atom", "--name",
                       "Asia", "--type", "news", "--country", "SG", "--language", "en", *where, env=env)
    assert proc.returncode == 2 and "resolves to a non-public address (127.0.0.1)" in proc.stderr
    assert len(web.requests) == fetches + 3  # robots.txt and 404 page; robots.txt of the members page
    assert sources_file.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tests_dir.rglob("*") if p.is_file()) == [
        "hanbit-rss.xml", "hanbit-sitemap.xml", "police-list.html",
        "test_hanbit_rss.py", "test_hanbit_sitemap.py", "test_police_list.py"]


GDELT_ANSWER = {"articles": [{
    "url": "https://example.org/2024/08/28/deepfake-crackdown", "title": "Deepfake crackdown",
    "seendate": "20240828T093000Z", "domain": "example.org", "language": "English", "sourcecountry": "South Korea",
}]}
UNDATED_RSS = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
               b"<item><title>a</title><link>https://example.org/a</link></item></channel></rss>")


def test_generated_tests_pass_on_dated_items_and_fail_without(tmp_path: Path) -> None:
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(SMALL, encoding="utf-8")
    api = new_source({"id": "gdelt-test", "name": "GDELT", "type": "discovery", "country": "XX",
                      "language": "mul", "strategy": "discovery", "urls": ["https://api.gdeltproject.org/api/v2/doc/doc"],
                      "discovery": {"api": "gdelt-doc", "queries": ["deepfake sourcecountry:KS"]}}, sources_file)
    good = scaffold(api, sources_file, tmp_path / "good", Fetched("https://api.gdeltproject.org/x",
                    json.dumps(GDELT_ANSWER).encode(), "application/json"), date(2024, 9, 1))
    assert good.dated_items == 1 and good.fixture.name == "gdelt-test.json"
    assert run_generated_tests(tmp_path / "good").returncode == 0

    undated = new_source({"id": "undated", "name": "Undated", "type": "news", "country": "KR", "language": "en",
                          "strategy": "feed", "urls": ["https://example.org/rss"]}, sources_file)
    bad = scaffold(undated, sources_file, tmp_path / "bad", Fetched("https://example.org/rss", UNDATED_RSS,
                   "application/rss+xml"), date(2024, 9, 1))
    assert bad.dated_items == 0
    result = run_generated_tests(tmp_path / "bad")
    assert result.returncode == 1 and "no dated items in undated.xml" in result.stdout
    assert set(load_sources(sources_file)) == {"one", "gdelt-test", "undated"}


def test_docs_cover_every_field_command_and_option() -> None:
    import typer

    from dfwatch.cli_sources import sources_app
    from dfwatch.sources import DiscoveryOptions, ListingOptions, Politeness, Schedule, Source

    docs = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    for model in (Source, Schedule, Politeness, ListingOptions, DiscoveryOptions):
        for field in model.model_fields:
            assert f"`{field}`" in docs or f"{field}:" in docs, f"docs/sources.md lacks {model.__name__}.{field}"
    group = typer.main.get_group(sources_app)
    for name, command in group.commands.items():
        assert f"dfwatch sources {name}" in docs
        for param in command.params:
            for opt in [*param.opts, *param.secondary_opts]:
                assert not opt.startswith("--") or opt in docs, f"docs/sources.md lacks {name} {opt}"
