"""A cohort's life through the core on a real database: what members and moderators see."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot.catalog.model import LETTERS
from bot.rules.points import POINTS_CHECKIN, POINTS_CORRECT, POINTS_WRONG
from tests.conftest import CHANNEL, Bot, snapshot, text_of

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


async def start_cohort(bot: Bot, *members: str, extra: str = "") -> None:
    reply = await bot.say(
        "Mia", f"/study cohort create ml-2026 time=09:00 tz=Europe/Berlin days=daily {extra}"
    )
    assert not reply.error, reply.text
    for name in members:
        assert not (await bot.say(name, "join ml-2026")).error


def quiz_answer(bot: Bot, post_reply) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The right and one wrong letter of a posted quiz."""
    body = post_reply.cards[0].body
    catalog = bot.core.catalog
    ch = next(c for c in catalog.challenges.values() if c.is_quiz and c.question in body)
    wrong = next(x for x in LETTERS if x != ch.answer)
    return ch.answer, wrong


async def post_quiz_day(bot: Bot):  # type: ignore[no-untyped-def]
    """Advance day by day (at 09:05 Berlin) until the posted challenge is a quiz; return that post."""
    for _ in range(40):
        posts = await bot.post()
        if posts and posts[0].buttons and posts[0].buttons[0].command == "answer":
            return posts[0]
        bot.clock.advance(DAY)
    raise AssertionError("no quiz posted in 40 days")


async def test_a_member_joins_answers_and_sees_points_and_streak(bot: Bot) -> None:
    await start_cohort(bot, "Ada", "Alan")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))  # 09:05 in Berlin
    post = await post_quiz_day(bot)
    assert [b.label for b in post.buttons] == list(LETTERS)
    right, wrong = quiz_answer(bot, post)

    reply = await bot.click("Ada", post, right)
    assert reply.ephemeral and "Correct" in text_of(reply) and f"+{POINTS_CORRECT} points" in text_of(reply)
    again = await bot.click("Ada", post, wrong)
    assert (
        again.error and f"You already answered {right}" in again.text and "first answer counts" in again.text
    )

    typed = await bot.say("Alan", f"/study answer {wrong.lower()}")
    assert f"Not quite: the answer is {right}" in text_of(typed)

    board = await bot.say("Alan", "leaderboard week")
    body = board.cards[0].body
    assert body.index("Ada") < body.index("Alan")
    assert f"Ada: {POINTS_CORRECT} pts" in body and f"Alan: {POINTS_WRONG} pts ← you" in body
    assert board.cards[0].footer == "You have 2 pts: #2 of the 2 members with points this week."

    streak = await bot.say("Ada", "streak")
    assert streak.cards[0].title.endswith("Ada: 1 day") and "done today" in streak.cards[0].body
    png = Image.open(io.BytesIO(streak.images[0].data))
    assert png.format == "PNG" and png.width > 16 * 14


async def test_one_post_per_day_and_today_says_when_before_the_post(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC))  # 08:00 Berlin
    assert await bot.post() == []
    early = await bot.say("Ada", "today")
    assert "goes out at 09:00 (Europe/Berlin)" in early.text
    bot.clock.advance(HOUR)
    first = await bot.post()
    assert len(first) == 1 and bot.platform.sent[0][0] == CHANNEL
    cohort = (await bot.core.store.list_cohorts())[0]
    claim = await bot.core.store.latest_post(cohort.id)
    assert claim is not None and claim.message_id == "msg-1"
    assert bot.platform.keys == [f"studybot-post-{claim.id}"]  # the idempotency key names the claim
    assert await bot.post() == []
    bot.clock.advance(10 * HOUR)
    assert await bot.post() == []
    shown = await bot.say("Ada", "today")
    assert shown.cards[0].body == first[0].cards[0].body
    bot.clock.advance(14 * HOUR)  # 09:00 the next day in Berlin
    assert len(await bot.post()) == 1


async def test_a_click_on_yesterdays_quiz_is_closed_and_shows_the_answer(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))
    post = await post_quiz_day(bot)
    right, _ = quiz_answer(bot, post)
    bot.clock.advance(DAY)
    before = await snapshot(bot.core.store)
    late = await bot.click("Ada", post, right)
    assert "is closed" in late.text and f"Answer: {right})" in late.cards[0].body
    assert "0 members answered" in text_of(late)
    assert await snapshot(bot.core.store) == before


async def test_check_in_counts_once_a_day(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    first = await bot.say("Ada", "done https://github.com/ada/notebook")
    assert f"+{POINTS_CHECKIN} points" in text_of(
        first
    ) and "Noted: https://github.com/ada/notebook" in text_of(first)
    second = await bot.say("Ada", "done again")
    assert second.error and "already checked in" in second.text
    rows = await bot.core.store.activities((await bot.core.store.list_cohorts())[0].id)
    assert [(a.kind.value, a.points, a.note) for a in rows] == [
        ("checkin", 5, "https://github.com/ada/notebook")
    ]


async def test_streak_grows_earns_a_freeze_and_survives_a_missed_day(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC))
    for _ in range(7):
        assert not (await bot.say("Ada", "done")).error
        bot.clock.advance(DAY)
    bot.clock.advance(DAY)  # one day missed
    at_risk = await bot.say("Ada", "streak")
    assert "at risk" in at_risk.cards[0].body and "Current: 7 days" in text_of(at_risk)
    assert "Freezes: 0/2" in text_of(at_risk)  # the freeze earned on day 7 covered the missed day
    await bot.say("Ada", "done")
    shown = text_of(await bot.say("Ada", "streak"))
    assert "Current: 8 days" in shown and "Longest: 8 days" in shown


async def test_another_members_streak_by_name_or_mention(bot: Bot) -> None:
    await start_cohort(bot, "Ada", "Alan")
    await bot.say("Ada", "done")
    by_name = await bot.say("Alan", "streak ada")
    by_mention = await bot.say("Alan", "streak <@ada>")
    assert by_name.cards[0].title == by_mention.cards[0].title == "🔥 Ada: 1 day"
    unknown = await bot.say("Alan", "streak nobody")
    assert unknown.error and "don't know a member `nobody`" in unknown.text


async def test_a_members_day_follows_their_timezone_and_is_never_reinterpreted(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC))  # already the 25th in Berlin
    await bot.say("Ada", "timezone America/New_York")  # 18:30 on the 24th there
    await bot.say("Ada", "done")
    await bot.say("Ada", "timezone Asia/Tokyo")
    cohort = (await bot.core.store.list_cohorts())[0]
    [entry] = await bot.core.store.activities(cohort.id)
    assert entry.local_date == dt.date(2026, 11, 24)
    # 08:30 on the 25th in Tokyo, but only because the timezone moved: no second day for the same hour.
    tokyo = await bot.say("Ada", "done")
    assert tokyo.error and "a new day counts from Thu 26 Nov 04:30 your time" in tokyo.text
    assert len(await bot.core.store.activities(cohort.id)) == 1
    bot.clock.advance(dt.timedelta(hours=20))  # 04:30 on the 26th in Tokyo
    assert "for Thu 26 Nov" in text_of(await bot.say("Ada", "done"))


async def test_moderator_fix_excuses_a_day_with_who_and_why(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC))
    await bot.say("Ada", "done")
    bot.clock.advance(2 * DAY)
    await bot.say("Ada", "done")  # the 25th missed, no freeze held
    assert "Current: 1 day" in text_of(await bot.say("Ada", "streak"))
    refused = await bot.say("Ada", "cohort fix ml-2026 ada 2026-11-25 outage")
    assert refused.error and "for moderators" in refused.text
    fixed = await bot.say("Mia", "cohort fix ml-2026 @ada 2026-11-25 the bot was down")
    assert "Excused Wed 25 Nov 2026 for Ada: the bot was down (by Mia)" in fixed.text
    assert "Current: 2 days" in text_of(await bot.say("Ada", "streak"))
    cohort = (await bot.core.store.list_cohorts())[0]
    [record] = await bot.core.store.excusals(cohort.id)
    assert (record.reason, record.granted_by) == ("the bot was down", "mia")
    twice = await bot.say("Mia", "cohort fix ml-2026 ada 2026-11-25 again")
    assert twice.error and "already excused" in twice.text
    future = await bot.say("Mia", "cohort fix ml-2026 ada 2026-12-25 holiday")
    assert future.error and "in the future" in future.text
    active = await bot.say("Mia", "cohort fix ml-2026 ada 2026-11-24 oops")
    assert active.error and "was active" in active.text


async def test_export_gives_member_and_activity_csvs(bot: Bot) -> None:
    await start_cohort(bot, "Ada", "Alan")
    await bot.say("Ada", "done first notebook")
    reply = await bot.say("Mia", "cohort export ml-2026")
    members, activity, work, reviews = reply.attachments
    assert members.filename == "ml-2026-members.csv" and members.mime == "text/csv"
    rows = list(csv.DictReader(io.StringIO(members.data.decode())))
    assert [(r["member"], r["points"], r["current_streak"], r["checkins"]) for r in rows] == [
        ("Ada", "5", "1", "1"),
        ("Alan", "0", "0", "0"),
    ]
    ledger = list(csv.DictReader(io.StringIO(activity.data.decode())))
    assert [(r["member"], r["kind"], r["note"]) for r in ledger] == [("Ada", "checkin", "first notebook")]
    assert work.filename == "ml-2026-submissions.csv" and work.data.decode().startswith(
        "submitted_at,member,"
    )
    assert reviews.filename == "ml-2026-reviews.csv" and reviews.data.decode().startswith("at,submission,")


async def test_pause_stops_posts_and_resume_starts_them(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 24, 8, 30, tzinfo=dt.UTC))
    paused = await bot.say("Mia", "cohort pause ml-2026")
    assert "paused" in paused.cards[0].title
    assert await bot.post() == []
    assert "is paused" in (await bot.say("Ada", "today")).text
    await bot.say("Mia", "cohort resume ml-2026")
    assert len(await bot.post()) == 1


async def test_cohort_set_changes_the_schedule(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    reply = await bot.say("Mia", "cohort set ml-2026 time 07:45")
    assert "07:45 Europe/Berlin" in text_of(reply)
    reply = await bot.say("Mia", "cohort set ml-2026 days mon,wed,fri")
    assert "mon,wed,fri" in text_of(reply)
    bad = await bot.say("Mia", "cohort set ml-2026 days someday")
    assert bad.error and "for example mon-fri" in bad.text
    listing = await bot.say("Mia", "cohort list")
    assert "`ml-2026`: 07:45 Europe/Berlin, mon,wed,fri, 1 member" in listing.cards[0].body


async def test_granted_moderators_can_configure_and_revoked_ones_cannot(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    assert (await bot.say("Ada", "cohort pause ml-2026")).error
    granted = await bot.say("Mia", "cohort grant ada")
    assert "Ada is now a moderator" in granted.text
    assert not (await bot.say("Ada", "cohort pause ml-2026")).error
    await bot.say("Mia", "cohort revoke ada")
    assert (await bot.say("Ada", "cohort resume ml-2026")).error


async def test_leave_and_join_again(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    assert "You are already in" in (await bot.say("Ada", "join ml-2026")).text
    assert "You left `ml-2026`" in (await bot.say("Ada", "leave")).text
    today = await bot.say("Ada", "today")
    assert today.error and "/study join <cohort>" in today.text and "`ml-2026`" in today.text
    assert "Welcome" in (await bot.say("Ada", "join ML-2026")).text


async def test_roadmap_marks_where_the_cohort_is(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 24, 8, 30, tzinfo=dt.UTC))
    [post] = await bot.post()
    stage_title = next(f.value for f in post.cards[0].fields if f.name == "Stage")
    roadmap = (await bot.say("Ada", "roadmap")).cards[0].body
    marked = next(line for line in roadmap.splitlines() if line.startswith("📍"))
    assert stage_title in marked


async def test_resources_finds_matches_and_forgives_a_typo(bot: Bot) -> None:
    exact = await bot.say("Ada", "resources pandas")
    assert exact.cards and all("pandas" in (c.title + c.body).lower() for c in exact.cards[:2])
    typo = await bot.say("Ada", "resources pandsa")
    assert typo.cards and typo.cards[0].title == exact.cards[0].title
    nothing = await bot.say("Ada", "resources zzzzqqq")
    assert nothing.error and "Nothing matched" in nothing.text


async def test_a_moderator_sets_the_catch_up_window(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    reply = await bot.say("Mia", "cohort set ml-2026 catchup 90m")
    assert "missed posts go out up to 1 h 30 min late" in text_of(reply)
    bad = await bot.say("Mia", "cohort set ml-2026 catchup 3d")
    assert bad.error and "is not a catch-up window" in bad.text
    cohort = (await bot.core.store.list_cohorts())[0]
    assert cohort.catchup_minutes == 90


async def test_a_task_post_shows_its_checklist_and_a_check_in_shows_what_to_compare_with(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))  # 09:05 in Berlin
    for _ in range(40):
        posts = await bot.post()
        if posts and posts[0].buttons and posts[0].buttons[0].command == "done":
            break
        bot.clock.advance(DAY)
    else:
        raise AssertionError("no task posted in 40 days")
    card = posts[0].cards[0]
    task = next(
        c for c in bot.core.catalog.challenges.values() if not c.is_quiz and c.instructions in card.body
    )
    assert task.checklist  # every built-in task has one
    [looks_for] = [f.value for f in card.fields if f.name == "A reviewer looks for"]
    assert looks_for.splitlines() == [f"• {point}" for point in task.checklist]
    reply = await bot.say("Ada", "done https://github.com/ada/work")
    fields = {f.name: f.value for f in reply.cards[0].fields}
    assert fields["Check your work"].splitlines() == [f"• {point}" for point in task.checklist]
    assert fields.get("Expected result") == (task.expected or None)


async def test_quiz_tallies_count_first_answers_per_quiz_and_content_stats_prints_them(
    bot: Bot, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    await start_cohort(bot, "Ada", "Alan", "Grace")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))
    post = await post_quiz_day(bot)
    right, wrong = quiz_answer(bot, post)
    await bot.click("Ada", post, right)
    await bot.click("Alan", post, wrong)
    await bot.click("Alan", post, right)  # a second answer does not count
    await bot.click("Grace", post, right)
    quiz = next(
        c for c in bot.core.catalog.challenges.values() if c.is_quiz and c.question in post.cards[0].body
    )
    assert await bot.core.store.quiz_tallies() == {quiz.id: (3, 2)}
    if "sqlite" not in request.node.callspec.id:
        return
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.composition.cli", "content", "stats", "--min", "3",
         "--db", f"sqlite+aiosqlite:///{tmp_path}/studybot.db"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(rf"^{re.escape(quiz.id)} +{quiz.difficulty} +3 +67%$", done.stdout, re.M), done.stdout
    if quiz.difficulty != 2:  # 67% right is a medium quiz
        assert f"{quiz.id}: rated {quiz.difficulty}, 67% right of 3: looks like 2" in done.stdout
    else:
        assert (
            "To re-rate (at least 75% right: 1, 45-75%: 2, below 45%: 3; at least 3 answers): 0"
            in done.stdout
        )
