"""Joining and leaving cohorts, and a member's own timezone."""

from __future__ import annotations

from typing import Any

from bot.dispatch.context import Context
from bot.kernel.clock import local_now
from bot.kernel.registry import Arg, ArgKind, Registry, UserError, describe_schedule
from bot.kernel.types import Reply

# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "join",
    "Join a cohort of this server or workspace.",
    Arg("cohort", help="the cohort's name"),
    example="/study join ml-2026",
)
async def join(ctx: Context, args: dict[str, Any]) -> Reply:
    conv = ctx.conversation
    cohort = await ctx.core.cohorts.find_cohort(conv.platform, conv.workspace_id, args["cohort"])
    if cohort is None:
        raise UserError(f"There is no cohort called `{args['cohort']}` here. {await ctx.join_hint([])}")
    if not await ctx.core.cohorts.enrol(cohort.id, ctx.member.id, ctx.now):
        return Reply(text=f"You are already in `{cohort.name}`.", ephemeral=True)
    return Reply(
        text=(
            f"🎉 Welcome to `{cohort.name}`! A challenge is posted {describe_schedule(cohort)}. "
            "See it with `/study today`, and set your timezone with `/study timezone <Area/City>`."
        ),
        ephemeral=True,
    )


@COMMANDS.command(
    "leave",
    "Leave a cohort (your history is kept if you come back).",
    Arg("cohort", required=False, help="the cohort's name; defaults to your current cohort"),
    example="/study leave ml-2026",
)
async def leave(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort(args.get("cohort"))
    await ctx.core.cohorts.unenrol(cohort.id, ctx.member.id)
    await ctx.core.pods.set_pod_optin(cohort.id, ctx.member.id, False, ctx.now)  # a rejoin starts without
    return Reply(text=f"You left `{cohort.name}`. Your points and streak history are kept.", ephemeral=True)


@COMMANDS.command(
    "timezone",
    "Set your timezone, so your day starts and ends at your midnight.",
    Arg("zone", ArgKind.TIMEZONE, help="an IANA timezone such as Europe/Berlin"),
    example="/study timezone Europe/Berlin",
)
async def timezone(ctx: Context, args: dict[str, Any]) -> Reply:
    zone: str = args["zone"]
    await ctx.core.members.set_member_timezone(ctx.member.id, zone)
    here = local_now(ctx.now, zone)
    return Reply(
        text=(
            f"🕒 Your timezone is now {zone} (it is {here:%H:%M} on {here:%a %d %b} there). "
            "Days you were already active keep the dates they had."
        ),
        ephemeral=True,
    )
