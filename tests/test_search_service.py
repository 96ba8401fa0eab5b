"""The search service: interval choice, figure series and conflicts, and the service on both stores."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dfwatch.search.model import Version
from dfwatch.search.series import build_series, in_conflict, point_key
from dfwatch.search.timeline import choose_interval, day_of, time_range

HANBIT = {"id": "hanbit-times", "name": "The Hanbit Times", "type": "news", "country": "KR", "language": "en"}
ASIA = {"id": "asia-wire", "name": "Asia Wire Today", "type": "news", "country": "SG", "language": "en"}
POLICE = {"id": "police-press", "name": "Korean National Police Agency", "type": "government", "country": "KR",
          "language": "ko"}
JAN_JUL = {"start": "2024-01-01", "end": "2024-07-31", "text": "the first seven months of this year"}
Y2023 = {"start": "2023-01-01", "end": "2023-12-31", "text": "all of 2023"}


def fig(value: float, source: dict[str, str], article: str, published: str, period: dict[str, str] | None = JAN_JUL,
        qualifier: str | None = None, unit: str = "cases", **extra: Any) -> dict[str, Any]:
    return {"id": f"{article}:{value}:{extra.get('start', 0)}", "article_id": article, "value": value, "unit": unit,
            "measure": "police_cases_reported", "qualifier": qualifier, "period": period, "place": "South Korea",
            "source": source, "published_at": published, "url": f"http://x/{article}", "title": f"title {article}",
            "sentence": f"{value} cases were reported.", "text": f"{value} cases", "attribution": None, **extra}


# ---------------------------------------------------------------- interval choice
@pytest.mark.parametrize(("start", "end", "interval"), [
    (date(2024, 8, 1), date(2024, 8, 1), "day"),
    (date(2024, 8, 1), date(2024, 9, 30), "day"),  # 61 days
    (date(2024, 8, 1), date(2024, 10, 15), "week"),
    (date(2024, 1, 1), date(2024, 12, 31), "week"),  # 366 days
    (date(2024, 5, 22), date(2025, 6, 22), "month"),
    (date(2020, 1, 1), date(2024, 12, 31), "month"),  # 5 years
    (date(2015, 1, 1), date(2024, 12, 31), "quarter"),
    (date(1990, 1, 1), date(2024, 12, 31), "year"),
    (None, date(2024, 1, 1), "month"),  # unknown range
])
def test_interval_is_chosen_for_the_range(start: date | None, end: date | None, interval: str) -> None:
    assert choose_interval(start, end) == interval


def test_range_is_the_requests_dates_else_the_matching_span_in_utc_days() -> None:
    span = ("2024-05-22T16:00:00+08:00", "2024-09-27T01:30:00+09:00")
    assert time_range(None, None, span) == (date(2024, 5, 22), date(2024, 9, 26))  # UTC days
    assert time_range(date(2024, 8, 1), None, span) == (date(2024, 8, 1), date(2024, 9, 26))
    assert time_range(None, None, (None, None)) == (None, None)
    assert day_of("2024-08-28T14:30:00+09:00") == date(2024, 8, 28)
    assert day_of("2024-08-28T00:30:00Z") == date(2024, 8, 28)


# ---------------------------------------------------------------- figure series
def test_series_groups_by_period_and_lists_every_source() -> None:
    series = build_series("police_cases_reported", "South Korea", [
        fig(297, HANBIT, "h1", "2024-08-28T05:30:00+00:00"),
        fig(180, HANBIT, "h1", "2024-08-28T05:30:00+00:00", Y2023),
        fig(297, POLICE, "p1", "2024-08-28T01:00:00+00:00"),
        fig(180, POLICE, "p1", "2024-08-28T01:00:00+00:00", Y2023),
        fig(297, ASIA, "a1", "2024-08-29T04:15:00+00:00"),
        fig(180, ASIA, "a1", "2024-08-29T04:15:00+00:00", Y2023),
        fig(297, ASIA, "a2", "2024-09-27T01:30:00+00:00"),
    ])
    assert [(p.period_start, p.period_end, p.value) for p in series.points] == [
        ("2023-01-01", "2023-12-31", 180), ("2024-01-01", "2024-07-31", 297)]
    point = series.points[1]
    assert not point.conflict and len(point.versions) == 1
    reports = point.versions[0].reports
    assert [r.article_id for r in reports] == ["p1", "h1", "a1", "a2"]  # oldest report first
    assert {r.source_name for r in reports} == {"The Hanbit Times", "Asia Wire Today", "Korean National Police Agency"}
    assert point.period_text == JAN_JUL["text"]  # as the earliest report wrote it
    assert series.as_dict()["points"][1]["versions"][0]["reports"][0]["url"] == "http://x/p1"


def test_a_misprinted_value_is_a_conflict_with_each_version_and_its_source() -> None:
    misprint = {"id": "small-outlet", "name": "Small Outlet", "type": "news", "country": "KR", "language": "en"}
    series = build_series("police_cases_reported", "South Korea", [
        fig(279, misprint, "m1", "2024-08-26T00:10:00+00:00"),  # earliest, but only one source
        fig(297, HANBIT, "h1", "2024-08-28T05:30:00+00:00"),
        fig(297, POLICE, "p1", "2024-08-28T01:00:00+00:00"),
    ])
    (point,) = series.points
    assert point.conflict
    assert [(v.value, [r.source_id for r in v.reports]) for v in point.versions] == [
        (297, ["police-press", "hanbit-times"]), (279, ["small-outlet"])]
    assert point.value == 297  # the version most sources report


def test_ties_between_versions_go_to_the_earliest_report() -> None:
    series = build_series("m", None, [fig(300, HANBIT, "h", "2024-08-29T00:00:00+00:00"),
                                      fig(310, ASIA, "a", "2024-08-28T00:00:00+00:00")])
    assert [v.value for v in series.points[0].versions] == [310, 300] and series.points[0].conflict


def test_a_repeated_figure_in_one_article_is_one_report() -> None:
    series = build_series("m", None, [fig(297, HANBIT, "h", "2024-08-28T00:00:00+00:00", start=10),
                                      fig(297, HANBIT, "h", "2024-08-28T00:00:00+00:00", start=900)])
    assert len(series.points[0].versions[0].reports) == 1


@pytest.mark.parametrize(("versions", "conflict"), [
    ([(297, None), (297, None)], False),
    ([(297, None), (279, None)], True),
    ([(297, None), (300, "nearly")], False),  # "nearly 300" fits 297
    ([(297, None), (300, "approx")], False),
    ([(297, None), (250, "more_than")], False),
    ([(297, None), (350, "more_than")], True),
    ([(297, None), (250, "up_to")], True),
    ([(300, "approx"), (400, "more_than")], True),
    ([(300, "approx"), (280, "more_than")], False),
    ([(297, None), (200, "nearly")], True),
])
def test_qualified_values_conflict_only_when_they_cannot_both_hold(
        versions: list[tuple[float, str | None]], conflict: bool) -> None:
    assert in_conflict([Version(v, "cases", q, []) for v, q in versions]) is conflict


def test_different_units_are_compared_separately() -> None:
    assert not in_conflict([Version(50_000_000, "KRW", "up_to", []), Version(37_500, "USD", "up_to", [])])


def test_figures_without_a_period_count_as_of_their_publication_month() -> None:
    members = [fig(220_000, HANBIT, "h", "2024-08-28T05:30:00+00:00", None, "approx", "members"),
               fig(220_000, ASIA, "a", "2024-08-29T05:30:00+00:00", None, "approx", "members"),
               fig(400_000, ASIA, "b", "2024-12-02T05:30:00+00:00", None, None, "members")]
    series = build_series("channel_members", None, members)
    assert [(p.period_start, p.period_end, p.period_text, p.conflict, len(p.versions[0].reports))
            for p in series.points] == [
        ("2024-08-01", "2024-08-31", "as reported in 2024-08", False, 2),
        ("2024-12-01", "2024-12-31", "as reported in 2024-12", False, 1)]
    assert point_key({"period": None, "published_at": None}) == ((None, None), "")
    undated = build_series("m", None, [fig(1, HANBIT, "x", None, None), fig(2, HANBIT, "y", "2024-01-05", Y2023)])
    assert [p.period_start for p in undated.points] == ["2023-01-01", None]  # no period and no date: last


# ---------------------------------------------------------------- the service on both stores
def article_doc(i: int, day: str, source: dict[str, str], story: str | None = None,
                figures: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"id": f"art{i}", "url": f"https://example.org/{i}", "canonical_url": f"https://example.org/{i}",
            "source": source, "title": f"Telegram deepfake report {i}", "lead": f"Lead {i}.",
            "text": f"Police counted deepfake cases on Telegram, report {i}.", "published_at": f"{day}T09:00:00+00:00",
            "modified_at": None, "crawled_at": "2024-10-01T00:00:00+00:00", "authors": [], "language": "en",
            "content_hash": str(i), "relevance": {"score": 5.0, "matched_terms": ["deepfake"], "topics": ["statistics"]},
            "entities": [{"text": "Telegram", "label": "ORG", "norm": "Telegram", "start": 0, "end": 8},
                         {"text": "Yoon", "label": "PERSON", "norm": "Yoon Suk Yeol", "start": 9, "end": 13}][:1 + i % 2],
            "people": ["Yoon Suk Yeol"] if i % 2 else [], "orgs": ["Telegram"], "places": [],
            "figures": list(figures), "story_id": story, "signature": [1, 2, 3]}


def nlp_fig(value: int, period: dict[str, str] = JAN_JUL) -> dict[str, Any]:
    return {"value": value, "unit": "cases", "measure": "police_cases_reported", "qualifier": None,
            "text": f"{value} cases", "start": value, "end": value + 9, "sentence": f"Police counted {value} cases.",
            "period": period, "place": "South Korea", "attribution": "police"}


DOCS = [
    article_doc(1, "2024-08-28", HANBIT, "story-yoon", [nlp_fig(297), nlp_fig(180, Y2023)]),
    article_doc(2, "2024-08-29", ASIA, "story-yoon", [nlp_fig(297), nlp_fig(180, Y2023)]),
    article_doc(3, "2024-08-28", POLICE, "story-yoon", [nlp_fig(297)]),
    article_doc(4, "2024-05-22", ASIA),
    article_doc(5, "2024-08-26", HANBIT, figures=[nlp_fig(279)]),
    article_doc(6, "2024-09-27", ASIA),
]


@pytest.fixture(params=["sqlite", "elasticsearch"])
def service(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    from dfwatch.search import SearchService

    if request.param == "sqlite":
        from dfwatch.store.sqlite import SqliteStore

        store: Any = SqliteStore(tmp_path / "s.sqlite3")
    else:
        from elasticsearch import Elasticsearch

        from dfwatch.store.elastic import ElasticsearchStore

        prefix = request.getfixturevalue("es_prefix")
        store = ElasticsearchStore(Elasticsearch(request.getfixturevalue("es_url")), prefix=prefix)
        request.addfinalizer(lambda: _drop_templates(request.getfixturevalue("es_url"), prefix))
    store.setup()
    store.upsert(DOCS)
    store.refresh()
    svc = SearchService(store)
    yield svc
    svc.close()


def _drop_templates(es_url: str, prefix: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url)
    found = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in found.get("index_templates", []):
        es.indices.delete_index_template(name=template["name"])
    es.close()


def test_story_lists_its_articles_oldest_first_with_figures_and_entities(service: Any) -> None:
    from dfwatch.search import StoryDetail

    detail = service.story("story-yoon")
    assert isinstance(detail, StoryDetail)
    assert detail.story.article_count == 3 and detail.story.first_seen.startswith("2024-08-28")
    assert [a["id"] for a in detail.articles][2] == "art2"  # 29 Aug, the latest
    assert {a["id"] for a in detail.articles[:2]} == {"art1", "art3"}
    assert not any({"text", "signature", "text_ko"} & set(a) for a in detail.articles)
    assert sorted(f["value"] for f in detail.figures) == [180, 180, 297, 297, 297]
    assert [(e.value, e.count) for e in detail.entities] == [("Telegram", 3), ("Yoon Suk Yeol", 2)]
    assert detail.as_dict()["story"]["story_id"] == "story-yoon"
    assert service.story("no-such-story") is None


def test_article_hides_store_internals(service: Any) -> None:
    doc = service.article("art1")
    assert doc["title"] == "Telegram deepfake report 1" and doc["text"].startswith("Police counted")
    assert "signature" not in doc and "text_ko" not in doc
    assert service.article("missing") is None


def test_timeline_through_the_service(service: Any) -> None:
    from dfwatch.search import SearchRequest

    t = service.timeline(SearchRequest("telegram"))
    assert (t.date_from, t.date_to, t.interval, t.total) == ("2024-05-22", "2024-09-27", "week", 6)
    assert sum(b.count for b in t.buckets) == 6
    assert [e.article_id for e in t.events][:2] == ["art4", "art5"]  # first seen first
    assert next(e for e in t.events if e.story_id == "story-yoon").article_count == 3
    assert {tr.entity for tr in t.entity_trends} == {"Telegram", "Yoon Suk Yeol"}
    monthly = service.timeline(SearchRequest("telegram"), "month", events=0, entities=0)
    assert [(b.key[:7], b.count) for b in monthly.buckets] == [("2024-05", 1), ("2024-08", 4), ("2024-09", 1)]
    assert monthly.events == [] and monthly.entity_trends == []
    aug = monthly.buckets[1]
    assert aug.stories[0].story_id == "story-yoon" and aug.stories[0].count == 3
    with pytest.raises(ValueError, match="interval"):
        service.timeline(SearchRequest("telegram"), "fortnight")


def test_figure_series_through_the_service(service: Any) -> None:
    from dfwatch.search import FigureQuery

    series = service.figure_series("police_cases_reported", "South Korea")
    assert [(p.period_start, p.value, p.conflict) for p in series.points] == [
        ("2023-01-01", 180, False), ("2024-01-01", 297, True)]
    assert [len(v.reports) for v in series.points[1].versions] == [3, 1]
    narrowed = service.figure_series("police_cases_reported", "South Korea", FigureQuery(source=("asia-wire",)))
    assert [(p.value, p.conflict) for p in narrowed.points] == [(180, False), (297, False)]
    assert service.figure_series("police_cases_reported", "Japan").points == []
