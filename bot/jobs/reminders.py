"""Streak reminders: a direct message at a member's chosen local time when their streak is at risk.

At most one a day, only to members who turned them on, only when a streak of at least one day is running
in one of their cohorts and they have not been active today. Each member's day is decided once (a unique
row), whether a reminder went out or not, so several processes or sweeps never send two.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping
from collections.abc import Set as AbstractSet

from bot.dispatch.core import Core
from bot.kernel.clock import local_now
from bot.kernel.ports import ActivityStore, ChatPlatform
from bot.kernel.replies import plural
from bot.kernel.types import Card, Cohort, Member, Reply, Style
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.health import monday
from bot.rules.streaks import DayStatus, summarize

log = logging.getLogger(__name__)

# Up to this many members of one cohort due in one sweep have their days read one by one; more, and the
# cohort's days are read in one query: a sweep of a few members never reads a big cohort's whole year.
FEW_DUE = 16
_NO_DAYS: tuple[frozenset[dt.date], frozenset[dt.date]] = (frozenset(), frozenset())


async def send_reminders(core: Core, platforms: Mapping[str, ChatPlatform]) -> int:
    """Decide today's reminder for every member whose reminder time has come; return how many were sent."""
    now = core.clock.now()
    decided = await core.notices.reminders_decided(now.date() - dt.timedelta(days=1))
    everyone = await core.notices.members_with_reminders()
    # A timezone conversion per member, and a streak fold per member due: thousands of them, on a thread.
    candidates = await asyncio.to_thread(_candidates, everyone, platforms.keys(), now, decided)
    cohorts_of = await core.cohorts.cohorts_of_members([m.id for m in candidates])
    due = await asyncio.to_thread(_due, candidates, cohorts_of, now, decided)
    days = await _days_of(core.activity, due)
    at_risk = await asyncio.to_thread(_at_risk, due, days)
    made = await core.notices.decide_reminders(
        [(m.id, day, bool(risk)) for (m, day, _), risk in zip(due, at_risk, strict=True)], now
    )
    sent = 0
    pods: dict[int, list[tuple[int, ...]]] = {}  # each cohort's pods of the week, read once a sweep
    for (member, day, cohorts), risk in zip(due, at_risk, strict=True):
        if (member.id, day) not in made:
            continue  # another process decided first
        if risk:
            await _send(
                platforms[member.platform], member, risk, await _pod_line(core, member, day, cohorts, pods)
            )
            sent += 1
    return sent


async def _pod_line(
    core: Core, member: Member, day: dt.date, cohorts: list[Cohort], pods: dict[int, list[tuple[int, ...]]]
) -> str:
    """Who of the member's buddy pod is done today, when they all are: the reminder says so."""
    for cohort in cohorts:
        week = monday(day)
        if cohort.id not in pods:
            pods[cohort.id] = (await core.pods.pods_of_weeks(cohort.id, week)).get(week, [])
        mine = next((p for p in pods[cohort.id] if member.id in p), None)
        if mine is None:
            continue
        mates = [m for m in mine if m != member.id]
        done = [m for m in mates if day in (await core.activity.member_days(cohort.id, m))[0]]
        if mates and len(done) == len(mates):
            names = [mate.name for m in done if (mate := await core.members.get_member(m)) is not None]
            together = " and ".join(verbatim(n) for n in names)
            return f"🤝 Your pod: {together} did today's work; you are the last one."
    return ""


Due = tuple[Member, dt.date, list[Cohort]]  # a member, their local date, their cohorts (latest joined first)
Days = tuple[AbstractSet[dt.date], AbstractSet[dt.date]]  # active and excused dates


def _candidates(
    members: list[Member], platforms: Collection[str], now: dt.datetime, decided: set[tuple[int, dt.date]]
) -> list[Member]:
    """Members on a platform here with a reminder, less those whose own timezone says not yet."""
    return [
        m
        for m in members
        if m.platform in platforms
        and m.remind_at is not None
        and not (m.timezone and _not_yet(local_now(now, m.timezone), m, decided))
    ]


def _due(
    members: list[Member],
    cohorts_of: Mapping[int, list[Cohort]],
    now: dt.datetime,
    decided: set[tuple[int, dt.date]],
) -> list[Due]:
    """The members in a cohort whose reminder time has come today (their timezone, else their cohort's)."""
    due = []
    for member in members:
        cohorts = cohorts_of.get(member.id)
        if not cohorts:
            continue
        local = local_now(now, member.timezone or cohorts[0].timezone)
        if not _not_yet(local, member, decided):
            due.append((member, local.date(), cohorts))
    return due


async def _days_of(activity: ActivityStore, due: list[Due]) -> dict[tuple[int, int], Days]:
    """The days of each due member in each of their cohorts, by (cohort id, member id)."""
    wanted: dict[int, list[int]] = defaultdict(list)
    for member, _, cohorts in due:
        for cohort in cohorts:
            wanted[cohort.id].append(member.id)
    days: dict[tuple[int, int], Days] = {}
    for cohort_id, member_ids in wanted.items():
        if len(member_ids) <= FEW_DUE:
            for m in member_ids:
                days[(cohort_id, m)] = await activity.member_days(cohort_id, m)
            continue
        everyone = await activity.cohort_days(cohort_id)
        for m in member_ids:
            days[(cohort_id, m)] = everyone.get(m, _NO_DAYS)
    return days


def _at_risk(due: list[Due], days: Mapping[tuple[int, int], Days]) -> list[list[tuple[str, int]]]:
    """For each due member, (cohort name, days) of each cohort where their running streak is at risk."""
    out = []
    calendars: dict[int, Calendar] = {}  # each cohort's once, not once a due member
    for member, day, cohorts in due:
        risk = []
        for cohort in cohorts:
            if cohort.id not in calendars:
                calendars[cohort.id] = Calendar.of(cohort)
            active, excused = days[(cohort.id, member.id)]
            streak = summarize(active, excused, day, calendars[cohort.id].with_breaks(member.breaks))
            if streak.today is DayStatus.AT_RISK:
                risk.append((cohort.name, streak.current))
        out.append(risk)
    return out


def _not_yet(local: dt.datetime, member: Member, decided: set[tuple[int, dt.date]]) -> bool:
    """Before the member's reminder time, or today's reminder already decided."""
    return member.remind_at is None or local.time() < member.remind_at or (member.id, local.date()) in decided


async def _send(
    platform: ChatPlatform, member: Member, at_risk: list[tuple[str, int]], pod: str = ""
) -> None:
    lines = [f"🔥 {plural(days, 'day')} in `{name}`" for name, days in at_risk]
    if pod:
        lines.append(pod)
    card = Card(
        "⏰ Your streak is at risk",
        "\n".join(lines)
        + "\n\nAnswer today's challenge (`/study today`) or check in (`/study done`) to keep it.",
        footer="Turn these off with /study remind off",
        style=Style.PRIMARY,
    )
    try:
        await platform.send_direct(member.user_id, Reply(cards=(card,)))
    except Exception:
        log.warning("could not send %s their streak reminder", member.name, exc_info=True)
