"""Rest days on purpose: a member's own break, and a cohort's holidays (no post, a rest day for everyone)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.dispatch.context import Context
from bot.kernel.clock import local_date
from bot.kernel.registry import Arg, ArgKind, Registry, UserError, parse_date
from bot.kernel.replies import plural
from bot.kernel.types import CalendarHistory, Card, Cohort, DaySpan, Reply, SpanKind, Style
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar

ONE_DAY = dt.timedelta(days=1)
# Two weeks of rest in any 90 days: enough for an exam, an illness or a holiday, too little to coast on.
MAX_BREAK_DAYS = 14
BREAK_WINDOW_DAYS = 90
# A holiday is a few days to a summer break; longer is a pause. Bounded so a typo cannot blank a year.
MAX_HOLIDAY_DAYS = 92
# Holidays are planned within a year either way; a past one may be declared (an outage forgiven for all).
HOLIDAY_REACH = dt.timedelta(days=366)
# Enough for every public holiday of a year, twice over; the history travels with every cohort read.
# Counted over the holidays within HOLIDAY_REACH of today, so the history grows by at most this a year.
MAX_HOLIDAYS = 60
MAX_LABEL_CHARS = 60


def _last(span: DaySpan) -> dt.date:
    """A span's last day; an open span (a pause not resumed) lasts to the end of the calendar."""
    return dt.date.max if span.last is None else span.last


def _span_text(first: dt.date, last: dt.date) -> str:
    if first == last:
        return f"{first:%a %d %b %Y}"
    return f"{first:%a %d %b} to {last:%a %d %b %Y}"


def _used(breaks: tuple[DaySpan, ...], upto: dt.date) -> int:
    """Break days in the BREAK_WINDOW_DAYS ending on `upto`."""
    since = upto - dt.timedelta(days=BREAK_WINDOW_DAYS - 1)
    total = 0
    for b in breaks:
        last = min(b.last or upto, upto)
        first = max(b.first, since)
        total += max(0, (last - first).days + 1)
    return total


def _fits(breaks: tuple[DaySpan, ...], new: DaySpan) -> bool:
    """Whether every 90-day window that holds a day of `new` keeps to MAX_BREAK_DAYS."""
    together = (*breaks, new)
    day = new.first
    while day <= _last(new):
        if _used(together, day) > MAX_BREAK_DAYS:
            return False
        day += ONE_DAY
    return True


def _current_break(breaks: tuple[DaySpan, ...], today: dt.date) -> DaySpan | None:
    """The member's break that holds today or starts later, if any."""
    return next((b for b in breaks if b.last is None or b.last >= today), None)


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "break",
    "Rest your streak for a few days (up to 14 in any 90 days); only you are told. `break off` ends it.",
    Arg("days", required=False, usage="[days|off]", help="how many days from today, or off"),
    example="/study break 3",
)
async def take_break(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    member = ctx.member
    today = ctx.member_today(cohort)
    breaks = member.breaks
    now_on = _current_break(breaks, today)
    raw = str(args.get("days", "")).strip().lower()
    if not raw:
        return _break_status(breaks, now_on, today)
    if raw == "off":
        if now_on is None:
            raise UserError("You are not on a break. `/study break <days>` starts one.")
        kept = tuple(b for b in breaks if b is not now_on)
        if now_on.first < today:
            kept = (*kept, DaySpan(now_on.first, today - ONE_DAY, SpanKind.BREAK))
        await ctx.core.members.set_breaks(member.id, tuple(sorted(kept, key=lambda b: b.first)))
        return Reply(
            text="👋 Welcome back: your break is over and today counts again. Answer or check in to go on.",
            ephemeral=True,
        )
    # isdecimal, not isdigit: int() reads any script's decimal digits (a full-width ３) but not a ² or a ①.
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_BREAK_DAYS:
        raise UserError(
            f"`{verbatim(raw[:20])}` is not a number of days: use 1 to {MAX_BREAK_DAYS}, "
            "e.g. `/study break 3`, or `/study break off`."
        )
    if now_on is not None:
        raise UserError(
            f"You are already on a break until {_last(now_on):%a %d %b}. "
            "End it with `/study break off` first."
        )
    days = int(raw)
    new = DaySpan(today, today + dt.timedelta(days=days - 1), SpanKind.BREAK)
    if not _fits(breaks, new):
        room = max(
            (
                k
                for k in range(1, days)
                if _fits(breaks, DaySpan(today, today + dt.timedelta(k - 1), SpanKind.BREAK))
            ),
            default=0,
        )
        used = _used(breaks, today)
        raise UserError(
            f"That is more than {MAX_BREAK_DAYS} break days in {BREAK_WINDOW_DAYS}: you took "
            f"{plural(used, 'day')} in the last {BREAK_WINDOW_DAYS}, so you can take "
            f"{plural(room, 'day')} now. Nothing was changed."
        )
    await ctx.core.members.set_breaks(member.id, (*breaks, new))
    return Reply(
        cards=(
            Card(
                f"🌙 On a break: {_span_text(new.first, _last(new))}",
                f"Your streaks rest for {plural(days, 'day')}: missing them breaks nothing, and anything you "
                "do still counts. Nobody else is told. `/study break off` ends it early.",
                style=Style.NEUTRAL,
            ),
        ),
        ephemeral=True,
    )


def _break_status(breaks: tuple[DaySpan, ...], now_on: DaySpan | None, today: dt.date) -> Reply:
    left = max(0, MAX_BREAK_DAYS - _used(breaks, today))
    if now_on is not None and now_on.last is not None:
        text = f"🌙 You are on a break until {now_on.last:%a %d %b}. `/study break off` ends it early."
    else:
        text = (
            f"You are not on a break. You can rest your streak for up to {plural(left, 'day')} now "
            f"({MAX_BREAK_DAYS} in any {BREAK_WINDOW_DAYS}): `/study break 3` starts a 3-day break today."
        )
    return Reply(text=text, ephemeral=True)


def _parse_range(raw: str) -> tuple[dt.date, dt.date]:
    first_raw, sep, last_raw = raw.partition("..")
    first = parse_date(first_raw)
    last = parse_date(last_raw) if sep else first
    if last < first:
        raise UserError(
            f"{last.isoformat()} is before {first.isoformat()}: give the first day, then the last."
        )
    if (last - first).days + 1 > MAX_HOLIDAY_DAYS:
        raise UserError(
            f"A holiday is at most {MAX_HOLIDAY_DAYS} days; for longer, pause the cohort "
            "(`/study cohort pause <name>`)."
        )
    return first, last


def _holidays(cohort: Cohort) -> list[DaySpan]:
    return sorted((s for s in cohort.history.spans if s.kind is SpanKind.HOLIDAY), key=lambda s: s.first)


def _others(cohort: Cohort, drop: DaySpan | None = None, add: DaySpan | None = None) -> CalendarHistory:
    spans = tuple(s for s in cohort.history.spans if s != drop) + ((add,) if add else ())
    return CalendarHistory(cohort.history.eras, spans)


@COMMANDS.command(
    "cohort holiday",
    "Declare holidays: no post, and a rest day for everyone's streak.",
    Arg("name", help="the cohort"),
    Arg("dates", usage="YYYY-MM-DD[..YYYY-MM-DD]", help="one day, or the first and last day"),
    Arg("label", ArgKind.REST, required=False, help="what it is, e.g. winter break"),
    example="/study cohort holiday ml-2026 2026-12-24..2026-12-26 winter break",
    moderator=True,
)
async def add_holiday(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    first, last = _parse_range(args["dates"])
    # One line: a line break in a label would forge a line of its own in `cohort holidays`.
    label = " ".join(str(args.get("label", "")).split())
    if len(label) > MAX_LABEL_CHARS:
        raise UserError(f"Keep the label under {MAX_LABEL_CHARS} characters (yours has {len(label)}).")
    today = local_date(ctx.now, cohort.timezone)
    if first < today - HOLIDAY_REACH or last > today + HOLIDAY_REACH:
        raise UserError("Holidays go within a year of today, either way. Check the year you typed.")
    new = DaySpan(first, last, SpanKind.HOLIDAY, label)

    def change(now: Cohort) -> dict[str, object]:
        holidays = _holidays(now)
        # Only holidays within reach count: one over for a year can neither be removed nor be declared
        # again, so counting it would close the cohort to holidays for good once sixty had passed.
        near = [h for h in holidays if _last(h) >= today - HOLIDAY_REACH]
        if len(near) >= MAX_HOLIDAYS:
            raise UserError(
                f"`{now.name}` has {MAX_HOLIDAYS} holidays within a year of today already; "
                "take back a coming one first (`/study cohort unholiday`)."
            )
        for h in holidays:
            if h.first <= last and first <= _last(h):
                raise UserError(
                    f"That overlaps the holiday {_span_text(h.first, _last(h))}"
                    f"{f' ({verbatim(h.label)})' if h.label else ''}. Nothing was changed."
                )
        return {"history": _others(now, add=new)}

    updated = await ctx.core.cohorts.change_cohort(cohort.id, change)
    await ctx.core.cohort_changed(updated)
    lost = Calendar.of(cohort).count(first, last)
    named = f" ({verbatim(label)})" if label else ""
    return Reply(
        cards=(
            Card(
                f"🏖️ Holiday for {updated.name}: {_span_text(first, last)}{named}",
                f"No posts on these days ({plural(lost, 'posting day')} off), and they are rest days for "
                "everyone's streak. `/study cohort holidays "
                f"{updated.name}` lists them; `/study cohort unholiday {updated.name} {first.isoformat()}` "
                "takes it back.",
                style=Style.SUCCESS,
            ),
        ),
    )


@COMMANDS.command(
    "cohort holidays",
    "List a cohort's holidays.",
    Arg("name", help="the cohort"),
    example="/study cohort holidays ml-2026",
    moderator=True,
)
async def list_holidays(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    holidays = _holidays(cohort)
    if not holidays:
        return Reply(
            text=f"`{cohort.name}` has no holidays. Add one: `/study cohort holiday {cohort.name} <date>`.",
            ephemeral=True,
        )
    today = local_date(ctx.now, cohort.timezone)
    lines = []
    for h in holidays:
        when = "past" if _last(h) < today else "now" if h.first <= today else "coming"
        named = f": {verbatim(h.label)}" if h.label else ""
        lines.append(f"• {_span_text(h.first, _last(h))}{named} ({when})")
    return Reply(cards=(Card(f"🏖️ Holidays of {cohort.name}", "\n".join(lines)),), ephemeral=True)


@COMMANDS.command(
    "cohort unholiday",
    "Take back a holiday that has not begun, or end one that has from today.",
    Arg("name", help="the cohort"),
    Arg("date", ArgKind.DATE, help="any day of the holiday, YYYY-MM-DD"),
    example="/study cohort unholiday ml-2026 2026-12-24",
    moderator=True,
)
async def remove_holiday(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    day: dt.date = args["date"]
    today = local_date(ctx.now, cohort.timezone)
    said: list[str] = []

    def change(now: Cohort) -> dict[str, object]:
        found = next((h for h in _holidays(now) if h.covers(day)), None)
        if found is None:
            raise UserError(
                f"`{now.name}` has no holiday on {day.isoformat()}. See `/study cohort holidays {now.name}`."
            )
        shown = _span_text(found.first, _last(found))
        if _last(found) < today:
            raise UserError(
                f"The holiday {shown} is over; its days stay rest days, as members were told. "
                "Nothing was changed."
            )
        if found.first >= today:
            said.append(f"Holiday {shown} removed: those days post as usual.")
            return {"history": _others(now, drop=found)}
        # Begun: the days before today were rest days and stay so; from today it posts again.
        ended = DaySpan(found.first, today - ONE_DAY, SpanKind.HOLIDAY, found.label)
        said.append(f"Holiday {shown} ended: from today the cohort posts again.")
        return {"history": _others(now, drop=found, add=ended)}

    updated = await ctx.core.cohorts.change_cohort(cohort.id, change)
    await ctx.core.cohort_changed(updated)
    return Reply(text=said[-1])
