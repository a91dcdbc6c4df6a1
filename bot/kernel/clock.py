"""Clocks: the system clock for production, a settable one for the console and tests; local-date helpers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FakeClock:
    """A clock that stands still until set or advanced (tests, the console's :clock)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = _utc(start)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, instant: dt.datetime) -> None:
        self._now = _utc(instant)

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta


def _utc(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("clock instants must be timezone-aware")
    return instant.astimezone(dt.UTC)


def local_now(instant: dt.datetime, timezone: str) -> dt.datetime:
    """The wall-clock time at `instant` in `timezone`."""
    return instant.astimezone(ZoneInfo(timezone))


def local_date(instant: dt.datetime, timezone: str) -> dt.date:
    """The calendar date at `instant` in `timezone`."""
    return local_now(instant, timezone).date()


def format_duration(delta: dt.timedelta) -> str:
    """A duration as people write it, to the minute: "9 h 5 min", "2 days 3 h", "under a minute"."""
    minutes = int(abs(delta).total_seconds()) // 60
    if minutes == 0:
        return "0 min" if not delta else "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins else []
    return " ".join(parts)


def midnight(day: dt.date, timezone: str) -> dt.datetime:
    """The UTC instant of 00:00 on a local date in `timezone` (where a DST change skips that midnight, the
    instant zoneinfo gives it, at most an hour off)."""
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=ZoneInfo(timezone))
    return _utc(start)
