"""Index templates, aliases, setup, capability probing and the runs index, on the real node."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conftest import run_dfwatch
from elasticsearch import BadRequestError, Elasticsearch

from dfwatch.records import Article, Entity, Relevance, SourceRef, figure_docs
from dfwatch.runs import Run
from dfwatch.settings import StoreSettings
from dfwatch.store.es_index import KINDS, LATEST, IndexManager, build_template, index_run, read_alias, write_alias
from dfwatch.store.prepare import prepare
from dfwatch.stories import encode_signature, features
from nlp.figures import extract_figures

EN = "Police said 297 deepfake cases were reported in the first seven months of this year, up from 180 last year."
KO = "경찰청에 따르면 올해 1~7월 딥페이크 성범죄 신고는 297건으로 지난해 180건보다 늘었다."


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url)
    yield client
    client.close()


@pytest.fixture
def manager(es: Elasticsearch, es_prefix: str) -> Iterator[IndexManager]:
    mgr = IndexManager(es, es_prefix)
    yield mgr
    mgr.drop()  # indices and all three templates

ART = LATEST["articles"]  # the newest articles mapping version


def article(n: int, lang: str = "en", published: str = "2024-08-28T09:00:00+09:00") -> dict[str, Any]:
    """An article document as the pipeline writes it: Article.to_doc() with real figures, then prepare()."""
    text = KO if lang == "ko" else EN
    figures = [f.as_dict() for f in extract_figures(text, date(2024, 8, 28), lang, place="South Korea")]
    art = Article(
        id=f"a{n:05d}", url=f"https://news.example/{n}", canonical_url=f"https://news.example/{n}",
        source=SourceRef("hanbit-times", "Hanbit Times", "news", "KR", lang), title=f"Deepfake report {n}",
        text=text, lead=text.split(",")[0], published_at=datetime.fromisoformat(published), modified_at=None,
        crawled_at=datetime(2024, 9, 1, tzinfo=UTC), authors=["A. Writer"], language=lang, content_hash=f"h{n}",
        relevance=Relevance(4.0, ["deepfake"], ["crime_stats"]),
        entities=[Entity("Korean National Police Agency", "ORG", "Korean National Police Agency", 0, 6)],
        figures=figures)
    return art.to_doc()


def a_run(source: str = "hanbit-times") -> Run:
    finished = datetime(2024, 8, 28, 1, 0, tzinfo=UTC)
    return Run(source_id=source, started_at=finished - timedelta(seconds=42), finished_at=finished,
               finish_reason="finished", fetched=12, articles_fetched=5, new=3, updated=1, unchanged=1, indexed=4,
               spooled=0, errors=0, skipped={"not_modified": 2, "robots_disallowed": 1}, dropped={"off_topic": 1},
               retried={"503": 2})


def test_build_template_adds_analyser_sub_fields_only_where_the_node_has_them() -> None:
    full = build_template("articles", None, {"english", "cjk", "nori"}, shards=3, replicas=1)
    props = full["mappings"]["properties"]
    assert set(props["title"]["fields"]) == {"raw", "en", "cjk", "ko"}
    assert props["text"]["fields"] == {"en": {"type": "text", "analyzer": "english"},
                                       "cjk": {"type": "text", "analyzer": "cjk"},
                                       "ko": {"type": "text", "analyzer": "dfwatch_nori"}}
    assert props["lead"]["fields"] == {"en": {"type": "text", "analyzer": "english"}}
    assert full["settings"]["analysis"]["analyzer"]["dfwatch_nori"]["tokenizer"] == "nori_tokenizer"
    assert full["settings"]["number_of_shards"] == 3 and full["settings"]["number_of_replicas"] == 1
    assert full["mappings"]["_meta"] == {"dfwatch_mapping_version": LATEST["articles"], "dfwatch_kind": "articles",
                                         "capabilities": ["cjk", "english", "nori"]}

    minimal = build_template("articles", None, set())
    props = minimal["mappings"]["properties"]
    assert "fields" not in props["text"] and set(props["title"]["fields"]) == {"raw"}
    assert "analysis" not in minimal["settings"] and minimal["mappings"]["_meta"]["capabilities"] == []
    assert props["text_ko"] == {"type": "text", "analyzer": "standard"}
    assert {"story_id", "signature", "entity_keys", "figure_count"} <= set(props)
    assert build_template("figures", capabilities={"english"})["mappings"]["_meta"]["capabilities"] == []
    for kind in KINDS:
        assert build_template(kind)["mappings"]["dynamic"] == "strict"
    v1 = build_template("articles", 1)["mappings"]["properties"]  # old installs were made from v1: v2 only adds
    v2 = build_template("articles", 2)["mappings"]["properties"]
    assert {k: v for k, v in v2.items() if k in v1} == v1
    # v3 indexes less: entity text, label and span and the figures live in _source only
    assert set(props) == set(v2) and {k: v for k, v in props.items() if k not in ("entities", "figures")} == \
        {k: v for k, v in v2.items() if k not in ("entities", "figures")}
    assert props["entities"]["properties"]["norm"] == {"type": "keyword"}
    assert all(props["entities"]["properties"][f]["index"] is False for f in ("text", "label", "start", "end"))
    assert props["figures"] == {"type": "object", "enabled": False}


def test_setup_creates_aliases_and_is_idempotent(manager: IndexManager, es: Elasticsearch, es_prefix: str) -> None:
    first = manager.setup()
    assert first["capabilities"] == [] and first["pending"] == []
    assert len(first["changes"]) == 6  # a template and an index per kind
    assert manager.setup() == {"capabilities": [], "changes": [], "pending": []}
    assert IndexManager(es, es_prefix).setup()["changes"] == []  # a fresh manager (new probe) too
    for kind, version in (("articles", ART), ("figures", 2), ("runs", 1)):
        index = f"{es_prefix}-{kind}-v{version}"
        aliases = es.indices.get_alias(index=index)[index]["aliases"]
        assert aliases == {read_alias(es_prefix, kind): {"is_write_index": False},
                           write_alias(es_prefix, kind): {"is_write_index": True}}
    # writers must use the write alias: the read alias refuses writes (so a migration cannot lose them)
    with pytest.raises(BadRequestError, match="no write index"):
        es.index(index=read_alias(es_prefix, "articles"), id="x", document=prepare(article(1)))


def test_probe_finds_no_optional_analysers_on_the_minimal_node(manager: IndexManager, es: Elasticsearch) -> None:
    assert manager.capabilities() == set()
    manager.setup()
    index = manager.read_index("articles")
    assert index is not None
    meta = es.indices.get_mapping(index=index)[index]["mappings"]["_meta"]
    assert meta == {"dfwatch_mapping_version": LATEST["articles"], "dfwatch_kind": "articles", "capabilities": []}
    # the full distribution's variant is refused here: what the probe protects against
    with pytest.raises(BadRequestError, match="english"):
        es.indices.create(index=f"{manager.prefix}-probe", **build_template("articles", capabilities={"english"}))


def test_mappings_accept_exactly_what_dfwatch_writes(manager: IndexManager, es: Elasticsearch) -> None:
    manager.setup()
    docs = [prepare(article(1)), prepare(article(2, "ko"))]
    docs[0]["signature"] = encode_signature(features(docs[0]).signature)  # as the stories stage stores it
    assert docs[1]["text_ko"].startswith("경찰청") and "딥페이크" in docs[1]["text_ko"].split()
    for d in docs:
        es.index(index=manager.write("articles"), id=d["id"], document=d, require_alias=True)
        for f in figure_docs(d):
            es.index(index=manager.write("figures"), id=f["id"], document={**f, "story_id": d["story_id"]})
    manager.record_run(a_run().as_dict())
    for kind in KINDS:
        es.indices.refresh(index=manager.read(kind))
    assert es.count(index=manager.read("figures"))["count"] == 4
    stored = es.get(index=manager.read("articles"), id="a00001")["_source"]["signature"]
    assert stored == docs[0]["signature"] and len(stored) > 100
    # Korean recall through the pre-tokenised field: 성범죄가 / 딥페이크 → stems
    hits = es.search(index=manager.read("articles"), query={"match_phrase": {"text_ko": "딥페이크 성범죄"}})
    assert [h["_id"] for h in hits["hits"]["hits"]] == ["a00002"]
    aggs = es.search(index=manager.read("figures"), size=0, query={"term": {"measure": "police_cases_reported"}},
                     aggs={"p": {"terms": {"field": "period.start"}, "aggs": {"v": {"max": {"field": "value"}}}}})
    assert {b["key_as_string"][:10]: b["v"]["value"] for b in aggs["aggregations"]["p"]["buckets"]} == {
        "2024-01-01": 297, "2023-01-01": 180}
    # strict: a field no version declares is refused
    with pytest.raises(BadRequestError, match="strict_dynamic_mapping_exception"):
        es.index(index=manager.write("articles"), id="bad", document={**docs[0], "sentiment": 0.3})
    with pytest.raises(BadRequestError, match="strict_dynamic_mapping_exception"):
        es.index(index=manager.write("runs"), id="bad", document={"source_id": "x", "host": "y"})


def test_setup_keeps_an_install_of_the_old_layout_working(manager: IndexManager, es: Elasticsearch) -> None:
    make_old_layout(es, manager.prefix)
    done = manager.setup()
    old = f"{manager.prefix}-articles-v1"
    assert f"alias {manager.write('articles')} -> {old}" in done["changes"]
    assert f"mapping of {old}: added entity_keys, figure_count, signature, story_id, text_ko" in done["changes"]
    assert any("dfwatch index migrate" in p and p.startswith("articles:") for p in done["pending"])
    # current documents can be written to the old index through the write alias
    d = prepare(article(7, "ko"))
    es.index(index=manager.write("articles"), id=d["id"], document=d, refresh=True)
    assert es.get(index=manager.read("articles"), id=d["id"])["_index"] == old
    again = manager.setup()
    assert again["changes"] == [] and again["pending"] == done["pending"]
    status = manager.status()["kinds"]["articles"]
    assert status["version"] == 1 and status["needs_migration"] and status["docs"] == 1


def make_old_layout(es: Elasticsearch, prefix: str) -> None:
    """What dfwatch 0.1's setup made: v1 templates, `-v1` indices, the read alias as write index."""
    for kind in ("articles", "figures"):
        alias = f"{prefix}-{kind}"
        body = build_template(kind, 1)
        body["mappings"]["_meta"] = {"dfwatch_mapping_version": 1}
        es.indices.put_index_template(name=alias, index_patterns=[f"{alias}-v*"], priority=100, template=body,
                                      meta={"managed_by": "dfwatch", "mapping_version": 1})
        es.indices.create(index=f"{alias}-v1")
        es.indices.put_alias(index=f"{alias}-v1", name=alias, is_write_index=True)


def test_a_finished_crawl_run_lands_in_the_runs_index(es_url: str, es_prefix: str, es: Elasticsearch,
                                                        manager: IndexManager) -> None:
    cfg = StoreSettings(elasticsearch_url=es_url, index_prefix=es_prefix)
    manager.setup()
    run = a_run()
    assert index_run(cfg, run.as_dict()) is True
    assert index_run(cfg, run.as_dict()) is True  # the same run again: one document (id from source + start)
    assert index_run(cfg, a_run("korea-kr-press").as_dict()) is True
    es.indices.refresh(index=manager.read("runs"))
    resp = es.search(index=manager.read("runs"), size=10, sort=["source_id"],
                     aggs={"off_topic": {"sum": {"field": "dropped.off_topic"}},
                           "by_reason": {"sum": {"field": "skipped.not_modified"}}})
    docs = [h["_source"] for h in resp["hits"]["hits"]]
    assert [d["source_id"] for d in docs] == ["hanbit-times", "korea-kr-press"]
    assert docs[0]["duration_seconds"] == 42.0 and docs[0]["retried"] == {"503": 2} and docs[0]["new"] == 3
    assert resp["aggregations"]["off_topic"]["value"] == 2 and resp["aggregations"]["by_reason"]["value"] == 4
    mapping = es.indices.get_mapping(index=manager.read_index("runs"))
    assert next(iter(mapping.values()))["mappings"]["properties"]["skipped"]["properties"]["not_modified"] == {
        "type": "long"}


def test_the_runs_hook_only_warns_when_the_index_fails(es_url: str, es_prefix: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    run = a_run().as_dict()
    assert index_run(StoreSettings(), run) is False  # SQLite store: nothing to do
    caplog.set_level(logging.WARNING, logger="dfwatch.store.es_index")
    down = StoreSettings(elasticsearch_url="http://127.0.0.1:9", index_prefix=es_prefix, request_timeout=2)
    assert index_run(down, run) is False
    # reachable, but no runs index (setup never ran): refused by require_alias, no stray index is created
    assert index_run(StoreSettings(elasticsearch_url=es_url, index_prefix=es_prefix), run) is False
    assert len([r for r in caplog.records if "crawl run of hanbit-times not copied" in r.message]) == 2
    es = Elasticsearch(es_url)
    assert not es.indices.exists(index=f"{es_prefix}-runs-write")
    es.close()


def test_cli_index_setup_status_migrate(es_url: str, es_prefix: str, env: dict[str, str],
                                        manager: IndexManager) -> None:
    env = {**env, "DFWATCH_STORE__ELASTICSEARCH_URL": es_url, "DFWATCH_STORE__INDEX_PREFIX": es_prefix}
    make_old_layout(manager.es, es_prefix)
    setup = run_dfwatch("index", "setup", env=env)
    assert setup.returncode == 0, setup.stderr
    assert "pending: articles:" in setup.stdout and "optional analysers: none" in setup.stdout
    status = run_dfwatch("index", "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    kinds = json.loads(status.stdout)["kinds"]
    assert kinds["articles"]["version"] == 1 and kinds["articles"]["needs_migration"]
    assert kinds["runs"]["read_index"] == f"{es_prefix}-runs-v1" and not kinds["runs"]["needs_migration"]
    migrate = run_dfwatch("index", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stderr
    assert f"articles: {es_prefix}-articles-v1 (v1) -> {es_prefix}-articles-v{ART} (v{ART}): copied 0" in migrate.stdout
    assert f"runs: {es_prefix}-runs-v1 is up to date" in migrate.stdout
    text = run_dfwatch("index", "status", env=env)
    assert f"articles: {es_prefix}-articles -> {es_prefix}-articles-v{ART} (v{ART} of {ART}, 0 documents)" in text.stdout
    assert "migrate" not in text.stdout


def test_cli_index_commands_fail_clearly_when_the_node_is_unreachable(env: dict[str, str]) -> None:
    env = {**env, "DFWATCH_STORE__ELASTICSEARCH_URL": "http://127.0.0.1:9", "DFWATCH_STORE__REQUEST_TIMEOUT": "2"}
    for command in (["setup"], ["status", "--json"], ["migrate"]):
        result = run_dfwatch("index", *command, env=env)
        assert result.returncode == 3, (command, result.stderr)
        assert result.stderr.startswith("dfwatch: ") and "127.0.0.1:9" in result.stderr
        assert "Traceback" not in result.stderr
    sqlite = run_dfwatch("index", "migrate", env={k: v for k, v in env.items() if "ELASTICSEARCH" not in k})
    assert sqlite.returncode == 2 and "applies to Elasticsearch" in sqlite.stderr


def test_concurrent_setups_both_succeed(manager: IndexManager, es_url: str, es_prefix: str) -> None:
    """Two crawls starting at once both run setup: neither fails, and each kind gets one index."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [Elasticsearch(es_url) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda c: IndexManager(c, es_prefix).setup(), clients))
    for c in clients:
        c.close()
    assert all(r["pending"] == [] for r in results)
    status = manager.status()["kinds"]
    assert [status[k]["read_index"] for k in KINDS] == [f"{es_prefix}-articles-v{ART}", f"{es_prefix}-figures-v2",
                                                        f"{es_prefix}-runs-v1"]
    assert all(status[k]["write_index"] == status[k]["read_index"] and not status[k]["other_indices"] for k in KINDS)


def test_migrate_refuses_to_go_back_from_a_newer_mapping(manager: IndexManager, es: Elasticsearch) -> None:
    from dfwatch.store.base import StoreError

    manager.setup()
    index = manager.read_index("figures")
    es.indices.put_mapping(index=index, meta={"dfwatch_mapping_version": 3})
    assert any("newer than this dfwatch" in p for p in manager.setup()["pending"])
    with pytest.raises(StoreError, match="newer than this dfwatch knows"):
        manager.migrate(force=True)
