"""Search on the embedded store: hits by relevance (FTS5 bm25) or date, keyset cursors, one hit
per story, highlights from FTS5 `highlight()`/`snippet()`, facets from GROUP BY."""

# SQL is assembled from fixed fragments chosen in code; every user value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from typing import Any

from dfwatch.query import Parsed
from dfwatch.search.highlight import POST, PRE, to_html
from dfwatch.search.korean import has_hangul
from dfwatch.search.model import ArticleHit, FacetValue, SearchPage, SearchRequest, SourceInfo, encode_cursor
from dfwatch.store.sqlite_where import DATE_KEY, SCORE, Match, cursor, match, stemmed

FACET_SIZE = 10
MAX_ENTITIES = 20  # names listed on a hit
NUMBER = (int, float)
FACETS_SQL = """
{cte}
SELECT facet, value, n FROM (
    SELECT facet, value, n, row_number() OVER (PARTITION BY facet ORDER BY n DESC, value) AS rn FROM (
        SELECT 'sources' AS facet, source_id AS value, count(*) AS n FROM {m} GROUP BY source_id
        UNION ALL SELECT 'countries', country, count(*) FROM {m} GROUP BY country
        UNION ALL SELECT 'topics', topic, count(*) FROM {topics} GROUP BY topic
        UNION ALL SELECT 'entities', en.norm, c.n FROM (SELECT eid, count(*) AS n FROM {entities} GROUP BY eid) c
                  JOIN entities en ON en.eid = c.eid
        UNION ALL SELECT 'total', NULL, count(*) FROM {m}))
WHERE rn <= {size} OR facet = 'total'
"""
MATCHED = {  # the facet query over the matching articles `m`
    "cte": "WITH m AS MATERIALIZED (SELECT a.rid AS rid, a.source_id AS source_id, a.country AS country "
           "FROM articles a WHERE {where})",
    # CROSS JOIN keeps the matches the outer loop: the planner cannot know how few they may be
    "m": "m", "topics": "m CROSS JOIN article_topics t ON t.article = m.rid",
    "entities": "m CROSS JOIN article_entities ae ON ae.article = m.rid",
}
EVERYTHING = {"cte": "", "m": "articles", "topics": "article_topics", "entities": "article_entities"}
ORDER = {"date": "sd DESC, id", "relevance": "score DESC, sd DESC, id"}  # relevance ties: newest first
COLLAPSE_SQL = """
WITH m AS MATERIALIZED ({inner})
SELECT rid, id, story_id, score, sd, n FROM (
    SELECT rid, id, story_id, score, sd, 1 AS n FROM m WHERE story_size = 1
    UNION ALL
    SELECT rid, id, story_id, score, sd, n FROM (
        SELECT *, row_number() OVER (PARTITION BY story_id ORDER BY {order}) AS rn,
               count(*) OVER (PARTITION BY story_id) AS n FROM m WHERE story_size > 1)
    WHERE rn = 1)
ORDER BY {order} LIMIT ? OFFSET ?
"""
HIGHLIGHT_SQL = """
SELECT rowid, highlight(articles_fts, 0, :pre, :post), highlight(articles_fts, 1, :pre, :post),
       snippet(articles_fts, 2, :pre, :post, '…', 32)
FROM articles_fts WHERE articles_fts MATCH :q AND rowid IN ({rids})
"""


def search(db: sqlite3.Connection, req: SearchRequest) -> SearchPage:
    m = match(req)
    source, where, params = m.source()
    facets, total = _facets(db, m) if req.facets else ({}, None)
    if total is None:
        total = db.execute(f"SELECT count(*) FROM {source} WHERE {where}", params).fetchone()[0]
    by_date = req.sorted_by_date()
    order = ORDER["date" if by_date else "relevance"]
    inner = (f"SELECT a.rid AS rid, a.id AS id, a.story_id AS story_id, {SCORE if m.fts else '0.0'} AS score, "
             f"{DATE_KEY} AS sd, a.story_size AS story_size FROM {source} WHERE {where}")
    next_after = None
    if req.collapse:  # only stories of several articles need a window over their matches
        rows = db.execute(COLLAPSE_SQL.format(inner=inner, order=order), [*params, req.size, req.page * req.size])\
            .fetchall()
    else:
        cond, cond_params = _after(req.after, by_date)
        rows = db.execute(f"SELECT rid, id, story_id, score, sd, NULL FROM ({inner}) WHERE {cond} ORDER BY {order} "
                          "LIMIT ?", [*params, *cond_params, req.size + 1]).fetchall()
        if len(rows) > req.size:
            rows = rows[:req.size]
            if rows:
                last = rows[-1]
                next_after = encode_cursor([last[4], last[1]] if by_date else [last[3], last[4], last[1]])
    hits = _hits(db, rows)
    if req.highlight and m.fts and hits:
        _highlight(db, req, hits, [r[0] for r in rows])
    return SearchPage(total=int(total), hits=hits, facets=facets, next_after=next_after)


def _after(after: str | None, by_date: bool) -> tuple[str, list[Any]]:
    """The keyset condition that continues after a cursor; its first term lets an index seek."""
    if by_date:
        values = cursor(after, (str, str))
        return ("sd <= ? AND (sd < ? OR id > ?)", [values[0], values[0], values[1]]) if values else ("1", [])
    values = cursor(after, (NUMBER, str, str))
    if not values:
        return "1", []
    score, sd, id_ = values
    return "score <= ? AND (score < ? OR sd < ? OR (sd = ? AND id > ?))", [score, score, sd, sd, id_]


def _facets(db: sqlite3.Connection, m: Match) -> tuple[dict[str, list[FacetValue]], int]:
    where, params = m.where()
    parts = EVERYTHING if m.everything else {**MATCHED, "cte": MATCHED["cte"].format(where=where)}
    out: dict[str, list[FacetValue]] = {name: [] for name in ("sources", "entities", "topics", "countries")}
    total = 0
    for facet, value, n in db.execute(FACETS_SQL.format(**parts, size=FACET_SIZE), [] if m.everything else params):
        if facet == "total":
            total = n
        else:
            out[facet].append(FacetValue(value, n))
    for values in out.values():
        values.sort(key=lambda v: (-v.count, v.value))
    return out, total


def _hits(db: sqlite3.Connection, rows: list[Any]) -> list[ArticleHit]:
    if not rows:
        return []
    rids = [r[0] for r in rows]
    stored = {r[0]: r[1:] for r in db.execute(
        "SELECT a.rid, d.title, d.lead, a.figure_count, d.doc FROM articles a JOIN article_docs d ON d.rid = a.rid "
        f"WHERE a.rid IN ({', '.join('?' * len(rids))})",
        rids)}
    hits = []
    for rid, id_, story_id, score, _, story_size in rows:
        title, lead, figure_count, raw = stored[rid]
        doc = json.loads(raw)
        src = doc["source"]
        hits.append(ArticleHit(
            id=id_, title=title, url=doc.get("url", ""), lead=lead, language=doc.get("language") or "",
            source=SourceInfo(src["id"], src.get("name", ""), src.get("type", ""), src.get("country", ""),
                              src.get("language", "")),
            published_at=doc.get("published_at"), score=float(score), story_id=story_id, story_size=story_size,
            topics=list((doc.get("relevance") or {}).get("topics") or []),
            entities=list(dict.fromkeys(e["norm"] for e in doc.get("entities") or [] if e.get("norm")))[:MAX_ENTITIES],
            figure_count=figure_count,
        ))
    return hits


def highlight_expression(parsed: Parsed) -> str:
    """Any positive term, and each Hangul stem as a prefix (딥페이크 marks 딥페이크를), as Elasticsearch does."""
    positive = stemmed(Parsed(groups=parsed.groups))
    terms = ['"' + " ".join(words) + '"' for group in positive.groups for words in group]
    stems = sorted({w for g in positive.groups for words in g for w in words if has_hangul(w) and len(w) > 1})
    return " OR ".join([*terms, *(f'"{stem}" *' for stem in stems)])


def _highlight(db: sqlite3.Connection, req: SearchRequest, hits: list[ArticleHit], rids: list[int]) -> None:
    """Marked title, lead and a text snippet; a hit matched only through stems keeps its plain lead."""
    by_rid = dict(zip(rids, hits, strict=True))
    sql = HIGHLIGHT_SQL.format(rids=", ".join(str(int(r)) for r in rids))
    for rid, *fragments in db.execute(sql, {"pre": PRE, "post": POST, "q": highlight_expression(req.parsed)}):
        for name, fragment in zip(("title", "lead", "text"), fragments, strict=True):
            if fragment and PRE in fragment:
                by_rid[rid].highlights[name] = [to_html(fragment)]
    for hit in hits:
        if not hit.highlights and hit.lead:
            hit.highlights = {"lead": [to_html(hit.lead)]}
