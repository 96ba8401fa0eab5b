"""The Elasticsearch fast write path (dfwatch.store.es_bulk, ElasticsearchStore.upsert and
bulk_load) against the real node: nothing lost, no stale figure records, settings restored;
and the index-only benchmark's quick run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import synthetic
from dfwatch.records import figure_docs
from dfwatch.store import es_bulk
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.es_index import LEFTOVER_REFRESH, LOAD_REFRESH, IndexManager

ROOT = Path(__file__).resolve().parents[1]


def figure_ids(store: ElasticsearchStore) -> set[str]:
    resp = store.es.search(index=store.figures_alias, size=10_000, source=False)
    return {h["_id"] for h in resp["hits"]["hits"]}


def settings(store: ElasticsearchStore, name: str) -> dict[str, str]:
    """`name` (e.g. "refresh_interval") of the articles and figures write indices, by kind."""
    found = store.es.indices.get_settings(index=f"{store.articles_write},{store.figures_write}",
                                          name=f"index.{name}", flat_settings=True)
    return {("articles" if "-articles-" in index else "figures"): info["settings"][f"index.{name}"]
            for index, info in found.items()}


def moved(doc: dict[str, Any], shift: int) -> dict[str, Any]:
    """`doc` with its first figure gone and the others at other spans (so with other record ids)."""
    figures = [{**f, "start": f["start"] + shift, "end": f["end"] + shift} for f in doc["figures"][1:]]
    return {**doc, "figures": figures}


def test_every_article_and_figure_record_is_indexed(store: ElasticsearchStore) -> None:
    docs = list(synthetic.articles(500, seed=11))
    store.bulk_tuning = es_bulk.Tuning(chunk_docs=37, min_chunk=37)  # ~19 requests, two in flight
    assert store.upsert(docs) == 500
    store.refresh()
    assert store.count() == 500
    expected = {f["id"] for d in docs for f in figure_docs(d)}
    assert len(expected) > 100 and figure_ids(store) == expected
    korean = next(d for d in docs if d["language"] == "ko" and d["figures"])
    got = store.get(korean["id"])
    assert got is not None and got["text_ko"] == korean["text_ko"] and got["story_id"] == korean["story_id"]
    assert got["figure_count"] == len(korean["figures"])


def test_rewriting_articles_with_changed_figures_leaves_no_stale_records(store: ElasticsearchStore) -> None:
    docs = [d for d in synthetic.articles(400, seed=3) if d["figures"]][:40]
    plain = [d for d in synthetic.articles(40, seed=5) if not d["figures"]][:10]
    assert len(docs) == 40 and all(len(d["figures"]) >= 1 for d in docs)
    fresh = list(synthetic.articles(20, seed=9, start=5000))
    with store.bulk_load():  # refresh off: the second upsert must see the first one's writes unrefreshed
        store.upsert(docs + plain)
        first = moved(docs[0], 1)
        second = [moved(d, 3) for d in docs]  # docs[0] twice in one batch: its last version wins
        gained = [{**d, "figures": docs[0]["figures"]} for d in plain]  # articles without figures gain some
        assert store.upsert([first, *second, *gained, *fresh]) == 1 + 40 + 10 + 20
    final = [*second, *gained, *fresh]
    assert store.count() == 70
    assert figure_ids(store) == {f["id"] for d in final for f in figure_docs(d)}
    got = store.get(docs[0]["id"])
    assert got is not None and got["figure_count"] == len(second[0]["figures"])
    assert [f["start"] for f in got["figures"]] == [f["start"] for f in second[0]["figures"]]


def test_bulk_load_makes_refresh_rare_and_restores_it_even_when_the_load_fails(store: ElasticsearchStore) -> None:
    store.es.indices.put_settings(index=store.articles_write, settings={"index.refresh_interval": "5s"})
    store.es.indices.put_settings(index=store.articles_write, settings={"index.number_of_replicas": 1})
    with pytest.raises(RuntimeError, match="mid-load"), store.bulk_load(drop_replicas=True):
        assert settings(store, "refresh_interval") == {"articles": LOAD_REFRESH, "figures": LOAD_REFRESH}
        assert settings(store, "number_of_replicas") == {"articles": "0", "figures": "0"}
        store.upsert(list(synthetic.articles(30, seed=2)))
        raise RuntimeError("mid-load")
    assert settings(store, "refresh_interval") == {"articles": "5s", "figures": "1s"}
    assert settings(store, "number_of_replicas") == {"articles": "1", "figures": "0"}
    assert store.count() == 30  # refreshed on the way out
    # an index left with the load's refresh by a load that was killed gets the template's interval
    # back: from the next bulk load, and from `dfwatch index setup` (which every crawl runs); also
    # what earlier versions left (every 5 s, or off)
    for leftover in LEFTOVER_REFRESH:
        store.es.indices.put_settings(index=store.figures_write, settings={"index.refresh_interval": leftover})
        with store.bulk_load():
            pass
        assert settings(store, "refresh_interval") == {"articles": "5s", "figures": "1s"}
    for leftover in LEFTOVER_REFRESH:
        store.es.indices.put_settings(index=store.figures_write, settings={"index.refresh_interval": leftover})
        (change,) = IndexManager(store.es, store.prefix).setup()["changes"]
        assert "back on" in change and settings(store, "refresh_interval") == {"articles": "5s", "figures": "1s"}
    assert IndexManager(store.es, store.prefix).setup()["changes"] == []


def test_a_stream_sends_as_it_reads_and_a_late_repeat_of_an_id_wins(store: ElasticsearchStore) -> None:
    docs = [d for d in synthetic.articles(300, seed=13) if d["figures"]][:60]
    fresh = list(synthetic.articles(40, seed=14, start=9000))
    late = moved(docs[5], 2)  # docs[5] again, dozens of requests later, with other figures
    store.bulk_tuning = es_bulk.Tuning(chunk_docs=20, min_chunk=20)  # many small requests, two in flight
    seen_by_node: list[int] = []

    def stream() -> Iterator[dict[str, Any]]:
        yield from docs
        store.es.indices.refresh(index=store.articles_write)
        seen_by_node.append(store.count())  # written while the stream was still being read
        yield late
        yield from fresh

    assert len(docs) > 40 and store.upsert(stream()) == len(docs) + 1 + 40
    store.refresh()
    assert seen_by_node[0] >= 20 and store.count() == len(docs) + 40
    got = store.get(late["id"])
    assert got is not None and got["figures"] == late["figures"]
    expected = {f["id"] for d in [*docs[:5], late, *docs[6:], *fresh] for f in figure_docs(d)}
    assert figure_ids(store) == expected


def test_quick_benchmark_writes_positive_rates(es_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DFWATCH_BENCH_ES_URL": es_url, "DFWATCH_BENCH_OUT": str(tmp_path),
           "DFWATCH_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bulk_index", "--quick", "--docs", "200,400",
                           "--sweep-docs", "200", "--sweep", "100,200"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "bulk_index.json").read_text(encoding="utf-8"))["results"]
    loads = {(r["path"], r["docs"]): r for r in result["loads"]}
    assert set(loads) == {(p, n) for p in ("dfwatch", "helpers.bulk (defaults)") for n in (200, 400)} | {
        ("dfwatch, 500 a call", 200)}  # the stream, the bare library, and (smallest size) one upsert per batch
    assert all(r["docs_per_s"] > 0 and r["indexed"] == r["docs"] for r in loads.values())
    assert loads[("dfwatch", 400)]["ratio_to_helpers_bulk"] > 0
    assert loads[("dfwatch", 400)]["refresh_after"] == "1s"
    assert result["stream_over_batches"] > 0
    assert len(result["sweep"]) >= 2 and all(p["docs_per_s"] > 0 for p in result["sweep"])
    assert result["sqlite"]["docs_per_s"] > 0 and result["sqlite"]["indexed"] == 200
    assert result["rewrite"]["docs_per_s"] > 0
    assert (tmp_path / "cache" / "bench").is_dir()
