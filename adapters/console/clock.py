"""The console's clock: real time moved by `:clock`, and what a typed local time means on a DST day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

# The longest a clock change skips is a whole day (Samoa left out 2011-12-30): the walk through a gap
# looks at most this many minutes.
MAX_GAP_MINUTES = 25 * 60


def system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ConsoleClock:
    """The real time plus an offset that `:clock` sets, so simulated time keeps moving from there.

    `real` is where the real time comes from: the system clock, or a fake one in tests, which then let
    time pass without waiting.
    """

    def __init__(self, real: Callable[[], dt.datetime] = system_now) -> None:
        self.real = real
        self.offset = dt.timedelta()

    def now(self) -> dt.datetime:
        return self.real() + self.offset

    def set(self, instant: dt.datetime) -> None:
        self.offset = instant - self.real()


def wall_clock(naive: dt.datetime, timezone: str) -> tuple[dt.datetime, str]:
    """The instant (UTC) a typed local time names in `timezone`, and a note when that needed a choice.

    A time the clocks jump over moves to the first valid time after it (as a daily post due then does); a
    time that happens twice is the first of the two. The note says which, so the clock never silently
    reads something other than what was typed.
    """
    zone = ZoneInfo(timezone)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(dt.UTC), ""
    where = f"on {naive:%d %b %Y} in {timezone}"
    if _exists(first, zone) and _exists(second, zone):
        offset = _offset(first)
        return first.astimezone(dt.UTC), (
            f"{naive:%H:%M} happens twice {where} (clocks went back); "
            f"picked the first, {first:%H:%M} {first.tzname()} ({offset})."
        )
    # In a gap: walk from just before it to the first minute whose wall clock reads the typed time or later.
    instant = min(first.astimezone(dt.UTC), second.astimezone(dt.UTC)).replace(second=0, microsecond=0)
    for _ in range(MAX_GAP_MINUTES):
        local = instant.astimezone(zone)
        if local.replace(tzinfo=None) >= naive:
            moved = f"{local:%H:%M}" if local.date() == naive.date() else f"{local:%d %b %H:%M}"
            return instant, f"{naive:%H:%M} does not exist {where} (clocks went forward); set to {moved}."
        instant += dt.timedelta(minutes=1)
    return first.astimezone(dt.UTC), ""  # no transition found: never for a real zone


def _exists(local: dt.datetime, zone: ZoneInfo) -> bool:
    """Whether the wall-clock time `local` shows really occurs (it survives a round trip through UTC)."""
    back = local.astimezone(dt.UTC).astimezone(zone)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None, fold=0)


def _offset(local: dt.datetime) -> str:
    offset = local.utcoffset() or dt.timedelta()
    sign = "-" if offset < dt.timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
