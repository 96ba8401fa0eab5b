"""Exports: CSV, JSONL and Parquet round trips, formula defusing, and constant memory on 20,000 articles."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dfwatch.records import figure_docs
from dfwatch.search import FigureQuery, Filters, SearchRequest, SearchService
from dfwatch.search.export import ARTICLE_SCHEMA, FIGURE_SCHEMA, article_row, defuse, figure_row, write

SOURCE = {"id": "hanbit-times", "name": "The Hanbit Times", "type": "news", "country": "KR", "language": "en"}


def article(i: int, text: str = "", **extra: Any) -> dict[str, Any]:
    """An article document as the crawl writes it (records.Article.to_doc)."""
    day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
    return {
        "id": f"a{i:06d}", "url": f"https://news.example/{i}", "canonical_url": f"https://news.example/{i}",
        "source": SOURCE, "title": f"Deepfake report number {i}",
        "text": text or f"Police recorded {i} deepfake cases on Telegram in the first seven months of this year.",
        "lead": f"Lead of report {i}.", "published_at": f"{day}T10:00:00+09:00", "modified_at": None,
        "crawled_at": "2024-10-01T00:00:00+00:00", "authors": ["Kim"], "language": "en",
        "content_hash": f"h{i}", "relevance": {"score": 4.5, "matched_terms": ["deepfake"], "topics": ["statistics"]},
        "entities": [{"text": "Telegram", "label": "ORG", "norm": "Telegram", "start": 0, "end": 8}],
        "people": [], "orgs": ["Telegram"], "places": ["South Korea"],
        "figures": [{"value": i, "unit": "cases", "measure": "police_cases_reported", "qualifier": None,
                     "text": f"{i} deepfake cases", "start": 16, "end": 30, "sentence": "Police recorded ...",
                     "period": {"start": "2024-01-01", "end": "2024-07-31", "text": "the first seven months"},
                     "place": "South Korea", "attribution": "police"}],
        **extra,
    }


HOSTILE = article(1, title="=HYPERLINK(\"http://evil.example\",\"click\")", lead="+cmd|' /C calc'!A0",
                  people=["@SUM(1+1)", "-2+3"], source={**SOURCE, "name": "\tTabbed"})
HEADER = {"target": "articles", "format": "?", "query": {"q": "telegram"}, "run_at": "2026-11-22T00:00:00+00:00"}


def test_formula_cells_are_defused() -> None:
    assert [defuse(c) for c in ("=1+1", "+1", "-1", "@x", "\tx", "\rx", "plain", "'=x", "")] == [
        "'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "plain", "'=x", ""]


def test_csv_round_trip_carries_the_query_and_defuses_formulas() -> None:
    out = io.BytesIO()
    docs = [HOSTILE, article(2)]
    assert write("csv", "articles", out, map(article_row, docs), {**HEADER, "format": "csv"}) == 2
    first, rest = out.getvalue().decode().split("\n", 1)
    assert first.startswith("# dfwatch export ")
    assert json.loads(first.removeprefix("# dfwatch export "))["query"] == {"q": "telegram"}
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert list(rows[0]) == ARTICLE_SCHEMA.names
    assert rows[0]["title"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert rows[0]["lead"] == "'+cmd|' /C calc'!A0" and rows[0]["source_name"] == "'\tTabbed"
    assert json.loads(rows[0]["people"]) == ["@SUM(1+1)", "-2+3"]  # lists are JSON: they start with [
    assert rows[1]["id"] == "a000002" and rows[1]["figure_count"] == "1" and rows[1]["relevance_score"] == "4.5"
    assert json.loads(rows[1]["topics"]) == ["statistics"] and rows[1]["story_id"] == "a000002"
    assert rows[1]["published_at"] == "2024-03-03T10:00:00+09:00"
    assert not any(c.startswith(("=", "+", "-", "@")) for row in rows for c in row.values())


def test_jsonl_round_trip_keeps_values_as_they_are() -> None:
    out = io.BytesIO()
    assert write("jsonl", "articles", out, map(article_row, [HOSTILE]), HEADER) == 1
    lines = out.getvalue().decode().splitlines()
    assert json.loads(lines[0]) == {"_export": HEADER}
    row = json.loads(lines[1])
    assert row["title"].startswith("=HYPERLINK") and row["people"] == ["@SUM(1+1)", "-2+3"]  # JSON is not a sheet
    assert list(row) == ARTICLE_SCHEMA.names


def test_parquet_round_trip_has_an_explicit_schema_and_the_query() -> None:
    out = io.BytesIO()
    docs = [article(i) for i in range(5)]
    assert write("parquet", "articles", out, map(article_row, docs), HEADER) == 5
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.schema.remove_metadata() == ARTICLE_SCHEMA
    assert json.loads(table.schema.metadata[b"dfwatch.export"]) == HEADER
    row = table.to_pylist()[3]
    assert row["id"] == "a000003" and row["orgs"] == ["Telegram"] and row["figure_count"] == 1
    assert row["published_at"].isoformat() == "2024-04-04T01:00:00+00:00"  # UTC

    figs = [figure_row(f, "story-1") for f in figure_docs(article(7))]
    out = io.BytesIO()
    assert write("parquet", "figures", out, figs, {**HEADER, "target": "figures"}) == 1
    (fig,) = pq.read_table(io.BytesIO(out.getvalue())).to_pylist()
    assert fig["value"] == 7 and str(fig["period_start"]) == "2024-01-01" and fig["story_id"] == "story-1"
    assert fig["source_name"] == "The Hanbit Times" and fig["article_id"] == "a000007"
    assert pq.read_table(io.BytesIO(out.getvalue())).schema.remove_metadata() == FIGURE_SCHEMA


def test_an_empty_export_is_still_a_valid_file() -> None:
    for fmt in ("csv", "jsonl", "parquet"):
        out = io.BytesIO()
        assert write(fmt, "figures", out, iter(()), HEADER) == 0
        if fmt == "parquet":
            assert pq.read_table(io.BytesIO(out.getvalue())).num_rows == 0
        else:
            assert len(out.getvalue().decode().splitlines()) == (2 if fmt == "csv" else 1)


def test_unknown_format_or_target_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        write("xlsx", "articles", io.BytesIO(), iter(()), HEADER)
    with pytest.raises(ValueError, match="target"):
        write("csv", "stories", io.BytesIO(), iter(()), HEADER)


# ---------------------------------------------------------------- through the service, on SQLite
def sqlite_service(path: Path, docs: Iterator[dict[str, Any]]) -> SearchService:
    from dfwatch.store.sqlite import SqliteStore

    store = SqliteStore(path)
    store.setup()
    store.upsert(docs)
    store.refresh()
    return SearchService(store)


def test_service_exports_what_the_search_finds(tmp_path: Path) -> None:
    service = sqlite_service(tmp_path / "s.sqlite3", iter([article(i) for i in range(30)]))
    try:
        req = SearchRequest("telegram", filters=Filters(date_from=None, source=("hanbit-times",)))
        for fmt in ("csv", "jsonl", "parquet"):
            out = io.BytesIO()
            info = service.export("articles", fmt, out, req=req)
            assert info.rows == 30 and info.query["q"] == "telegram" and info.run_at.endswith("+00:00")
            assert info.query["filters"]["source"] == ["hanbit-times"]
        figs = io.BytesIO()
        info = service.export("figures", "jsonl", figs, fq=FigureQuery(measure="police_cases_reported"))
        lines = figs.getvalue().decode().splitlines()
        assert info.rows == 30 and json.loads(lines[0])["_export"]["query"]["measure"] == "police_cases_reported"
        assert {json.loads(line)["story_id"] for line in lines[1:]} == {f"a{i:06d}" for i in range(30)}
    finally:
        service.close()


def test_exporting_20000_articles_streams_at_constant_memory(tmp_path: Path) -> None:
    """Peak Python memory while exporting stays a fraction of the data exported."""
    body = "Deepfake sexual abuse rooms on Telegram were reported to police. " * 40  # ~2.6 kB per article
    n = 20_000
    service = sqlite_service(tmp_path / "big.sqlite3", (article(i, text=f"{i} {body}") for i in range(n)))
    try:
        for fmt in ("parquet", "csv", "jsonl"):
            out_path = tmp_path / f"all.{fmt}"
            tracemalloc.start()
            with out_path.open("wb") as out:
                info = service.export("articles", fmt, out, req=SearchRequest())
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert info.rows == n
            data = n * len(body)
            assert peak < data / 4, f"{fmt}: peak {peak / 1e6:.1f} MB for {data / 1e6:.1f} MB of text"
        assert pq.ParquetFile(tmp_path / "all.parquet").metadata.num_rows == n
        assert pq.ParquetFile(tmp_path / "all.parquet").metadata.num_row_groups >= n // 2000
    finally:
        service.close()
