"""The week's buddy pods, made on a cohort's first posting day with its post (as the recap), once, and each
member told privately who their pod is."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.dispatch.context import Services
from bot.dispatch.pods import member_streak, week_pods
from bot.kernel.ports import ChatPlatform
from bot.kernel.types import Card, Cohort, Reply, Style
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.health import first_posting_day_of_week

log = logging.getLogger(__name__)


async def make_week_pods(core: Services, cohort: Cohort, day: dt.date, platform: ChatPlatform) -> int:
    """Make and announce the week's pods on the cohort's recap day; how many members were told."""
    if not first_posting_day_of_week(Calendar.of(cohort), day):
        return 0
    made = await week_pods(core, cohort, day)
    if made is None:
        return 0
    pods, titles = made.pods, [verbatim(s.title) for s in core.catalog.stages]
    members = {m.id: m for m in await core.cohorts.cohort_members(cohort.id)}
    days = await core.activity.cohort_days(cohort.id)
    now = core.clock.now()
    # A streak fold per member of a big cohort is CPU work: on a thread, as the recap's.
    streaks = await asyncio.to_thread(
        lambda: {m: member_streak(members[m], days, cohort, now) for pod in pods for m in pod}
    )
    told = 0
    stage_of = {m: "just starting" if i is None else f"at {titles[i]}" for m, i in made.stages.items()}
    for pod in pods:
        lines = [f"{verbatim(members[m].name)} · 🔥 {streaks[m]} · {stage_of[m]}" for m in pod]
        body = (
            "\n".join(lines)
            + "\n\nSay hello, keep each other going: a pod day counts when all of you are active. "
            "`/study pod` shows who is still to go today."
        )
        note = Reply(
            cards=(Card(f"🤝 Your buddy pod this week in {cohort.name}", body, style=Style.PRIMARY),)
        )
        try:
            # One private conversation for the pod (a Slack group DM, a Discord private thread), or else
            # the same direct message to each member.
            await platform.send_group(cohort.conversation, [members[m].user_id for m in pod], note)
            told += len(pod)
        except Exception:
            log.warning("could not tell pod %s of cohort %s", pod, cohort.name, exc_info=True)
    log.info("made %d buddy pods in cohort %s for the week of %s", len(pods), cohort.name, day)
    return told
