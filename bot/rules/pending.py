"""Where a cohort's challenge of its local today stands while it has no post, and how to say so."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from bot.kernel.clock import format_duration, local_date, local_now
from bot.kernel.registry import describe_schedule
from bot.kernel.types import Cohort
from bot.rules.calendar import Calendar
from bot.rules.schedule import due_instant, is_scheduled, next_post


class Pending(Enum):
    """Where a cohort's challenge of its local today stands while it has no post."""

    PAUSED = "paused"
    REST_DAY = "rest day"  # not a posting day (or one whose post time no clock can show)
    NOT_YET_DUE = "not yet due"
    DUE = "due"  # within the catch-up window: the scheduler's next run (within a minute) posts it
    SKIPPED = "skipped"  # past the catch-up window: only a moderator's `cohort post` sends it now


def catchup_window(cohort: Cohort) -> dt.timedelta:
    """How late a missed post may still go out on its own."""
    return dt.timedelta(minutes=cohort.catchup_minutes)


def pending(cohort: Cohort, now: dt.datetime) -> tuple[Pending, dt.datetime | None]:
    """Where the cohort's challenge of its local today stands, if it has no post, and when it falls due."""
    if cohort.paused:
        return Pending.PAUSED, None
    today = local_date(now, cohort.timezone)
    due = due_instant(cohort, today) if is_scheduled(cohort, today) else None
    if due is None:
        return Pending.REST_DAY, None
    if now < due:
        return Pending.NOT_YET_DUE, due
    if now - due > catchup_window(cohort):
        return Pending.SKIPPED, due
    return Pending.DUE, due


def post_time(cohort: Cohort, due: dt.datetime) -> str:
    """A post's due instant as the cohort's members read it: "09:00 (Europe/Berlin)"."""
    return f"{local_now(due, cohort.timezone):%H:%M} ({cohort.timezone})"


def rest_day_message(cohort: Cohort, now: dt.datetime) -> str:
    """Today is no posting day: what the cohort posts, and when next."""
    upcoming = next_post(cohort, now)
    when = f" The next one is on {upcoming:%a %d %b at %H:%M} ({cohort.timezone})." if upcoming else ""
    why = Calendar.of(cohort).rest_reason(local_date(now, cohort.timezone))
    rest = f" ({why}): a rest day, so no streak breaks today" if why else ""
    return f"No challenge today{rest}. `{cohort.name}` posts {describe_schedule(cohort)}.{when}"


def no_post_message(cohort: Cohort, now: dt.datetime) -> str:
    """Why the cohort has no challenge post today, and what a member (or a moderator) can do about it."""
    state, due = pending(cohort, now)
    name = cohort.name
    if state is Pending.PAUSED:
        return f"Cohort `{name}` is paused, so there is no challenge today."
    if state is Pending.REST_DAY or due is None:
        return rest_day_message(cohort, now)
    at = post_time(cohort, due)
    if state is Pending.NOT_YET_DUE:
        return f"Today's challenge for `{name}` goes out at {at}, in {format_duration(due - now)}."
    if state is Pending.DUE:
        return f"Today's challenge for `{name}` was due at {at} and is on its way; try again in a minute."
    return (
        f"Today's challenge for `{name}` was not posted: it was due at {at} and did not go out within the "
        f"cohort's {format_duration(catchup_window(cohort))} catch-up window (studybot was not running then, "
        "or the cohort was created, resumed or rescheduled after that time). "
        f"A moderator can post it now with `/study cohort post {name}`. "
        "Meanwhile a check-in still counts for today: `/study done [note or link]`."
    )
