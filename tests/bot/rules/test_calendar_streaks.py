"""Streaks follow the cohort's calendar, as members and moderators use it: weekends, weekday changes,
holidays and breaks, through the real core, scheduler sweep and store."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.discord.render import markup
from bot.jobs.posting import Poster
from tests.conftest import CHANNEL, Bot, snapshot, text_of

DAY = dt.timedelta(days=1)
# Monday 23 November 2026: the fixture clock's day.
MON = dt.date(2026, 11, 23)


def at(bot: Bot, day: dt.date, hour: int = 12) -> None:
    bot.clock.set(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC))


async def active_on(bot: Bot, name: str, *days: dt.date) -> None:
    for day in days:
        at(bot, day)
        reply = await bot.say(name, "done")
        assert not reply.error, text_of(reply)


async def streak(bot: Bot, name: str, of: str | None = None) -> str:
    return text_of(await bot.say(name, f"streak {of}" if of else "streak"))


async def default_cohort(bot: Bot, *members: str) -> None:
    at(bot, MON, 8)
    reply = await bot.say("Mia", "cohort create ml tz=UTC")  # the defaults: 09:00, mon-fri, today
    assert not reply.error, text_of(reply)
    for m in members:
        await bot.say(m, "join ml")


async def test_a_weekend_does_not_break_a_default_cohorts_streak_and_a_week_earns_a_freeze(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    await active_on(bot, "Ada", *(MON + i * DAY for i in range(5)))  # Mon to Fri
    at(bot, MON + 5 * DAY)  # Saturday
    saturday = await streak(bot, "Ada")
    assert "Current: 5 days" in saturday
    assert "rest day (the cohort does not post on this weekday)" in saturday
    at(bot, MON + 7 * DAY)  # Monday: the weekend was not missed
    assert "Current: 5 days" in await streak(bot, "Ada")
    assert "at risk" in await streak(bot, "Ada")
    await active_on(bot, "Ada", MON + 7 * DAY, MON + 8 * DAY)
    shown = await streak(bot, "Ada")
    assert "Current: 7 days" in shown and "Freezes: 1/2" in shown  # 7 active posting days in a row


async def test_activity_on_a_rest_day_counts_but_earns_no_freeze(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    await active_on(bot, "Ada", *(MON + i * DAY for i in range(7)))  # Mon to Sun: 5 posting days, 2 rest
    shown = await streak(bot, "Ada")
    assert "Current: 7 days" in shown and "Freezes: 0/2" in shown


async def test_changing_the_weekdays_keeps_past_days_judged_by_the_weekdays_of_their_time(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    await active_on(bot, "Ada", *(MON + i * DAY for i in range(5)), MON + 7 * DAY)  # week 1, next Monday
    at(bot, MON + 8 * DAY, 7)
    changed = await bot.say("Mia", "cohort set ml days daily")
    assert not changed.error, text_of(changed)
    # Under `daily` the first weekend would have been two missed days; it was a rest weekend then.
    assert "Current: 6 days" in await streak(bot, "Ada")
    await active_on(bot, "Ada", MON + 8 * DAY)
    at(bot, MON + 10 * DAY)  # Thursday: Wednesday is now a posting day, missed and no freeze held
    shown = await streak(bot, "Ada")
    # Seven active posting days (Mon-Fri, Mon, Tue) earned a freeze, spent on Wednesday.
    assert "Current: 7 days" in shown and "Freezes: 0/2" in shown
    at(bot, MON + 12 * DAY)  # Saturday, a posting day now: Thursday missed with no freeze left
    shown = await streak(bot, "Ada")
    assert "Current: 0 days" in shown
    assert f"broke on {MON + 10 * DAY:%a %d %b}" in shown and "the longest was 7 days" in shown


async def test_a_holiday_posts_nothing_and_is_a_rest_day_for_everyone(bot: Bot) -> None:
    await default_cohort(bot, "Ada", "Alan")
    reply = await bot.say("Mia", "cohort holiday ml 2026-11-26..2026-11-27 thanksgiving")
    assert not reply.error and "2 posting days off" in text_of(reply), text_of(reply)
    await active_on(bot, "Ada", MON, MON + DAY, MON + 2 * DAY)
    at(bot, MON + 3 * DAY, 10)  # Thursday, after the post time
    assert await bot.post() == []
    today = await bot.say("Ada", "today")
    assert "holiday (thanksgiving)" in today.text and "no streak breaks" in today.text
    at(bot, MON + 4 * DAY, 10)
    assert await bot.post() == []
    at(bot, MON + 7 * DAY, 10)  # Monday: posts again
    assert len(await bot.post()) == 1
    assert "Current: 3 days" in await streak(bot, "Ada")
    listed = text_of(await bot.say("Mia", "cohort holidays ml"))
    assert "Thu 26 Nov to Fri 27 Nov 2026: thanksgiving (past)" in listed


async def test_a_past_holiday_forgives_an_outage_for_everyone(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    await active_on(bot, "Ada", MON, MON + DAY, MON + 3 * DAY)  # Wednesday missed: the bot was down
    assert "Current: 1 day" in await streak(bot, "Ada")
    assert not (await bot.say("Mia", "cohort holiday ml 2026-11-25 outage")).error
    assert "Current: 3 days" in await streak(bot, "Ada")


async def test_holidays_are_taken_back_only_where_members_were_not_yet_told(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    assert not (await bot.say("Mia", "cohort holiday ml 2026-11-24..2026-11-26")).error
    assert not (await bot.say("Mia", "cohort holiday ml 2026-12-24..2026-12-31 winter")).error
    at(bot, MON + 2 * DAY)  # Wednesday, inside the first
    ended = await bot.say("Mia", "cohort unholiday ml 2026-11-25")
    assert "ended: from today the cohort posts again" in ended.text
    listed = text_of(await bot.say("Mia", "cohort holidays ml"))
    assert "Tue 24 Nov 2026 (past)" in listed and "winter (coming)" in listed
    past = await bot.say("Mia", "cohort unholiday ml 2026-11-24")
    assert past.error and "stay rest days" in past.text
    removed = await bot.say("Mia", "cohort unholiday ml 2026-12-28")
    assert "removed" in removed.text
    assert "winter" not in text_of(await bot.say("Mia", "cohort holidays ml"))


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("cohort holiday ml 2026-12-26..2026-12-24", "is before"),
        ("cohort holiday ml 2026-01-01..2026-12-31", "at most 92 days"),
        ("cohort holiday ml 2028-12-24", "within a year"),
        ("cohort holiday ml 1026-12-24", "within a year"),
        ("cohort holiday ml christmas", "YYYY-MM-DD"),
        ("cohort holiday ml 2026-12-24..", "YYYY-MM-DD"),
        ("cohort holiday ml 2026-12-25 " + "x" * 61, "under 60 characters"),
        (
            "cohort holiday ml 2026-12-23..2026-12-24",
            "overlaps the holiday Thu 24 Dec to Sat 26 Dec 2026 (winter)",
        ),
        ("cohort holiday nope 2026-12-30", "no cohort called `nope`"),
        ("cohort unholiday ml 2026-12-30", "no holiday on 2026-12-30"),
    ],
)
async def test_holiday_mistakes_are_explained_and_change_nothing(bot: Bot, line: str, said: str) -> None:
    await default_cohort(bot)
    assert not (await bot.say("Mia", "cohort holiday ml 2026-12-24..2026-12-26 winter")).error
    before = await snapshot(bot.core.store)  # type: ignore[arg-type]
    reply = await bot.say("Mia", line)
    assert reply.error and said in text_of(reply), text_of(reply)
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]


async def test_only_moderators_declare_holidays(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    before = await snapshot(bot.core.store)  # type: ignore[arg-type]
    reply = await bot.say("Ada", "cohort holiday ml 2026-11-25")
    assert reply.error and "moderator" in reply.text.lower()
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]


async def test_a_holiday_label_is_shown_as_typed_and_pings_nobody(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    raw = await bot.core.dispatch(
        bot.core.invocation("cohort holiday ml 2026-12-24 @everyone **party**", bot.user("Mia"), CHANNEL)
    )
    title = markup(raw.cards[0].title)
    assert "\\@everyone \\*\\*party\\*\\*" in title, title


async def test_a_break_rests_the_streak_and_tells_nobody(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    await active_on(bot, "Ada", MON, MON + DAY)
    at(bot, MON + 2 * DAY, 7)
    taken = await bot.say("Ada", "break 3")
    assert taken.ephemeral and "On a break: Wed 25 Nov to Fri 27 Nov 2026" in text_of(taken)
    assert bot.platform.sent == []  # announced to nobody
    shown = await streak(bot, "Ada")
    assert "rest day (you are on a break)" in shown
    at(bot, MON + 7 * DAY)
    assert "Current: 2 days" in await streak(bot, "Ada")  # Wed to Fri rested, the weekend too
    status = await bot.say("Ada", "break")
    assert "not on a break" in status.text and "up to 11 days" in status.text


async def test_break_off_ends_a_break_early_and_gives_back_the_unused_days(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    await active_on(bot, "Ada", MON)
    at(bot, MON + DAY, 7)
    assert not (await bot.say("Ada", "break 10")).error
    at(bot, MON + 2 * DAY, 7)
    back = await bot.say("Ada", "break off")
    assert "Welcome back" in back.text
    assert "at risk" in await streak(bot, "Ada")  # today counts again, yesterday was rested
    assert "Current: 1 day" in await streak(bot, "Ada")
    refused = await bot.say("Ada", "break 14")  # one day used in the last 90: 13 left
    assert refused.error and "you can take 13 days now" in refused.text
    assert not (await bot.say("Ada", "break 13")).error


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("break 0", "use 1 to 14"),
        ("break 15", "use 1 to 14"),
        ("break -3", "use 1 to 14"),
        ("break soon", "use 1 to 14"),
        ("break 99999999999999999999", "use 1 to 14"),
        ("break off", "not on a break"),
    ],
)
async def test_break_mistakes_are_explained_and_change_nothing(bot: Bot, line: str, said: str) -> None:
    await default_cohort(bot, "Ada")
    before = await snapshot(bot.core.store)  # type: ignore[arg-type]
    reply = await bot.say("Ada", line)
    assert reply.error and said in reply.text, reply.text
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]


async def test_a_second_break_while_on_one_is_refused(bot: Bot) -> None:
    await default_cohort(bot, "Ada")
    assert not (await bot.say("Ada", "break 2")).error
    before = await snapshot(bot.core.store)  # type: ignore[arg-type]
    again = await bot.say("Ada", "break 5")
    assert again.error and "already on a break until Tue 24 Nov" in again.text
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]


async def test_no_reminder_on_a_rest_day_or_a_break(bot: Bot) -> None:
    await default_cohort(bot, "Ada", "Alan")
    await active_on(bot, "Ada", MON, MON + DAY)
    await active_on(bot, "Alan", MON, MON + DAY)
    await bot.say("Ada", "remind on 20:00")
    await bot.say("Alan", "remind on 20:00")
    at(bot, MON + 2 * DAY, 7)
    await bot.say("Alan", "break 1")
    bot.clock.set(dt.datetime.combine(MON + 2 * DAY, dt.time(20, 1), tzinfo=dt.UTC))
    poster = Poster(bot.core, {"console": bot.platform})
    assert (await poster.sweep()).reminded == 1  # Ada at risk; Alan on a break
    assert [u for u, _ in bot.platform.direct] == ["ada"]
    await active_on(bot, "Ada", MON + 4 * DAY)
    bot.clock.set(dt.datetime.combine(MON + 5 * DAY, dt.time(20, 1), tzinfo=dt.UTC))  # Saturday
    assert (await poster.sweep()).reminded == 0
