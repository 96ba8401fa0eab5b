"""Timelines: the histogram interval chosen for a date range, and the range a request covers.

The interval keeps a timeline readable at any range (a few dozen bars at most for the
common cases): up to ~2 months by day, up to a year by week, up to 5 years by month, up
to 20 years by quarter, beyond that by year. An interval the caller names always wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from dfwatch.search.model import INTERVALS, Bucket, EntityTrend, Story

# (longest range in days, interval), checked in order
STEPS = ((62, "day"), (366, "week"), (5 * 366, "month"), (20 * 366, "quarter"))


@dataclass
class TimelineParts:
    """What a store answers for a timeline once its interval is known (`SearchService.timeline`)."""

    total: int
    buckets: list[Bucket]
    events: list[Story] = field(default_factory=list)
    entity_trends: list[EntityTrend] = field(default_factory=list)


def choose_interval(start: date | None, end: date | None) -> str:
    """The interval for a range of UTC days (inclusive); "month" when the range is unknown."""
    if start is None or end is None:
        return "month"
    days = abs((end - start).days) + 1
    return next((name for limit, name in STEPS if days <= limit), "year")


def check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    return interval


def day_of(value: str | None) -> date | None:
    """The UTC day of a stored ISO timestamp ('2024-08-28T14:30:00+09:00' → 2024-08-28)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def time_range(date_from: date | None, date_to: date | None,
               span: tuple[str | None, str | None]) -> tuple[date | None, date | None]:
    """The range a timeline shows: the request's own dates, else the matching articles' span."""
    return date_from or day_of(span[0]), date_to or day_of(span[1])
