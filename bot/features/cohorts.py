"""Moderator commands: create, configure, pause, excuse a day, export, and grant moderator rights."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import aclosing
from typing import Any, cast

from bot.catalog.names import find_stage
from bot.catalog.pace import position
from bot.dispatch.context import Context
from bot.dispatch.members import find_member
from bot.kernel.clock import format_duration, local_date
from bot.kernel.ports import Conflict
from bot.kernel.registry import Arg, ArgKind, Registry, UserError, convert, describe_schedule, parse_time
from bot.kernel.replies import error_reply
from bot.kernel.types import Activity, Attachment, Card, Cohort, Excusal, Field, Member, Reply, ScoreRow
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar, paused_from, resumed_on, with_weekdays
from bot.rules.schedule import next_post
from bot.rules.streaks import summarize

# Cohort names go into commands and CSV file names: keep them short, lowercase and typeable.
# \Z, not $: "$" also matches before a final newline, and "ab\n" is not a name.
_NAME = re.compile(r"\A[a-z0-9][a-z0-9_-]{1,31}\Z")
NAME_RULE = "2 to 32 lowercase letters, digits, dashes or underscores, e.g. ml-2026"
# The audit trail keeps a sentence, not an essay (and the column is sized for it).
MAX_REASON_CHARS = 500
DEFAULT_TIME = parse_time("09:00")
# A post later than a day would be yesterday's news.
MAX_CATCHUP_MINUTES = 24 * 60
DEFAULT_DAYS = convert(Arg("days", ArgKind.DAYS), "mon-fri")
# A cohort starts at most this many years before or after today: a typo (9999 for 2026) is refused before
# it is stored, and the schedule never reasons about dates at the calendar's edge.
START_WINDOW_YEARS = 1
# A spreadsheet reads a cell starting with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What `cohort set` can change, and how each value is read.
SETTABLE = {
    "time": ArgKind.TIME,
    "tz": ArgKind.TIMEZONE,
    "days": ArgKind.DAYS,
    "start": ArgKind.DATE,
    "name": ArgKind.WORD,
    "stage": ArgKind.WORD,
    "catchup": ArgKind.WORD,
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


def _csv_cell(value: object) -> object:
    """`value` safe to open in a spreadsheet: text that would start a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


MEMBERS_HEADER: list[object] = [
    "member",
    "user_id",
    "timezone",
    "current_streak",
    "longest_streak",
    "freezes",
    "points",
    "answers",
    "correct",
    "checkins",
]
LEDGER_HEADER: list[object] = [
    "local_date",
    "member",
    "user_id",
    "kind",
    "challenge_post",
    "choice",
    "correct",
    "points",
    "note",
]
# Ledger entries per page of an export: a page's rows cost a few milliseconds to write (on a thread) and a
# megabyte or so of objects, so a year of a thousand members never sits in memory whole.
EXPORT_PAGE = 2_000
_NO_DAYS: tuple[frozenset[dt.date], frozenset[dt.date]] = (frozenset(), frozenset())


def _csv_row(values: list[object]) -> list[object]:
    return [_csv_cell(v) for v in values]


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
    week = f"week {here.week + 1} of {here.stage.weeks} ({pace})"
    fields.append(Field("Stage", f"{verbatim(here.stage.title)}, {week}"))
    window = format_duration(dt.timedelta(minutes=cohort.catchup_minutes))
    fields.append(Field("Catch-up", f"missed posts go out up to {window} late", inline=True))
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
    "Change a cohort's time, tz, days, start, name, stage (an id, or auto) or catchup window (e.g. 6h).",
    Arg("name", help="the cohort"),
    Arg("field", ArgKind.CHOICE, choices=tuple(SETTABLE), help="what to change"),
    Arg("value", help="the new value"),
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
    if what == "catchup":
        changes: dict[str, object] = {"catchup_minutes": parse_window(str(value))}
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


@COMMANDS.command(
    "cohort fix",
    "Excuse a member's missed day (recorded with who and why).",
    Arg("name", help="the cohort"),
    Arg("member", help="a mention, user id or name"),
    Arg("date", ArgKind.DATE, help="the missed day, YYYY-MM-DD"),
    Arg("reason", ArgKind.REST, help="why it is excused"),
    example="/study cohort fix ml-2026 @ada 2026-11-20 server outage",
    moderator=True,
)
async def fix(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    member = await find_member(ctx.core.members, ctx.conversation, args["member"], cohort.id)
    day: dt.date = args["date"]
    reason: str = args["reason"]
    name = verbatim(member.name)
    if len(reason) > MAX_REASON_CHARS:
        raise UserError(f"Keep the reason under {MAX_REASON_CHARS} characters (yours has {len(reason)}).")
    # Every bound is checked before anything is stored: a day in the future, before the cohort began, or
    # in year 1 (a typo of 2026) has nothing to excuse and would make every streak fold walk centuries.
    if day > ctx.member_today(cohort, member):
        raise UserError(f"{day.isoformat()} is in the future for {name}; only past days can be excused.")
    if day < cohort.start_date:
        raise UserError(
            f"{day.isoformat()} is before cohort `{cohort.name}` started ({cohort.start_date:%Y-%m-%d}); "
            "only days since its start can be excused."
        )
    active, _ = await ctx.core.activity.member_days(cohort.id, member.id)
    if day in active:
        raise UserError(f"{name} was active on {day:%Y-%m-%d}; there is nothing to excuse.")
    joined = await ctx.core.cohorts.joined_at(cohort.id, member.id)
    since = [*active, local_date(joined, ctx.member_timezone(cohort, member))] if joined else [*active]
    first = min(since, default=day)
    # Before a member joined there is nothing to excuse; history from an earlier membership still counts.
    if day < first:
        raise UserError(
            f"{day.isoformat()} is before {name} joined `{cohort.name}` ({first:%Y-%m-%d}); "
            "only days since then can be excused."
        )
    excusal = Excusal(member.id, cohort.id, day, reason, ctx.user.id, ctx.now)
    try:
        await ctx.core.activity.add_excusal(excusal)
    except Conflict:
        raise UserError(f"{day:%Y-%m-%d} is already excused for {name}.") from None
    return Reply(
        text=f"✔️ Excused {day:%a %d %b %Y} for {name}: {verbatim(reason)} (by {verbatim(ctx.user.name)})."
    )


@COMMANDS.command(
    "cohort export",
    "Download CSVs of members (streaks, points) and of every answer and check-in.",
    Arg("name", help="the cohort"),
    example="/study cohort export ml-2026",
    moderator=True,
    heavy=True,
)
async def export(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    members = await ctx.core.cohorts.cohort_members(cohort.id)
    scores = await ctx.core.activity.scores(cohort.id)
    days = await ctx.core.activity.cohort_days(cohort.id)
    # A thousand members' streak folds and their rows are CPU work: on a thread, not the event loop.
    people = await asyncio.to_thread(_members_csv, cohort, members, scores, days, ctx.now)
    del days  # a year of a thousand members' days: not held while the ledger is written
    ledger = _CsvBytes()
    await asyncio.to_thread(ledger.write, [LEDGER_HEADER])
    async with aclosing(ctx.core.activity.ledger_pages(cohort.id, EXPORT_PAGE)) as pages:
        async for page in pages:
            await asyncio.to_thread(ledger.write, map(_ledger_row, page))
    files = (
        Attachment(f"{cohort.name}-members.csv", people, "text/csv"),
        Attachment(f"{cohort.name}-activity.csv", await asyncio.to_thread(ledger.close), "text/csv"),
    )
    return Reply(
        text=f"📦 Export of `{cohort.name}`: {len(members)} members.", attachments=files, ephemeral=True
    )


class _CsvBytes:
    """CSV rows written straight into UTF-8 bytes: no intermediate text of the whole file to copy."""

    def __init__(self) -> None:
        self._bytes = io.BytesIO()
        # newline="": the csv module writes its own \r\n line ends, which must reach the bytes unchanged.
        self._text = io.TextIOWrapper(self._bytes, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text)

    def write(self, rows: Iterable[list[object]]) -> None:
        self._csv.writerows(_csv_row(r) for r in rows)

    def close(self) -> bytes:
        """The file's bytes; nothing more can be written."""
        self._text.flush()
        self._text.detach()  # else closing the text layer (when it is collected) would close the bytes
        return self._bytes.getvalue()


def _members_csv(
    cohort: Cohort,
    members: list[Member],
    rows: Sequence[ScoreRow],
    days: Mapping[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]],
    now: dt.datetime,
) -> bytes:
    """The members file: each member's streak (as of their own today) and points, by name."""
    scores = {s.member_id: s for s in rows}
    out = _CsvBytes()
    out.write([MEMBERS_HEADER])
    calendar = Calendar.of(cohort)
    for m in sorted(members, key=lambda m: m.name.casefold()):
        active, excused = days.get(m.id, _NO_DAYS)
        today = local_date(now, m.timezone or cohort.timezone)
        s = summarize(active, excused, today, calendar.with_breaks(m.breaks))
        sc = scores.get(m.id)
        out.write(
            [
                [
                    m.name,
                    m.user_id,
                    m.timezone or cohort.timezone,
                    s.current,
                    s.longest,
                    s.freezes,
                    sc.points if sc else 0,
                    sc.answers if sc else 0,
                    sc.correct if sc else 0,
                    sc.checkins if sc else 0,
                ]
            ]
        )
    return out.close()


def _ledger_row(entry: tuple[Activity, str | None, str | None]) -> list[object]:
    a, name, user_id = entry
    return [
        a.local_date.isoformat(),
        name if name is not None else a.member_id,
        user_id if user_id is not None else "",
        a.kind.value,
        a.post_id or "",
        a.choice or "",
        "" if a.correct is None else a.correct,
        a.points,
        a.note,
    ]


@COMMANDS.command(
    "cohort grant",
    "Make a member a moderator of this server or workspace.",
    Arg("member", help="a mention, user id or name"),
    example="/study cohort grant @ada",
    moderator=True,
)
async def grant(ctx: Context, args: dict[str, Any]) -> Reply:
    member = await _known_member(ctx, args["member"])
    conv = ctx.conversation
    if not await ctx.core.members.grant_moderator(
        conv.platform, conv.workspace_id, member.user_id, ctx.user.id, ctx.now
    ):
        return Reply(text=f"{verbatim(member.name)} is already a moderator.", ephemeral=True)
    return Reply(text=f"🛡️ {verbatim(member.name)} is now a moderator (granted by {verbatim(ctx.user.name)}).")


@COMMANDS.command(
    "cohort revoke",
    "Take granted moderator rights away again.",
    Arg("member", help="a mention, user id or name"),
    example="/study cohort revoke @ada",
    moderator=True,
)
async def revoke(ctx: Context, args: dict[str, Any]) -> Reply:
    member = await _known_member(ctx, args["member"])
    conv = ctx.conversation
    if not await ctx.core.members.revoke_moderator(conv.platform, conv.workspace_id, member.user_id):
        raise UserError(f"{verbatim(member.name)} has no granted moderator rights here.")
    return Reply(text=f"{verbatim(member.name)} is no longer a moderator.")


async def _known_member(ctx: Context, query: str) -> Member:
    """A member of any cohort in this workspace, named by mention, id or name."""
    conv = ctx.conversation
    return await find_member(ctx.core.members, conv, query)
