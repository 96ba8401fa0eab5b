"""Timeline primitives on the embedded store: date histograms with their top stories, the date
span, stories aggregated over matching articles, and entity trends — each a GROUP BY."""

# SQL is assembled from fixed fragments chosen in code; every user value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from typing import Any

from dfwatch.search.model import Bucket, EntityTrend, SearchRequest, Story, StoryRef
from dfwatch.store.sqlite_where import bucket, bucket_end, bucket_key, match

STORY_ORDER = {
    "first_seen": "first IS NULL, first, story_id",
    "last_seen": "last IS NULL, last DESC, story_id",
    "size": "n DESC, story_id",
}
DAY = "substr(a.published_at, 1, 10)"  # indexed (art_day): days stream without sorting
FILL_QUERIES = 24  # needy buckets filled one range query each; more share one window query
MULTI_SQL = """
SELECT b, story_id, n, first, rid FROM (
    SELECT *, row_number() OVER (PARTITION BY b ORDER BY n DESC, first, story_id) AS rn FROM (
        SELECT {bucket} AS b, a.story_id AS story_id, count(*) AS n, min(a.published_at) AS first, a.rid AS rid
        FROM articles a INDEXED BY art_multi WHERE a.story_size > 1 AND a.published_at IS NOT NULL AND {where}
        GROUP BY b, a.story_id))
WHERE rn <= ?
"""  # `rid` is a bare column next to min(): SQLite takes it from the earliest row


def histogram(db: sqlite3.Connection, req: SearchRequest, interval: str, top_stories: int = 3) -> list[Bucket]:
    """Counts per day, rolled up into buckets here. Top stories: those of several articles by matching
    count (ties: earliest first), then, where a bucket has fewer, its earliest single-article stories."""
    key = bucket_key(interval)
    where, params = match(req).where()
    totals: dict[str, int] = {}
    for day, n in db.execute(f"SELECT {DAY} AS d, count(*) FROM articles a WHERE {DAY} IS NOT NULL AND {where} "
                             "GROUP BY d", params):
        totals[key(day)] = totals.get(key(day), 0) + n
    top: dict[str, list[tuple[str, int, int]]] = {b: [] for b in totals}  # bucket -> [(story, count, rid)]
    if top_stories > 0:
        for b, story_id, n, _, rid in db.execute(MULTI_SQL.format(bucket=bucket(interval), where=where),
                                                 [*params, top_stories]):
            top[b].append((story_id, n, rid))
    needy = [b for b in sorted(totals) if len(top[b]) < top_stories]
    for b, story_id, _, rid in _singles(db, needy, interval, where, params, top_stories):
        if len(top[b]) < top_stories:
            top[b].append((story_id, 1, rid))
    titles = _titles(db, [s[2] for stories in top.values() for s in stories])
    return [Bucket(key=b, count=totals[b], stories=[
        StoryRef(story_id=story_id, count=n, title=titles[rid][1], article_id=titles[rid][0])
        for story_id, n, rid in top[b]]) for b in sorted(totals)]


def _singles(db: sqlite3.Connection, buckets: list[str], interval: str, where: str, params: list[Any],
             size: int) -> list[tuple[str, str, str, int]]:
    """The earliest `size` single-article stories of each bucket: (bucket, story, published_at, rid)."""
    if not buckets or not size:
        return []
    single = f"SELECT a.story_id, a.published_at, a.rid FROM articles a WHERE a.story_size = 1 AND {where}"
    if len(buckets) <= FILL_QUERIES:
        return [(b, *row) for b in buckets for row in db.execute(
            f"{single} AND a.published_at >= ? AND a.published_at < ? ORDER BY a.published_at, a.id LIMIT ?",
            [*params, b, bucket_end(b, interval), size])]
    expr = bucket(interval)
    return db.execute(
        f"SELECT b, story_id, published_at, rid FROM (SELECT {expr} AS b, a.story_id, a.published_at, a.rid, "
        f"row_number() OVER (PARTITION BY {expr} ORDER BY a.published_at, a.id) AS rn FROM articles a "
        f"WHERE a.story_size = 1 AND a.published_at IS NOT NULL AND {where} AND {expr} IN "
        f"({', '.join('?' * len(buckets))})) WHERE rn <= ?", [*params, *buckets, size]).fetchall()


def _titles(db: sqlite3.Connection, rids: list[int]) -> dict[int, tuple[str, str, str]]:
    out: dict[int, tuple[str, str, str]] = {}
    for start in range(0, len(rids), 500):
        chunk = rids[start:start + 500]
        out.update((r[0], r[1:]) for r in db.execute(
            "SELECT a.rid, a.id, d.title, d.lead FROM articles a JOIN article_docs d ON d.rid = a.rid "
            f"WHERE a.rid IN ({', '.join('?' * len(chunk))})", chunk))
    return out


def date_span(db: sqlite3.Connection, req: SearchRequest) -> tuple[str | None, str | None]:
    where, params = match(req).where()
    first, last = db.execute(f"SELECT min(a.published_at), max(a.published_at) FROM articles a WHERE {where}",
                             params).fetchone()
    return first, last


def stories(db: sqlite3.Connection, req: SearchRequest, size: int = 20, order: str = "first_seen") -> list[Story]:
    if order not in STORY_ORDER:
        raise ValueError(f"order must be one of {', '.join(STORY_ORDER)}")
    where, params = match(req).where()
    groups = db.execute(
        f"SELECT a.story_id AS story_id, min(a.published_at) AS first, max(a.published_at) AS last, count(*) AS n "
        f"FROM articles a WHERE {where} GROUP BY a.story_id ORDER BY {STORY_ORDER[order]} LIMIT ?",
        [*params, size]).fetchall()
    if not groups:
        return []
    ids = [g[0] for g in groups]
    members: dict[str, list[Any]] = {}
    for story_id, rid, article_id, source_id in db.execute(
        f"SELECT a.story_id, a.rid, a.id, a.source_id FROM articles a WHERE {where} AND a.story_id IN "
        f"({', '.join('?' * len(ids))}) ORDER BY a.story_id, ifnull(a.published_at, '9'), a.id", [*params, *ids],
    ):
        members.setdefault(story_id, []).append((rid, article_id, source_id))
    titles = _titles(db, [m[0][0] for m in members.values()])
    out = []
    for story_id, first, last, n in groups:
        articles = members[story_id]
        article_id, title, lead = titles[articles[0][0]]
        out.append(Story(story_id=story_id, first_seen=first, last_seen=last, article_count=n,
                         sources=list(dict.fromkeys(a[2] for a in articles)), title=title, lead=lead,
                         article_id=article_id))
    return out


def entity_trends(db: sqlite3.Connection, req: SearchRequest, interval: str, size: int = 10) -> list[EntityTrend]:
    expr = bucket(interval)
    m = match(req)
    where, params = m.where()
    mentions = "article_entities ae" if m.everything else (
        f"(SELECT a.rid AS rid FROM articles a WHERE {where}) m CROSS JOIN article_entities ae ON ae.article = m.rid")
    top = db.execute(
        f"SELECT en.eid, en.norm, en.label, c.n FROM (SELECT ae.eid AS eid, count(*) AS n FROM {mentions} "
        "GROUP BY ae.eid) c JOIN entities en ON en.eid = c.eid ORDER BY c.n DESC, en.norm LIMIT ?",
        [*([] if m.everything else params), size]).fetchall()
    if not top:
        return []
    eids = [t[0] for t in top]
    counts: dict[int, list[tuple[str, int]]] = {eid: [] for eid in eids}
    for eid, key, n in db.execute(  # the matching articles drive the loop (CROSS JOIN), few or many
        f"SELECT ae.eid, m.b, count(*) FROM (SELECT a.rid AS rid, {expr} AS b FROM articles a "
        f"WHERE a.published_at IS NOT NULL AND {where}) m CROSS JOIN article_entities ae ON ae.article = m.rid "
        f"WHERE +ae.eid IN ({', '.join('?' * len(eids))}) GROUP BY ae.eid, m.b ORDER BY m.b", [*params, *eids],
    ):
        counts[eid].append((key, n))
    return [EntityTrend(entity=norm, label=label, total=n, buckets=counts[eid]) for eid, norm, label, n in top]
