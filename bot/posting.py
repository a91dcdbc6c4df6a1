"""Daily posts: find the cohorts whose post is due, claim the day, send, record the message id.

The scheduler and the console's `:post` both call `run_due_posts`, so there is one code path.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from bot.challenges import challenge_card, pick_challenge
from bot.core import Core
from bot.ports import ChatPlatform
from bot.schedule import is_due
from bot.types import Cohort, Post, Reply

log = logging.getLogger(__name__)


async def post_day(core: Core, cohort: Cohort, day: dt.date, platform: ChatPlatform) -> Post | None:
    """Claim (cohort, day) and post its challenge; None when the day was already claimed."""
    store = core.store
    used = await store.used_challenges(cohort.id)
    challenge = pick_challenge(core.catalog, cohort, day, used)
    post = await store.claim_post(cohort.id, day, challenge.id, core.clock.now())
    if post is None:
        return None
    card, buttons = challenge_card(core.catalog, cohort, post)
    message_id = await platform.send(
        cohort.conversation, Reply(cards=(card,), buttons=buttons), key=f"post-{post.id}"
    )
    await store.set_post_message(post.id, message_id)
    log.info("posted %s for cohort %s on %s as %s", challenge.id, cohort.name, day, message_id)
    return Post(post.id, post.cohort_id, post.local_date, post.challenge_id, message_id)


async def run_due_posts(core: Core, platforms: Mapping[str, ChatPlatform]) -> list[Post]:
    """Post every cohort whose challenge is due now and not yet claimed, on the cohort's platform."""
    now = core.clock.now()
    posted: list[Post] = []
    for cohort in await core.store.list_cohorts():
        day = is_due(cohort, now)
        platform = platforms.get(cohort.platform)
        if day is None or platform is None:
            continue
        if await core.store.post_for_day(cohort.id, day) is not None:
            continue
        post = await post_day(core, cohort, day, platform)
        if post is not None:
            posted.append(post)
    return posted
