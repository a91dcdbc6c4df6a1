"""Milestones announced in their cohort's channel, each once (claimed), a few per sweep."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping

from bot.dispatch.context import Services
from bot.dispatch.milestones import announcement
from bot.kernel.clock import local_date
from bot.kernel.ports import ChatPlatform, Undeliverable
from bot.kernel.types import Cohort, Reply
from bot.rules.milestones import GRADUATED

log = logging.getLogger(__name__)

PER_SWEEP = 100
# Members active on at least one of a cohort's last this-many days graduate when it ends.
FINAL_DAYS = 7


async def graduate_ended(core: Services, cohorts: Iterable[Cohort]) -> int:
    """Graduate the members active in the last week of each cohort whose end date has passed, once a cohort
    (each graduation is a milestone, recorded once and announced by the sweep); how many graduated."""
    graduated = 0
    now = core.clock.now()
    for cohort in cohorts:
        end = cohort.end_date
        if end is None or cohort.graduated_on is not None:
            continue
        today = local_date(now, cohort.timezone)
        if today <= end:
            continue
        final = {end - dt.timedelta(days=n) for n in range(FINAL_DAYS)}
        days = await core.activity.cohort_days(cohort.id)
        for member in await core.cohorts.cohort_members(cohort.id):
            active, _ = days.get(member.id, (frozenset(), frozenset()))
            if not final.isdisjoint(active):
                # Once per member and cohort however often this runs: the milestone row is unique.
                new = await core.notices.record_milestones(cohort.id, member.id, [GRADUATED], end, now)
                graduated += len(new)
        await core.cohorts.update_cohort(cohort.id, graduated_on=today)
        log.info("cohort %s ended on %s: %d members graduated", cohort.name, end, graduated)
    return graduated


async def announce_milestones(core: Services, platforms: Mapping[str, ChatPlatform]) -> int:
    sent = 0
    # Claimed only where this process can post: another process announces the other platforms' own.
    for milestone in await core.notices.claim_milestones(core.clock.now(), PER_SWEEP, list(platforms)):
        cohort = await core.cohorts.get_cohort(milestone.cohort_id)
        member = await core.members.get_member(milestone.member_id)
        platform = platforms.get(cohort.platform) if cohort else None
        if cohort is None or member is None or platform is None:
            continue
        try:
            await platform.send(cohort.conversation, announcement(core.catalog, milestone, member.name))
            sent += 1
        except Exception:
            log.warning("could not announce a milestone in cohort %s", cohort.name, exc_info=True)
        await _reward(core, platform, cohort, member.user_id, milestone.kind)
    return sent


async def _reward(core: Services, platform: ChatPlatform, cohort: Cohort, user_id: str, kind: str) -> None:
    """The milestone's role, where the cohort's moderators set one; a refusal is told to them once."""
    role = await core.notices.milestone_role(cohort.id, kind)
    if role is None:
        return
    role_id, set_by = role
    try:
        await platform.grant_role(cohort.workspace_id, user_id, role_id)
    except Undeliverable as exc:
        log.warning("could not give role %s for %s in cohort %s: %s", role_id, kind, cohort.name, exc)
        if await core.notices.claim_role_warning(cohort.id, kind, core.clock.now()):
            text = (
                f"⚠️ studybot could not give role {role_id} for the milestone `{kind}` in cohort "
                f"`{cohort.name}`: {exc}. Members are still congratulated in the channel. Fix the permission,"
                f" then set the role again (`/study cohort set {cohort.name} role {kind} <role>`)."
            )
            try:
                await platform.send_direct(set_by, Reply(text=text))
            except Exception:
                log.warning("could not tell %s that the role could not be given", set_by, exc_info=True)
