"""Buddy pods for members: opting in or out, and how one's pod is doing today."""

from __future__ import annotations

from typing import Any

from bot.dispatch.context import Context
from bot.dispatch.pods import member_streak, pod_streak
from bot.kernel.clock import local_date
from bot.kernel.registry import Arg, ArgKind, Registry
from bot.kernel.types import Card, Field, Reply, Style
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.health import monday

COMMANDS = Registry()


@COMMANDS.command(
    "pods",
    "Join or leave weekly buddy pods: 2-3 members near your timezone and stage, a shared streak.",
    Arg("switch", ArgKind.CHOICE, choices=("on", "off"), help="on to be grouped each week, off to stop"),
    example="/study pods on",
)
async def pods(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    on = args["switch"] == "on"
    changed = await ctx.core.pods.set_pod_optin(cohort.id, ctx.member.id, on, ctx.now)
    if on:
        text = (
            f"🤝 You are in the buddy pods of {cohort.name}: each week, on its first posting day, you are "
            "grouped with one or two members near your timezone and stage, and told who they are. "
            "`/study pod` shows how your pod is doing."
        )
        if not changed:
            text = f"You are already in the buddy pods of {cohort.name}. `/study pod` shows your pod."
    else:
        text = (
            f"You left the buddy pods of {cohort.name}: no pod from next week."
            if changed
            else f"You were not in the buddy pods of {cohort.name}."
        )
    return Reply(text=text, ephemeral=True)


@COMMANDS.command(
    "pod",
    "Your buddy pod this week: who is in it, who is still to go today, and the pod's streak.",
    example="/study pod",
)
async def pod(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    today = ctx.member_today(cohort)
    week = monday(local_date(ctx.now, cohort.timezone))  # pods are made for the cohort's week
    this_week = (await ctx.core.pods.pods_of_weeks(cohort.id, week)).get(week, [])
    mine = next((p for p in this_week if ctx.member.id in p), None)
    if mine is None:
        opted = ctx.member.id in await ctx.core.pods.pod_optins(cohort.id)
        hint = (
            "Pods are made on the cohort's first posting day of the week, when at least one other member "
            "has opted in; yours comes then."
            if opted
            else "Join them with `/study pods on`."
        )
        return Reply(text=f"You have no buddy pod in {cohort.name} this week. {hint}", ephemeral=True)
    # Only the pod's members still in the cohort, and only their days: never the whole cohort's history.
    here = [m for m in mine if await ctx.core.cohorts.joined_at(cohort.id, m) is not None]
    days = {m: await ctx.core.activity.member_days(cohort.id, m) for m in here}
    members = {m: member for m in here if (member := await ctx.core.members.get_member(m)) is not None}
    lines = []
    for member_id in here:
        member = members.get(member_id)
        if member is None:
            continue
        mine_today = local_date(ctx.now, member.timezone or cohort.timezone)
        done = mine_today in days[member_id][0]
        mark = "✅ done today" if done else "⏳ still to go"
        you = " (you)" if member_id == ctx.member.id else ""
        lines.append(
            f"{verbatim(member.name)}{you}: {mark} · 🔥 {member_streak(member, days, cohort, ctx.now)}"
        )
    streak = pod_streak(tuple(here), days, Calendar.of(cohort), today, week)
    card = Card(
        f"🤝 Your pod in {cohort.name}, week of {week:%d %b}",
        "\n".join(lines),
        (Field("Pod streak", f"{streak} posting day(s) with everyone active", inline=True),),
        footer="A pod day counts when every member of the pod was active.",
        style=Style.PRIMARY,
    )
    return Reply(cards=(card,), ephemeral=True)
