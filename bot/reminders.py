"""Streak reminders: a direct message at a member's chosen local time when their streak is at risk.

At most one a day, only to members who turned them on, only when a streak of at least one day is running
in one of their cohorts and they have not been active today. Each member's day is decided once (a unique
row), whether a reminder went out or not, so several processes or sweeps never send two.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from bot.clock import local_now
from bot.commands import REGISTRY, Arg, ArgKind, UserError, parse_time
from bot.context import Context
from bot.core import Core
from bot.ports import ChatPlatform
from bot.replies import plural
from bot.streaks import DayStatus, summarize
from bot.types import Card, Member, Reply, Style

log = logging.getLogger(__name__)

DEFAULT_REMIND_AT = parse_time("20:00")


@REGISTRY.command(
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
        await ctx.core.store.set_reminder(ctx.member.id, None)
        return Reply(text="🔕 Reminders are off. Turn them back on with `/study remind on`.", ephemeral=True)
    at: dt.time = args.get("time", DEFAULT_REMIND_AT)
    await ctx.core.store.set_reminder(ctx.member.id, at)
    zone = ctx.member.timezone or "your cohort's timezone"
    return Reply(
        text=f"🔔 I'll message you at {at:%H:%M} ({zone}) on days your streak is at risk, at most once a "
        "day. Set your timezone with `/study timezone <Area/City>`.",
        ephemeral=True,
    )


async def send_reminders(core: Core, platforms: Mapping[str, ChatPlatform]) -> int:
    """Decide today's reminder for every member whose reminder time has come; return how many were sent."""
    store, now = core.store, core.clock.now()
    decided = await store.reminders_decided(now.date() - dt.timedelta(days=1))
    sent = 0
    for member in await store.members_with_reminders():
        platform = platforms.get(member.platform)
        if platform is None or member.remind_at is None:
            continue
        if member.timezone and _not_yet(local_now(now, member.timezone), member, decided):
            continue  # the common case, decided without touching the database again
        cohorts = await store.member_cohorts(member.id)
        if not cohorts:
            continue
        local = local_now(now, member.timezone or cohorts[0].timezone)
        if _not_yet(local, member, decided):
            continue
        at_risk = []
        for cohort in cohorts:
            active, excused = await store.member_days(cohort.id, member.id)
            streak = summarize(active, excused, local.date())
            if streak.today is DayStatus.AT_RISK:
                at_risk.append((cohort.name, streak.current))
        if not await store.decide_reminder(member.id, local.date(), bool(at_risk), now):
            continue  # another process decided first
        if at_risk:
            await _send(platform, member, at_risk)
            sent += 1
    return sent


def _not_yet(local: dt.datetime, member: Member, decided: set[tuple[int, dt.date]]) -> bool:
    """Before the member's reminder time, or today's reminder already decided."""
    return member.remind_at is None or local.time() < member.remind_at or (member.id, local.date()) in decided


async def _send(platform: ChatPlatform, member: Member, at_risk: list[tuple[str, int]]) -> None:
    lines = [f"🔥 {plural(days, 'day')} in `{name}`" for name, days in at_risk]
    card = Card(
        "⏰ Your streak is at risk",
        "\n".join(lines)
        + "\n\nAnswer today's challenge (`/study today`) or check in (`/study done`) to keep it.",
        footer="Turn these off with /study remind off",
        style=Style.PRIMARY,
    )
    try:
        await platform.send_direct(member.user_id, Reply(cards=(card,)))
    except Exception:
        log.warning("could not send %s their streak reminder", member.name, exc_info=True)
