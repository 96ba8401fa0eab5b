"""Subscriptions as data: `subscriptions.yaml` validated with file/line/field errors.

A subscription names who gets the digest (`recipients`), what it follows (`query` in the
search syntax, plus `filters`), when (`frequency`, `weekday`, `send_at` in `timezone`),
in which language its labels are (`language`), and what to do when nothing is new
(`when_empty`). Send times ("slots") are computed here so the CLI and the scheduler agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dfwatch.search.model import Filters, SearchRequest
from dfwatch.yamlconf import ConfigError, check_timezone, describe_errors, load_yaml

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
Value = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubscriptionFilters(_Strict):
    """Exact-match filters added to the query's own `field:value` terms (values of one filter are ORed)."""

    source: list[Value] = Field(default_factory=list)
    type: list[Literal["news", "government", "regulator", "ngo", "court", "discovery"]] = Field(default_factory=list)
    country: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$|^XX$")]] = Field(default_factory=list)
    lang: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(default_factory=list)
    entity: list[Value] = Field(default_factory=list)
    topic: list[Value] = Field(default_factory=list)
    has_figures: bool | None = None
    since: date | None = None  # only articles published on or after this day

    def to_filters(self) -> Filters:
        return Filters(date_from=self.since, source=tuple(self.source), source_type=tuple(self.type),
                       country=tuple(self.country), lang=tuple(self.lang), entity=tuple(self.entity),
                       topic=tuple(self.topic), has_figures=self.has_figures)


class Subscription(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=120)  # shown in the subject; default: name
    recipients: list[str] = Field(min_length=1, max_length=100)
    query: str = Field(default="", max_length=500)
    filters: SubscriptionFilters = SubscriptionFilters()
    frequency: Literal["daily", "weekly"]
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None  # weekly only
    send_at: time
    timezone: str = "UTC"
    language: Literal["en", "ko"] = "en"
    when_empty: Literal["note", "skip"] = "note"
    max_stories: int | None = Field(default=None, ge=1, le=200)  # None = the digest.max_stories setting
    enabled: bool = True  # false: the scheduler leaves it alone; `digest send` still works

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, recipients: list[str]) -> list[str]:
        for r in recipients:
            if not ADDRESS.match(r):
                raise ValueError(f"{r!r} is not an email address (write a plain address, e.g. analyst@example.org)")
        if len({r.lower() for r in recipients}) != len(recipients):
            raise ValueError("an address is listed twice")
        return recipients

    @field_validator("query", "title")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and any(not ch.isprintable() for ch in value):
            raise ValueError("must be one line of printable text")
        return value

    @field_validator("send_at", mode="before")
    @classmethod
    def _quoted_time(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML 1.1 reads 18:30 unquoted as the base-60 number 1110
            raise ValueError("write the time in quotes, e.g. '08:00' (unquoted, YAML reads 18:30 as a number)")
        return value

    @field_validator("send_at")
    @classmethod
    def _whole_minutes(cls, value: time) -> time:
        if value.second or value.microsecond or value.tzinfo:
            raise ValueError("a local time in whole minutes, e.g. '08:00' (the zone is `timezone`)")
        return value

    _valid_timezone = field_validator("timezone")(check_timezone)

    @model_validator(mode="after")
    def _weekday(self) -> Subscription:
        if self.frequency == "weekly" and self.weekday is None:
            raise ValueError("a weekly subscription needs a weekday (mon … sun)")
        if self.frequency == "daily" and self.weekday is not None:
            raise ValueError("weekday is used only by weekly subscriptions")
        return self

    # ------------------------------------------------------------ what it follows
    @property
    def display_title(self) -> str:
        return self.title or self.name

    def request(self, size: int = 100, **changes: Any) -> SearchRequest:
        """The subscription's search: its query and filters, newest first, without facets or highlights."""
        return SearchRequest(q=self.query, filters=self.filters.to_filters(), sort="date", size=size,
                             facets=False, highlight=False, **changes)

    # ------------------------------------------------------------ when it is sent
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def last_slot(self, now: datetime) -> datetime:
        """The latest send time at or before `now` (UTC)."""
        now = _aware(now)
        local = now.astimezone(self.zone)
        for back in range(0, 9):
            slot = self._slot_on(local.date() - timedelta(days=back))
            if slot is not None and slot <= now:
                return slot
        raise AssertionError("unreachable: a slot falls in every 8 days")

    def next_slot(self, now: datetime) -> datetime:
        """The earliest send time after `now` (UTC)."""
        now = _aware(now)
        local = now.astimezone(self.zone)
        for ahead in range(0, 9):
            slot = self._slot_on(local.date() + timedelta(days=ahead))
            if slot is not None and slot > now:
                return slot
        raise AssertionError("unreachable: a slot falls in every 8 days")

    def previous_slot(self, slot: datetime) -> datetime:
        return self.last_slot(slot - timedelta(seconds=1))

    def _slot_on(self, day: date) -> datetime | None:
        if self.frequency == "weekly" and WEEKDAYS[day.weekday()] != self.weekday:
            return None
        return datetime.combine(day, self.send_at, tzinfo=self.zone).astimezone(UTC)

    def cron(self) -> dict[str, Any]:
        """APScheduler CronTrigger arguments for this subscription's send times."""
        return {"minute": self.send_at.minute, "hour": self.send_at.hour,
                "day_of_week": self.weekday or "*", "timezone": self.timezone}


class SubscriptionsFile(_Strict):
    subscriptions: list[Subscription]

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: object) -> object:
        if isinstance(data, dict):  # `x-…` keys hold YAML anchors (shared recipient lists)
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_subscriptions(path: Path) -> dict[str, Subscription]:
    """All subscriptions of a file by name; ConfigError names the file, line and field on error."""
    located = load_yaml(path)
    try:
        parsed = SubscriptionsFile.model_validate(located.data or {"subscriptions": []})
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, [located])) from None
    out: dict[str, Subscription] = {}
    for i, sub in enumerate(parsed.subscriptions):
        if sub.name in out:
            line = located.line_of(("subscriptions", i, "name"))
            raise ConfigError(f"{path}:{line}: field 'subscriptions.{i}.name': duplicate subscription name "
                              f"{sub.name!r}")
        out[sub.name] = sub
    return out


def get_subscription(path: Path, name: str) -> Subscription:
    subs = load_subscriptions(path)
    if name not in subs:
        known = ", ".join(sorted(subs)) or "none"
        raise ConfigError(f"{path}: no subscription named {name!r} (known: {known})")
    return subs[name]
