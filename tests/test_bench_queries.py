"""The query benchmarks as smoke runs, and the Elasticsearch read paths they measure.

`search_latency` and `digest_build` run with `--quick` against the session's node and must
write their result files in the shape `dfwatch bench` collects. The read paths that answer
in fewer round trips (folded timelines, the stories' first articles by instant, figure
records read before articles, uncounted walks of hits) must answer exactly as the plain
primitives and the paged search do, on the contract suite's corpus plus articles that make
each path's special case happen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docs_support import CORPUS, doc, ent, es_store_with, fig

from dfwatch.search.model import FigureQuery, Filters, SearchRequest
from dfwatch.search.service import SearchService
from dfwatch.settings import StoreSettings
from dfwatch.store import es_query as Q
from dfwatch.store import es_timeline
from dfwatch.store.base import StoreError
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]

# a story of five articles published at one instant (more than the first-article request reads
# for one pair), and a measure reported by one article among many matching articles with figures
SAME_INSTANT = [doc(f"z{i}", "asia-wire", "2024-09-02T10:00:00+00:00", f"Deepfake ring {i} charged",
                    "Prosecutors charged a deepfake ring.", entities=(ent("Telegram", "Telegram", "PRODUCT"),),
                    story_id="story-ring") for i in (5, 3, 9, 1, 7)]
RARE = [doc("r1", "hanbit-times", "2024-09-03T08:00:00+00:00", "Deepfake sentences",
            "A court gave a deepfake offender seven years.",
            figures=(fig(7, 20, "max_prison_years", "years", period=None),))]
MANY = [doc(f"m{i:02d}", "asia-wire", f"2024-09-{4 + i % 20:02d}T08:00:00+00:00", f"Deepfake cases {i}",
            f"Police logged {100 + i} deepfake cases.", figures=(fig(100 + i, 13),)) for i in range(30)]
LONG = [doc("l1", "hanbit-times", "2024-11-05T08:00:00+00:00", "Deepfake inquiry " + "widens " * 90, "An inquiry.")]
EXTRA = SAME_INSTANT + RARE + MANY + LONG


@pytest.fixture(scope="module")
def es(es_url: str) -> Iterator[ElasticsearchStore]:
    with es_store_with(es_url, f"tbq{os.getpid()}", [*CORPUS, *EXTRA]) as store:
        yield store


class Counted:
    """Counts the round trips a store makes (a search or an _msearch each), by wrapping the client."""

    def __init__(self, store: ElasticsearchStore) -> None:
        self.calls: list[str] = []
        for name in ("search", "msearch"):
            original = getattr(store.es, name)
            setattr(store.es, name, self._wrap(name, original))
        self.store = store

    def _wrap(self, name: str, call: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return call(*args, **kwargs)
        return wrapped

    def __enter__(self) -> Counted:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in ("search", "msearch"):
            delattr(self.store.es, name)


# ---------------------------------------------------------------- benchmarks
def _bench(module: str, es_url: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, "DFWATCH_BENCH_ES_URL": es_url, "DFWATCH_BENCH_OUT": str(out),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    name = module.rsplit(".", 1)[1]
    result = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    assert result["benchmark"] == name and result["results"]["quick"] is True
    assert {"cpus", "loadavg_1m"} <= set(result["machine"])
    for check in result["checks"]:
        assert set(check) == {"name", "value", "target", "ok"} and isinstance(check["ok"], bool)
        assert isinstance(check["value"], (int, float))
    return result


@pytest.mark.elasticsearch
def test_search_latency_quick_run_writes_its_result(es_url: str, tmp_path: Path) -> None:
    result = _bench("benchmarks.search_latency", es_url, tmp_path)
    runs = result["results"]["runs"]
    sizes = result["results"]["sizes"]
    assert {(r["store"], r["docs"]) for r in runs} == {(s, n) for s in ("elasticsearch", "sqlite") for n in sizes}
    for run in runs:
        for op in ("search", "timeline", "figure_series"):
            stats = run["latency"][op]["all"]
            calls = result["results"]["queries"] // (2 if op == "search" else 1)  # deep pages may end early
            assert stats["n"] >= calls and 0 < stats["p50"] <= stats["p95"] <= stats["max"]
    es_big = next(r for r in runs if r["store"] == "elasticsearch" and r["docs"] == sizes[-1])
    assert es_big["latency"]["timeline"]["es_requests_per_call"] <= 3  # date span + two folded rounds
    names = [c["name"] for c in result["checks"]]
    assert f"elasticsearch timeline p95 at {sizes[-1]} docs" in names
    assert f"elasticsearch search p95 at {sizes[-1]} docs" in names
    assert set(result["results"]["growth"]) == {"elasticsearch", "sqlite"}
    assert sum("growth" in n for n in names) == 6


@pytest.mark.elasticsearch
def test_digest_build_quick_run_writes_its_result(es_url: str, tmp_path: Path) -> None:
    result = _bench("benchmarks.digest_build", es_url, tmp_path)
    runs = result["results"]["runs"]
    assert [r["docs"] for r in runs] == result["results"]["sizes"]
    for run in runs:
        first, steady = run["first"], run["steady"]
        assert first["peak_rss_mb"] > 0 and first["seconds"] > 0
        # the first digest makes everything before the window its baseline; a later one knows it already
        assert first["baseline"] + first["counts"]["articles"] == run["docs"] == steady["known"] + \
            steady["counts"]["articles"]
        assert steady["baseline"] == 0
    walk = runs[0]["walk"]
    assert walk["matched"] == runs[0]["docs"] and walk["pages_over_hits"] > 0
    assert [c["name"].split(" build")[0] for c in result["checks"]] == ["digest first", "digest steady"]


# ---------------------------------------------------------------- folded reads
REQUESTS = [SearchRequest(), SearchRequest(q="deepfake"), SearchRequest(q="police OR telegram"),
            SearchRequest(q="경찰"), SearchRequest(filters=Filters(lang=("en",), has_figures=True)),
            SearchRequest(q="nothingmatchesthis")]


@pytest.mark.elasticsearch
@pytest.mark.parametrize("req", REQUESTS, ids=lambda r: r.q or str(r.filters.lang or "all"))
def test_folded_timeline_equals_the_primitives_one_by_one(es: ElasticsearchStore, req: SearchRequest) -> None:
    service = SearchService(es)
    with Counted(es) as counted:
        folded = service.timeline(req, "week")
    long_title = any(len(s.title) > 512 for b in folded.buckets for s in b.stories)  # read from _source
    assert len(counted.calls) <= 3 + long_title  # the date span, then two rounds
    assert folded.total == service.count(req)
    assert folded.buckets == es.histogram(req, "week", 3)
    assert folded.events == es.stories(req, 20, "first_seen")
    assert folded.entity_trends == es.entity_trends(req, "week", 8)
    sqlite = SearchService(_sqlite_twin(es))
    plain = sqlite.timeline(req, "week")
    assert (folded.total, [(b.key, b.count) for b in folded.buckets]) == \
        (plain.total, [(b.key, b.count) for b in plain.buckets])
    assert [s.story_id for s in folded.events] == [s.story_id for s in plain.events]


_twins: dict[str, SqliteStore] = {}


def _sqlite_twin(es: ElasticsearchStore) -> SqliteStore:
    """A SQLite store with the same documents (one per module)."""
    if es.prefix not in _twins:
        import tempfile

        store = SqliteStore(Path(tempfile.mkdtemp(prefix="dfwatch-twin-")) / "store.sqlite3")
        store.setup()
        store.upsert([*CORPUS, *EXTRA])
        _twins[es.prefix] = store
    return _twins[es.prefix]


@pytest.mark.elasticsearch
def test_story_first_article_at_a_shared_instant_is_the_smallest_id(es: ElasticsearchStore) -> None:
    """Five articles of one story at one instant overflow the first-article request, which then
    falls back to a top_hits per (bucket, story): the earliest is still the smallest id."""
    req = SearchRequest(q="ring")
    (bucket,) = es.histogram(req, "month", 3)
    (story,) = bucket.stories
    assert (story.story_id, story.count, story.article_id, story.title) == ("story-ring", 5, "z1", "Deepfake ring 1 charged")
    (event,) = es.stories(req, 5, "first_seen")
    assert (event.article_id, event.article_count) == ("z1", 5)


@pytest.mark.elasticsearch
def test_a_title_too_long_for_its_keyword_is_still_shown(es: ElasticsearchStore) -> None:
    (bucket,) = es.histogram(SearchRequest(q="inquiry"), "month", 3)
    assert len(LONG[0]["title"]) > 512 and bucket.stories[0].title == LONG[0]["title"]


@pytest.mark.elasticsearch
def test_stories_found_by_collapse_follow_the_terms_order(es: ElasticsearchStore) -> None:
    req = SearchRequest(q="deepfake")
    for order in ("first_seen", "last_seen", "size"):
        everything = es.stories(req, 500, order)
        for size in (1, 3, 7):
            assert es.stories(req, size, order) == everything[:size]
    firsts = [s.first_seen for s in es.stories(req, 500, "first_seen")]
    assert firsts == sorted(firsts, key=lambda f: (f is None, f or ""))


@pytest.mark.elasticsearch
@pytest.mark.parametrize("fq", [FigureQuery(measure="max_prison_years", q="deepfake"),  # records fewer: read first
                                FigureQuery(measure="police_cases_reported", q="deepfake"),
                                FigureQuery(measure="police_cases_reported", q="경찰 OR deepfake", place="South Korea"),
                                FigureQuery(q="telegram"),  # no measure: the articles first
                                FigureQuery(measure="channel_members", filters=Filters(entity=("Telegram",)))],
                         ids=lambda fq: f"{fq.measure}-{fq.q}")
def test_figures_of_matching_articles_whichever_is_read_first(es: ElasticsearchStore, fq: FigureQuery) -> None:
    matching = {d["id"] for d in es.iter_articles(SearchRequest(q=fq.q, filters=fq.filters))}
    expected = [f for f in es.iter_figures(FigureQuery(measure=fq.measure, place=fq.place))
                if f["article_id"] in matching]
    assert expected  # every case selects something
    assert list(es.iter_figures(fq)) == expected
    page, _ = es.figures(FigureQuery(**{**fq.__dict__, "size": 1000}))
    assert page == expected


@pytest.mark.elasticsearch
def test_hits_walk_equals_paging_the_search(es: ElasticsearchStore) -> None:
    for req in REQUESTS:
        walked = list(SearchService(es).hits(req))
        paged = list(SearchService(_sqlite_twin(es)).hits(req))
        assert [h.id for h in walked] == [h.id for h in paged]
        assert [(h.title, h.story_id, h.entities, h.figure_count) for h in walked] == \
            [(h.title, h.story_id, h.entities, h.figure_count) for h in paged]


@pytest.mark.elasticsearch
def test_cursor_pages_carry_the_first_pages_total_and_facets(es: ElasticsearchStore) -> None:
    req = SearchRequest(q="deepfake", size=4)
    first = es.search(req)
    second = es.search(SearchRequest(q="deepfake", size=4, after=first.next_after))
    assert second.total == first.total > 8 and second.facets == first.facets and first.facets["sources"]
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}


@pytest.mark.elasticsearch
def test_folded_requests_fail_loudly(es_url: str) -> None:
    missing = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=es_url, index_prefix="tbqmissing"))
    with pytest.raises(StoreError, match="index setup"):
        missing.timeline_parts(SearchRequest(q="x"), "month")
    with pytest.raises(StoreError, match="index setup"):
        missing.search(SearchRequest(q="x"))


def test_plans_share_rounds() -> None:
    """Plans run side by side: each round sends every waiting plan's requests in one call."""
    def plan(name: str, rounds: int) -> es_timeline.Plan[list[str]]:
        seen = []
        for i in range(rounds):
            answers = yield [{"q": f"{name}{i}a"}, {"q": f"{name}{i}b"}]
            seen += [a["echo"] for a in answers]
        return seen

    sent: list[list[str]] = []

    def send(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sent.append([b["q"] for b in bodies])
        return [{"echo": b["q"]} for b in bodies]

    assert es_timeline.run([plan("x", 2), plan("y", 1)], send) == [["x0a", "x0b", "x1a", "x1b"], ["y0a", "y0b"]]
    assert sent == [["x0a", "x0b", "y0a", "y0b"], ["x1a", "x1b"]]


def test_search_splits_the_count_and_facets_from_the_hits() -> None:
    hits, totals = Q.search_bodies(SearchRequest(q="x", size=5))
    assert hits["track_total_hits"] is False and "aggs" not in hits and hits["size"] == 6
    assert totals["size"] == 0 and totals["track_total_hits"] is True and set(totals["aggs"]) == set(Q.FACET_FIELDS)
    assert totals["query"] == hits["query"]
    (only,) = Q.search_bodies(SearchRequest(q="x", size=0))
    assert only["track_total_hits"] is True
