"""One article's whole journey: feed → fetch → extract → relevance → entities → store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from conftest import run_dfwatch
from elasticsearch import Elasticsearch

from dfwatch.fixtureweb import FixtureWeb
from dfwatch.fixtureweb.catalog import articles
from dfwatch.store.es_index import LATEST

SEED_000 = "/news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html"
SITES = ("hanbit-times", "asia-wire", "police-press")


def crawl_env(env: dict[str, str], web: FixtureWeb, tmp_path: Path, **extra: str) -> dict[str, str]:
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": web.sources()}, allow_unicode=True))
    return {**env, "DFWATCH_SOURCES_FILE": str(sources), "DFWATCH_CRAWL__DOWNLOAD_DELAY": "0",
            "DFWATCH_CRAWL__ALLOW_LOOPBACK": "true", **extra}  # the fixture web is on 127.0.0.1


def crawl(env: dict[str, str], tmp_path: Path) -> dict[str, dict[str, Any]]:
    out = tmp_path / "report.json"
    args = [a for s in SITES for a in ("--source", s)]
    proc = run_dfwatch("crawl", *args, "--stats-json", str(out), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {r["source"]: r for r in json.loads(out.read_text())}


def test_crawl_counts_every_skip_and_drop_by_reason(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    e = crawl_env(env, web, tmp_path)
    reports = crawl(e, tmp_path)
    hanbit = reports["hanbit-times"]
    assert hanbit["skipped"] == {"robots_disallowed": 1}
    assert hanbit["dropped"] == {"no_article_text": 1, "off_topic": 2}  # malformed page; two decoys
    assert reports["asia-wire"]["dropped"] == {"off_topic": 1}  # the election deepfake
    assert reports["police-press"]["indexed"] == 4  # incl. the EUC-KR release
    kept = len(articles()) - len(articles(kind="decoy")) - 2  # minus robots-blocked, malformed
    assert sum(r["indexed"] for r in reports.values()) == kept
    assert all(r["errors"] == 0 and r["finish_reason"] == "finished" for r in reports.values())

    fetched = {path for _, path in web.requests}
    assert not any(p.startswith("/members/") for p in fetched)  # robots.txt obeyed
    assert not any(p.startswith("/img/") for p in fetched)  # text only
    assert sum(1 for _, p in web.requests if p == "/robots.txt") == len(SITES)
    assert len(web.user_agents) == 1 and next(iter(web.user_agents)).startswith("dfwatch/")

    # the article with the 297 and 180 case figures is searchable, with its entities
    proc = run_dfwatch("search", "297 180 telegram", "--json", env=e)
    hits = json.loads(proc.stdout)["hits"]
    assert any(h["url"].endswith(SEED_000) for h in hits), proc.stdout
    seed = next(h for h in hits if h["url"].endswith(SEED_000))
    assert {"Yoon Suk Yeol", "Telegram"} <= set(seed["entities"])  # normalised names (labels: see the ES test)

    # a Korean page in EUC-KR, served without a charset header, is decoded and indexed
    proc = run_dfwatch("search", "딥페이크", "--json", env=e)
    titles = [h["title"] for h in json.loads(proc.stdout)["hits"]]
    assert "경찰청, 딥페이크 성범죄 7개월간 특별 집중단속 착수" in titles

    # a second crawl over the unchanged web fetches no article (feeds answer 304) and indexes nothing;
    # the index keeps every article once (ids come from canonical URLs)
    again = crawl(e, tmp_path)
    assert sum(r["indexed"] for r in again.values()) == 0
    assert sum(r["articles_fetched"] for r in again.values()) == 0
    proc = run_dfwatch("search", "", "--json", "--size", "100", env=e)
    assert len(json.loads(proc.stdout)["hits"]) == kept


def test_crawl_into_elasticsearch_fills_the_alias(
    env: dict[str, str], web: FixtureWeb, tmp_path: Path, es_url: str, es_prefix: str
) -> None:
    e = crawl_env(env, web, tmp_path, DFWATCH_STORE__ELASTICSEARCH_URL=es_url,
                  DFWATCH_STORE__INDEX_PREFIX=es_prefix)
    for _ in range(2):  # idempotent
        proc = run_dfwatch("index", "setup", env=e)
        assert proc.returncode == 0 and "elasticsearch store ready" in proc.stdout, proc.stderr
    reports = crawl(e, tmp_path)
    indexed = sum(r["indexed"] for r in reports.values())
    assert indexed == len(articles()) - len(articles(kind="decoy")) - 2

    es = Elasticsearch(es_url)
    alias = f"{es_prefix}-articles"
    assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v{LATEST['articles']}"]
    resp = es.search(index=alias, query={"match": {"text": "telegram"}}, size=50)
    docs = {h["_source"]["url"]: h["_source"] for h in resp["hits"]["hits"]}
    seed = next(d for url, d in docs.items() if url.endswith(SEED_000))
    assert "297" in seed["text"] and "180" in seed["text"]
    assert "Yoon Suk Yeol" in seed["people"] and "Telegram" in seed["orgs"]
    assert seed["source"]["type"] == "news" and seed["published_at"].startswith("2024-08-28")
    assert es.count(index=alias)["count"] == indexed
    # each crawl run is a document of the runs index too
    es.indices.refresh(index=f"{es_prefix}-runs")
    runs = es.search(index=f"{es_prefix}-runs", size=10)["hits"]["hits"]
    assert sorted(h["_source"]["source_id"] for h in runs) == sorted(reports)
    # each figure is also a record of its own, traceable to its sentence and article
    figures = es.search(index=f"{es_prefix}-figures", size=100, query={"term": {"article_id": seed["id"]}})
    ledger = {(h["_source"]["value"], h["_source"]["measure"]): h["_source"] for h in figures["hits"]["hits"]}
    cases_2024 = ledger[(297, "police_cases_reported")]
    assert cases_2024["period"]["start"] == "2024-01-01" and cases_2024["period"]["end"] == "2024-07-31"
    assert "297" in cases_2024["sentence"] and cases_2024["url"].endswith(SEED_000)
    assert ledger[(180, "police_cases_reported")]["period"]["start"] == "2023-01-01"
    assert ledger[(220000, "channel_members")]["qualifier"] == "approx"
    es.close()

    proc = run_dfwatch("search", "telegram", "--from", "2024-09-01", "--to", "2024-09-30", env=e)
    assert proc.returncode == 0 and "Assembly votes to punish" in proc.stdout


def test_unreachable_index_spools_then_replays(
    env: dict[str, str], web: FixtureWeb, tmp_path: Path, es_url: str, es_prefix: str
) -> None:
    dead = crawl_env(env, web, tmp_path, DFWATCH_STORE__ELASTICSEARCH_URL="http://127.0.0.1:9",
                     DFWATCH_STORE__INDEX_PREFIX=es_prefix, DFWATCH_STORE__REQUEST_TIMEOUT="2")
    reports = crawl(dead, tmp_path)
    spooled = sum(r["spooled"] for r in reports.values())
    assert spooled == len(articles()) - len(articles(kind="decoy")) - 2
    assert sum(r["indexed"] for r in reports.values()) == 0
    spool = Path(env["DFWATCH_DATA_DIR"]) / "spool"
    assert len(list(spool.glob("*.jsonl"))) == len(SITES)

    proc = run_dfwatch("index", "replay", env=dead)
    assert proc.returncode == 3 and "spooled documents are kept" in proc.stderr
    assert len(list(spool.glob("*.jsonl"))) == len(SITES)

    live = {**dead, "DFWATCH_STORE__ELASTICSEARCH_URL": es_url}
    proc = run_dfwatch("index", "replay", env=live)
    assert proc.returncode == 0 and f"replayed {spooled} documents" in proc.stdout, proc.stderr
    assert list(spool.glob("*.jsonl")) == []
    es = Elasticsearch(es_url)
    es.indices.refresh(index=f"{es_prefix}-articles")
    assert es.count(index=f"{es_prefix}-articles")["count"] == spooled
    es.close()


def test_scrapy_crawl_runs_the_same_pipeline(env: dict[str, str], web: FixtureWeb, tmp_path: Path) -> None:
    """`scrapy crawl feed -a source=ID` (what the scheduler runs) uses scrapy.cfg and dfwatch settings."""
    import subprocess
    import sys

    from conftest import ROOT

    e = crawl_env(env, web, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "feed", "-a", "source=asia-wire"],
                          cwd=ROOT, env=e, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'dfwatch/indexed': 3" in proc.stderr and "'dfwatch/dropped/off_topic': 1" in proc.stderr
    assert web.user_agents == {"dfwatch/0.1 (research crawler; +https://github.com/dfwatch/dfwatch#crawler)"}
