"""The `leaderboard` command: the cohort's top ten by points, and where the caller stands.

Read from running totals kept with the ledger (storage's `points`), so a cohort of 100,000 costs what a
cohort of ten does."""

from __future__ import annotations

from typing import Any

from bot.clock import local_date
from bot.commands import REGISTRY, Arg, ArgKind
from bot.context import Context
from bot.types import Card, Reply
from bot.untrusted import verbatim

TOP = 10
PERIODS = ("week", "month", "all")
MEDALS = ("🥇", "🥈", "🥉")


@REGISTRY.command(
    "leaderboard",
    "Top 10 of your cohort by points this week, this month or of all time, and your own rank.",
    Arg("period", ArgKind.CHOICE, required=False, choices=PERIODS, help="week (default), month or all"),
    example="/study leaderboard month",
)
async def leaderboard(ctx: Context, args: dict[str, Any]) -> Reply:
    period = args.get("period", "week")
    cohort = await ctx.my_cohort()
    today = local_date(ctx.now, cohort.timezone)
    board = await ctx.core.store.standing(cohort.id, period, today, ctx.member.id, TOP)
    title = {"week": "this week", "month": "this month", "all": "all time"}[period]
    lines = []
    for i, row in enumerate(board.top):
        badge = MEDALS[i] if i < len(MEDALS) else f"{i + 1}."
        you = " ← you" if row.member_id == ctx.member.id else ""
        lines.append(f"{badge} {verbatim(row.name)}: {row.points} pts{you}")
    if board.rank is None:
        footer = "You have no points in this period yet: `/study today` to start."
    else:
        footer = f"You are #{board.rank} of {board.ranked} with {board.points} pts."
    body = "\n".join(lines) or "Nobody has points in this period yet. Be the first!"
    return Reply(cards=(Card(f"🏆 {cohort.name} leaderboard: {title}", body, footer=footer),))
