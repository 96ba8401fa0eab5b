from __future__ import annotations

import re
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger

from config import DIR as CONFIG_DIR
from dfwatch.sources import Coverage, get_source, load_sources
from dfwatch.yamlconf import ConfigError

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENTRY = ("  - id: {id}\n    name: One\n    type: news\n    country: KR\n    language: en\n"
         "    strategy: feed\n    urls: ['https://example.org/rss']\n")


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "sources.yaml"
    f.write_text(text, encoding="utf-8")
    return f


def test_bundled_sources_are_valid_and_cover_the_minimums() -> None:
    sources = load_sources(CONFIG_DIR / "sources.yaml")
    coverage = Coverage.of(sources)
    assert all(passed for passed, _ in coverage.checks()), coverage.checks()
    assert coverage.total >= 30 and coverage.by_language["ko"] >= 8
    assert coverage.by_type["government"] + coverage.by_type["regulator"] >= 8
    assert {s.country for s in sources.values() if s.type in ("government", "regulator")} >= {"KR", "US", "GB"}
    assert set(coverage.by_strategy) == {"feed", "sitemap", "listing", "discovery"}
    assert coverage.verified == 0  # none has been crawled live from here


def test_every_bundled_source_records_its_evidence() -> None:
    for s in load_sources(CONFIG_DIR / "sources.yaml").values():
        assert s.notes and re.search(r"Candidates row \d+, confidence (high|medium|low)", s.notes), s.id
        if s.strategy == "listing":
            assert "UNVERIFIED" in s.notes, f"{s.id}: say that the selectors are guesses"
        if s.schedule.cron:
            CronTrigger.from_crontab(s.schedule.cron, timezone=s.schedule.timezone)


def test_gdelt_discovery_queries_english_and_korean_politely() -> None:
    gdelt = get_source(CONFIG_DIR / "sources.yaml", "gdelt-doc")
    assert gdelt.strategy == "discovery" and gdelt.discovery is not None
    assert [str(u) for u in gdelt.urls] == ["https://api.gdeltproject.org/api/v2/doc/doc"]
    assert any(HANGUL.search(q) for q in gdelt.discovery.queries)
    assert any(re.search(r"\bdeepfake\b", q) for q in gdelt.discovery.queries)
    assert gdelt.discovery.min_interval_seconds >= 5
    assert gdelt.politeness.download_delay is not None and 5 <= gdelt.politeness.download_delay <= 6.5
    assert gdelt.politeness.concurrent_requests == 1


def test_broad_feeds_prefilter_in_english_and_korean() -> None:
    hani = get_source(CONFIG_DIR / "sources.yaml", "hani-society")
    assert "deepfake" in hani.keywords and "딥페이크" in hani.keywords


def test_coverage_check_fails_below_the_minimums(tmp_path: Path) -> None:
    sources = load_sources(write(tmp_path, "sources:\n" + ENTRY.format(id="one")))
    failed = [text for passed, text in Coverage.of(sources).checks() if not passed]
    assert len(failed) == 4 and failed[0] == "at least 30 sources: 1"


def test_bad_source_names_file_line_and_field(tmp_path: Path) -> None:
    f = write(tmp_path, "sources:\n" + ENTRY.format(id="ok-one") + ENTRY.format(id="two").replace("news", "blog"))
    with pytest.raises(ConfigError, match=r"sources\.yaml:11: field 'sources\.1\.type'"):
        load_sources(f)


@pytest.mark.parametrize(("schedule", "field", "message"), [
    ("{cron: '61 * * * *'}", "schedule.cron", "not a valid cron expression"),
    ("{cron: '0 9 * * 1-5'}", "schedule.cron", "days of the week as names"),
    ("{cron: '0 9 * *'}", "schedule.cron", "String should match pattern"),
    ("{interval_minutes: 60, timezone: Asia/Sole}", "schedule.timezone", "unknown time zone"),
    ("{interval_minutes: 60, cron: '0 9 * * *'}", "schedule", "exactly one of"),
])
def test_bad_schedule_is_located(tmp_path: Path, schedule: str, field: str, message: str) -> None:
    f = write(tmp_path, "sources:\n" + ENTRY.format(id="one") + f"    schedule: {schedule}\n")
    with pytest.raises(ConfigError, match=rf"sources\.yaml:9: field 'sources\.0\.{re.escape(field)}': .*{message}"):
        load_sources(f)


def test_strategy_options_must_match_the_strategy(tmp_path: Path) -> None:
    f = write(tmp_path, "sources:\n" + ENTRY.format(id="one") + "    listing: {rows: tr, link: a}\n")
    with pytest.raises(ConfigError, match=r"sources\.yaml:2: field 'sources\.0': .*used only by strategy 'listing'"):
        load_sources(f)
    f = write(tmp_path, "sources:\n" + ENTRY.format(id="one").replace("feed", "listing"))
    with pytest.raises(ConfigError, match="needs a 'listing' block"):
        load_sources(f)


def test_extension_keys_hold_anchors_and_other_keys_are_refused(tmp_path: Path) -> None:
    f = write(tmp_path, "x-kw: &kw [deepfake, 딥페이크]\nsources:\n" + ENTRY.format(id="one") + "    keywords: *kw\n")
    assert load_sources(f)["one"].keywords == ["deepfake", "딥페이크"]
    f = write(tmp_path, "extra: 1\nsources:\n" + ENTRY.format(id="one"))
    with pytest.raises(ConfigError, match=r"sources\.yaml:1: field 'extra': unknown field"):
        load_sources(f)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    f = write(tmp_path, "sources:\n" + ENTRY.format(id="one") + ENTRY.format(id="one"))
    with pytest.raises(ConfigError, match="duplicate source id 'one'"):
        load_sources(f)


def test_unknown_source_id_lists_known() -> None:
    with pytest.raises(ConfigError, match="no source with id 'nope'.*yonhap-en"):
        get_source(CONFIG_DIR / "sources.yaml", "nope")
