"""Milestones as members reach them: a 7-day streak, every topic of a stage learned, a first accepted piece
of work; each announced once in the cohort's channel (names as written, never a ping) and in the portfolio."""

from __future__ import annotations

import datetime as dt

from bot.dispatch.milestones import announcement
from bot.kernel.types import Milestone
from bot.kernel.untrusted import plain
from tests.bot.features.test_peer_review import cohort_with_a_task, number_of, reviewers_of, submit
from tests.bot.features.test_submissions import DAY, start
from tests.conftest import Bot, text_of


def announced(bot: Bot, words: str) -> list[str]:
    return [text_of(r) for _, r in bot.platform.sent if "🏅 Milestone" in text_of(r) and words in text_of(r)]


async def test_a_seven_day_streak_is_announced_once(bot: Bot) -> None:
    await start(bot)
    for day in range(8):
        await bot.post()
        assert not (await bot.say("Ada", "done studied")).error
        await bot.post()
        if day == 5:
            assert announced(bot, "7-day streak") == []
        bot.clock.advance(DAY)
    await bot.post()
    assert announced(bot, "Ada reached a 7-day streak") == ["🏅 Milestone\nAda reached a 7-day streak 🔥"]
    portfolio = text_of(await bot.say("Ada", "portfolio"))
    assert "Milestones: " in portfolio and "a 7-day streak" in portfolio


async def test_every_topic_of_a_stage_learned_is_a_milestone(bot: Bot) -> None:
    await start(bot)
    stage = bot.core.catalog.stages[0]
    for topic in stage.topics:
        assert not (await bot.say("Ada", f"learned {stage.id}/{topic.id}")).error
    assert not (await bot.say("Ada", f"unlearn {stage.id}/{stage.topics[0].id}")).error
    assert not (await bot.say("Ada", f"learned {stage.id}/{stage.topics[0].id}")).error  # again: once
    await bot.post()
    assert len(announced(bot, f"every topic of {stage.title} learned")) == 1


async def test_a_first_accepted_piece_of_work_is_a_milestone(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    for reviewer in await reviewers_of(bot, "Ada"):
        assert not (
            await bot.say(reviewer, f"feedback {ada} accept checks=all Complete and clear work.")
        ).error
    await bot.post()
    await bot.post()
    assert len(announced(bot, "Ada reached their first piece of work accepted")) == 1


def test_an_announcement_shows_a_hostile_name_as_written_and_marks_it(catalog) -> None:  # type: ignore[no-untyped-def]
    reply = announcement(catalog, Milestone(1, 1, "streak-30", dt.date(2026, 12, 4)), "@everyone <@&1>")
    body = reply.cards[0].body
    assert plain(body) == "@everyone <@&1> reached a 30-day streak 🔥"
    assert body != plain(body)  # marked as member text: each renderer escapes it, nobody is pinged


async def test_learning_every_topic_graduates_with_a_certificate_in_the_portfolio(bot: Bot) -> None:
    await start(bot)
    assert not (await bot.say("Ada", "done")).error
    for stage in bot.core.catalog.stages:
        for topic in stage.topics:
            bot.clock.advance(dt.timedelta(seconds=2))  # under the spam limit, like a person
            assert not (await bot.say("Ada", f"learned {stage.id}/{topic.id}")).error
    await bot.post()
    assert len(announced(bot, "Ada reached graduation 🎓")) == 1
    portfolio = await bot.say("Bob", "portfolio Ada")
    assert "graduation 🎓" in text_of(portfolio)
    [certificate] = portfolio.images
    assert certificate.filename == "certificate-ml.png" and certificate.data.startswith(b"\x89PNG")
    assert "Certificate of completion of Ada" == certificate.alt


async def test_a_long_streak_seen_at_once_is_one_announcement_its_longest(bot: Bot) -> None:
    from bot.kernel.types import Activity, ActivityKind

    await start(bot)
    [ml] = await bot.core.store.list_cohorts()
    ada = await bot.core.store.upsert_member("console", "ada", "Ada")
    today = bot.clock.now().date()
    for back in range(1, 35):  # a ledger from before milestones existed: 34 days in a row
        day = today - dt.timedelta(days=back)
        at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        await bot.core.store.record_activity(Activity(ada.id, ml.id, day, ActivityKind.CHECKIN, 5, at=at))
    await bot.core.store.update_cohort(ml.id, start_date=today - dt.timedelta(days=40))
    assert not (await bot.say("Ada", "done")).error
    await bot.post()
    assert [t for t in announced(bot, "streak")] == ["🏅 Milestone\nAda reached a 30-day streak 🔥"]


async def test_a_process_without_the_platform_leaves_milestones_to_one_that_has_it(bot: Bot) -> None:
    from bot.jobs.milestones import announce_milestones
    from tests.fakes.platform import RecordingPlatform

    await start(bot)
    stage = bot.core.catalog.stages[0]
    for topic in stage.topics:
        assert not (await bot.say("Ada", f"learned {stage.id}/{topic.id}")).error
    assert await announce_milestones(bot.core, {"slack": RecordingPlatform("slack")}) == 0
    await bot.post()  # the console's own process
    assert len(announced(bot, "every topic of")) == 1


async def test_roles_are_for_discord_and_a_bad_milestone_or_role_is_refused(bot: Bot) -> None:
    await start(bot)
    for line, says in {
        "cohort set ml role streak-7 <@&123456789>": "Roles are given on Discord",
        "cohort set ml role streak-99 <@&123456789>": "Say a milestone and a role",
        "cohort set ml role streak-7": "Say a milestone and a role",
    }.items():
        reply = await bot.say("Mia", line)
        assert reply.error and says in reply.text, (line, reply.text)


async def test_a_cohort_that_ends_graduates_its_active_members_once_and_posts_no_more(bot: Bot) -> None:
    # Monday 23 November; the cohort posts daily and ends on Sunday 6 December.
    assert not (await bot.say("Mia", "cohort create ml time=09:00 tz=UTC days=daily")).error
    for name in ("Ada", "Bob", "Cy"):
        assert not (await bot.say(name, "join ml")).error
    typos = {
        "cohort set ml end 2026-11-31": "YYYY-MM-DD",  # no such day
        "cohort set ml end 2026-11-01": "can't be the end",  # before today
        "cohort set ml end 2031-01-01": "can't be the end",  # years away
        "cohort set ml end soon": "YYYY-MM-DD",
    }
    for line, said in typos.items():
        reply = await bot.say("Mia", line)
        assert reply.error and said in text_of(reply), (line, text_of(reply))
    assert (await bot.say("Ada", "cohort set ml end 2026-12-06")).error  # members may not
    ended = await bot.say("Mia", "cohort set ml end 2026-12-06")
    assert "Ends: 2026-12-06" in text_of(ended), text_of(ended)

    bot.clock.set(dt.datetime(2026, 11, 23, 9, 5, tzinfo=dt.UTC))
    await bot.post()
    assert not (await bot.say("Bob", "done")).error  # Bob is active in the first week only
    bot.clock.set(dt.datetime(2026, 12, 5, 9, 5, tzinfo=dt.UTC))  # Saturday, in the last week
    await bot.post()
    assert not (await bot.say("Ada", "done")).error
    bot.clock.set(dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC))  # the last day, late: not over yet
    await bot.post()
    assert announced(bot, "graduation") == []

    bot.clock.set(dt.datetime(2026, 12, 7, 9, 5, tzinfo=dt.UTC))  # Monday: the day after the end
    assert await bot.post() == []  # no challenge after the end date
    await bot.post()
    assert announced(bot, "reached graduation") == ["🏅 Milestone\nAda reached graduation 🎓"]
    streak = text_of(await bot.say("Cy", "streak"))
    assert "the cohort has ended" in streak, streak
    portfolio = await bot.say("Ada", "portfolio")
    assert "graduat" in text_of(portfolio) and len(portfolio.images) == 1
    assert len((await bot.say("Bob", "portfolio")).images) == 0

    # A restart (a new core on the same store) graduates no one twice.
    from bot.composition.app import make_core

    again = Bot(make_core(bot.core.store, bot.core.catalog, bot.clock), bot.clock, bot.platform)
    await again.post()
    bot.clock.advance(DAY)
    await again.post()
    assert len(announced(bot, "reached graduation")) == 1
