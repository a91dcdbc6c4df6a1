"""When a cohort posts: scheduled days, due times and the next post, by local date arithmetic."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.commands import format_days
from bot.types import Cohort

ONE_DAY = dt.timedelta(days=1)


def is_scheduled(cohort: Cohort, day: dt.date) -> bool:
    """Whether the cohort posts on this local date (ignoring pauses)."""
    return day >= cohort.start_date and day.weekday() in cohort.weekdays


def is_due(cohort: Cohort, now: dt.datetime) -> dt.date | None:
    """The cohort's local date whose post is due at `now`, if any.

    Comparing wall-clock times (not instants) makes a post at 02:30 on a spring-forward day go out at the
    first valid local time after it, and only once on an autumn day that repeats 01:30.
    """
    local = now.astimezone(ZoneInfo(cohort.timezone))
    if cohort.paused or not is_scheduled(cohort, local.date()):
        return None
    return local.date() if local.time().replace(tzinfo=None) >= cohort.post_time else None


def next_post(cohort: Cohort, now: dt.datetime) -> dt.datetime | None:
    """The next local wall-clock time this cohort posts after `now`, or None when paused or never."""
    if cohort.paused or not cohort.weekdays:
        return None
    tz = ZoneInfo(cohort.timezone)
    local = now.astimezone(tz)
    day = max(local.date(), cohort.start_date)
    for _ in range(8):
        if is_scheduled(cohort, day):
            at = dt.datetime.combine(day, cohort.post_time, tzinfo=tz)
            if at > local:
                return at
        day += ONE_DAY
    return None


def describe_schedule(cohort: Cohort) -> str:
    state = " (paused)" if cohort.paused else ""
    return f"{cohort.post_time:%H:%M} {cohort.timezone}, {format_days(cohort.weekdays)}{state}"
