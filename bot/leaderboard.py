"""The `leaderboard` command: the cohort's top ten by points, and where the caller stands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.clock import local_date
from bot.commands import REGISTRY, Arg, ArgKind
from bot.context import Context
from bot.types import Card, Reply

TOP = 10
PERIODS = ("week", "month", "all")
MEDALS = ("🥇", "🥈", "🥉")


def period_start(period: str, today: dt.date) -> dt.date | None:
    """The first local date counted in a period: this ISO week's Monday, the 1st of the month, or all time."""
    if period == "week":
        return today - dt.timedelta(days=today.weekday())
    if period == "month":
        return today.replace(day=1)
    return None


@REGISTRY.command(
    "leaderboard",
    "Top 10 of your cohort by points this week, this month or of all time, and your own rank.",
    Arg("period", ArgKind.CHOICE, required=False, choices=PERIODS, help="week (default), month or all"),
    example="/study leaderboard month",
)
async def leaderboard(ctx: Context, args: dict[str, Any]) -> Reply:
    period = args.get("period", "week")
    cohort = await ctx.my_cohort()
    since = period_start(period, local_date(ctx.now, cohort.timezone))
    rows = [r for r in await ctx.core.store.scores(cohort.id, since)]
    title = {"week": "this week", "month": "this month", "all": "all time"}[period]
    ranked = [r for r in rows if r.points > 0]
    lines = []
    for i, row in enumerate(ranked[:TOP]):
        badge = MEDALS[i] if i < len(MEDALS) else f"{i + 1}."
        you = " ← you" if row.member_id == ctx.member.id else ""
        lines.append(f"{badge} {row.name}: {row.points} pts{you}")
    mine = next((i for i, r in enumerate(ranked) if r.member_id == ctx.member.id), None)
    if mine is None:
        footer = "You have no points in this period yet: `/study today` to start."
    else:
        footer = f"You are #{mine + 1} of {len(ranked)} with {ranked[mine].points} pts."
    body = "\n".join(lines) or "Nobody has points in this period yet. Be the first!"
    return Reply(cards=(Card(f"🏆 {cohort.name} leaderboard: {title}", body, footer=footer),))
