"""Which local date an activity may count for, so that changing timezone cannot buy extra active days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.kernel.clock import local_date, local_now
from bot.kernel.types import Activity

# A member's own day can turn over minutes after their last activity (23:55, then 00:05): that is fair.
# A day that only exists because the member's timezone moved since their last activity waits this long
# after it, a little under a day, so a trip abroad costs nothing but hopping earns nothing.
HOP_GAP = dt.timedelta(hours=20)


def hop_problem(recent: Iterable[Activity], day: dt.date, now: dt.datetime, timezone: str) -> str | None:
    """Why an activity now, dated `day` in `timezone`, may not start a new active day; None when it may.

    `recent` is the member's activity in the cohort around `day`. A day already active is never a problem
    (the store decides whether this kind of activity is a repeat). A new day is refused when it is earlier
    than a day the member already has, or when the timezone no longer dates the last activity as it was
    dated and less than HOP_GAP has passed since it.
    """
    recent = [a for a in recent if a.at is not None]
    if not recent or any(a.local_date == day for a in recent):
        return None
    latest_day = max(a.local_date for a in recent)
    if day < latest_day:
        return (
            f"You were already active on {latest_day:%a %d %b}, a later day than today in your timezone "
            f"({day:%a %d %b}); a timezone change cannot take you back a day. Nothing was recorded."
        )
    last_at, last_day = max((a.at, a.local_date) for a in recent if a.at is not None)
    moved = local_date(last_at, timezone) != last_day
    if moved and now - last_at < HOP_GAP:
        opens = local_now(last_at + HOP_GAP, timezone)
        return (
            "Your timezone changed since your last activity, so a new day counts from "
            f"{opens:%a %d %b %H:%M} your time (20 hours after it). Nothing was recorded."
        )
    return None
