"""What members and moderators are told about a day's post that has not gone out, and `cohort post`: through
the real core with the recording platform and the fake clock, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from bot.jobs.posting import Poster
from bot.jobs.scheduler import StudyScheduler
from bot.kernel.clock import format_duration
from tests.bot.jobs.test_scheduler import RefusingPlatform, run_until
from tests.conftest import CHANNEL, Bot, text_of
from tests.fakes.clock import drive_apscheduler

# The cohorts here start on a Tuesday: no yesterday to catch up, and no weekly recap (that goes out on the
# first posting day of the week, Monday).
TUESDAY = dt.date(2026, 11, 24)


def at(hour: int, minute: int = 0, day: dt.date = TUESDAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


async def cohort(bot: Bot, extra: str = "time=09:00 tz=UTC days=daily") -> Poster:
    """Cohort `ml` (created by Mia, a moderator) with Ada in it; the poster that serves the core."""
    created = await bot.say("Mia", f"cohort create ml {extra} start={TUESDAY}")
    assert not created.error, created.text
    assert not (await bot.say("Ada", "join ml")).error
    return Poster(bot.core, {"console": bot.platform})


def posts(bot: Bot) -> list[str]:
    """The keys of the daily challenge posts sent so far."""
    return [k for k in bot.platform.keys if k and k.startswith("studybot-post-")]


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (dt.timedelta(hours=9, minutes=5, seconds=59), "9 h 5 min"),
        (dt.timedelta(hours=6), "6 h"),
        (dt.timedelta(minutes=1), "1 min"),
        (dt.timedelta(seconds=20), "under a minute"),
        (dt.timedelta(0), "0 min"),
        (dt.timedelta(days=1, minutes=1), "1 day 1 min"),
        (dt.timedelta(days=2, hours=3), "2 days 3 h"),
    ],
)
def test_durations_read_like_people_write_them(delta: dt.timedelta, shown: str) -> None:
    assert format_duration(delta) == shown


async def test_a_skipped_day_is_told_as_it_is_and_a_moderator_posts_it_once(bot: Bot) -> None:
    poster = await cohort(bot)
    bot.clock.set(at(18, 5))  # studybot comes back 9 h 5 min after the 09:00 post time
    report = await poster.sweep()
    assert report.skipped == [("ml", TUESDAY)] and posts(bot) == []

    today = await bot.say("Ada", "today")
    said = today.text
    assert "on its way" not in said
    assert "Today's challenge for `ml` was not posted: it was due at 09:00 (UTC)" in said
    assert "6 h catch-up window" in said and "`/study cohort post ml`" in said and "/study done" in said
    answer = await bot.say("Ada", "answer A")
    assert answer.error and "was not posted" in answer.text and "/study cohort post ml" in answer.text
    # What the reply promises holds: a check-in counts on a day without a post.
    done = await bot.say("Ada", "done read the pandas docs")
    assert not done.error and "Checked in" in text_of(done) and "streak 1 day" in text_of(done)

    refused = await bot.say("Ada", "cohort post ml")
    assert refused.error and "for moderators" in refused.text and posts(bot) == []

    first = await bot.say("Mia", "cohort post ml")
    assert not first.error, first.text
    assert first.text == (
        "📣 Posted today's challenge for `ml` in its channel, 9 h 5 min after its 09:00 (UTC) post time."
    )
    assert len(posts(bot)) == 1 and bot.platform.sent[-1][0] == CHANNEL
    shown = await bot.say("Ada", "today")
    assert shown.cards and shown.cards[0].title.startswith("📚 Daily")

    bot.clock.advance(dt.timedelta(minutes=3))
    second = await bot.say("Mia", "cohort post ml")
    assert not second.error and second.text == (
        "Today's challenge for `ml` already went out at 18:05 (UTC). Nothing more was posted."
    )
    for _ in range(3):
        bot.clock.advance(dt.timedelta(minutes=1))
        report = await poster.sweep()
        assert report.posted == [] and report.resent == [] and report.skipped == []
    assert len(posts(bot)) == 1


async def test_the_scheduler_and_a_moderator_racing_post_once(bot: Bot) -> None:
    poster = await cohort(bot)
    bot.clock.set(at(9, 0))
    moderator, report = await asyncio.gather(bot.say("Mia", "cohort post ml"), poster.sweep())
    assert len(posts(bot)) == 1
    if report.posted:  # the scheduler won the claim: the moderator is told when it went out
        assert (
            moderator.text
            == "Today's challenge for `ml` already went out at 09:00 (UTC). Nothing more was posted."
        )
    else:
        assert moderator.text.startswith("📣 Posted today's challenge for `ml`")

    bot.clock.set(at(10, 30))
    late = await bot.say("Mia", "cohort post ml")
    assert "already went out at 09:00 (UTC)" in late.text and len(posts(bot)) == 1


async def test_before_the_post_time_today_says_when_and_a_moderator_may_post_early(bot: Bot) -> None:
    poster = await cohort(bot, "time=09:00 tz=Europe/Berlin days=daily")
    bot.clock.set(at(7, 5))  # 08:05 in Berlin
    early = await bot.say("Ada", "today")
    assert early.text == "Today's challenge for `ml` goes out at 09:00 (Europe/Berlin), in 55 min."

    posted = await bot.say("Mia", "cohort post ml")
    assert posted.text == (
        "📣 Posted today's challenge for `ml` in its channel, 55 min before its 09:00 (Europe/Berlin) post "
        "time, which will not post it again."
    )
    bot.clock.set(at(8, 0))  # 09:00 in Berlin: the scheduled run finds the day claimed
    await poster.post_if_due((await bot.core.store.list_cohorts())[0])
    await poster.sweep()
    assert len(posts(bot)) == 1


async def test_within_the_catch_up_window_the_post_is_on_its_way(bot: Bot) -> None:
    await cohort(bot)
    bot.clock.set(at(9, 1))  # due, not claimed yet: the sweep running every minute posts it
    reply = await bot.say("Ada", "today")
    assert reply.text == (
        "Today's challenge for `ml` was due at 09:00 (UTC) and is on its way; try again in a minute."
    )


async def test_a_paused_cohort_or_a_rest_day_posts_nothing_and_says_why(bot: Bot) -> None:
    await cohort(bot, "time=09:00 tz=UTC days=mon-fri")
    saturday = dt.date(2026, 11, 28)
    bot.clock.set(at(12, 0, saturday))
    rest = await bot.say("Mia", "cohort post ml")
    assert (
        rest.error
        and (
            "No challenge today (the cohort does not post on this weekday): a rest day, so no streak breaks "
            "today. `ml` posts 09:00 UTC, mon-fri."
        )
        in rest.text
    )
    assert "The next one is on Mon 30 Nov at 09:00 (UTC). Nothing was posted." in rest.text
    member = await bot.say("Ada", "today")
    assert member.text.startswith("No challenge today (the cohort does not post on this weekday)")

    bot.clock.set(at(12, 0))
    assert not (await bot.say("Mia", "cohort pause ml")).error
    paused = await bot.say("Mia", "cohort post ml")
    assert paused.error and "Cohort `ml` is paused, so nothing was posted." in paused.text
    assert "`/study cohort resume ml`" in paused.text
    assert (await bot.say("Ada", "today")).text == "Cohort `ml` is paused, so there is no challenge today."
    assert posts(bot) == []


async def test_cohort_post_of_another_workspace_or_unknown_cohort_is_refused(bot: Bot) -> None:
    await cohort(bot)
    bot.clock.set(at(12, 0))
    unknown = await bot.say("Mia", "cohort post nope")
    assert unknown.error and "no cohort called `nope`" in unknown.text and posts(bot) == []


async def test_a_skip_is_logged_once_per_cohort_and_day_not_at_every_sweep(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    poster = await cohort(bot)
    bot.clock.set(at(18, 5))
    with caplog.at_level(logging.WARNING, logger="bot.jobs.posting"):
        for _ in range(5):
            await poster.sweep()
            bot.clock.advance(dt.timedelta(minutes=1))
        skips = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped")]
        assert skips == [
            "skipped the 2026-11-24 post of cohort ml: due at 09:00 (UTC), it is 9 h 5 min late, "
            "past its 6 h catch-up window; a moderator can post it with `cohort post ml`"
        ]
        bot.clock.set(at(18, 5, TUESDAY + dt.timedelta(days=1)))  # down again the next day: a new skip
        for _ in range(3):
            await poster.sweep()
            bot.clock.advance(dt.timedelta(minutes=1))
    skips = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped")]
    assert len(skips) == 2 and "skipped the 2026-11-25 post of cohort ml" in skips[1]


async def test_the_running_scheduler_logs_a_skip_once_over_many_sweeps(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    drive_apscheduler(monkeypatch, bot.clock.now)
    await cohort(bot)
    bot.clock.set(at(18, 5))
    sched = StudyScheduler(bot.core, {"console": bot.platform})
    with caplog.at_level(logging.WARNING, logger="bot.jobs.posting"):
        await sched.start()  # sweeps at once, then every minute
        await run_until(sched, bot.clock, at(18, 15))
        await sched.stop()
    skips = [r for r in caplog.records if r.getMessage().startswith("skipped the 2026-11-24 post")]
    assert len(skips) == 1 and "9 h 5 min late" in skips[0].getMessage() and posts(bot) == []


async def test_cohort_post_without_a_platform_in_this_process_says_so(bot: Bot) -> None:
    created = await bot.say("Mia", f"cohort create ml time=09:00 tz=UTC days=daily start={TUESDAY}")
    assert not created.error
    bot.clock.set(at(12, 0))
    reply = await bot.say("Mia", "cohort post ml")
    assert reply.error and "not connected to console" in reply.text and bot.platform.sent == []


async def test_a_refused_moderator_post_says_so_and_is_not_sent_twice(bot: Bot) -> None:
    await cohort(bot)
    refusing = RefusingPlatform()
    Poster(bot.core, {"console": refusing})
    bot.clock.set(at(18, 5))
    refused = await bot.say("Mia", "cohort post ml")
    assert (
        refused.error and "could not post today's challenge for `ml`: the platform refused it" in refused.text
    )
    [(creator, told)] = refusing.direct
    assert creator == "mia" and "channel 42 is gone" in told.text
    again = await bot.say("Mia", "cohort post ml")
    assert again.error and "was sent at 18:05 (UTC), but the platform refused it" in again.text
    assert len(refusing.direct) == 1
