"""`/study remind`: turn a streak reminder on (at a local time) or off; jobs/reminders.py sends them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.dispatch.context import Context
from bot.kernel.registry import Arg, ArgKind, Registry, UserError, parse_time
from bot.kernel.types import Reply

DEFAULT_REMIND_AT = parse_time("20:00")


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "remind",
    "Turn on a daily reminder when your streak is at risk (default 20:00 your time), or turn it off.",
    Arg("switch", ArgKind.CHOICE, choices=("on", "off"), help="on or off"),
    Arg("time", ArgKind.TIME, required=False, help="when, HH:MM in your timezone (default 20:00)"),
    example="/study remind on 21:30",
)
async def remind(ctx: Context, args: dict[str, Any]) -> Reply:
    if args["switch"] == "off":
        if "time" in args:
            raise UserError("`remind off` takes no time.")
        await ctx.core.notices.set_reminder(ctx.member.id, None)
        return Reply(text="🔕 Reminders are off. Turn them back on with `/study remind on`.", ephemeral=True)
    at: dt.time = args.get("time", DEFAULT_REMIND_AT)
    mine = [c for c in await ctx.core.cohorts.member_cohorts(ctx.member.id) if ctx.in_this_workspace(c)]
    if not mine:
        # A reminder watches a streak, and streaks live in cohorts: with none, it could never be sent.
        raise UserError(
            "Reminders warn you when your streak in a cohort is at risk, and you have not joined a cohort "
            f"here yet, so I turned nothing on. {await ctx.join_hint(mine)}"
        )
    await ctx.core.notices.set_reminder(ctx.member.id, at)
    zone = ctx.member.timezone or "your cohort's timezone"
    return Reply(
        text=f"🔔 I'll message you at {at:%H:%M} ({zone}) on days your streak is at risk, at most once a "
        "day. Set your timezone with `/study timezone <Area/City>`.",
        ephemeral=True,
    )
