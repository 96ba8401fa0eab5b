"""The Elasticsearch translation of search requests (dfwatch.store.es_query), without a node."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from dfwatch.search.highlight import POST, PRE
from dfwatch.search.model import FigureQuery, Filters, SearchRequest, decode_cursor, encode_cursor
from dfwatch.store import es_query as Q


def sqs(query: dict[str, Any]) -> str:
    return str(query["simple_query_string"]["query"])


def must(req: SearchRequest) -> dict[str, Any]:
    return Q.article_query(req)["bool"]["must"][0]


# ---------------------------------------------------------------- text

def test_words_become_a_simple_query_string_never_a_query_string() -> None:
    q = must(SearchRequest(q='telegram "seven months" durov OR possession -scam'))
    assert set(q) == {"simple_query_string"}
    body = q["simple_query_string"]
    assert body["query"] == '(telegram) ("seven months") (durov | possession) -scam'
    assert body["default_operator"] == "and" and body["flags"] == "OR|NOT|PHRASE|PRECEDENCE|WHITESPACE"
    assert body["fields"][:4] == ["title^3", "lead^2", "text", "text_ko"]
    assert not re.search(r'"query_string"', json.dumps(Q.search_body(SearchRequest(q="a b"))))


@pytest.mark.parametrize("text", ["title:telegram", "telegram*", "a~2 b^3", "(a | b) +c", "{\"match_all\": {}}",
                                  "_index:x OR 1=1", "NEAR/3", 'entity:"x" AND'])
def test_only_word_runs_reach_the_engine(text: str) -> None:
    """Whatever the user typed, the text sent holds only \\w runs and dfwatch's own operators."""
    body = Q.search_body(SearchRequest(q=text))
    for clause in body["query"]["bool"]["must"]:
        if "simple_query_string" in clause:
            assert re.fullmatch(r'[\w\s"()|-]*', sqs(clause)), sqs(clause)
            assert "PREFIX" not in clause["simple_query_string"]["flags"]


def test_hangul_words_are_stemmed_like_text_ko() -> None:
    assert sqs(must(SearchRequest(q="딥페이크를 성범죄가"))) == "(딥페이크) (성범죄)"
    assert sqs(must(SearchRequest(q='"딥페이크를 이용한" -성범죄가'))) == '("딥페이크 이용") -성범죄'
    assert sqs(must(SearchRequest(q="Telegram"))) == "(Telegram)"  # no Kiwi for other scripts


def test_no_words_matches_all_and_only_punctuation_matches_nothing() -> None:
    assert must(SearchRequest()) == {"match_all": {}}
    assert must(SearchRequest(q="source:ofcom")) == {"match_all": {}}
    assert must(SearchRequest(q="!!! ... -")) == {"match_none": {}}
    assert sqs(must(SearchRequest(q="-telegram"))) == "-telegram"  # only exclusions: everything else


# ---------------------------------------------------------------- filters

def test_filters_are_exact_terms_and_exclusions_must_not() -> None:
    f = Filters(source=("a", "b"), source_type=("news",), country=("KR",), lang=("ko",),
                entity=("Pavel DUROV",), topic=("law",), story_id="s1",
                exclude=(("entity", "Telegram"), ("source", "x")))
    filters, must_not = Q.filter_clauses(f)
    assert {"terms": {"source.id": ["a", "b"]}} in filters
    assert {"terms": {"source.type": ["news"]}} in filters and {"terms": {"source.country": ["KR"]}} in filters
    assert {"terms": {"language": ["ko"]}} in filters and {"terms": {"relevance.topics": ["law"]}} in filters
    assert {"terms": {"entity_keys": ["pavel durov"]}} in filters  # casefolded, as prepare() stores them
    assert {"term": {"story_id": "s1"}} in filters
    assert must_not == [{"terms": {"entity_keys": ["telegram"]}}, {"terms": {"source.id": ["x"]}}]
    with pytest.raises(ValueError):
        Q.filter_clauses(Filters(exclude=(("nope", "x"),)))


def test_query_field_terms_join_the_filters() -> None:
    query = Q.article_query(SearchRequest(q="deepfake source:ofcom -topic:law", filters=Filters(source=("kr",))))
    assert {"terms": {"source.id": ["kr", "ofcom"]}} in query["bool"]["filter"]
    assert query["bool"]["must_not"] == [{"terms": {"relevance.topics": ["law"]}}]


def test_has_figures() -> None:
    assert Q.filter_clauses(Filters(has_figures=True)) == ([{"range": {"figure_count": {"gt": 0}}}], [])
    assert Q.filter_clauses(Filters(has_figures=False)) == ([], [{"range": {"figure_count": {"gt": 0}}}])


def test_date_range_is_inclusive_utc_days() -> None:
    (clause,), _ = Q.filter_clauses(Filters(date_from=date(2024, 8, 1), date_to=date(2024, 8, 31)))
    assert clause == {"range": {"published_at": {"gte": "2024-08-01", "lt": "2024-09-01", "format": "strict_date",
                                                 "time_zone": "UTC"}}}
    (clause,), _ = Q.filter_clauses(Filters(date_to=date(2024, 12, 31)))
    assert clause["range"]["published_at"]["lt"] == "2025-01-01" and "gte" not in clause["range"]["published_at"]


# ---------------------------------------------------------------- sort, cursors, collapse

def test_sorts_end_with_a_unique_tiebreaker() -> None:
    newest = {"published_at": {"order": "desc", "missing": "_last"}}
    assert Q.search_body(SearchRequest(q="x"))["sort"] == [{"_score": "desc"}, newest, {"id": "asc"}]
    assert Q.search_body(SearchRequest(q="x", sort="date"))["sort"] == [newest, {"id": "asc"}]
    assert Q.search_body(SearchRequest())["sort"] == [newest, {"id": "asc"}]  # no words: date


def test_one_extra_hit_is_asked_for_to_know_whether_a_next_page_exists() -> None:
    assert Q.search_body(SearchRequest(size=20))["size"] == 21
    assert Q.search_body(SearchRequest(size=0))["size"] == 0


def test_cursor_becomes_search_after_only_when_it_fits_the_sort() -> None:
    body = Q.search_body(SearchRequest(q="x", after=encode_cursor([1.5, 1724803200000, "d01"])))
    assert body["search_after"] == [1.5, 1724803200000, "d01"]
    missing_date = -(2**63)  # what Elasticsearch sorts an undated article by
    body = Q.search_body(SearchRequest(sort="date", after=encode_cursor([missing_date, "d10"])))
    assert body["search_after"] == [missing_date, "d10"]
    for bad in ([1.5, 1, "d"], ["x", "d"], [1, 2], [True, "d"], [None, "d"], []):  # relevance cursor, wrong types
        with pytest.raises(ValueError):
            Q.search_body(SearchRequest(sort="date", after=encode_cursor(bad)))
    with pytest.raises(ValueError):
        Q.search_body(SearchRequest(after="not base64 json!"))


def test_collapse_pages_by_story() -> None:
    body = Q.search_body(SearchRequest(size=10, page=3, collapse=True))
    assert body["collapse"] == {"field": "story_id", "inner_hits": {"name": "story", "size": 0}}
    assert (body["from"], body["size"]) == (30, 10) and "search_after" not in body
    with pytest.raises(ValueError):
        Q.search_body(SearchRequest(size=100, page=100, collapse=True))


# ---------------------------------------------------------------- highlights and facets

def test_highlights_use_sentinels_and_leave_out_the_stems() -> None:
    spec = Q.search_body(SearchRequest(q="telegram 딥페이크를"))["highlight"]
    assert spec["pre_tags"] == [PRE] and spec["post_tags"] == [POST]
    assert set(spec["fields"]) == {"title", "lead", "text"}
    assert spec["fields"]["text"] == {"fragment_size": 160, "number_of_fragments": 2}
    should = spec["highlight_query"]["bool"]["should"]
    assert {"prefix": {"text": "딥페이크"}} in should  # marks 딥페이크를, 딥페이크가 ... in the readable text
    assert "text_ko" not in json.dumps(spec)
    assert "highlight" not in Q.search_body(SearchRequest(q="telegram", highlight=False))
    assert "highlight" not in Q.search_body(SearchRequest(q="source:ofcom"))


def test_facets_are_top_ten_terms_by_count_then_value() -> None:
    aggs = Q.search_body(SearchRequest(q="x"))["aggs"]
    assert aggs["entities"] == {"terms": {"field": "entities.norm", "size": 10,
                                          "order": [{"_count": "desc"}, {"_key": "asc"}]}}
    assert set(aggs) == {"sources", "entities", "topics", "countries"}
    assert "aggs" not in Q.search_body(SearchRequest(q="x", facets=False))


def raw_hit(i: int, sort: list[Any], highlight: dict[str, list[str]] | None = None, **source: Any) -> dict[str, Any]:
    doc = {"id": f"d{i}", "title": f"T{i}", "url": f"u{i}", "lead": "Lead <b>&</b>", "language": "en",
           "source": {"id": "s", "name": "S", "type": "news", "country": "KR", "language": "en"},
           "published_at": "2024-08-28T09:00:00+09:00", "story_id": f"st{i}", "figure_count": 2,
           "relevance": {"topics": ["law"]},
           "entities": [{"norm": "Telegram"}, {"norm": "Ofcom"}, {"norm": "Telegram"}, {}], **source}
    hit: dict[str, Any] = {"_id": doc["id"], "_score": 2.5, "_source": doc, "sort": sort}
    if highlight is not None:
        hit["highlight"] = highlight
    return hit


def response(hits: list[dict[str, Any]], total: int, aggs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"hits": {"total": {"value": total, "relation": "eq"}, "hits": hits}, "aggregations": aggs or {}}


def test_a_page_of_hits_with_cursor_highlights_and_facets() -> None:
    req = SearchRequest(q="telegram", size=2)
    marked = {"title": [f"<script>x</script> {PRE}Telegram{POST}"]}
    resp = response([raw_hit(1, [2.5, 1, "d1"], marked), raw_hit(2, [2.0, 1, "d2"], {}),
                     raw_hit(3, [1.0, 1, "d3"], {})], 7,
                    {"sources": {"buckets": [{"key": "s", "doc_count": 7}]}})
    page = Q.search_page(resp, req)
    assert page.total == 7 and [h.id for h in page.hits] == ["d1", "d2"]
    assert decode_cursor(page.next_after or "") == [2.0, 1, "d2"]  # the last hit shown, not the extra one
    first = page.hits[0]
    assert first.highlights == {"title": ["&lt;script&gt;x&lt;/script&gt; <mark>Telegram</mark>"]}
    assert (first.entities, first.topics, first.figure_count, first.story_id, first.score) == (
        ["Telegram", "Ofcom"], ["law"], 2, "st1", 2.5)
    assert page.hits[1].highlights == {"lead": ["Lead &lt;b&gt;&amp;&lt;/b&gt;"]}  # matched through text_ko only
    assert [(f.value, f.count) for f in page.facets["sources"]] == [("s", 7)]
    last = Q.search_page(response([raw_hit(1, [1.0, 1, "d1"], {})], 7), req)
    assert last.next_after is None


def test_collapsed_hits_carry_their_story_size() -> None:
    hit = raw_hit(1, [1, "d1"])
    hit["inner_hits"] = {"story": {"hits": {"total": {"value": 3, "relation": "eq"}, "hits": []}}}
    page = Q.search_page(response([hit], 5), SearchRequest(collapse=True, size=1))
    assert page.hits[0].story_size == 3 and page.next_after is None and page.total == 5


def test_entities_are_capped() -> None:
    hit = raw_hit(1, [1, "d1"], entities=[{"norm": f"E{i}"} for i in range(30)])
    assert len(Q.article_hit(hit).entities) == Q.MAX_ENTITIES


# ---------------------------------------------------------------- aggregations

def test_histogram_request_and_buckets() -> None:
    body = Q.histogram_body(SearchRequest(q="x"), "week", 3)
    hist = body["aggs"]["buckets"]
    assert hist["date_histogram"] == {"field": "published_at", "calendar_interval": "week", "time_zone": "UTC",
                                      "min_doc_count": 1, "format": "yyyy-MM-dd"}
    assert hist["aggs"]["stories"]["terms"]["size"] == 3 and body["size"] == 0
    assert "aggs" not in Q.histogram_body(SearchRequest(), "month", 0)["aggs"]["buckets"]
    with pytest.raises(ValueError):
        Q.histogram_body(SearchRequest(), "fortnight", 3)
    top = {"hits": {"hits": [{"_source": {"id": "d1", "title": "First"}}]}}
    resp = {"aggregations": {"buckets": {"buckets": [{"key_as_string": "2024-08-26", "doc_count": 4, "stories": {
        "buckets": [{"key": "s1", "doc_count": 3, "first": top}]}}]}}}
    (bucket,) = Q.buckets(resp)
    assert (bucket.key, bucket.count) == ("2024-08-26", 4)
    assert [(s.story_id, s.count, s.title, s.article_id) for s in bucket.stories] == [("s1", 3, "First", "d1")]


def test_date_span_in_utc() -> None:
    resp = {"aggregations": {"first": {"value": 1724803200000.0}, "last": {"value": None}}}
    assert Q.date_span(resp) == ("2024-08-28T00:00:00+00:00", None)


def test_stories_request_orders_and_parsing() -> None:
    body = Q.stories_body(SearchRequest(), 5, "last_seen")
    terms = body["aggs"]["stories"]["terms"]
    assert terms == {"field": "story_id", "size": 5, "order": [{"last": "desc"}, {"_key": "asc"}]}
    sources = body["aggs"]["stories"]["aggs"]["sources"]["terms"]
    assert sources["order"] == [{"first": "asc"}, {"_key": "asc"}]  # by first appearance
    with pytest.raises(ValueError):
        Q.stories_body(SearchRequest(), 5, "alphabetical")
    top = {"hits": {"hits": [{"_source": {"id": "d1", "title": "T", "lead": "L"}}]}}
    bucket = {"key": "s1", "doc_count": 2, "first": {"value": 1724803200000}, "last": {"value": 1724889600000},
              "sources": {"buckets": [{"key": "b"}, {"key": "a"}]}, "top": top}
    (story,) = Q.stories({"aggregations": {"stories": {"buckets": [bucket]}}}, 5)
    assert (story.story_id, story.article_count, story.sources, story.title, story.lead, story.article_id) == (
        "s1", 2, ["b", "a"], "T", "L", "d1")
    assert (story.first_seen, story.last_seen) == ("2024-08-28T00:00:00+00:00", "2024-08-29T00:00:00+00:00")


def test_entity_label_is_the_one_most_paired_with_the_name() -> None:
    pairs = [{"_source": {"entities": [{"norm": "Telegram", "label": "ORG"}, {"norm": "X", "label": "PERSON"}]}},
             {"_source": {"entities": [{"norm": "Telegram", "label": "PRODUCT"}]}},
             {"_source": {"entities": [{"norm": "Telegram", "label": "ORG"}]}}]
    assert Q.label_of({"hits": {"hits": pairs}}, "Telegram") == "ORG"
    assert Q.label_of({"hits": {"hits": pairs[:2]}}, "Telegram") == "ORG"  # a tie: the first alphabetically
    assert Q.label_of({"hits": {"hits": pairs}}, "Nobody") == ""
    body = Q.label_sample_body("Telegram")  # the name's latest articles, whatever the query
    assert body["query"] == {"bool": {"filter": [{"term": {"entities.norm": "Telegram"}}]}}
    assert body["sort"] == [Q.NEWEST, {"id": "asc"}] and body["size"] == Q.ENTITY_SAMPLE
    resp = {"aggregations": {"entities": {"buckets": [{"key": "Telegram", "doc_count": 3, "histogram": {
        "buckets": [{"key_as_string": "2024-08-01", "doc_count": 3}]}}]}}}
    (trend,) = Q.entity_trends(resp, 10, {"Telegram": "ORG"})
    assert (trend.entity, trend.label, trend.total, trend.buckets) == ("Telegram", "ORG", 3, [("2024-08-01", 3)])


# ---------------------------------------------------------------- figures

def test_figure_records_answer_alone_unless_words_or_article_only_filters() -> None:
    assert Q.figure_scope(FigureQuery(measure="m", filters=Filters(lang=("ko",), source_type=("news",)))) is None
    assert Q.figure_scope(FigureQuery(q="source:ofcom")) is None
    for fq in (FigureQuery(q="telegram"), FigureQuery(filters=Filters(entity=("x",))),
               FigureQuery(q="topic:law"), FigureQuery(q="!!!"), FigureQuery(q="-entity:x")):
        assert Q.figure_scope(fq) is not None
    scope = Q.figure_scope(FigureQuery(q="telegram", article_id="d1"))
    assert scope is not None
    query = Q.figure_articles_query(scope, FigureQuery(article_id="d1"))
    assert {"range": {"figure_count": {"gt": 0}}} in query["bool"]["filter"]
    assert {"term": {"id": "d1"}} in query["bool"]["filter"]


def test_figure_query_filters() -> None:
    fq = FigureQuery(measure="police_cases_reported", place="South Korea", source=("a",), article_id="d1",
                     period_from=date(2024, 1, 1), period_to=date(2024, 6, 30), q="lang:ko",
                     filters=Filters(country=("KR",), exclude=(("source", "b"),)))
    query = Q.figure_query(fq)["bool"]
    for clause in ({"term": {"measure": "police_cases_reported"}}, {"term": {"place": "South Korea"}},
                   {"term": {"article_id": "d1"}}, {"terms": {"source.id": ["a"]}}, {"terms": {"language": ["ko"]}},
                   {"terms": {"source.country": ["KR"]}},
                   {"range": {"period.end": {"gte": "2024-01-01", "format": "strict_date"}}},
                   {"range": {"period.start": {"lte": "2024-06-30", "format": "strict_date"}}}):
        assert clause in query["filter"]
    assert query["must_not"] == [{"terms": {"source.id": ["b"]}}]


def test_figure_query_by_article_ids_splits_long_lists() -> None:
    ids = [f"a{i}" for i in range(Q.MAX_TERMS + 5)]
    (clause,) = Q.figure_query(FigureQuery(), ids)["bool"]["filter"]
    chunks = clause["bool"]["should"]
    assert [len(c["terms"]["article_id"]) for c in chunks] == [Q.MAX_TERMS, 5]
    assert clause["bool"]["minimum_should_match"] == 1
    assert Q.figure_query(FigureQuery(), [])["bool"]["filter"] == [{"match_none": {}}]


def test_figure_pages() -> None:
    body = Q.figures_body(FigureQuery(size=2, after=encode_cursor([1, 12, "f1"])), {"match_all": {}})
    assert body["size"] == 3 and body["search_after"] == [1, 12, "f1"] and body["sort"] == Q.FIGURE_SORT
    with pytest.raises(ValueError):
        Q.figures_body(FigureQuery(after=encode_cursor([1, "f1"])), {"match_all": {}})
    hits = [{"_source": {"id": f"f{i}"}, "sort": [i, i, f"f{i}"]} for i in range(3)]
    records, cursor = Q.figures_page({"hits": {"hits": hits}}, 2)
    assert [r["id"] for r in records] == ["f0", "f1"] and decode_cursor(cursor or "") == [1, 1, "f1"]
    assert Q.figures_page({"hits": {"hits": hits[:2]}}, 2)[1] is None
