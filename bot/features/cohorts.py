"""Cohort commands for moderators: create, configure, pause and resume, post today's challenge, list."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

from bot.catalog.names import find_stage
from bot.catalog.pace import position
from bot.dispatch.context import Context
from bot.dispatch.milestones import milestone_kinds
from bot.kernel.clock import format_duration, local_date
from bot.kernel.ports import Conflict
from bot.kernel.registry import Arg, ArgKind, Registry, UserError, convert, describe_schedule, parse_time
from bot.kernel.replies import error_reply
from bot.kernel.types import Card, Cohort, Field, Reply
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import paused_from, resumed_on, with_weekdays
from bot.rules.milestones import STAGE_PREFIX
from bot.rules.schedule import next_post

# Cohort names go into commands and CSV file names: keep them short, lowercase and typeable.
# \Z, not $: "$" also matches before a final newline, and "ab\n" is not a name.
_NAME = re.compile(r"\A[a-z0-9][a-z0-9_-]{1,31}\Z")
NAME_RULE = "2 to 32 lowercase letters, digits, dashes or underscores, e.g. ml-2026"
DEFAULT_TIME = parse_time("09:00")
# A post later than a day would be yesterday's news.
MAX_CATCHUP_MINUTES = 24 * 60
DEFAULT_DAYS = convert(Arg("days", ArgKind.DAYS), "mon-fri")
# A cohort starts at most this many years before or after today: a typo (9999 for 2026) is refused before
# it is stored, and the schedule never reasons about dates at the calendar's edge.
START_WINDOW_YEARS = 1
# What `cohort set` can change, and how each value is read.
SETTABLE = {
    "time": ArgKind.TIME,
    "tz": ArgKind.TIMEZONE,
    "days": ArgKind.DAYS,
    "start": ArgKind.DATE,
    "name": ArgKind.WORD,
    "stage": ArgKind.WORD,
    "catchup": ArgKind.WORD,
    "health": ArgKind.WORD,
    "end": ArgKind.WORD,
    "role": ArgKind.REST,
}
_COLUMNS = {"time": "post_time", "tz": "timezone", "days": "weekdays", "start": "start_date", "name": "name"}


# A post goes out a moment after its time, and one the scheduler missed waits for the next minute's sweep: a
# shorter window would skip posts that were barely late (and 0 would skip every post).
MIN_CATCHUP_MINUTES = 5


def parse_window(raw: str) -> int:
    """A catch-up window such as 6h, 90m or 6 (hours), in minutes; 5 minutes to 24 hours."""
    m = re.fullmatch(r"(\d{1,4})\s*(h|m|min)?", raw.strip().lower())
    minutes = (int(m.group(1)) if m.group(2) in ("m", "min") else int(m.group(1)) * 60) if m else -1
    if 0 <= minutes < MIN_CATCHUP_MINUTES:
        least = f"{MIN_CATCHUP_MINUTES}m"
        raise UserError(
            f"`{raw}` is too short for a catch-up window: a post goes out a moment after its time, and one "
            f"missed (say, during a restart) is tried again a minute or two later, so under {least} posts "
            f"would be skipped (at 0, every post). Use {least} to 24h, e.g. 6h; to stop the posts, use "
            "`/study cohort pause <name>`."
        )
    if not 0 <= minutes <= MAX_CATCHUP_MINUTES:
        raise UserError(f"`{raw}` is not a catch-up window: use hours or minutes up to 24h, e.g. 6h or 90m.")
    return minutes


def _years_from(day: dt.date, years: int) -> dt.date:
    """The same date `years` later (or earlier); 29 February becomes the 28th in other years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _check_start(start: dt.date, today: dt.date) -> dt.date:
    """Refuse a start date outside START_WINDOW_YEARS of `today`, saying which dates are allowed."""
    first, last = _years_from(today, -START_WINDOW_YEARS), _years_from(today, START_WINDOW_YEARS)
    if not first <= start <= last:
        raise UserError(
            f"{start.isoformat()} can't be a cohort's start: it must be within a year of today, "
            f"from {first:%Y-%m-%d} to {last:%Y-%m-%d}."
        )
    return start


def _check_end(cohort: Cohort, value: str, today: dt.date) -> dt.date | None:
    """An end date (YYYY-MM-DD, from today to a year after the later of today and the start), or None for
    `off`; say what is allowed otherwise."""
    if value.lower() == "off":
        return None
    end = convert(Arg("end", ArgKind.DATE), value)
    first = max(today, cohort.start_date)
    last = _years_from(first, START_WINDOW_YEARS)
    if not first <= end <= last:
        raise UserError(
            f"{end.isoformat()} can't be the end of `{cohort.name}`: pick a day from {first:%Y-%m-%d} "
            f"(today or its start, whichever is later) to {last:%Y-%m-%d}, or `off`. Nothing was changed."
        )
    return cast(dt.date, end)


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(f"`{name}` can't be a cohort name: use {NAME_RULE}.")
    return name


def _cohort_card(ctx: Context, title: str, cohort: Cohort) -> Card:
    now, catalog = ctx.now, ctx.core.catalog
    upcoming = next_post(cohort, now)
    fields = [
        Field("Posts", describe_schedule(cohort), inline=True),
        Field("Started", f"{cohort.start_date:%Y-%m-%d}", inline=True),
        Field("Next post", f"{upcoming:%a %d %b %H:%M}" if upcoming else "none (paused)", inline=True),
    ]
    here = position(catalog, cohort, local_date(now, cohort.timezone))
    pace = "set by hand" if cohort.stage_id else "by pace"
    week = f"week {here.week + 1} of {here.weeks} ({pace})"
    fields.append(Field("Stage", f"{verbatim(here.stage.title)}, {week}"))
    window = format_duration(dt.timedelta(minutes=cohort.catchup_minutes))
    fields.append(Field("Catch-up", f"missed posts go out up to {window} late", inline=True))
    note = "on: moderators get it on the first posting day" if cohort.health else "off (`health on` sends it)"
    fields.append(Field("Weekly health note", note, inline=True))
    if cohort.end_date is not None:
        ends = "members active in its last week graduate the day after"
        fields.append(Field("Ends", f"{cohort.end_date:%Y-%m-%d}: {ends}", inline=True))
    return Card(title, f"Cohort `{cohort.name}` in this channel.", tuple(fields))


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "cohort create",
    "Create a cohort that lives in this channel.",
    Arg("name", help=NAME_RULE),
    Arg("time", ArgKind.TIME, required=False, key="time", help="post time, HH:MM (default 09:00)"),
    Arg(
        "tz", ArgKind.TIMEZONE, required=False, key="tz", help="timezone, Area/City (default yours, else UTC)"
    ),
    Arg("days", ArgKind.DAYS, required=False, key="days", help="posting days (default mon-fri)"),
    Arg("start", ArgKind.DATE, required=False, key="start", help="first day, YYYY-MM-DD (default today)"),
    example="/study cohort create ml-2026 time=08:30 tz=Europe/Berlin days=mon-fri",
    moderator=True,
)
async def create(ctx: Context, args: dict[str, Any]) -> Reply:
    name = _check_name(args["name"].lower())
    here = await ctx.cohort_here()
    if here is not None:
        raise UserError(
            f"This channel already hosts cohort `{here.name}`; create the new one in another channel."
        )
    tz = args.get("tz") or ctx.member.timezone or "UTC"
    today = local_date(ctx.now, tz)
    start = _check_start(args["start"], today) if args.get("start") else today
    try:
        cohort = await ctx.core.cohorts.create_cohort(
            conversation=ctx.conversation,
            name=name,
            post_time=args.get("time", DEFAULT_TIME),
            timezone=tz,
            weekdays=args.get("days", DEFAULT_DAYS),
            start_date=start,
            created_by=ctx.user.id,
            now=ctx.now,
        )
    except Conflict:
        raise UserError(f"A cohort called `{name}` already exists here; pick another name.") from None
    await ctx.core.cohort_changed(cohort)
    card = _cohort_card(ctx, f"🎓 Cohort {cohort.name} created", cohort)
    return Reply(text=f"Members join with `/study join {cohort.name}`.", cards=(card,))


@COMMANDS.command(
    "cohort set",
    "Change a cohort's time, tz, days, start, name, stage, catchup, health, end date or milestone role.",
    Arg("name", help="the cohort"),
    Arg("field", ArgKind.CHOICE, choices=tuple(SETTABLE), help="what to change"),
    Arg("value", ArgKind.REST, help="the new value (role: a milestone and a role, or off)"),
    example="/study cohort set ml-2026 stage deep-learning",
    moderator=True,
)
async def set_field(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    what = args["field"]
    value = convert(Arg(what, SETTABLE[what]), args["value"])
    if what == "name":
        value = _check_name(str(value).lower())
    if what == "start":
        value = _check_start(value, local_date(ctx.now, cohort.timezone))
    if what == "role":
        return await _set_role(ctx, cohort, str(value))
    if what == "catchup":
        changes: dict[str, object] = {"catchup_minutes": parse_window(str(value))}
    elif what == "health":
        switch = str(value).lower()
        if switch not in ("on", "off"):
            raise UserError(
                f"`health` is on or off (the weekly note to moderators), not `{verbatim(str(value))}`."
            )
        changes = {"health": switch == "on", "health_by": ctx.user.id if switch == "on" else None}
    elif what == "end":
        changes = {"end_date": _check_end(cohort, str(value), local_date(ctx.now, cohort.timezone))}
        changes["graduated_on"] = None  # a new end: its graduation is still to come
    elif what == "stage":
        # Setting a stage by hand restarts the pace from it today; `auto` goes back to the start date's pace.
        auto = str(value).lower() == "auto"
        stage_id = None if auto else find_stage(ctx.core.catalog, str(value)).id
        changes = {
            "stage_id": stage_id,
            "stage_since": None if auto else local_date(ctx.now, cohort.timezone),
        }
    else:
        changes = {_COLUMNS[what]: value}
    try:
        if what == "days":
            # Past days keep the weekdays of their time: the change holds from today (the cohort's date) on.
            today = local_date(ctx.now, cohort.timezone)
            days = cast(frozenset[int], value)
            updated = await ctx.core.cohorts.change_cohort(
                cohort.id, lambda now: {"weekdays": days, "history": with_weekdays(now, days, today)}
            )
        else:
            updated = await ctx.core.cohorts.update_cohort(cohort.id, **changes)
    except Conflict:
        raise UserError(f"A cohort called `{value}` already exists here; pick another name.") from None
    await ctx.core.cohort_changed(updated)
    return Reply(cards=(_cohort_card(ctx, f"⚙️ Cohort {updated.name} updated", updated),))


# A role as Discord writes it in a message (<@&123>) or its id.
_ROLE = re.compile(r"^(?:<@&(\d{5,20})>|(\d{5,20}))$")


async def _set_role(ctx: Context, cohort: Cohort, value: str) -> Reply:
    """`role <milestone> <role>`: a Discord role given when a member reaches the milestone; `off` stops it."""
    parts = value.split()
    kinds = milestone_kinds(ctx.core.catalog)
    if len(parts) != 2 or parts[0].lower() not in kinds:
        shown = ", ".join(k for k in kinds if not k.startswith(STAGE_PREFIX))
        raise UserError(
            f"Say a milestone and a role: `/study cohort set {cohort.name} role streak-30 @Role` (or `off`). "
            f"Milestones: {shown}, and stage:<stage id>."
        )
    kind, role = parts[0].lower(), parts[1]
    if cohort.platform != "discord":
        raise UserError(
            f"Roles are given on Discord; on {cohort.platform} a milestone is announced in the channel. "
            "Nothing was changed."
        )
    if role.lower() == "off":
        await ctx.core.notices.set_milestone_role(cohort.id, kind, None, ctx.user.id)
        return Reply(text=f"No role is given for `{kind}` in {cohort.name} any more.", ephemeral=True)
    match = _ROLE.match(role)
    if match is None:
        raise UserError(
            f"`{verbatim(role)}` is not a role: mention it (@Role) or give its id. Nothing was changed."
        )
    role_id = match.group(1) or match.group(2)
    await ctx.core.notices.set_milestone_role(cohort.id, kind, role_id, ctx.user.id)
    return Reply(
        text=(
            f"Members of {cohort.name} who reach `{kind}` from now on get role {role_id}. studybot needs "
            "the Manage Roles permission, with its own role above that one; if Discord refuses, you are told "
            "once."
        ),
        ephemeral=True,
    )


class _Unchanged(Exception):
    """The cohort already is as asked: nothing to write."""


async def _set_paused(ctx: Context, name: str, paused: bool) -> Reply:
    cohort = await ctx.named_cohort(name)
    already = Reply(text=f"`{cohort.name}` is already {'paused' if paused else 'running'}.", ephemeral=True)
    # From today (the cohort's date): a pause makes today a rest day, a resume makes it a posting day again.
    today = local_date(ctx.now, cohort.timezone)

    def change(now: Cohort) -> dict[str, object]:
        # Decided on the row as it is inside the transaction: two moderators pausing at once open one pause.
        if now.paused == paused:
            raise _Unchanged
        return {"paused": paused, "history": (paused_from if paused else resumed_on)(now, today)}

    try:
        updated = await ctx.core.cohorts.change_cohort(cohort.id, change)
    except _Unchanged:
        return already
    await ctx.core.cohort_changed(updated)
    verb = "⏸️ paused: no posts until it is resumed" if paused else "▶️ resumed"
    return Reply(cards=(_cohort_card(ctx, f"Cohort {updated.name} {verb}", updated),))


@COMMANDS.command(
    "cohort pause",
    "Stop a cohort's daily posts.",
    Arg("name"),
    example="/study cohort pause ml-2026",
    moderator=True,
)
async def pause(ctx: Context, args: dict[str, Any]) -> Reply:
    return await _set_paused(ctx, args["name"], True)


@COMMANDS.command(
    "cohort resume",
    "Start a paused cohort's posts again.",
    Arg("name"),
    example="/study cohort resume ml-2026",
    moderator=True,
)
async def resume(ctx: Context, args: dict[str, Any]) -> Reply:
    return await _set_paused(ctx, args["name"], False)


@COMMANDS.command(
    "cohort post",
    "Post today's challenge now if it has not gone out (a day skipped while studybot was down).",
    Arg("name"),
    example="/study cohort post ml-2026",
    moderator=True,
)
async def post_today(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    if ctx.core.poster is None:  # no scheduler in this process (a tool, a test)
        return error_reply(
            f"Nothing was posted: this studybot process is not connected to {cohort.platform}."
        )
    return await ctx.core.poster.post_now(cohort)


@COMMANDS.command(
    "cohort list", "List this server's or workspace's cohorts.", example="/study cohort list", moderator=True
)
async def list_cohorts(ctx: Context, _: dict[str, Any]) -> Reply:
    conv = ctx.conversation
    cohorts = await ctx.core.cohorts.list_cohorts(conv.platform, conv.workspace_id)
    if not cohorts:
        return Reply(text="No cohorts yet. Create one with `/study cohort create <name>`.", ephemeral=True)
    counts = await ctx.core.cohorts.member_counts(conv.platform, conv.workspace_id)
    lines = []
    for c in cohorts:
        count = counts.get(c.id, 0)
        lines.append(f"• `{c.name}`: {describe_schedule(c)}, {count} member{'s' if count != 1 else ''}")
    return Reply(cards=(Card("Cohorts", "\n".join(lines)),), ephemeral=True)
