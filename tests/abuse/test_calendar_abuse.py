"""The calendar (breaks, holidays, pauses, weekday changes) as a careless or hostile member or moderator
uses it: odd numbers, markup in labels, a full holiday list, hand-edited rows, and years of toggling.

Each test here failed on the calendar as it first landed (see each docstring for the input), or guards a
documented bound.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import text

from adapters.discord.render import markup
from bot.jobs.posting import Poster
from bot.kernel.types import CalendarHistory, ConversationRef, DaySpan, Invocation, SpanKind
from bot.kernel.untrusted import plain
from bot.rules.calendar import Calendar
from bot.rules.streaks import summarize
from storage.sql_store import SqlStore
from tests.conftest import CHANNEL, Bot, snapshot, text_of

DAY = dt.timedelta(days=1)
# Monday 23 November 2026: the fixture clock's day.
MON = dt.date(2026, 11, 23)
WRONG = "Something went wrong"


def at(bot: Bot, day: dt.date, hour: int = 12) -> None:
    bot.clock.set(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC))


async def cohort(bot: Bot, *members: str, name: str = "ml", where: ConversationRef = CHANNEL) -> None:
    at(bot, MON, 8)
    reply = await bot.say("Mia", f"cohort create {name} tz=UTC", where)  # 09:00, mon-fri, from today
    assert not reply.error, text_of(reply)
    for m in members:
        assert not (await bot.say(m, f"join {name}", where)).error


async def raw(bot: Bot, name: str, line: str) -> str:
    """What Discord would show for `line`: the reply as Discord markdown, member text escaped."""
    reply = await bot.core.dispatch(bot.core.invocation(line, bot.user(name), CHANNEL))
    return "\n".join(markup(t) for t in text_of(reply).split("\n"))


async def moderate(bot: Bot, line: str) -> str:
    """A moderator's command, past the per-member rate limit (a script of them, as a bot would send)."""
    reply = await bot.core.dispatch(bot.core.invocation(line, bot.user("Mia"), CHANNEL), limited=False)
    return text_of(reply) if not reply.error else "ERROR " + text_of(reply)


async def write_column(store: SqlStore, table: str, column: str, value: str, row_id: int) -> None:
    """A hand edit (or an old bug) straight into the database, past every check on the way in."""
    async with store.engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),  # noqa: S608 - the test's own names
            {"v": value, "id": row_id},
        )


# ---- break: odd numbers ----


@pytest.mark.parametrize("days", ["²", "①", "³³", "+3", "3.0", "-1", "0", "15", "9" * 1990, "three"])
async def test_a_break_of_days_that_are_no_whole_number_is_refused_and_changes_nothing(
    bot: Bot, days: str
) -> None:
    """`break ²` and `break ①` passed str.isdigit() and then crashed int(): 'Something went wrong'."""
    await cohort(bot, "Ada")
    before = await snapshot(bot.core.store)  # type: ignore[arg-type]
    reply = await bot.say("Ada", f"break {days}")
    assert reply.error and WRONG not in text_of(reply), text_of(reply)
    assert "is not a number of days: use 1 to 14" in text_of(reply)
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]
    # Digits of another script are digits: a full-width ３ (a Japanese keyboard) is three days.
    taken = await bot.say("Ada", "break ３")
    assert not taken.error and "for 3 days" in text_of(taken), text_of(taken)


async def test_a_refused_break_echoes_backticks_and_markdown_as_typed(bot: Bot) -> None:
    """`break a`**b**` closed the reply's code span early and made the rest bold in Discord."""
    await cohort(bot, "Ada")
    shown = await raw(bot, "Ada", "break a`**b**")
    assert "**b**``" not in shown, shown  # the typed backtick no longer ends the code span
    assert "a\u02cb**b**" in shown or "a\\`\\*\\*b\\*\\*" in shown, shown


# ---- holiday labels: data, never markup ----


async def test_a_holiday_label_with_markdown_and_mentions_is_shown_as_typed_on_the_rest_day(bot: Bot) -> None:
    """The rest day's reason (`today`, `streak`) carried the label as the core's own markup: a label of
    `**party** @everyone <@&1>` came out bold, and as a live mention had the sender allowed any."""
    await cohort(bot, "Ada")
    label = "**party** @everyone <@&1>"
    added = await bot.say("Mia", f"cohort holiday ml 2026-11-24 {label}")
    assert not added.error, text_of(added)
    at(bot, MON + DAY)
    for line in ("today", "streak"):
        shown = await raw(bot, "Ada", line)
        assert "a holiday (\\*\\*party\\*\\* \\@everyone \\<@&1>)" in shown, (line, shown)


async def test_a_holiday_label_is_kept_on_one_line(bot: Bot) -> None:
    """A label sent with a line break (Slack and Discord options can carry one) was stored with it, so
    `cohort holidays` showed a forged line of its own under the real one."""
    await cohort(bot, "Ada")
    forged = "winter\n• Fri 01 Jan 2027: fake (coming)\tend"
    reply = await bot.core.dispatch(
        Invocation("cohort holiday", ("ml", "2026-12-24", forged), bot.user("Mia"), CHANNEL)
    )
    assert not reply.error, text_of(reply)
    listed = plain(text_of(await bot.say("Mia", "cohort holidays ml")))
    assert "winter • Fri 01 Jan 2027: fake (coming) end" in listed, listed
    assert [line for line in listed.split("\n") if line.startswith("•")] == [
        "• Thu 24 Dec 2026: winter • Fri 01 Jan 2027: fake (coming) end (coming)"
    ]


# ---- the holiday cap ----


async def test_old_holidays_never_lock_a_cohort_out_of_new_ones(bot: Bot) -> None:
    """60 holidays in the past filled the cap for good: a new one was refused with 'remove an old one
    first', and `unholiday` refuses a holiday that is over. The cap holds within the year window."""
    await cohort(bot, "Ada")
    for i in range(60):  # every other day of the ten weeks before today, each over
        day = MON - dt.timedelta(days=2 + 2 * i)
        reply = await moderate(bot, f"cohort holiday ml {day.isoformat()} outage {i}")
        assert not reply.startswith("ERROR"), reply
    at(bot, MON + dt.timedelta(days=400))  # a year and more later: those days are out of reach
    coming = await moderate(bot, f"cohort holiday ml {(MON + dt.timedelta(days=420)).isoformat()} new year")
    assert not coming.startswith("ERROR"), coming
    # Within reach, the cap still holds: 59 more make 60, the next one is refused and stores nothing.
    for i in range(59):
        day = MON + dt.timedelta(days=430 + 2 * i)
        assert not (await moderate(bot, f"cohort holiday ml {day.isoformat()}")).startswith("ERROR")
    before = await snapshot(bot.core.store)  # type: ignore[arg-type]
    full = await moderate(bot, f"cohort holiday ml {(MON + dt.timedelta(days=700)).isoformat()}")
    assert full.startswith("ERROR") and "60 holidays" in full and WRONG not in full, full
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]


# ---- hand-edited or corrupted calendar rows ----


BAD_HISTORIES = [
    "{not json",
    "[]",
    '"paused"',
    '{"eras": [["2026-11-01", [7, 9]]], "spans": []}',
    '{"eras": [["2026-13-01", [0]]], "spans": [["2026-11-24", null, "nap", ""]]}',
    '{"eras": 5, "spans": [["2026-11-24"]]}',
    '{"eras": [], "spans": [["2026-11-24", "2026-11-20", "holiday", 7]]}',
]


@pytest.mark.parametrize("bad", BAD_HISTORIES)
async def test_one_cohorts_unreadable_calendar_stops_no_other_cohort_and_none_of_its_own_commands(
    bot: Bot, bad: str
) -> None:
    """A cohort.calendar of `{not json` made every cohort read raise: the sweep posted for no cohort at
    all, and every command of every member failed. Weekday 7 in an era made `streak` crash."""
    other = ConversationRef("console", "ws1", "other")
    await cohort(bot, "Ada", name="bad")
    await cohort(bot, "Bea", name="good", where=other)
    at(bot, MON, 10)
    await bot.say("Ada", "done")
    at(bot, MON + DAY, 10)
    [broken] = [c for c in await bot.core.store.list_cohorts() if c.name == "bad"]
    await write_column(bot.core.store, "cohort", "calendar", bad, broken.id)  # type: ignore[arg-type]
    at(bot, MON + 9 * DAY, 9)  # a week on: a gap long enough to count posting days in
    posts = await bot.post()
    assert any(conv == other for conv, _ in bot.platform.sent), posts
    for line in ("streak", "today", "break", "done"):
        shown = text_of(await bot.say("Ada", line))
        assert WRONG not in shown, (line, shown)
    for line in ("cohort holidays bad", "cohort list", "cohort pause bad", "cohort resume bad"):
        shown = text_of(await bot.say("Mia", line))
        assert WRONG not in shown, (line, shown)
    assert WRONG not in text_of(await bot.say("Bea", "streak", other))


async def test_one_members_unreadable_breaks_stop_no_other_members_reminder(bot: Bot) -> None:
    """A member.breaks of `{oops` made reading that member raise: every reminder of the sweep failed, and
    the member's every command said 'Something went wrong'."""
    await cohort(bot, "Ada", "Bea")
    for name in ("Ada", "Bea"):
        await bot.say(name, "done")
        await bot.say(name, "remind on 20:00")
    ada = next(m for m in await bot.core.store.cohort_members((await bot.core.store.list_cohorts())[0].id))
    await write_column(bot.core.store, "member", "breaks", "{oops", ada.id)  # type: ignore[arg-type]
    at(bot, MON + DAY, 20)
    swept = await Poster(bot.core, {"console": bot.platform}).sweep()
    assert swept.reminded == 2 and not [f for f in swept.failed if f[0] == "reminders"], swept
    for line in ("streak", "break", "break 2", "break off"):
        shown = text_of(await bot.say("Ada", line))
        assert WRONG not in shown, (line, shown)


# ---- cost: years of a moderator toggling ----


@contextmanager
def lines_run_in(*modules: str) -> Iterator[list[int]]:
    """Count the lines Python runs in the given source files: the work done, not a clock."""
    count = [0]
    files = {str(Path(m).resolve()) for m in modules}

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename not in files:
            return None
        if event == "line":
            count[0] += 1
        return tracer

    sys.settrace(tracer)
    try:
        yield count
    finally:
        sys.settrace(None)


def test_a_streak_over_a_cohort_whose_weekdays_changed_daily_for_a_year_costs_its_history_not_more() -> None:
    """Every gap between active days walked every era: a cohort whose weekdays a moderator changed each day
    for a year cost 15 ms a member (150 ms after three years), squared in the history."""
    start = MON - dt.timedelta(days=365)
    eras = tuple((start + i * DAY, frozenset({i % 7, (i + 3) % 7})) for i in range(365))
    calendar = Calendar(start, frozenset(range(5)), CalendarHistory(eras))
    active = {start + i * DAY for i in range(365) if i % 3}
    with lines_run_in("bot/rules/calendar.py", "bot/rules/streaks.py") as lines:
        summarize(active, set(), MON, calendar)
    # Linear in eras plus active days (a few dozen lines each); walking all eras per gap was 400,000.
    assert lines[0] < 60 * (len(eras) + len(active)), lines[0]


async def test_repeating_the_same_change_day_after_day_stores_nothing_new(bot: Bot) -> None:
    """`cohort set ml days mon-fri` on a mon-fri cohort each day for a year added an era a day, and a pause
    each evening with a resume each morning a span a day: the history, read with every cohort, only grew."""
    await cohort(bot, "Ada")
    [ml] = await bot.core.store.list_cohorts()

    async def stored() -> str:
        async with bot.core.store.engine.connect() as conn:  # type: ignore[attr-defined]
            row = (
                await conn.execute(text("SELECT calendar FROM cohort WHERE id = :id"), {"id": ml.id})
            ).one()
        return str(row[0])

    at(bot, MON + DAY)
    assert not (await bot.say("Mia", "cohort set ml days mon-fri")).error
    once = await stored()
    for i in range(2, 30):
        at(bot, MON + i * DAY)
        assert not (await bot.say("Mia", "cohort set ml days mon-fri")).error
    assert await stored() == once
    # Paused each evening and resumed each morning: one pause, from the first evening, not one per night.
    for i in range(30, 60):
        at(bot, MON + i * DAY, 20)
        assert not (await bot.say("Mia", "cohort pause ml")).error
        at(bot, MON + (i + 1) * DAY, 7)
        assert not (await bot.say("Mia", "cohort resume ml")).error
    history = (await bot.core.store.get_cohort(ml.id)).history  # type: ignore[union-attr]
    pauses = [s for s in history.spans if s.kind is SpanKind.PAUSE]
    assert pauses == [DaySpan(MON + 30 * DAY, MON + 59 * DAY, SpanKind.PAUSE)], pauses


@pytest.mark.parametrize(
    "line",
    [
        "cohort fix ml Ada 2026`**bold** @everyone` ill",
        "cohort create x time=9`**bold**`",
        "timezone Europe/`**bold** @everyone`",
        "cohort create y days=mon`**bold**`",
    ],
)
async def test_a_mistyped_value_is_quoted_back_as_typed_on_discord(bot: Bot, line: str) -> None:
    """A typed backtick cannot close the code span the value is quoted in and turn the rest into markup."""
    raw = await bot.core.dispatch(bot.core.invocation(line, bot.user("Mia"), CHANNEL))
    assert raw.error
    shown = markup(raw.text)
    assert "**bold**" in shown and shown.count("`") == 2, shown


async def test_two_moderators_pausing_at_once_open_one_pause(bot: Bot) -> None:
    """Whether a cohort is already paused is decided inside the write, so racing pauses store one pause."""
    import asyncio

    await bot.say("Mia", "cohort create race tz=UTC")
    bot.admins.add("Lin")
    replies = await asyncio.gather(*(bot.say(m, "cohort pause race") for m in ("Mia", "Lin", "Mia", "Lin")))
    assert sum("is already paused" in r.text for r in replies) == 3
    [cohort] = [c for c in await bot.core.store.list_cohorts() if c.name == "race"]
    assert [s.kind for s in cohort.history.spans] == [SpanKind.PAUSE]
