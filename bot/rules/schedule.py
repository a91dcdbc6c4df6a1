"""When a cohort posts: scheduled days, due times and the next post, by local date arithmetic."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.kernel.types import Cohort
from bot.rules.calendar import Calendar

ONE_DAY = dt.timedelta(days=1)
# The longest a clock change skips is a whole day (Samoa left out 2011-12-30); a walk through a gap that
# finds no valid time within it would otherwise never end.
MAX_GAP_MINUTES = 25 * 60


def is_scheduled(cohort: Cohort, day: dt.date) -> bool:
    """Whether this local date is a posting day by the cohort's calendar (weekdays, pauses, holidays)."""
    return Calendar.of(cohort).is_posting_day(day)


def _reached(cohort: Cohort, now: dt.datetime, day: dt.date) -> bool:
    """Whether the wall clock in the cohort's zone shows `day` at or after its post time at `now`."""
    local = now.astimezone(ZoneInfo(cohort.timezone))
    return local.date() == day and local.time().replace(tzinfo=None) >= cohort.post_time


def is_due(cohort: Cohort, now: dt.datetime) -> dt.date | None:
    """The cohort's local date whose post is due at `now`, if any.

    Comparing wall-clock times (not instants) makes a post at 02:30 on a spring-forward day go out at the
    first valid local time after it, and only once on an autumn day that repeats 01:30.
    """
    day = now.astimezone(ZoneInfo(cohort.timezone)).date()
    if cohort.paused or not is_scheduled(cohort, day):
        return None
    return day if _reached(cohort, now, day) else None


def due_instant(cohort: Cohort, day: dt.date) -> dt.datetime | None:
    """The instant (UTC) a day's post falls due: its local post time, or when that time does not exist
    (clocks jump over it), the first valid local time after it; a repeated time counts once, the first.

    None when there is no such instant: a day at the edge of the calendar (a stored 9999-12-31) whose
    instant falls outside what datetime can hold, or a day the zone skipped whole.
    """
    tz = ZoneInfo(cohort.timezone)
    try:
        local = dt.datetime.combine(day, cohort.post_time, tzinfo=tz)
        instant = local.astimezone(dt.UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
            return instant
        # In a gap: walk from just before it to the moment the wall clock passes the post time.
        instant = local.replace(fold=1).astimezone(dt.UTC).replace(second=0, microsecond=0)
        for _ in range(MAX_GAP_MINUTES):
            if _reached(cohort, instant, day):
                return instant
            instant += dt.timedelta(minutes=1)
    except OverflowError:
        pass
    return None


def due_days(cohort: Cohort, now: dt.datetime) -> list[dt.date]:
    """Yesterday and today (local) when they are posting days whose post time has passed, oldest first.

    Yesterday counts so that a post missed just before midnight can still be caught up after it.
    """
    if cohort.paused:
        return []
    try:
        today = now.astimezone(ZoneInfo(cohort.timezone)).date()
        days = (today - ONE_DAY, today)
    except OverflowError:
        return []
    due = []
    for d in days:
        at = due_instant(cohort, d) if is_scheduled(cohort, d) else None
        if at is not None and at <= now:
            due.append(d)
    return due


def next_post(cohort: Cohort, now: dt.datetime) -> dt.datetime | None:
    """When this cohort next posts after `now`, in its local time, or None when paused or never.

    Never also for a start date so close to the end of the calendar that no instant can be computed.
    """
    if cohort.paused or not cohort.weekdays:
        return None
    tz = ZoneInfo(cohort.timezone)
    calendar = Calendar.of(cohort)
    try:
        day: dt.date | None = now.astimezone(tz).date()
        # Today's post may have gone already, and a day a zone skips whole has no instant: a few tries.
        for _ in range(3):
            day = calendar.next_posting_day(day) if day is not None else None
            if day is None:
                return None
            at = due_instant(cohort, day)
            if at is not None and at > now:
                return at.astimezone(tz)
            day += ONE_DAY
    except OverflowError:
        pass
    return None
