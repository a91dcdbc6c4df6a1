"""The `streak` command: current and longest streak, freezes, today's status and a heatmap."""

from __future__ import annotations

from typing import Any

from bot.dispatch.context import Context
from bot.dispatch.members import find_member
from bot.images.heatmap import HEATMAPS, WEEKS, render_heatmap
from bot.kernel.registry import Arg, Registry
from bot.kernel.replies import plural
from bot.kernel.types import Card, Field, Image, Reply, Style
from bot.kernel.untrusted import verbatim
from bot.rules.streaks import MAX_FREEZES, DayStatus, StreakSummary, summarize

STATUS_TEXT = {
    DayStatus.DONE: "✅ done today",
    DayStatus.EXCUSED: "🟨 today is excused",
    DayStatus.AT_RISK: "⚠️ at risk: answer or check in today to keep it",
    DayStatus.NONE: "not started: answer today's challenge to begin",
}


def status_line(s: StreakSummary, rest: str | None, ever_active: bool) -> str:
    """Today's status in words: a rest day says why, and a streak that broke says when, not "not started"."""
    if s.today is DayStatus.REST:
        reason = f" ({rest})" if rest else ""
        return f"🌙 rest day{reason}: nothing is at risk today; anything you do still counts"
    if s.today is DayStatus.NONE and ever_active:
        broke = f"broke on {s.broke_on:%a %d %b} (a posting day with no activity)" if s.broke_on else "ended"
        return (
            f"💤 the last streak {broke}; the longest was {plural(s.longest, 'day')}. "
            "Answer today's challenge to start again"
        )
    return STATUS_TEXT[s.today]


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "streak",
    "Show a streak: current and longest, freezes held, today's status and a 16-week heatmap.",
    Arg("member", required=False, help="whose streak; defaults to yours"),
    example="/study streak",
    heavy=True,
)
async def streak(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    member = ctx.member
    if "member" in args:
        member = await find_member(ctx.core.members, ctx.conversation, args["member"], cohort.id)
    active, excused = await ctx.core.activity.member_days(cohort.id, member.id)
    today = ctx.member_today(cohort, member)
    calendar = ctx.calendar(cohort, member)
    s = summarize(active, excused, today, calendar)
    flame = "🔥" if s.current else "🌱"
    card = Card(
        f"{flame} {verbatim(member.name)}: {plural(s.current, 'day')}",
        status_line(s, calendar.rest_reason(today), bool(active)),
        (
            Field("Current", plural(s.current, "day"), inline=True),
            Field("Longest", plural(s.longest, "day"), inline=True),
            Field("Freezes", f"{s.freezes}/{MAX_FREEZES} 🧊", inline=True),
        ),
        footer=f"Cohort {cohort.name} · every 7 active days earn a freeze that covers a missed day"
        + (" · days on your linked accounts count too" if member.learner_id is not None else ""),
        style=Style.SUCCESS if s.today is DayStatus.DONE else Style.NEUTRAL,
    )
    # Drawn in a worker thread, not on the event loop, or handed out again when this picture was drawn before.
    # render_heatmap is looked up here at each call, so a stand-in for it (bench/) takes effect.
    png = await HEATMAPS.png(today, active, s.frozen, excused, render=render_heatmap)
    image = Image(
        f"streak-{member.user_id}-{today:%Y%m%d}.png",
        png,
        f"Activity of {member.name} over the last {WEEKS} weeks: {len(active)} active days in all",
    )
    return Reply(cards=(card,), images=(image,), ephemeral=True)
