"""One contract, two stores: SQLite (embedded default) and Elasticsearch (the real node).

Every test runs against both stores on the same small corpus (English and Korean, several
sources, types and countries, entities, topics, figures and one shared story). Where the
engines must differ — relevance scores — the tests say so and assert only what both agree
on. Read-only tests share one store per engine (`ro`); tests that write get a fresh one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from docs_support import CORPUS, KNPA, fig

from dfwatch.search.model import FigureQuery, Filters, SearchPage, SearchRequest, encode_cursor
from dfwatch.settings import StoreSettings
from dfwatch.store.base import Store
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.sqlite import SqliteStore

ALL = {d["id"] for d in CORPUS}
DATE_ORDER = ["d04", "d09", "d05", "d02", "d06", "d01", "d03", "d07", "d08", "d10"]  # newest first, undated last


def instant(value: str | None) -> datetime | None:
    """Stores may render dates differently (offset, Z, milliseconds); the instant must agree."""
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---------------------------------------------------------------- fixtures

def open_store(kind: str, tmp: Path, request: pytest.FixtureRequest, prefix: str) -> Store:
    if kind == "sqlite":
        return SqliteStore(tmp / "store.sqlite3")
    url = request.getfixturevalue("es_url")
    return ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=url, index_prefix=prefix))


def load(s: Store) -> Store:
    s.setup()
    s.setup()  # idempotent
    assert s.upsert(CORPUS) == len(CORPUS)
    s.refresh()
    return s


def drop_indices(url: str, prefix: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(url)
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for t in templates.get("index_templates", []) if templates.meta.status == 200 else []:
        es.indices.delete_index_template(name=t["name"])
    es.close()


ENGINES = ["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]


@pytest.fixture(scope="module", params=ENGINES)
def ro(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store loaded with CORPUS, shared by the read-only tests of this module."""
    prefix = f"tro{time.monotonic_ns() % 10**9}"
    s = load(open_store(request.param, tmp_path_factory.mktemp("ro"), request, prefix))
    yield s
    s.close()
    if request.param == "elasticsearch":
        drop_indices(request.getfixturevalue("es_url"), prefix)


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store loaded with CORPUS, for tests that write."""
    prefix = request.getfixturevalue("es_prefix") if request.param == "elasticsearch" else ""
    s = load(open_store(request.param, tmp_path, request, prefix))
    yield s
    s.close()


def search(s: Store, q: str = "", **kw: Any) -> SearchPage:
    return s.search(SearchRequest(q=q, size=kw.pop("size", 50), **kw))


def ids(s: Store, q: str = "", **filters: Any) -> set[str]:
    page = search(s, q, filters=Filters(**filters), facets=False, highlight=False)
    assert page.total == len(page.hits)
    return {h.id for h in page.hits}


# ---------------------------------------------------------------- writing and reading documents

def test_upsert_is_idempotent_by_id(store: Store) -> None:
    assert store.count() == 10
    assert store.upsert([dict(CORPUS[0], title="Police count 297 deepfake cases (updated)")]) == 1
    store.refresh()
    assert store.count() == 10
    got = store.get("d01")
    assert got is not None and got["title"].endswith("(updated)")
    assert got["entities"][1]["norm"] == KNPA and got["source"]["country"] == "KR"
    assert got["story_id"] == "story-297" and got["figures"][0]["value"] == 297
    assert store.get("d03")["story_id"] == "d03"  # type: ignore[index]  # no story: a story of one
    assert store.get("missing") is None
    assert ids(store, "updated") == {"d01"}


def test_count_and_get(ro: Store) -> None:
    assert ro.count() == 10
    got = ro.get("d06")
    assert got is not None and got["title"] == "딥페이크를 이용한 성범죄 집중 단속" and got["language"] == "ko"
    assert got["published_at"] and instant(got["published_at"]) == utc("2024-08-28T05:00:00")


# ---------------------------------------------------------------- query syntax

def test_words_are_anded_case_insensitively(ro: Store) -> None:
    assert ids(ro, "telegram") == {"d01", "d03", "d04", "d05"}
    assert ids(ro, "TELEGRAM arrested") == {"d03"}
    assert ids(ro, "telegram AND arrested") == {"d03"}
    assert ids(ro, "deepfake") == ALL - {"d03", "d06"}  # no stemming: "deepfakes" is another word
    assert ids(ro, "nothingmatchesthis") == set()


def test_phrases_or_not_and_exclusion(ro: Store) -> None:
    assert ids(ro, '"seven months"') == {"d01"}
    assert ids(ro, '"months seven"') == set()
    assert ids(ro, "durov OR possession") == {"d03", "d04"}
    assert ids(ro, "telegram -durov") == {"d01", "d04", "d05"}
    assert ids(ro, "telegram NOT durov") == {"d01", "d04", "d05"}
    assert ids(ro, '"sex crime" -"seven months"') == {"d02"}
    # only exclusions: everything else, newest first
    assert [h.id for h in search(ro, "-deepfake").hits] == ["d06", "d03"]


@pytest.mark.parametrize("text", ["title:telegram", "NEAR(telegram durov)", '"unbalanced', "*", "telegram*",
                                  "); DROP TABLE articles; --", "' OR 1=1 --", "{\"match_all\": {}}",
                                  'source:"x\' OR 1=1 --"', "entity:*", "a" * 2000, "OR", "-", "AND NOT"])
def test_hostile_query_text_is_searched_not_executed(ro: Store, text: str) -> None:
    page = search(ro, text)  # never raises
    assert page.total == len(page.hits) <= 10
    ro.histogram(SearchRequest(q=text), "month")
    ro.stories(SearchRequest(q=text))
    assert ro.count() == 10


def test_operators_in_user_input_are_inert(ro: Store) -> None:
    assert ids(ro, "title:telegram") == set()  # an unknown field is searched as the words "title telegram"
    assert ids(ro, "telegram*") == {"d01", "d03", "d04", "d05"}  # no prefix queries
    assert ids(ro, 'source:"x\' OR 1=1 --"') == set()
    assert ids(ro, "entity:*") == set()
    assert ids(ro, "*") == ids(ro, "-") == set()  # only punctuation: nothing


# ---------------------------------------------------------------- filters

def test_date_range_is_inclusive_in_utc(ro: Store) -> None:
    assert ids(ro, "telegram", date_from=date(2024, 9, 1)) == {"d04"}  # d05 is 31 August in UTC
    assert ids(ro, date_from=date(2024, 8, 26), date_to=date(2024, 8, 31)) == {"d01", "d02", "d03", "d05", "d06"}
    assert ids(ro, date_from=date(2024, 8, 28), date_to=date(2024, 8, 28)) == {"d01", "d06"}
    assert ids(ro, date_to=date(2024, 3, 15)) == {"d07", "d08"}  # undated d10 never matches a range


def test_exact_filters(ro: Store) -> None:
    assert ids(ro, source=("asia-wire",)) == {"d02", "d03", "d09"}
    assert ids(ro, source=("asia-wire", "ofcom")) == {"d02", "d03", "d07", "d09"}
    assert ids(ro, source_type=("government",)) == {"d06", "d07"}
    assert ids(ro, country=("GB",)) == {"d07"}
    assert ids(ro, lang=("ko",)) == {"d06"}
    assert ids(ro, entity=("telegram",)) == {"d01", "d03", "d04", "d05"}  # case-insensitive
    assert ids(ro, entity=("KOREAN NATIONAL POLICE AGENCY", "France")) == {"d01", "d02", "d03", "d06"}
    assert ids(ro, topic=("law",)) == {"d04", "d07"}
    assert ids(ro, has_figures=True) == {"d01", "d02", "d04", "d06", "d07"}
    assert ids(ro, has_figures=False) == {"d03", "d05", "d08", "d09", "d10"}
    assert ids(ro, story_id="story-297") == {"d01", "d02"}
    assert ids(ro, story_id="d03") == {"d03"}
    assert ids(ro, "deepfake", country=("KR",), topic=("policing", "law")) == {"d01", "d04"}


def test_excluded_filter_values(ro: Store) -> None:
    assert ids(ro, exclude=(("source", "hanbit-times"),)) == {"d02", "d03", "d06", "d07", "d09", "d10"}
    assert ids(ro, "telegram", exclude=(("entity", "PAVEL DUROV"),)) == {"d01", "d04", "d05"}
    assert ids(ro, exclude=(("topic", "platforms"), ("country", "KR"))) == {"d02", "d09"}


def test_field_terms_in_query_text(ro: Store) -> None:
    assert ids(ro, "deepfake source:asia-wire") == {"d02", "d09"}
    assert ids(ro, "source:asia-wire source:ofcom") == {"d02", "d03", "d07", "d09"}
    assert ids(ro, "type:government") == {"d06", "d07"}
    assert ids(ro, "lang:ko") == {"d06"}
    assert ids(ro, 'entity:"pavel durov"') == {"d03"}
    assert ids(ro, "deepfake topic:law country:GB") == {"d07"}
    assert ids(ro, "telegram -source:hanbit-times") == {"d03"}
    assert ids(ro, "deepfake NOT topic:platforms") == {"d02", "d08", "d09", "d10"}
    # a query field and a request filter on the same field are ORed
    assert ids(ro, "source:ofcom", source=("police-press",)) == {"d06", "d07"}


# ---------------------------------------------------------------- sorting and paging

def test_sort_by_date_newest_first_undated_last(ro: Store) -> None:
    assert [h.id for h in search(ro, sort="date").hits] == DATE_ORDER
    assert [h.id for h in search(ro).hits] == DATE_ORDER  # no words to score: date order
    assert [h.id for h in search(ro, "country:KR").hits] == [i for i in DATE_ORDER if i not in ("d02", "d03",
                                                                                                "d07", "d09")]
    assert [h.id for h in search(ro, "telegram", sort="date").hits] == ["d04", "d05", "d01", "d03"]


def test_relevance_order_for_an_obvious_case(ro: Store) -> None:
    """Scores differ between BM25 in FTS5 and Lucene (and are not compared); both must rank a title
    match that also occurs in the text above a single mention in a longer text."""
    page = search(ro, "election")
    assert [h.id for h in page.hits] == ["d08", "d07"]
    assert page.hits[0].score > page.hits[1].score > 0


def page_through(s: Store, q: str, sort: str, size: int) -> list[list[str]]:
    pages, after = [], None
    for _ in range(20):
        page = s.search(SearchRequest(q=q, sort=sort, size=size, after=after))  # type: ignore[arg-type]
        assert page.total == 10
        pages.append([h.id for h in page.hits])
        after = page.next_after
        if after is None:
            return pages
    raise AssertionError("paging never ended")


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_search_after_visits_every_hit_once(ro: Store, sort: str) -> None:
    q = "deepfake OR telegram OR 딥페이크"  # matches all ten
    pages = page_through(ro, q, sort, 3)
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    flat = [i for p in pages for i in p]
    assert sorted(flat) == sorted(ALL)
    if sort == "date":
        assert flat == DATE_ORDER
    else:
        assert flat == [h.id for h in search(ro, q).hits]  # the same order as one big page
    # a page that ends exactly at the last hit has no cursor
    assert [len(p) for p in page_through(ro, q, sort, 5)] == [5, 5]


def test_size_zero_counts_and_facets_only(ro: Store) -> None:
    page = ro.search(SearchRequest(q="telegram", size=0))
    assert page.total == 4 and page.hits == [] and page.next_after is None and page.facets["sources"]


@pytest.mark.parametrize("cursor", ["garbage!!", "", encode_cursor(["a", "b", "c", "d", "e"]), encode_cursor([])])
def test_invalid_cursor_is_a_value_error(ro: Store, cursor: str) -> None:
    if not cursor:
        assert search(ro, after=cursor).total == 10  # an empty cursor is no cursor
        return
    with pytest.raises(ValueError):
        ro.search(SearchRequest(q="telegram", after=cursor))


def test_collapse_gives_one_hit_per_story(ro: Store) -> None:
    page = ro.search(SearchRequest(sort="date", size=20, collapse=True))
    assert page.total == 10  # articles, not stories
    assert [h.id for h in page.hits] == [i for i in DATE_ORDER if i != "d01"]  # d02 is the story's newest
    sizes = {h.story_id: h.story_size for h in page.hits}
    assert sizes["story-297"] == 2 and all(v == 1 for k, v in sizes.items() if k != "story-297")
    seen = []
    for n in range(4):
        seen += [h.story_id for h in ro.search(SearchRequest(sort="date", size=4, collapse=True, page=n)).hits]
    assert sorted(seen) == sorted(sizes)
    # story sizes count matching articles only
    page = ro.search(SearchRequest(q="korea", collapse=True))
    assert [(h.id, h.story_size) for h in page.hits] == [("d02", 1)]


# ---------------------------------------------------------------- hits, highlights, facets

def test_hits_carry_the_article_summary(ro: Store) -> None:
    (hit,) = search(ro, "durov").hits
    assert (hit.id, hit.title, hit.url) == ("d03", "Telegram founder arrested", "http://127.0.0.1/asia-wire/d03")
    assert (hit.source.id, hit.source.name, hit.source.type, hit.source.country) == (
        "asia-wire", "Asia Wire", "news", "SG")
    assert instant(hit.published_at) == utc("2024-08-26T10:00:00")
    assert hit.lead == "Pavel Durov, who founded Telegram, was arrested in France."
    assert (hit.language, hit.story_id, hit.figure_count, hit.topics) == ("en", "d03", 0, ["platforms"])
    assert sorted(hit.entities) == ["France", "Pavel Durov", "Telegram"]
    (d06,) = search(ro, "lang:ko").hits
    assert d06.entities == [KNPA] and d06.figure_count == 1  # distinct names


def test_highlights_are_escaped_html_with_marks(ro: Store) -> None:
    hit = next(h for h in search(ro, "telegram").hits if h.id == "d03")
    assert set(hit.highlights) <= {"title", "lead", "text"}
    assert any("<mark>Telegram</mark>" in f for f in hit.highlights["title"])
    assert any("<mark>Telegram</mark>" in f for f in hit.highlights["text"])
    (hostile,) = search(ro, "warning").hits
    assert hostile.title == "<script>alert(1)</script> deepfake warning"  # raw: the caller escapes it
    (title,) = hostile.highlights["title"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in title and "<mark>warning</mark>" in title
    assert "<script>" not in title and "<b>" not in "".join(hostile.highlights["text"])
    assert "&amp;" in "".join(hostile.highlights["text"])
    assert search(ro, "telegram", highlight=False).hits[0].highlights == {}


def test_facets_count_the_filtered_set(ro: Store) -> None:
    facets = search(ro, "telegram").facets
    as_pairs = {k: [(v.value, v.count) for v in vs] for k, vs in facets.items()}
    assert set(as_pairs) == {"sources", "entities", "topics", "countries"}
    assert as_pairs["sources"] == [("hanbit-times", 3), ("asia-wire", 1)]
    assert as_pairs["countries"] == [("KR", 3), ("SG", 1)]
    assert as_pairs["topics"] == [("platforms", 4), ("law", 1), ("policing", 1)]  # count desc, then value
    assert as_pairs["entities"][0] == ("Telegram", 4)
    assert sorted(as_pairs["entities"][1:]) == [("France", 1), (KNPA, 1), ("National Assembly", 1),
                                                ("Pavel Durov", 1)]
    facets = search(ro, "lang:ko").facets  # two mentions of one entity in one article count once
    assert [(v.value, v.count) for v in facets["entities"]] == [(KNPA, 1)]
    assert search(ro, "telegram", facets=False).facets == {}


# ---------------------------------------------------------------- Korean

def test_korean_recall_through_stems(ro: Store) -> None:
    assert ids(ro, "딥페이크") == {"d06"}  # the title has 딥페이크를
    assert ids(ro, "성범죄") == {"d06"}  # the text has 성범죄가
    assert ids(ro, "딥페이크를") == {"d06"}  # query words are stemmed too
    assert ids(ro, '"딥페이크 성범죄"') == {"d06"}
    assert ids(ro, '"성범죄 딥페이크"') == set()
    assert ids(ro, "딥페이크 -성범죄") == set()
    assert ids(ro, "딥페이크 OR durov") == {"d03", "d06"}
    # highlights mark the eojeol that starts with the stem
    (hit,) = search(ro, "딥페이크").hits
    assert "<mark>딥페이크를</mark>" in hit.highlights["title"][0]


# ---------------------------------------------------------------- timeline primitives

def test_histogram_buckets_in_utc(ro: Store) -> None:
    months = ro.histogram(SearchRequest(), "month", top_stories=10)
    assert [(b.key, b.count) for b in months] == [("2024-01-01", 1), ("2024-03-01", 1), ("2024-08-01", 5),
                                                  ("2024-09-01", 2)]  # empty months omitted, undated d10 too
    august = months[2]
    top = august.stories[0]
    assert (top.story_id, top.count, top.article_id, top.title) == ("story-297", 2, "d01",
                                                                    "Police count 297 deepfake cases")
    assert sorted((s.story_id, s.count) for s in august.stories[1:]) == [("d03", 1), ("d05", 1), ("d06", 1)]
    assert [s.story_id for s in ro.histogram(SearchRequest(), "month", top_stories=1)[2].stories] == ["story-297"]
    telegram = ro.histogram(SearchRequest(q="telegram"), "month")
    assert [(b.key, b.count) for b in telegram] == [("2024-08-01", 3), ("2024-09-01", 1)]
    assert ro.histogram(SearchRequest(q="nothingmatchesthis"), "month") == []


def test_histogram_intervals(ro: Store) -> None:
    def keys(interval: str, q: str = "") -> list[tuple[str, int]]:
        return [(b.key, b.count) for b in ro.histogram(SearchRequest(q=q), interval)]

    assert keys("week") == [("2024-01-29", 1), ("2024-03-11", 1), ("2024-08-26", 5), ("2024-09-09", 1),
                            ("2024-09-23", 1)]  # ISO weeks start on Monday
    assert keys("quarter") == [("2024-01-01", 2), ("2024-07-01", 7)]
    assert keys("year") == [("2024-01-01", 9)]
    assert keys("day", "telegram") == [("2024-08-26", 1), ("2024-08-28", 1), ("2024-08-31", 1), ("2024-09-26", 1)]


def test_date_span(ro: Store) -> None:
    first, last = ro.date_span(SearchRequest())
    assert (instant(first), instant(last)) == (utc("2024-01-29T03:00:00"), utc("2024-09-26T06:00:00"))
    first, last = ro.date_span(SearchRequest(q="telegram"))
    assert (instant(first), instant(last)) == (utc("2024-08-26T10:00:00"), utc("2024-09-26T06:00:00"))
    assert ro.date_span(SearchRequest(q="nothingmatchesthis")) == (None, None)


def test_stories_aggregate_their_matching_articles(ro: Store) -> None:
    req = SearchRequest(q="deepfake", filters=Filters(date_from=date(2024, 1, 1)))
    stories = ro.stories(req, order="first_seen")
    assert [s.story_id for s in stories] == ["d08", "d07", "story-297", "d05", "d09", "d04"]
    s = stories[2]
    assert (instant(s.first_seen), instant(s.last_seen)) == (utc("2024-08-28T00:00:00"), utc("2024-08-29T03:00:00"))
    assert (s.article_count, s.sources, s.article_id) == (2, ["hanbit-times", "asia-wire"], "d01")
    assert (s.title, s.lead) == ("Police count 297 deepfake cases", CORPUS[0]["lead"])
    assert [s.story_id for s in ro.stories(req, order="last_seen")] == ["d04", "d09", "d05", "story-297",
                                                                        "d07", "d08"]
    # biggest first, then by story id (as Elasticsearch's terms aggregation breaks ties)
    assert [s.story_id for s in ro.stories(req, order="size")] == ["story-297", "d04", "d05", "d07", "d08", "d09"]
    assert [s.story_id for s in ro.stories(req, size=2)] == ["d08", "d07"]
    # aggregated over the matching articles only
    (only,) = ro.stories(SearchRequest(q="korea"))
    assert (only.story_id, only.article_count, only.article_id, only.sources) == ("story-297", 1, "d02",
                                                                                  ["asia-wire"])
    assert ro.stories(SearchRequest(q="nothingmatchesthis")) == []


def test_undated_story_comes_last(ro: Store) -> None:
    stories = ro.stories(SearchRequest(q="victims OR durov"))
    assert [(s.story_id, s.first_seen) for s in stories][-1] == ("d10", None)
    assert [s.story_id for s in ro.stories(SearchRequest(q="victims OR durov"), order="last_seen")] == ["d03", "d10"]


def test_entity_trends(ro: Store) -> None:
    trends = ro.entity_trends(SearchRequest(), "month", size=2)
    assert [(t.entity, t.label, t.total) for t in trends] == [("Telegram", "ORG", 4), (KNPA, "ORG", 3)]
    assert [tuple(b) for b in trends[0].buckets] == [("2024-08-01", 3), ("2024-09-01", 1)]
    assert [tuple(b) for b in trends[1].buckets] == [("2024-08-01", 3)]
    arrested = ro.entity_trends(SearchRequest(q="arrested"), "week")
    assert sorted(t.entity for t in arrested) == ["France", "Pavel Durov", "Telegram"]
    assert {(t.total, tuple(tuple(b) for b in t.buckets)) for t in arrested} == {(1, (("2024-08-26", 1),))}
    assert ro.entity_trends(SearchRequest(q="nothingmatchesthis"), "month") == []


# ---------------------------------------------------------------- figure records

def figs(s: Store, **kw: Any) -> list[tuple[str, float]]:
    records, cursor = s.figures(FigureQuery(**kw))
    assert cursor is None
    return [(f["article_id"], f["value"]) for f in records]


def test_figure_records_and_filters(ro: Store) -> None:
    records, cursor = ro.figures(FigureQuery(measure="police_cases_reported"))
    assert cursor is None
    # oldest article first (d01 00:00Z, d06 05:00Z, d02 next day), then by position in the article
    assert [(f["article_id"], f["value"]) for f in records] == [("d01", 297), ("d06", 297), ("d02", 297),
                                                                 ("d02", 180)]
    first = records[0]
    assert first["source"]["id"] == "hanbit-times" and first["url"] == "http://127.0.0.1/hanbit-times/d01"
    assert first["title"] == "Police count 297 deepfake cases" and first["story_id"] == "story-297"
    assert first["period"] == {"start": "2024-01-01", "end": "2024-07-31", "text": "the period"}
    assert instant(first["published_at"]) == utc("2024-08-28T00:00:00")
    assert (first["unit"], first["place"], first["attribution"], first["start"]) == ("cases", "South Korea",
                                                                                    "police", 12)
    assert len({f["id"] for f in records}) == 4
    assert figs(ro, place="United Kingdom") == [("d07", 18_000_000)]
    assert figs(ro, measure="police_cases_reported", source=("asia-wire",)) == [("d02", 297), ("d02", 180)]
    assert figs(ro, article_id="d01") == [("d01", 297), ("d01", 220000)]
    # periods overlapping [period_from, period_to]; figures without a period never match a period filter
    assert figs(ro, period_from=date(2024, 1, 1)) == [("d01", 297), ("d06", 297), ("d02", 297)]
    assert figs(ro, period_to=date(2023, 12, 31)) == [("d02", 180)]
    assert figs(ro, period_from=date(2023, 6, 1), period_to=date(2023, 6, 30)) == [("d02", 180)]
    # figures of the articles a search matches
    assert figs(ro, q="telegram") == [("d01", 297), ("d01", 220000), ("d04", 3)]
    assert figs(ro, filters=Filters(lang=("ko",))) == [("d06", 297)]
    assert figs(ro, q="source:ofcom") == [("d07", 18_000_000)]
    assert figs(ro, measure="nothing") == []


def test_figure_cursor_paging(ro: Store) -> None:
    everything = [f["id"] for f in ro.figures(FigureQuery())[0]]
    assert len(everything) == 7
    seen, after = [], None
    for _ in range(10):
        records, after = ro.figures(FigureQuery(size=2, after=after))
        seen += [f["id"] for f in records]
        if after is None:
            break
    assert seen == everything
    with pytest.raises(ValueError):
        ro.figures(FigureQuery(after="garbage!!"))


def test_recrawl_replaces_figure_records(store: Store) -> None:
    with_figures = dict(CORPUS[0], figures=[fig(297, 12), fig(180, 80), fig(113, 120, "people_charged")])
    store.upsert([with_figures])
    store.refresh()
    assert figs(store, article_id="d01") == [("d01", 297), ("d01", 180), ("d01", 113)]
    # a re-crawl whose text lost figures replaces the article's figure records
    store.upsert([dict(with_figures, figures=[fig(297, 12)])])
    store.refresh()
    assert figs(store, article_id="d01") == [("d01", 297)]
    assert store.get("d01")["figures"][0]["value"] == 297  # type: ignore[index]
    assert ids(store, has_figures=True) == {"d01", "d02", "d04", "d06", "d07"}
    store.upsert([dict(with_figures, figures=[])])
    store.refresh()
    assert figs(store, article_id="d01") == [] and "d01" in ids(store, has_figures=False)


# ---------------------------------------------------------------- exports and stories

def test_iter_articles_returns_every_match_for_export(ro: Store) -> None:
    docs = list(ro.iter_articles(SearchRequest(q="deepfake")))
    assert sorted(d["id"] for d in docs) == sorted(ALL - {"d03", "d06"})
    assert len(list(ro.iter_articles(SearchRequest()))) == 10
    assert [d["id"] for d in ro.iter_articles(SearchRequest(q="lang:ko"))] == ["d06"]
    for d in docs:
        assert "signature" not in d and "text_ko" not in d
        assert {"id", "url", "title", "text", "lead", "source", "published_at", "language", "entities",
                "relevance", "figures", "story_id"} <= set(d)
    d01 = next(d for d in docs if d["id"] == "d01")
    assert d01["text"] == CORPUS[0]["text"] and d01["story_id"] == "story-297"
    assert list(ro.iter_articles(SearchRequest(q="nothingmatchesthis"))) == []


def test_iter_figures_returns_every_match(ro: Store) -> None:
    records = list(ro.iter_figures(FigureQuery()))
    assert len(records) == 7 and len({f["id"] for f in records}) == 7
    assert all("signature" not in f and "text_ko" not in f for f in records)
    assert {"id", "article_id", "value", "unit", "measure", "period", "place", "sentence", "source",
            "published_at", "url", "title", "story_id"} <= set(records[0])
    assert [(f["article_id"], f["value"]) for f in ro.iter_figures(FigureQuery(measure="police_cases_reported"))] \
        == [("d01", 297), ("d06", 297), ("d02", 297), ("d02", 180)]


def test_set_stories_moves_articles_and_their_figures(store: Store) -> None:
    assert store.set_stories({"d03": "story-durov", "d05": "story-durov", "d01": "story-x"}) == 3
    assert store.set_stories({"d03": "story-durov", "missing": "story-y"}) == 0  # unchanged; unknown ids ignored
    store.refresh()
    assert store.get("d03")["story_id"] == "story-durov"  # type: ignore[index]
    assert ids(store, story_id="story-durov") == {"d03", "d05"}
    assert ids(store, story_id="story-297") == {"d02"}
    assert {f["story_id"] for f in store.figures(FigureQuery(article_id="d01"))[0]} == {"story-x"}
    durov = next(s for s in store.stories(SearchRequest()) if s.story_id == "story-durov")
    assert (durov.article_count, durov.sources, durov.article_id) == (2, ["asia-wire", "hanbit-times"], "d03")
    assert store.count() == 10
