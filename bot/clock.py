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
