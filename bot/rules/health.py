"""A cohort's health for its moderators: who is at risk of dropping out, and retention by the week members
joined. Pure: the days come in, the figures go out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bot.rules.calendar import Calendar

# Missed this many posting days in a row, up to yesterday: at risk.
AT_RISK_MISSED = 3
# How far back to look for those posting days: a cohort posting once a week still has three in a month.
LOOKBACK_DAYS = 92
# Join weeks shown, and weeks after joining: the last two months, which a moderator acts on.
RETENTION_WEEKS = 8


def last_posting_days(calendar: Calendar, before: dt.date, n: int) -> list[dt.date]:
    """The `n` latest posting days before `before` (newest first), within LOOKBACK_DAYS; fewer if none."""
    found: list[dt.date] = []
    day = before - dt.timedelta(days=1)
    for _ in range(LOOKBACK_DAYS):
        if day < calendar.start:
            break
        if calendar.is_posting_day(day):
            found.append(day)
            if len(found) == n:
                break
        day -= dt.timedelta(days=1)
    return found


def at_risk(
    calendar: Calendar,
    active: AbstractSet[dt.date],
    excused: AbstractSet[dt.date],
    today: dt.date,
    joined: dt.date,
    on_break: bool,
) -> bool:
    """Whether a member missed each of their last AT_RISK_MISSED posting days (by their own calendar, breaks
    being rest days), all since they joined, and is not on a break now."""
    if on_break:
        return False
    days = last_posting_days(calendar, today, AT_RISK_MISSED)
    if len(days) < AT_RISK_MISSED or days[-1] < joined:
        return False
    return not any(d in active or d in excused for d in days)


@dataclass(frozen=True)
class RetentionRow:
    """Members who joined in one week, and the share of them active in each week since (0: the week they
    joined), up to this week."""

    week: dt.date  # the Monday
    joined: int
    shares: tuple[float, ...]


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def retention(
    joined: Mapping[int, dt.date], active: Mapping[int, AbstractSet[dt.date]], today: dt.date
) -> list[RetentionRow]:
    """Retention by join week for the last RETENTION_WEEKS join weeks, oldest first: of the members who
    joined in a week, the share active at least once in each week after, up to the current week."""
    this_week = monday(today)
    first = this_week - dt.timedelta(weeks=RETENTION_WEEKS - 1)
    cohorts: dict[dt.date, list[int]] = {}
    for member_id, day in joined.items():
        week = monday(day)
        if week >= first:
            cohorts.setdefault(week, []).append(member_id)
    rows = []
    for week in sorted(cohorts):
        members = cohorts[week]
        weeks_since = (this_week - week).days // 7
        shares = []
        for k in range(weeks_since + 1):
            start = week + dt.timedelta(weeks=k)
            end = start + dt.timedelta(days=6)
            seen = sum(1 for m in members if any(start <= d <= end for d in active.get(m, ())))
            shares.append(seen / len(members))
        rows.append(RetentionRow(week, len(members), tuple(shares)))
    return rows


def first_posting_day_of_week(calendar: Calendar, day: dt.date) -> bool:
    """Whether `day` is the first posting day of its week (Monday to Sunday) by the calendar: a holiday on
    Monday moves it to Tuesday, so the week's pods and note are not skipped."""
    if not calendar.is_posting_day(day):
        return False
    start = monday(day)
    return not any(calendar.is_posting_day(start + dt.timedelta(days=i)) for i in range((day - start).days))
