"""Milestones announced in their cohort's channel, each once (claimed), a few per sweep."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.dispatch.context import Services
from bot.dispatch.milestones import announcement
from bot.kernel.ports import ChatPlatform

log = logging.getLogger(__name__)

PER_SWEEP = 100


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
    return sent
