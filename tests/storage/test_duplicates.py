"""The same answer or check-in sent twice, or many times at once, through the real core on both databases:
exactly one is stored and counted, and every other one is told, in words, which one counted."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.catalog.model import LETTERS, Catalog
from bot.composition.app import make_core
from bot.kernel.clock import FakeClock
from bot.kernel.types import Activity, ActivityKind, Invocation, Reply
from bot.rules.points import POINTS_CHECKIN, POINTS_CORRECT, POINTS_WRONG
from storage.sql_store import SqlStore
from tests.bot.features.test_member_flow import post_quiz_day, quiz_answer, start_cohort
from tests.conftest import CHANNEL, Bot, text_of


async def quiz_day(bot: Bot) -> Reply:
    """A cohort with Ada in it and today's quiz posted; the post."""
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))  # 09:05 in Berlin
    return await post_quiz_day(bot)  # type: ignore[no-any-return]


async def ledger(bot: Bot) -> list[Activity]:
    return await bot.core.store.activities((await bot.core.store.list_cohorts())[0].id)


async def points_shown(bot: Bot) -> str:
    return (await bot.say("Ada", "leaderboard week")).cards[0].body


def refusal_for(stored: Activity) -> str:
    verdict = "right" if stored.correct else "not right"
    return f"You already answered {stored.choice} ({verdict}); the first answer counts."


def verdict_of(reply: Reply) -> bool | None:
    """True for "Correct", False for "Not quite", None when the reply is not an answer's result."""
    shown = text_of(reply)
    if "✅ Correct!" in shown:
        return True
    return False if "❌ Not quite" in shown else None


async def test_two_typed_answers_at_once_store_one_and_tell_the_other_which_counted(bot: Bot) -> None:
    post = await quiz_day(bot)
    right, wrong = quiz_answer(bot, post)
    replies = await asyncio.gather(bot.say("Ada", f"answer {right}"), bot.say("Ada", f"answer {wrong}"))

    [stored] = await ledger(bot)
    assert stored.kind is ActivityKind.ANSWER and stored.choice in (right, wrong)
    results = [r for r in replies if not r.error]
    refusals = [r for r in replies if r.error]
    assert len(results) == 1 and len(refusals) == 1, [r.text for r in replies]
    assert verdict_of(results[0]) is stored.correct is (stored.choice == right)
    assert refusals[0].ephemeral and refusal_for(stored) in refusals[0].text
    points = POINTS_CORRECT if stored.correct else POINTS_WRONG
    assert f"+{points} points" in text_of(results[0]) and f"Ada: {points} pts" in await points_shown(bot)


async def test_two_check_ins_at_once_store_one_and_refuse_the_other(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    replies = await asyncio.gather(bot.say("Ada", "done notebook one"), bot.say("Ada", "done notebook two"))

    [stored] = await ledger(bot)
    assert stored.kind is ActivityKind.CHECKIN and stored.points == POINTS_CHECKIN
    [result] = [r for r in replies if not r.error]
    [refusal] = [r for r in replies if r.error]
    assert "✅ Checked in" in text_of(result) and f"Noted: {stored.note}" in text_of(result)
    assert "You already checked in on Mon 23 Nov. See you tomorrow!" in refusal.text
    assert f"Ada: {POINTS_CHECKIN} pts" in await points_shown(bot)
    streak = text_of(await bot.say("Ada", "streak"))
    assert "Current: 1 day" in streak


async def test_a_double_click_on_an_answer_button_counts_once(bot: Bot) -> None:
    post = await quiz_day(bot)
    right, _ = quiz_answer(bot, post)
    button = next(b for b in post.buttons if b.label == right)
    click = Invocation(button.command, button.args, bot.user("Ada"), CHANNEL)
    assert button.args[0] == right and button.args[1].isdigit()  # the post id rides along

    first = await bot.core.dispatch(click)
    second = await bot.core.dispatch(click)

    assert verdict_of(first) is True and f"+{POINTS_CORRECT} points" in text_of(first)
    assert second.error and f"You already answered {right} (right); the first answer counts." in second.text
    [stored] = await ledger(bot)
    assert (stored.choice, stored.correct, stored.points) == (right, True, POINTS_CORRECT)
    board = await points_shown(bot)
    assert f"Ada: {POINTS_CORRECT} pts" in board and f"{2 * POINTS_CORRECT} pts" not in board
    today = await bot.say("Ada", "today")
    assert f"You answered {right}: right ({POINTS_CORRECT} points)." in today.text and not today.buttons


async def test_twenty_answers_at_once_with_different_choices_store_the_first_only(
    store: SqlStore, catalog: Catalog, clock: FakeClock
) -> None:
    # Without the spam limit, so that all twenty reach the database and race there.
    bot = Bot(make_core(store, catalog, clock, rate_limit=False), clock, admins={"Mia"})
    post = await quiz_day(bot)
    right, _ = quiz_answer(bot, post)
    choices = [LETTERS[i % len(LETTERS)] for i in range(20)]
    replies = await asyncio.gather(*(bot.say("Ada", f"answer {c}") for c in choices))

    [stored] = await ledger(bot)
    # The first to reach the database counts: its sender gets the result, the nineteen others are told
    # which answer that was, and none of them is told something else.
    results = [(c, r) for c, r in zip(choices, replies, strict=True) if not r.error]
    assert len(results) == 1, [r.text for r in replies]
    [(choice, result)] = results
    assert stored.choice == choice and stored.correct is (choice == right) is verdict_of(result)
    refusals = [r for r in replies if r.error]
    assert len(refusals) == 19 and all(refusal_for(stored) in r.text for r in refusals)
    points = POINTS_CORRECT if stored.correct else POINTS_WRONG
    assert stored.points == points and f"Ada: {points} pts" in await points_shown(bot)
