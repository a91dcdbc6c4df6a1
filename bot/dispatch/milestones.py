"""Milestones as they happen: a streak of 7, 30 or 100 days, a first accepted submission, every topic of a
stage learned. Each is recorded once here and announced in the cohort's channel by the minute's sweep."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from bot.catalog.model import Catalog
from bot.dispatch.context import Services
from bot.kernel.clock import local_date
from bot.kernel.types import Card, Cohort, Member, Milestone, Recorded, Reply, Style
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.milestones import (
    FIRST_ACCEPTED,
    GRADUATED,
    STAGE_PREFIX,
    STREAK_MILESTONES,
    stage_kind,
    streak_kinds,
)
from bot.rules.streaks import summarize

log = logging.getLogger(__name__)


async def after_activity(
    core: Services, cohort: Cohort, member_id: int, recorded: Recorded, day: dt.date, calendar: Calendar
) -> list[str]:
    """Record the streak milestones an activity reached; the new ones. Never fails the member's command."""
    try:
        current = summarize(recorded.active, recorded.excused, day, calendar).current
        kinds = streak_kinds(current)
        # A long streak seen for the first time (just after an upgrade) is one announcement, its longest.
        return await core.notices.record_milestones(
            cohort.id, member_id, kinds, day, core.clock.now(), quiet=kinds[:-1]
        )
    except Exception:
        log.exception("could not record the milestones of member %s", member_id)
        return []


async def reached(core: Services, cohort: Cohort, member_id: int, kind: str, day: dt.date) -> list[str]:
    """Record one milestone (a first accepted submission, a stage completed); [kind] when it is new."""
    try:
        return await core.notices.record_milestones(cohort.id, member_id, [kind], day, core.clock.now())
    except Exception:
        log.exception("could not record milestone %s of member %s", kind, member_id)
        return []


async def learning_milestones(core: Services, accounts: Sequence[Member]) -> list[str]:
    """Every stage a learner has learned whole, and graduation when that is all of them, as milestones in
    each cohort of each of its accounts (progress merged by linking accounts can complete them); each is
    recorded once, so the ones reached before are not again. The new ones."""
    if not accounts:
        return []
    learned = await core.learning.learned_topics(accounts[0].learner)  # one set for all the accounts
    stages = core.catalog.stages
    whole = [s for s in stages if s.topics and all((s.id, t.id) in learned for t in s.topics)]
    kinds = [stage_kind(s.id) for s in whole] + ([GRADUATED] if whole and len(whole) == len(stages) else [])
    if not kinds:
        return []
    now, new = core.clock.now(), []
    for member in accounts:
        for cohort in await core.cohorts.member_cohorts(member.id):
            today = local_date(now, member.timezone or cohort.timezone)
            new += await core.notices.record_milestones(cohort.id, member.id, kinds, today, now)
    return new


def milestone_kinds(catalog: Catalog) -> list[str]:
    """Every milestone a role can be given for: the streaks, first accepted work, graduation, each stage."""
    streaks = streak_kinds(max(STREAK_MILESTONES))
    return [*streaks, FIRST_ACCEPTED, GRADUATED, *(stage_kind(s.id) for s in catalog.stages)]


def describe(catalog: Catalog, kind: str) -> str:
    """A milestone in words: "a 7-day streak", "their first accepted work", "every topic of Python"."""
    if kind.startswith("streak-"):
        return f"a {kind.removeprefix('streak-')}-day streak 🔥"
    if kind == GRADUATED:
        return "graduation 🎓"
    if kind == FIRST_ACCEPTED:
        return "their first piece of work accepted by peer review 🛠"
    if kind.startswith(STAGE_PREFIX):
        stage = catalog.stage(kind.removeprefix(STAGE_PREFIX))
        return f"every topic of {verbatim(stage.title) if stage else 'a stage'} learned 🎓"
    return kind


def announcement(catalog: Catalog, milestone: Milestone, name: str) -> Reply:
    """The channel's message: the member's name as they wrote it (escaped by the platform, never a ping)."""
    text = f"{verbatim(name)} reached {describe(catalog, milestone.kind)}"
    return Reply(cards=(Card("🏅 Milestone", text, style=Style.SUCCESS),))


__all__ = [
    "after_activity",
    "announcement",
    "describe",
    "learning_milestones",
    "milestone_kinds",
    "reached",
    "stage_kind",
]
