"""The weekly health note: on a cohort's first posting day of the week, with its daily post (as the weekly
recap), its moderators (its creator and the members granted moderator rights in its workspace) get `cohort
stats` privately, once, if the cohort has it on (`cohort set <name> health on`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.dispatch.context import Services
from bot.dispatch.health import cohort_health, health_card, retention_rows
from bot.images.retention import retention_image
from bot.kernel.ports import ChatPlatform
from bot.kernel.types import Cohort, Reply
from bot.rules.calendar import Calendar
from bot.rules.health import RETENTION_WEEKS, first_posting_day_of_week, monday

log = logging.getLogger(__name__)

# Who created the demo cohort: nobody to write to.
NOBODY = "studybot-demo"


async def send_health_note(core: Services, cohort: Cohort, day: dt.date, platform: ChatPlatform) -> int:
    """On the cohort's recap day (its first posting day of the week), with its daily post: the note to its
    moderators, once a week; how many messages went out."""
    if not cohort.health or not first_posting_day_of_week(Calendar.of(cohort), day):
        return 0
    if not await core.notices.claim_health_note(cohort.id, monday(day), core.clock.now()):
        return 0
    health = await cohort_health(core, cohort)
    image = await asyncio.to_thread(retention_image, retention_rows(health), RETENTION_WEEKS, cohort.name)
    note = Reply(
        text=f"Your weekly note on cohort `{cohort.name}` "
        f"(turn it off: `/study cohort set {cohort.name} health off`).",
        cards=(health_card(core.catalog, health),),
        images=(image,),
    )
    sent = 0
    moderators = await core.members.granted_moderators(cohort.platform, cohort.workspace_id)
    # Private figures (who is at risk) go to moderators only: those granted, and whoever turned the note on
    # (a platform admin, say) until `cohort revoke` takes their rights; never simply the cohort's creator.
    for user_id in dict.fromkeys([*([cohort.health_by] if cohort.health_by else []), *moderators]):
        if user_id == NOBODY:
            continue
        try:
            await platform.send_direct(user_id, note)
            sent += 1
        except Exception:
            log.warning("could not send the health note of %s to %s", cohort.name, user_id, exc_info=True)
    return sent
