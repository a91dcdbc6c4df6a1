"""The `leaderboard` command: the cohort's top ten by points, and where the caller stands.

Read from running totals kept with the ledger (storage's `points`), so a cohort of 100,000 costs what a
cohort of ten does. Places and medals follow bot/rules/ranking.py, as the weekly recap does."""

from __future__ import annotations

from typing import Any

from bot.dispatch.context import Context
from bot.kernel.clock import local_date
from bot.kernel.registry import Arg, ArgKind, Registry
from bot.kernel.replies import plural
from bot.kernel.types import Card, Reply
from bot.rules.ranking import placings

TOP = 10
PERIODS = ("week", "month", "all")
# Rows read from the top of the totals. The store orders equal points by member id, so members tied for the
# last places shown are read too and the board's own rule (by name) picks who is shown. A bigger tie for
# 10th place is said on the board; reading every tied member costs a few ms more per hundred of them.
LEADERS_READ = 30
SPANS = {"week": "this week", "month": "this month", "all": "so far"}


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "leaderboard",
    "Top 10 of your cohort by points this week, this month or of all time, and your own rank.",
    Arg("period", ArgKind.CHOICE, required=False, choices=PERIODS, help="week (default), month or all"),
    example="/study leaderboard month",
)
async def leaderboard(ctx: Context, args: dict[str, Any]) -> Reply:
    period = args.get("period", "week")
    cohort = await ctx.my_cohort()
    today = local_date(ctx.now, cohort.timezone)
    board = await ctx.core.activity.standing(cohort.id, period, today, ctx.member.id, LEADERS_READ)
    span = SPANS[period]
    shown = placings(board.top, TOP)
    lines = [place.line() + (" ← you" if place.row.member_id == ctx.member.id else "") for place in shown]
    last = board.top[-1].points if board.top else 0
    if len(board.top) == LEADERS_READ and shown and shown[-1].row.points == last:
        lines.append(f"… and more members with {last} pts")  # not all of them read: see LEADERS_READ
    # The count is of members with points in the period, not of the cohort (`cohort list` counts those).
    if board.rank is None:
        footer = f"You have no points {span}: `/study today` to start."
    else:
        footer = (
            f"You have {board.points} pts: #{board.rank} of the "
            f"{plural(board.ranked, 'member')} with points {span}."
        )
    body = "\n".join(lines) or f"Nobody has points {span}. Be the first!"
    title = {"week": "this week", "month": "this month", "all": "all time"}[period]
    return Reply(cards=(Card(f"🏆 {cohort.name} leaderboard: {title}", body, footer=footer),))
