"""Figure series: how one measure moved over its periods, with every report and its source.

Figure records (one per statistic an article states) are grouped into points:

- by their **period** (start, end), as the NLP stage resolved it against the publication
  date ("the first seven months of this year" in August 2024 → 2024-01-01..2024-07-31);
- a figure **without a period** (a stock such as "a room of 220,000 members") counts as of
  its publication: it joins the point of its article's publication month (UTC), whose
  `period_text` says so ("as reported in 2024-08"); with no date either, the point has no
  period at all.

Within a point, a **version** is a distinct (value, unit, qualifier); it lists its reports
(one per article), and versions are ordered by how many distinct sources report them, then
by their earliest report. The point's value is the first version's.

A point is a **conflict** when its versions cannot all be true at once. Each version
stands for a range of true values: exact 297 → [297, 297]; "about" 300 → 300 ± 10 %;
"nearly" 300 → [270, 300]; "more than" 300 → [300, ∞); "less than"/"up to" 300 → (-∞, 300].
The point conflicts when, for some unit, these ranges have no value in common: 297 and
279 conflict, 297 and "nearly 300" do not, "about 300" and "more than 400" do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from dfwatch.search.model import FigureSeries, Report, SeriesPoint, Version
from dfwatch.search.timeline import day_of

TOLERANCE = 0.10  # how far "about"/"nearly" may be from the true value
INF = float("inf")
PointKey = tuple[str | None, str | None]


def value_range(value: float, qualifier: str | None) -> tuple[float, float]:
    """The true values a reported (value, qualifier) allows."""
    slack = abs(value) * TOLERANCE
    if qualifier is None:
        return value, value
    if qualifier == "nearly":
        return value - slack, value
    if qualifier == "more_than":
        return value, INF
    if qualifier in ("less_than", "up_to"):
        return -INF, value
    return value - slack, value + slack  # approx, and any qualifier we do not know


def in_conflict(versions: Iterable[Version]) -> bool:
    """Whether, for some unit, no single true value fits every version."""
    bounds: dict[str, tuple[float, float]] = {}
    for v in versions:
        low, high = value_range(float(v.value), v.qualifier)
        old_low, old_high = bounds.get(v.unit, (-INF, INF))
        bounds[v.unit] = (max(low, old_low), min(high, old_high))
    return any(low > high for low, high in bounds.values())


def point_key(fig: dict[str, Any]) -> tuple[PointKey, str]:
    """The point a figure belongs to, and how its period was written."""
    period = fig.get("period") or {}
    if period.get("start") or period.get("end"):
        return (period.get("start"), period.get("end")), period.get("text") or ""
    day = day_of(fig.get("published_at"))
    if day is None:
        return (None, None), ""
    start = day.replace(day=1)
    following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    end = following - timedelta(days=1)
    return (start.isoformat(), end.isoformat()), f"as reported in {start.isoformat()[:7]}"


def report_of(fig: dict[str, Any]) -> Report:
    source = fig.get("source") or {}
    return Report(
        figure_id=fig.get("id", ""), article_id=fig.get("article_id", ""),
        source_id=source.get("id", ""), source_name=source.get("name", ""),
        url=fig.get("url", ""), title=fig.get("title", ""), published_at=fig.get("published_at"),
        sentence=fig.get("sentence", ""), text=fig.get("text", ""), attribution=fig.get("attribution"),
    )


class _Point:
    def __init__(self, key: PointKey) -> None:
        self.key = key
        self.period_text = ""
        self.period_text_at: tuple[str, str] | None = None  # (published_at, article id) of its report
        self.versions: dict[tuple[float, str, str | None], Version] = {}
        self.seen: set[tuple[tuple[float, str, str | None], str]] = set()

    def add(self, fig: dict[str, Any], period_text: str) -> None:
        at = (fig.get("published_at") or "~", fig.get("article_id", ""))
        if period_text and (self.period_text_at is None or at < self.period_text_at):  # the same on any store
            self.period_text, self.period_text_at = period_text, at
        vkey = (float(fig["value"]), fig.get("unit") or "", fig.get("qualifier"))
        if (vkey, fig.get("article_id", "")) in self.seen:
            return  # one report per article: a figure repeated in the same article adds nothing
        self.seen.add((vkey, fig.get("article_id", "")))
        version = self.versions.setdefault(vkey, Version(fig["value"], vkey[1], vkey[2], []))
        version.reports.append(report_of(fig))

    def build(self) -> SeriesPoint:
        for version in self.versions.values():
            version.reports.sort(key=lambda r: (r.published_at or "~", r.source_name, r.article_id))
        versions = sorted(self.versions.values(), key=_version_rank)
        top = versions[0]
        return SeriesPoint(period_start=self.key[0], period_end=self.key[1], period_text=self.period_text,
                           value=top.value, unit=top.unit, conflict=in_conflict(versions), versions=versions)


def _version_rank(v: Version) -> tuple[int, str, float]:
    sources = len({r.source_id for r in v.reports})
    return -sources, min((r.published_at or "~") for r in v.reports), float(v.value)


def build_series(measure: str, place: str | None, figures: Iterable[dict[str, Any]]) -> FigureSeries:
    """The series of `figures` (records of one measure and place), points by period start."""
    points: dict[PointKey, _Point] = {}
    for fig in figures:
        key, period_text = point_key(fig)
        points.setdefault(key, _Point(key)).add(fig, period_text)
    ordered = sorted(points.values(), key=lambda p: (p.key[0] is None, p.key[0] or "", p.key[1] or ""))
    return FigureSeries(measure=measure, place=place, points=[p.build() for p in ordered])
