"""The weekly health note: on a cohort's first posting day of the week, its moderators (its creator and the
members granted moderator rights in its workspace) get `cohort stats` privately, once, if the cohort has
it on (`cohort set <name> health on`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.dispatch.context import Services
from bot.dispatch.health import cohort_health, health_card, retention_rows
from bot.images.retention import retention_png
from bot.jobs.recap import recap_day
from bot.kernel.clock import local_date
from bot.kernel.ports import ChatPlatform
from bot.kernel.types import Image, Reply
from bot.rules.health import RETENTION_WEEKS, monday

log = logging.getLogger(__name__)

# Who created the demo cohort: nobody to write to.
NOBODY = "studybot-demo"


async def send_health_notes(core: Services, platforms: Mapping[str, ChatPlatform]) -> int:
    """Send the week's notes that are due; how many messages went out."""
    sent = 0
    now = core.clock.now()
    for cohort in await core.cohorts.list_cohorts():
        platform = platforms.get(cohort.platform)
        if not cohort.health or cohort.paused or platform is None:
            continue
        day = local_date(now, cohort.timezone)
        if not recap_day(cohort, day) or not await core.notices.claim_health_note(
            cohort.id, monday(day), now
        ):
            continue
        try:
            health = await cohort_health(core, cohort)
            title = f"Retention of {cohort.name} by join week"
            png = await asyncio.to_thread(retention_png, retention_rows(health), RETENTION_WEEKS, title)
            note = Reply(
                text=f"Your weekly note on cohort `{cohort.name}` (turn it off: `/study cohort set "
                f"{cohort.name} health off`).",
                cards=(health_card(core.catalog, health),),
                images=(Image(f"retention-{cohort.name}.png", png, title),),
            )
        except Exception:
            log.exception("could not gather the health of cohort %s", cohort.name)
            continue
        moderators = await core.members.granted_moderators(cohort.platform, cohort.workspace_id)
        for user_id in dict.fromkeys([cohort.created_by, *moderators]):
            if user_id == NOBODY:
                continue
            try:
                await platform.send_direct(user_id, note)
                sent += 1
            except Exception:
                log.warning("could not send the health note of %s to %s", cohort.name, user_id, exc_info=True)
    return sent
