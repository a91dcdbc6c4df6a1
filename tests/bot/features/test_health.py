"""Cohort health for moderators: `cohort stats` (who is active, at risk, retention, hardest quizzes) and the
weekly note, off by default, sent once a week to the cohort's moderators."""

from __future__ import annotations

import datetime as dt

from bot.kernel.types import Activity, ActivityKind, DaySpan, SpanKind
from bot.rules.calendar import Calendar
from bot.rules.health import at_risk, retention
from tests.bot.features.test_member_flow import quiz_answer
from tests.bot.features.test_submissions import start, until
from tests.conftest import Bot, text_of

MON = dt.date(2026, 11, 30)  # a Monday
DAILY = Calendar(dt.date(2026, 11, 1), frozenset(range(7)))
WEEKDAYS = Calendar(dt.date(2026, 11, 1), frozenset(range(5)))


def test_at_risk_is_three_missed_posting_days_in_a_row_by_the_members_own_calendar() -> None:
    today = MON + dt.timedelta(days=3)  # Thursday: Mon, Tue, Wed were the last three posting days
    assert at_risk(DAILY, set(), set(), today, dt.date(2026, 11, 1), on_break=False)
    assert not at_risk(
        DAILY, {MON + dt.timedelta(days=1)}, set(), today, dt.date(2026, 11, 1), on_break=False
    )
    assert not at_risk(DAILY, set(), {MON}, today, dt.date(2026, 11, 1), on_break=False)  # excused counts
    assert not at_risk(DAILY, set(), set(), today, MON + dt.timedelta(days=1), on_break=False)  # joined since
    assert not at_risk(DAILY, set(), set(), today, dt.date(2026, 11, 1), on_break=True)
    # Weekends are rest days on a weekday calendar: on Tuesday, the last three are Thu, Fri and Mon.
    tuesday = MON + dt.timedelta(days=1)
    assert at_risk(
        WEEKDAYS, {MON - dt.timedelta(days=2)}, set(), tuesday, dt.date(2026, 11, 1), on_break=False
    )
    assert not at_risk(
        WEEKDAYS, {MON - dt.timedelta(days=4)}, set(), tuesday, dt.date(2026, 11, 1), on_break=False
    )
    # A break is a rest stretch: the days before it count instead.
    away = DaySpan(MON - dt.timedelta(days=3), MON, SpanKind.BREAK)
    back = DAILY.with_breaks((away,))
    active_before = {MON - dt.timedelta(days=4)}
    assert not at_risk(back, active_before, set(), MON + dt.timedelta(days=2), dt.date(2026, 11, 1), False)


def test_retention_is_the_share_of_each_join_week_active_in_each_week_since() -> None:
    joined = {1: MON - dt.timedelta(days=14), 2: MON - dt.timedelta(days=13), 3: MON - dt.timedelta(days=7)}
    active = {
        1: {MON - dt.timedelta(days=14), MON - dt.timedelta(days=6), MON},
        2: {MON - dt.timedelta(days=13)},
    }
    rows = retention(joined, active, MON + dt.timedelta(days=2))
    assert [(r.week, r.joined, r.shares) for r in rows] == [
        (MON - dt.timedelta(days=14), 2, (1.0, 0.5, 0.5)),
        (MON - dt.timedelta(days=7), 1, (0.0, 0.0)),
    ]


async def cohort_of(bot: Bot, *names: str) -> int:
    reply = await bot.say("Mia", "/study cohort create ml time=09:00 tz=UTC days=daily start=2026-11-16")
    assert not reply.error, reply.text
    for name in names:
        assert not (await bot.say(name, "join ml")).error
    [cohort] = await bot.core.store.list_cohorts()
    return cohort.id


async def test_cohort_stats_shows_who_is_active_and_who_is_at_risk(bot: Bot) -> None:
    cohort_id = await cohort_of(bot, "Ada", "Bob", "Cy")
    bot.clock.set(dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC))
    ada = await bot.core.store.upsert_member("console", "ada", "Ada")
    for back in range(4):  # Ada was active every day this week; Bob and Cy never
        day = dt.date(2026, 11, 27) - dt.timedelta(days=back)
        at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        await bot.core.store.record_activity(Activity(ada.id, cohort_id, day, ActivityKind.CHECKIN, 5, at=at))
    assert not (await bot.say("Cy", "break 5")).error  # Cy is on a break: not at risk
    refused = await bot.say("Ada", "cohort stats ml")
    assert refused.error and "for moderators" in refused.text
    reply = await bot.say("Mia", "cohort stats ml")
    shown = text_of(reply)
    assert reply.ephemeral and "3 members · 1 active today · 1 active in the last 7 days (33%)" in shown
    assert "At risk: missed their last 3 posting days: Bob" in shown and "Cy" not in shown.split("At risk")[1]
    [image] = reply.images
    assert image.data.startswith(b"\x89PNG") and image.filename == "retention-ml.png"


async def test_the_weekly_note_is_off_until_turned_on_then_sent_once_a_week(bot: Bot) -> None:
    await cohort_of(bot, "Ada", "Max")
    granted = await bot.say("Mia", "cohort grant Max")
    assert not granted.error, granted.text
    bot.clock.set(dt.datetime(2026, 11, 23, 9, 5, tzinfo=dt.UTC))  # a Monday, the cohort's recap day
    await bot.post()
    assert not [r for _, r in bot.platform.direct if "Health of ml" in text_of(r)]  # off by default
    turned = await bot.say("Mia", "cohort set ml health on")
    assert "Weekly health note: on" in text_of(turned)
    bad = await bot.say("Mia", "cohort set ml health maybe")
    assert bad.error and "on or off" in bad.text
    monday = dt.datetime(2026, 11, 30, 9, 5, tzinfo=dt.UTC)
    bot.clock.set(monday)
    await bot.post()
    await bot.post()
    notes = [(u, r) for u, r in bot.platform.direct if "Health of ml" in text_of(r)]
    assert [u for u, _ in notes] == ["mia", "max"]  # once, to its creator and the granted moderator
    assert notes[0][1].images and "health off" in notes[0][1].text
    bot.clock.set(monday + dt.timedelta(days=1))
    await bot.post()
    assert len([1 for _, r in bot.platform.direct if "Health of ml" in text_of(r)]) == 2  # not on Tuesday
    bot.clock.set(monday + dt.timedelta(days=7))
    await bot.post()
    assert len([1 for _, r in bot.platform.direct if "Health of ml" in text_of(r)]) == 4  # next Monday again


async def test_the_hardest_quizzes_of_the_month_are_those_fewest_got_right(bot: Bot) -> None:
    await start(bot)
    for name in ("Bob", "Cy"):
        assert not (await bot.say(name, "join ml")).error
    post = await until(bot, "answer")
    right, wrong = quiz_answer(bot, post)
    for name, letter in (("Ada", right), ("Bob", wrong), ("Cy", wrong)):
        assert not (await bot.say(name, f"answer {letter}")).error
    shown = text_of(await bot.say("Mia", "cohort stats ml"))
    assert "Hardest quizzes this month: 33% right of 3:" in shown


async def test_a_revoked_moderator_gets_no_more_notes(bot: Bot) -> None:
    await cohort_of(bot, "Ada", "Max")
    assert not (await bot.say("Mia", "cohort grant Max")).error
    assert not (await bot.say("Max", "cohort set ml health on")).error
    assert not (await bot.say("Mia", "cohort revoke Max")).error
    bot.clock.set(dt.datetime(2026, 11, 30, 9, 5, tzinfo=dt.UTC))
    await bot.post()
    assert [u for u, r in bot.platform.direct if "Health of ml" in text_of(r)] == []
