"""Buddy pods' shared steps: making a cohort's pods for a week (once) and how a pod is doing today."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bot.dispatch.context import Services
from bot.kernel.clock import local_date, local_now
from bot.kernel.types import Cohort, Member
from bot.rules.calendar import Calendar
from bot.rules.health import monday
from bot.rules.pods import RECENT_WEEKS, Podder, make_pods
from bot.rules.streaks import summarize

_NO_DAYS: tuple[frozenset[dt.date], frozenset[dt.date]] = (frozenset(), frozenset())


@dataclass(frozen=True)
class WeekPods:
    """A week's pods (member ids), and each podded member's furthest roadmap stage (None before any)."""

    pods: list[tuple[int, ...]]
    stages: dict[int, int | None]


async def week_pods(core: Services, cohort: Cohort, day: dt.date) -> WeekPods | None:
    """Make the cohort's pods for the week of `day` from who opted in and is enrolled; None when that week's
    pods were made already (by this or another process)."""
    week = monday(day)
    members = {m.id: m for m in await core.cohorts.cohort_members(cohort.id)}
    opted = [members[m] for m in await core.pods.pod_optins(cohort.id) if m in members]
    past = await core.pods.pods_of_weeks(cohort.id, week - dt.timedelta(weeks=RECENT_WEEKS))
    recent: dict[int, set[int]] = {}
    for start, pods in past.items():
        if start >= week:
            continue
        for pod in pods:
            for m in pod:
                recent.setdefault(m, set()).update(set(pod) - {m})
    now = core.clock.now()
    podders, stages = [], {}
    for member in opted:
        stage = stages[member.id] = await furthest_stage(core, member)
        offset = local_now(now, member.timezone or cohort.timezone).utcoffset() or dt.timedelta(0)
        podders.append(Podder(member.id, offset.total_seconds() / 3600, 0 if stage is None else stage))
    pods = await asyncio.to_thread(make_pods, podders, recent, f"{cohort.id}:{week.isoformat()}")
    if not await core.pods.claim_pods(cohort.id, week, pods, now):
        return None
    return WeekPods(pods, stages)


async def furthest_stage(core: Services, member: Member) -> int | None:
    """The furthest roadmap stage (its index) the member learned a topic of; None before any."""
    order = {s.id: i for i, s in enumerate(core.catalog.stages)}
    learned = await core.learning.learned_topics(member.learner)
    return max((order.get(s, 0) for s, _ in learned), default=None)


def pod_streak(
    pod: tuple[int, ...],
    days: Mapping[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]],
    calendar: Calendar,
    today: dt.date,
    since: dt.date,
) -> int:
    """Posting days in a row, up to today (or yesterday while today is open), on which every member of the
    pod was active, counted from the pod's week."""

    def all_active(day: dt.date) -> bool:
        return all(day in days.get(m, _NO_DAYS)[0] for m in pod)

    count, day = 0, today
    if not all_active(today):
        day -= dt.timedelta(days=1)
    while day >= since:
        if calendar.is_posting_day(day):
            if not all_active(day):
                break
            count += 1
        day -= dt.timedelta(days=1)
    return count


def member_streak(
    member: Member,
    days: Mapping[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]],
    cohort: Cohort,
    now: dt.datetime,
) -> int:
    active, excused = days.get(member.id, _NO_DAYS)
    today = local_date(now, member.timezone or cohort.timezone)
    return summarize(active, excused, today, Calendar.of(cohort, member.breaks)).current
