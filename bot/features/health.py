"""`cohort stats`: a cohort's health for its moderators, with the retention grid as an image."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.dispatch.context import Context
from bot.dispatch.health import cohort_health, health_card, retention_rows
from bot.images.retention import retention_image
from bot.kernel.registry import Arg, Registry
from bot.kernel.types import Reply
from bot.rules.health import RETENTION_WEEKS

COMMANDS = Registry()


@COMMANDS.command(
    "cohort stats",
    "A cohort's health: members active today and this week, who is at risk, retention, hardest quizzes.",
    Arg("name", help="the cohort"),
    example="/study cohort stats ml-2026",
    moderator=True,
    heavy=True,
)
async def stats(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    health = await cohort_health(ctx.core, cohort)
    image = await asyncio.to_thread(retention_image, retention_rows(health), RETENTION_WEEKS, cohort.name)
    return Reply(cards=(health_card(ctx.core.catalog, health),), images=(image,), ephemeral=True)
