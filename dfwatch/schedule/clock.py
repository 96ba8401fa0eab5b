"""A compressed clock for tests and demos: the whole schedule, as configured, only faster.

With `schedule.clock_speed` = k, schedule time starts at the clock's epoch (a real instant)
and runs k times faster than real time: at k = 8640 a daily digest comes every 10 s and a
5-minute crawl interval lasts 35 ms. Triggers see schedule time (`CompressedTrigger`), and
jobs that care what time it is (digests) are handed schedule time too, so every window,
send time and time zone rule is exercised exactly as in production. Times are mapped in
integer microseconds: mapping a fire time back and forth never moves it earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

_ZERO = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - _ZERO) // _US


def _moment(micros: int, like: datetime) -> datetime:
    return (_ZERO + timedelta(microseconds=micros)).astimezone(like.tzinfo or UTC)


@dataclass(frozen=True)
class Clock:
    """Schedule time: `epoch + (real - epoch) * speed`; speed 1 is real time."""

    speed: int = 1
    epoch: datetime = _ZERO

    @property
    def compressed(self) -> bool:
        return self.speed > 1

    def virtual(self, real: datetime) -> datetime:
        if not self.compressed:
            return real
        e = _micros(self.epoch)
        return _moment(e + (_micros(real) - e) * self.speed, real)

    def real(self, virtual: datetime) -> datetime:
        """The first real instant whose schedule time is at or after `virtual`."""
        if not self.compressed:
            return virtual
        e = _micros(self.epoch)
        return _moment(e - (-(_micros(virtual) - e) // self.speed), virtual)  # ceiling division

    def now(self) -> datetime:
        return self.virtual(datetime.now(UTC))

    def real_seconds(self, schedule_seconds: float) -> float:
        return schedule_seconds / self.speed


class CompressedTrigger(BaseTrigger):
    """Any APScheduler trigger, evaluated in a compressed clock's schedule time."""

    def __init__(self, inner: BaseTrigger, clock: Clock) -> None:
        self.inner = inner
        self.clock = clock

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        previous = self.clock.virtual(previous_fire_time) if previous_fire_time else None
        following = self.inner.get_next_fire_time(previous, self.clock.virtual(now))
        if following is None:
            return None
        real = self.clock.real(following)
        if previous_fire_time is not None and real <= previous_fire_time:
            real = previous_fire_time + _US
        return real

    def __str__(self) -> str:
        return f"{self.inner} at {self.clock.speed}x speed"

    def __repr__(self) -> str:
        return f"<CompressedTrigger ({self.inner!r}, speed={self.clock.speed}, epoch={self.clock.epoch.isoformat()})>"
