"""Export writers: articles or figure records as CSV, JSONL or Parquet, streamed row by row.

Rows arrive from a store iterator and leave in batches of at most `ROW_GROUP` rows, so an
export of any size runs at constant memory. Every file carries its header (what was
asked, when, for which target):

- CSV: a first line `# dfwatch export {json}`, then the column names; list cells are JSON;
  cells starting with = + - @ (or a tab/CR) get a leading apostrophe, because crawled text
  is untrusted and spreadsheets run such cells as formulas;
- JSONL: a first line `{"_export": {json}}`, then one object per row;
- Parquet: an explicit schema (timestamps in UTC, dates, list<string>) whose metadata key
  `dfwatch.export` holds the header; row groups of `ROW_GROUP` rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("csv", "jsonl", "parquet")
TARGETS = ("articles", "figures")
ROW_GROUP = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
METADATA_KEY = b"dfwatch.export"
STRINGS = pa.list_(pa.string())
TIMESTAMP = pa.timestamp("us", tz="UTC")

ARTICLE_SCHEMA = pa.schema([
    ("id", pa.string()), ("url", pa.string()), ("title", pa.string()), ("source_id", pa.string()),
    ("source_name", pa.string()), ("source_type", pa.string()), ("country", pa.string()),
    ("language", pa.string()), ("published_at", TIMESTAMP), ("story_id", pa.string()),
    ("relevance_score", pa.float64()), ("topics", STRINGS), ("people", STRINGS), ("orgs", STRINGS),
    ("places", STRINGS), ("figure_count", pa.int64()), ("lead", pa.string()), ("text", pa.string()),
])
FIGURE_SCHEMA = pa.schema([
    ("id", pa.string()), ("article_id", pa.string()), ("story_id", pa.string()), ("measure", pa.string()),
    ("value", pa.float64()), ("unit", pa.string()), ("qualifier", pa.string()), ("period_start", pa.date32()),
    ("period_end", pa.date32()), ("period_text", pa.string()), ("place", pa.string()),
    ("attribution", pa.string()), ("text", pa.string()), ("sentence", pa.string()), ("source_id", pa.string()),
    ("source_name", pa.string()), ("url", pa.string()), ("title", pa.string()), ("published_at", TIMESTAMP),
    ("language", pa.string()),
])
SCHEMAS = {"articles": ARTICLE_SCHEMA, "figures": FIGURE_SCHEMA}


def query_json(request: Any) -> dict[str, Any]:
    """A request dataclass as plain JSON (dates as ISO strings, tuples as lists)."""
    return json.loads(json.dumps(asdict(request), default=str))


def article_row(doc: dict[str, Any]) -> dict[str, Any]:
    source = doc.get("source") or {}
    relevance = doc.get("relevance") or {}
    return {
        "id": doc["id"], "url": doc.get("url"), "title": doc.get("title"), "source_id": source.get("id"),
        "source_name": source.get("name"), "source_type": source.get("type"), "country": source.get("country"),
        "language": doc.get("language"), "published_at": doc.get("published_at"),
        "story_id": doc.get("story_id") or doc["id"], "relevance_score": relevance.get("score"),
        "topics": list(relevance.get("topics") or []), "people": list(doc.get("people") or []),
        "orgs": list(doc.get("orgs") or []), "places": list(doc.get("places") or []),
        "figure_count": doc.get("figure_count", len(doc.get("figures") or [])),
        "lead": doc.get("lead"), "text": doc.get("text"),
    }


def figure_row(fig: dict[str, Any], story_id: str | None) -> dict[str, Any]:
    source = fig.get("source") or {}
    period = fig.get("period") or {}
    return {
        "id": fig.get("id"), "article_id": fig.get("article_id"), "story_id": story_id,
        "measure": fig.get("measure"), "value": fig.get("value"), "unit": fig.get("unit"),
        "qualifier": fig.get("qualifier"), "period_start": period.get("start"), "period_end": period.get("end"),
        "period_text": period.get("text"), "place": fig.get("place"), "attribution": fig.get("attribution"),
        "text": fig.get("text"), "sentence": fig.get("sentence"), "source_id": source.get("id"),
        "source_name": source.get("name"), "url": fig.get("url"), "title": fig.get("title"),
        "published_at": fig.get("published_at"), "language": fig.get("language"),
    }


def defuse(cell: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return defuse(value)
    return value


def write_csv(out: BinaryIO, schema: pa.Schema, rows: Iterable[dict[str, Any]], header: dict[str, Any]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    n = 0
    try:
        text.write("# dfwatch export " + json.dumps(header, ensure_ascii=False) + "\n")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(schema.names)
        for row in rows:
            writer.writerow([_csv_cell(row[name]) for name in schema.names])
            n += 1
    finally:
        text.flush()
        text.detach()  # leave `out` open for the caller
    return n


def write_jsonl(out: BinaryIO, schema: pa.Schema, rows: Iterable[dict[str, Any]], header: dict[str, Any]) -> int:
    out.write((json.dumps({"_export": header}, ensure_ascii=False) + "\n").encode())
    n = 0
    for row in rows:
        out.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
        n += 1
    return n


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


CONVERT: dict[pa.DataType, Callable[[Any], Any]] = {TIMESTAMP: _timestamp, pa.date32(): _day}


def write_parquet(out: BinaryIO, schema: pa.Schema, rows: Iterable[dict[str, Any]],
                  header: dict[str, Any]) -> int:
    schema = schema.with_metadata({METADATA_KEY: json.dumps(header, ensure_ascii=False).encode()})
    converters = {f.name: CONVERT[f.type] for f in schema if f.type in CONVERT}
    n, batch = 0, []
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for row in rows:
            for name, convert in converters.items():
                row[name] = convert(row[name])
            batch.append(row)
            n += 1
            if len(batch) >= ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema), row_group_size=ROW_GROUP)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema), row_group_size=ROW_GROUP)
    return n


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


def write(fmt: str, target: str, out: BinaryIO, rows: Iterable[dict[str, Any]], header: dict[str, Any]) -> int:
    """Write `rows` (from article_row/figure_row) to `out` in `fmt`; returns how many were written."""
    if fmt not in WRITERS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if target not in SCHEMAS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}")
    return WRITERS[fmt](out, SCHEMAS[target], rows, header)
