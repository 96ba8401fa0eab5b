"""The sources page: every configured source with its last crawl, its articles in the store, its next run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi.testclient import TestClient
from ui_support import UiSite, shot

from dfwatch.runs import Run, RunLog
from dfwatch.schedule.outcomes import Outcomes
from dfwatch.schedule.store import jobstore_url
from dfwatch.search import SearchService
from dfwatch.search.model import Filters, SearchRequest
from dfwatch.settings import load_settings
from dfwatch.sources import load_sources
from dfwatch.store import open_store
from dfwatch.web import create_app


def cells(page: Any, source_id: str) -> list[str]:
    return [c.strip() for c in page.locator(f"#source-{source_id} td").all_inner_texts()]


def test_sources_page_lists_every_source_with_its_last_crawl_and_store_counts(page: Any, ui_site: UiSite) -> None:
    settings = ui_site.settings
    sources = load_sources(settings.sources_path)
    log = RunLog.open(settings.state_file)
    runs = log.last_runs()
    log.close()
    with SearchService.open(settings) as svc:
        counts = {s: svc.count(SearchRequest(filters=Filters(source=(s,)))) for s in sources}
        total = svc.count(SearchRequest())
    assert set(runs) == set(sources) and sum(counts.values()) == total  # every source crawled, every article counted

    page.goto(f"{ui_site.url}/sources")
    assert page.locator("table.sources tbody tr").count() == len(sources)
    assert f"{total} articles in the store" in page.locator("main").inner_text()
    assert "not set up" in page.locator("main").inner_text()  # no scheduler ran for the fixture corpus
    for source_id, source in sources.items():
        run = runs[source_id]
        row = page.locator(f"#source-{source_id}")
        assert source.name in row.locator("th").inner_text()
        last, fetched, articles, new_updated, indexed, errors, stored, next_run = cells(page, source_id)
        assert last.startswith(run.finished_at.astimezone(UTC).isoformat(timespec="seconds"))
        assert (int(fetched), int(articles), int(indexed.split()[0]), int(errors.split()[0])) == (
            run.fetched, run.articles_fetched, run.indexed, run.errors)
        assert new_updated == f"{run.new} / {run.updated}"
        assert int(stored) == counts[source_id] and next_run == "not scheduled"
        for reason, n in run.dropped.items():
            assert f"dropped {reason}: {n}" in (row.locator("details").text_content() or "")
    shot(page, "sources")


def test_sources_page_on_a_phone(phone: Any, ui_site: UiSite) -> None:
    phone.goto(f"{ui_site.url}/sources")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def _source(source_id: str) -> dict[str, Any]:
    return {"id": source_id, "name": f"Source {source_id.upper()}", "type": "news", "country": "KR", "language": "en",
            "strategy": "feed", "urls": [f"https://example.org/{source_id}/feed.xml"]}


def test_next_runs_come_from_the_job_store_and_failures_from_the_outcomes(tmp_path: Path) -> None:
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": [_source(s) for s in ("alpha", "beta", "gamma")]}))
    settings = load_settings(data_dir=str(tmp_path / "data"), sources_file=str(sources_file))
    store = open_store(settings)
    store.setup()
    store.close()
    client = TestClient(create_app(settings))
    before = client.get("/sources")
    assert before.status_code == 200 and before.text.count("never crawled") == 3
    assert not settings.state_file.exists()  # reading the page creates no state

    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5)
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=jobstore_url(settings))},
                                    timezone="UTC")
    scheduler.start(paused=True)
    try:
        scheduler.add_job("builtins:print", "date", run_date=when, id="crawl:alpha", name="crawl alpha")
        scheduler.add_job("builtins:print", "date", run_date=when, id="crawl:beta", name="crawl beta")
        scheduler.pause_job("crawl:beta")
    finally:
        scheduler.shutdown()
    log = RunLog.open(settings.state_file)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    log.record(Run("alpha", started, started + timedelta(seconds=12), "finished", 9, 4, 3, 1, 0, 2, 0, 1,
                   dropped={"off_topic": 2}))
    log.close()
    outcomes = Outcomes(settings.state_file)
    run_id = outcomes.start("crawl:gamma", "crawl", 1)
    outcomes.finish(run_id, "failed", exit_code=1, detail={"error": "<b>feed</b> unreachable"})

    r = client.get("/sources")
    assert r.status_code == 200
    rows = dict(re.findall(r'<tr id="source-(\w+)">(.*?)</tr>', r.text, re.S))
    assert when.isoformat() in rows["alpha"]
    assert "2026-01-02T03:04:17+00:00" in rows["alpha"] and "3 / 1" in rows["alpha"] and "dropped off_topic: 2" in rows[
        "alpha"]
    assert "paused" in rows["beta"] and "never crawled" in rows["beta"]
    assert "not scheduled" in rows["gamma"] and "last scheduled crawl: failed (&lt;b&gt;feed&lt;/b&gt; unreachable)" in rows[
        "gamma"]
    assert "not running; job store sqlite:///" in r.text


def test_an_invalid_sources_file_is_reported_on_the_page(tmp_path: Path) -> None:
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text("sources:\n  - id: Not Valid\n")
    settings = load_settings(data_dir=str(tmp_path / "data"), sources_file=str(sources_file))
    store = open_store(settings)
    store.setup()
    store.close()
    client = TestClient(create_app(settings))
    r = client.get("/sources")
    assert r.status_code == 200 and "The sources file could not be read" in r.text and "sources.yaml" in r.text
