"""Figures a member sees in two places agree: the leaderboard and the weekly recap place tied members alike,
counts say whom they count, and replies that change nothing say why."""

from __future__ import annotations

import datetime as dt

from bot.features.leaderboard import LEADERS_READ
from tests.conftest import Bot, snapshot, text_of

DAY = dt.timedelta(days=1)
MONDAY = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)


def board_lines(body: str) -> list[str]:
    return [line.removesuffix(" ← you") for line in body.splitlines()]


async def check_ins(bot: Bot, days: dict[str, list[int]]) -> None:
    """Each member checks in (5 points) on the given days of the week of MONDAY (0 is Monday)."""
    for offset in range(7):
        bot.clock.set(MONDAY + offset * DAY)
        for name, on in days.items():
            if offset in on:
                assert not (await bot.say(name, "done")).error


async def test_tied_members_share_place_and_medal_alike_on_the_leaderboard_and_in_the_recap(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml time=09:00 tz=UTC days=daily start=2026-11-09")
    # ada joins before Grace: the store lists equal points by the later member id first (Grace), the board
    # by name (ada), so the test shows the board's own rule at work.
    for name in ("Zoe", "ada", "Grace", "Bob", "Alan", "Ken", "Sam"):
        assert not (await bot.say(name, "join ml")).error
    await check_ins(
        bot,
        {"Zoe": [0, 1, 2], "Grace": [0, 1], "ada": [1, 2], "Bob": [3], "Alan": [4], "Sam": [0, 1, 2, 3]},
    )
    await bot.say("Sam", "leave ml")  # off the board, and no longer counted as a member
    bot.clock.set(MONDAY + 6 * DAY + dt.timedelta(hours=10))  # Sunday 22:00: the week is complete
    board = await bot.say("Ken", "leaderboard week")
    expected = ["🥇 Zoe: 15 pts", "🥈 ada: 10 pts", "🥈 Grace: 10 pts", "=4. Alan: 5 pts", "=4. Bob: 5 pts"]
    assert board_lines(board.cards[0].body) == expected
    assert board.cards[0].footer == "You have no points this week: `/study today` to start."
    grace = await bot.say("Grace", "leaderboard")
    assert board_lines(grace.cards[0].body) == expected and "🥈 Grace: 10 pts ← you" in grace.cards[0].body
    assert grace.cards[0].footer == "You have 10 pts: #2 of the 5 members with points this week."

    bot.clock.set(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))  # Monday, post time: the recap goes first
    await bot.post()
    [recap] = [
        r for (_, r), k in zip(bot.platform.sent, bot.platform.keys, strict=True) if "recap" in (k or "")
    ]
    assert recap.cards[0].title == "📊 Week in review: 16 Nov–22 Nov"
    assert board_lines(recap.cards[0].body) == expected  # the same places, medals and order

    listed = text_of(await bot.say("Mia", "cohort list"))
    assert "6 members" in listed  # enrolled: Sam left; Ken is in it without points
    assert recap.cards[0].footer == "Cohort ml · 6 members"


async def test_the_leaderboard_counts_members_with_points_and_says_so(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml tz=UTC days=daily start=2026-11-01")
    for name in ("Ada", "Grace", "Alan", "Ken", "Sam"):
        await bot.say(name, "join ml")
    bot.clock.set(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC))
    for name in ("Ada", "Grace", "Sam"):
        await bot.say(name, "done")
    await bot.say("Sam", "leave ml")
    board = await bot.say("Ada", "leaderboard")
    assert board_lines(board.cards[0].body) == ["🥇 Ada: 5 pts", "🥇 Grace: 5 pts"]
    assert board.cards[0].footer == "You have 5 pts: #1 of the 2 members with points this week."
    assert "4 members" in text_of(await bot.say("Mia", "cohort list"))  # Ada, Grace, Alan, Ken
    alan = await bot.say("Alan", "leaderboard all")
    assert alan.cards[0].footer == "You have no points so far: `/study today` to start."


async def test_remind_on_outside_any_cohort_explains_how_to_join_and_changes_nothing(bot: Bot) -> None:
    await bot.say("Ada", "help")  # Ada is known to the bot before the snapshot
    before = await snapshot(bot.core.store)
    nowhere = await bot.say("Ada", "remind on")
    assert nowhere.error and "Reminders warn you when your streak in a cohort is at risk" in nowhere.text
    assert "turned nothing on" in nowhere.text and "There are no cohorts here yet" in nowhere.text
    assert await snapshot(bot.core.store) == before

    await bot.say("Mia", "cohort create ml tz=UTC")
    before = await snapshot(bot.core.store)
    unjoined = await bot.say("Ada", "remind on 21:30")
    assert unjoined.error and "Join one with `/study join <cohort>`: `ml`." in unjoined.text
    assert await snapshot(bot.core.store) == before

    await bot.say("Ada", "join ml")
    assert "at 21:30" in (await bot.say("Ada", "remind on 21:30")).text


async def test_a_catch_up_window_too_short_to_post_is_refused_with_the_reason(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml tz=UTC")
    before = await snapshot(bot.core.store)
    for window in ("0h", "0", "3m"):
        refused = await bot.say("Mia", f"cohort set ml catchup {window}")
        assert refused.error and f"`{window}` is too short for a catch-up window" in refused.text
        assert "at 0, every post" in refused.text and "Use 5m to 24h" in refused.text
        assert "`/study cohort pause <name>`" in refused.text
    assert await snapshot(bot.core.store) == before
    accepted = await bot.say("Mia", "cohort set ml catchup 5m")
    assert not accepted.error and "missed posts go out up to" in text_of(accepted)
    assert (await bot.core.store.list_cohorts())[0].catchup_minutes == 5


async def test_a_tie_too_big_to_read_whole_is_said_on_the_leaderboard(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml tz=UTC days=daily start=2026-11-01")
    bot.clock.set(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC))
    names = [f"m{i:02}" for i in range(LEADERS_READ + 1)]
    for name in names:
        await bot.say(name, "join ml")
        await bot.say(name, "done")
    lines = board_lines((await bot.say("m00", "leaderboard")).cards[0].body)
    assert len(lines) == 11 and all(
        line.startswith("🥇 m") and line.endswith(": 5 pts") for line in lines[:10]
    )
    assert lines[10] == "… and more members with 5 pts"
