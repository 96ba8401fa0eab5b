"""`index migrate` on the real node: v1 and v2 → the newest version with searches answering throughout,
--force, resume."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, helpers
from test_es_index import article, make_old_layout

from dfwatch.records import figure_docs
from dfwatch.store.es_index import LATEST, IndexManager, build_template
from dfwatch.store.prepare import prepare

N = 2000
KOREAN = 20  # of the N, every 100th is Korean: their text_ko is derived during the migration
ART = LATEST["articles"]  # the newest articles mapping version


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url)
    yield client
    client.close()


@pytest.fixture
def manager(es: Elasticsearch, es_prefix: str) -> Iterator[IndexManager]:
    mgr = IndexManager(es, es_prefix)
    yield mgr
    mgr.drop()


def load_v1(es: Elasticsearch, prefix: str) -> tuple[int, int]:
    """N articles (as dfwatch 0.1 wrote them: no derived fields) and their figures, through the old aliases."""
    en, ko = ({k: v for k, v in article(0, lang).items() if k not in ("story_id", "signature")} for lang in ("en", "ko"))
    articles, figures = [], []
    for n in range(N):
        doc = {**(ko if n % 100 == 0 else en), "id": f"a{n:05d}", "url": f"https://news.example/{n}",
               "title": f"Deepfake report {n}"}
        articles.append({"_index": f"{prefix}-articles", "_id": doc["id"], "_source": doc})
        if n % 10 == 0:
            figures += [{"_index": f"{prefix}-figures", "_id": f["id"], "_source": f} for f in figure_docs(doc)]
    helpers.bulk(es, articles + figures, chunk_size=1000, refresh=True)
    return len(articles), len(figures)


class SearchLoop(threading.Thread):
    """Searches the read alias in a loop; a search fails if it errors or sees fewer than `expect` articles."""

    def __init__(self, url: str, alias: str, expect: int) -> None:
        super().__init__(daemon=True)
        self.es = Elasticsearch(url, request_timeout=10)
        self.alias, self.expect = alias, expect
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                resp = self.es.search(index=self.alias, query={"match": {"title": "deepfake report"}}, size=3,
                                      track_total_hits=True)
                if resp["hits"]["total"]["value"] >= self.expect:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors.append(f"{resp['hits']['total']['value']} hits")
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                self.failed += 1
                self.errors.append(repr(exc))
        self.es.close()


def test_migrate_v1_to_the_newest_while_searches_keep_answering(manager: IndexManager, es: Elasticsearch,
                                                        es_url: str) -> None:
    prefix = manager.prefix
    make_old_layout(es, prefix)
    n_articles, n_figures = load_v1(es, prefix)
    manager.setup()  # as a deploy of the new code does: adds the write aliases, keeps v1 serving

    written: dict[str, Any] = {}

    def write_meanwhile(kind: str, done: int, total: int) -> None:
        """Once the copy has begun: update an article not copied yet, and add a new one, via the write alias."""
        if kind != "articles" or written:
            return
        last = es.get(index=f"{prefix}-articles", id=f"a{N - 1:05d}")["_source"]
        written["updated"] = prepare({**last, "title": "Deepfake report, corrected during the migration"})
        written["new"] = prepare({**last, "id": "fresh", "url": "https://news.example/fresh"})
        for doc in written.values():
            es.index(index=manager.write("articles"), id=doc["id"], document=doc)

    loop = SearchLoop(es_url, manager.read("articles"), expect=N)
    loop.start()
    time.sleep(0.3)
    before = loop.ok
    report = manager.migrate(progress=write_meanwhile, batch_size=250)
    during = loop.ok - before
    time.sleep(0.3)
    loop.stop.set()
    loop.join(timeout=15)

    arts, figs = (next(m for m in report.migrated if m.kind == k) for k in ("articles", "figures"))
    print(f"\nmigrate v1 -> v{ART}: {n_articles} articles ({arts.copied} copied, {arts.kept_newer} kept as written "
          f"meanwhile, {arts.new_count} in {arts.new_index}) in {arts.seconds:.2f}s; {n_figures} figures "
          f"({figs.copied} copied) in {figs.seconds:.2f}s; searches on {manager.read('articles')}: "
          f"{loop.ok} answered ({during} during the migration), {loop.failed} failed")
    assert loop.failed == 0, loop.errors[:5]
    assert during >= 150 and loop.ok >= 250
    assert report.up_to_date == {"runs": f"{prefix}-runs-v1"}
    assert (arts.old_index, arts.new_index, arts.old_version, arts.new_version) == (
        f"{prefix}-articles-v1", f"{prefix}-articles-v{ART}", 1, ART)
    assert arts.copied + arts.kept_newer == n_articles and arts.kept_newer == 1  # the update was not overwritten
    assert arts.new_count == n_articles + 1 and figs.copied == figs.new_count == n_figures
    assert arts.old_deleted and not es.indices.exists(index=f"{prefix}-articles-v1")

    es.indices.refresh(index=manager.read("articles"))
    assert es.count(index=manager.read("articles"))["count"] == n_articles + 1
    got = es.get(index=manager.read("articles"), id=f"a{N - 1:05d}")
    assert got["_index"] == f"{prefix}-articles-v{ART}" and got["_source"]["title"].endswith("during the migration")
    assert es.exists(index=manager.read("articles"), id="fresh")
    # derived fields were computed for the v1 documents
    ko = es.get(index=manager.read("articles"), id="a00100")["_source"]
    assert ko["story_id"] == "a00100" and ko["entity_keys"] == ["korean national police agency"]
    assert ko["figure_count"] == 2 and "딥페이크" in ko["text_ko"].split()
    hits = es.search(index=manager.read("articles"), query={"match_phrase": {"text_ko": "딥페이크 성범죄"}},
                     track_total_hits=True)
    assert hits["hits"]["total"]["value"] == KOREAN
    fig = es.search(index=manager.read("figures"), size=1, query={"term": {"article_id": "a00010"}})
    assert fig["hits"]["hits"][0]["_source"]["story_id"] == "a00010"
    status = manager.status()["kinds"]
    assert all(not k["needs_migration"] and k["other_indices"] == [] for k in status.values())
    assert manager.setup()["changes"] == [] and manager.setup()["pending"] == []


def test_force_rebuilds_the_newest_version_as_itself_and_setup_stays_idempotent(manager: IndexManager, es: Elasticsearch) -> None:
    prefix = manager.prefix
    manager.setup()
    docs = [prepare(article(n)) for n in range(300)]
    helpers.bulk(es, ({"_index": manager.write("articles"), "_id": d["id"], "_source": d} for d in docs),
                 refresh=True)
    assert manager.migrate().migrated == []  # up to date: nothing to do
    report = manager.migrate(force=True, keep_old=True)
    arts = report.migrated[0]
    assert [m.kind for m in report.migrated] == ["articles", "figures", "runs"]
    assert (arts.old_index, arts.new_index) == (f"{prefix}-articles-v{ART}", f"{prefix}-articles-v{ART}-r2")
    assert arts.copied == arts.new_count == 300 and not arts.old_deleted
    assert es.get(index=manager.read("articles"), id="a00007")["_index"] == f"{prefix}-articles-v{ART}-r2"
    assert manager.status()["kinds"]["articles"]["other_indices"] == [f"{prefix}-articles-v{ART}"]  # kept, no alias
    assert es.indices.get_alias(index=f"{prefix}-articles-v{ART}")[f"{prefix}-articles-v{ART}"]["aliases"] == {}
    again = manager.migrate(force=True)
    assert again.migrated[0].new_index == f"{prefix}-articles-v{ART}-r3" and again.migrated[0].new_count == 300
    assert manager.setup() == {"capabilities": [], "changes": [], "pending": []}


def test_an_interrupted_migration_resumes(manager: IndexManager, es: Elasticsearch) -> None:
    prefix = manager.prefix
    make_old_layout(es, prefix)
    load_v1(es, prefix)

    def crash(kind: str, done: int, total: int) -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        manager.migrate(batch_size=500, progress=crash)
    # half-way: reads still on v1 (all documents), writes already on v2 (one batch copied)
    assert manager.read_index("articles") == f"{prefix}-articles-v1"
    assert manager.write_index("articles") == f"{prefix}-articles-v{ART}"
    assert any("migration is under way" in p for p in manager.setup()["pending"])
    report = manager.migrate(batch_size=500)
    arts = report.migrated[0]
    assert arts.resumed and arts.new_index == f"{prefix}-articles-v{ART}"
    assert arts.kept_newer == 500 and arts.copied == N - 500 and arts.new_count == N
    assert manager.status()["kinds"]["articles"]["needs_migration"] is False


def test_a_v2_install_migrates_to_v3_which_keeps_entities_and_figures_in_source_only(
        manager: IndexManager, es: Elasticsearch) -> None:
    """v3 stops indexing each entity's text, label and span and the articles' copy of their figures
    (bulk loads cost the node less); the documents keep them, and entity filters and facets still work."""
    prefix = manager.prefix
    for kind in ("articles", "figures"):  # what dfwatch's setup made before v3
        alias = f"{prefix}-{kind}"
        es.indices.create(index=f"{alias}-v2", aliases={alias: {"is_write_index": False},
                                                       f"{alias}-write": {"is_write_index": True}},
                          **build_template(kind, 2))
    docs = [prepare(article(n)) for n in range(50)]
    assert all(d["figures"] and d["entities"] for d in docs)
    helpers.bulk(es, ({"_index": f"{prefix}-articles-write", "_id": d["id"], "_source": d} for d in docs),
                 refresh=True)
    by_text = {"term": {"entities.text": "Korean National Police Agency"}}
    assert es.count(index=manager.read("articles"), query=by_text)["count"] == 50  # indexed on v2
    assert f"articles: {prefix}-articles-v2 has mapping v2; `dfwatch index migrate` rebuilds it as v3" \
        in manager.setup()["pending"]
    report = manager.migrate()
    assert [(m.kind, m.old_version, m.new_version, m.copied) for m in report.migrated] == [("articles", 2, 3, 50)]
    got = es.get(index=manager.read("articles"), id=docs[7]["id"])
    assert got["_index"] == f"{prefix}-articles-v3"
    assert got["_source"]["entities"] == docs[7]["entities"] and got["_source"]["figures"] == docs[7]["figures"]
    with pytest.raises(BadRequestError, match="not indexed"):
        es.count(index=manager.read("articles"), query=by_text)
    assert es.count(index=manager.read("articles"),
                    query={"term": {"entity_keys": "korean national police agency"}})["count"] == 50
    facet = es.search(index=manager.read("articles"), size=0, aggs={"e": {"terms": {"field": "entities.norm"}}})
    assert facet["aggregations"]["e"]["buckets"] == [{"key": "Korean National Police Agency", "doc_count": 50}]
