"""The spam limit through the real core: more than 10 commands in 10 seconds gets one "slow down", the
rest of that window is dropped without any work, and nobody else notices."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.console.session import ConsoleClock, ConsoleSession
from adapters.discord.client import DiscordPlatform, build_client
from adapters.discord.commands import SKIPPED
from bot.catalog.model import Catalog
from bot.composition.app import console_jobs, make_core
from bot.dispatch.core import Core
from bot.dispatch.ratelimit import LIMIT, WINDOW, RateLimiter
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from bot.kernel.types import Invocation, Reply, UserRef
from storage.sql_store import SqlStore
from tests.bot.features.test_member_flow import start_cohort
from tests.conftest import CHANNEL, Bot, snapshot, text_of
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.server import CHANNEL_ID, DEFAULT_TOKEN

STEP = dt.timedelta(milliseconds=500)
SLOW_DOWN = "Slow down a little, please: that is more than 10 commands in 10 seconds."
# Commands a member might send, each answered from the database (and the first one writes).
EVERYDAY = ["done notebook 1", "streak", "today", "leaderboard", "roadmap", "next", "help", "review"]


class Tripwire:
    """Stands in for the store while commands should be dropped: any use of it means one did work."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a dropped command used the store ({name})")


def answered(reply: Reply) -> bool:
    """A normal answer: something to read, not the slow-down, not dropped."""
    return not reply.silent and bool(text_of(reply)) and "Slow down" not in reply.text


def slowed_down(reply: Reply) -> bool:
    return reply.error and reply.ephemeral and not reply.silent and SLOW_DOWN in reply.text


def dropped(reply: Reply) -> bool:
    return reply.silent and not (reply.text or reply.cards or reply.buttons or reply.images)


async def flood(bot: Bot, name: str, count: int) -> list[Reply]:
    """`count` everyday commands from one member at the same instant."""
    return [await bot.say(name, EVERYDAY[i % len(EVERYDAY)]) for i in range(count)]


async def test_the_eleventh_command_in_ten_seconds_is_told_to_slow_down_and_the_rest_do_nothing(
    bot: Bot,
) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.advance(dt.timedelta(minutes=1))
    first = []
    for line in [*EVERYDAY, "streak ada", "leaderboard all"]:  # 10 commands over 4.5 seconds
        first.append(await bot.say("Ada", line))
        bot.clock.advance(STEP)
    assert len(first) == LIMIT and all(answered(r) for r in first), [r.text for r in first]
    assert "Checked in" in text_of(first[0])

    before = await snapshot(bot.core.store)
    eleventh = await bot.say("Ada", "timezone Asia/Tokyo")  # 5 seconds after the first
    assert slowed_down(eleventh)
    assert "I did not run this one and will skip what you send in the next 5 seconds" in eleventh.text

    writes = ["timezone Asia/Tokyo", "leave ml-2026", "remind on 07:30", "done", "answer A"] * 2
    later = []
    store, bot.core.store = bot.core.store, Tripwire()  # type: ignore[assignment]
    try:
        for line in writes[:9]:  # the 12th to 20th command, 5.5 to 9.5 seconds after the first
            bot.clock.advance(STEP)
            later.append(await bot.say("Ada", line))
    finally:
        bot.core.store = store
    assert all(dropped(r) for r in later)
    assert await snapshot(store) == before

    bot.clock.advance(STEP)  # 10 seconds after the first command: it has left the window
    served = await bot.say("Ada", "timezone Asia/Tokyo")
    assert answered(served) and "Asia/Tokyo" in text_of(served)
    [member] = await store.cohort_members((await store.list_cohorts())[0].id)
    assert (member.name, member.timezone) == ("Ada", "Asia/Tokyo")


async def test_other_members_are_answered_while_one_is_slowed_down(bot: Bot) -> None:
    await start_cohort(bot, "Ada", "Alan")
    bot.clock.advance(dt.timedelta(minutes=1))
    ada = await flood(bot, "Ada", LIMIT + 3)
    assert [answered(r) for r in ada[:LIMIT]] == [True] * LIMIT
    assert slowed_down(ada[LIMIT]) and dropped(ada[LIMIT + 1]) and dropped(ada[LIMIT + 2])

    alan = await flood(bot, "Alan", LIMIT)  # the same instant
    assert all(answered(r) for r in alan), [r.text for r in alan]
    # The same user id on another platform is another person.
    elsewhere = await bot.core.dispatch(Invocation("help", (), UserRef("slack", "ada", "Ada"), CHANNEL))
    assert answered(elsewhere)
    assert dropped(await bot.say("Ada", "streak"))  # while Ada herself still waits


async def test_after_the_window_a_member_is_served_again_and_warned_again_when_flooding(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.advance(dt.timedelta(minutes=1))
    assert slowed_down((await flood(bot, "Ada", LIMIT + 1))[-1])
    bot.clock.advance(WINDOW - dt.timedelta(milliseconds=1))
    assert dropped(await bot.say("Ada", "streak"))
    bot.clock.advance(dt.timedelta(milliseconds=1))
    again = await flood(bot, "Ada", LIMIT + 2)
    assert all(answered(r) for r in again[:LIMIT])
    assert slowed_down(again[LIMIT]) and dropped(again[LIMIT + 1])  # a new flood is told again, once


async def test_a_member_is_not_locked_out_when_the_clock_is_set_back(bot: Bot) -> None:
    # The console's :clock can move time backwards; commands "in the future" must not keep counting.
    await start_cohort(bot, "Ada")
    bot.clock.advance(dt.timedelta(minutes=1))
    assert slowed_down((await flood(bot, "Ada", LIMIT + 1))[-1])
    bot.clock.advance(-dt.timedelta(days=1))
    assert answered(await bot.say("Ada", "streak"))


async def test_button_clicks_count_and_autocomplete_does_not(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))  # 09:05 in Berlin
    [post] = await bot.post()
    for _ in range(3 * LIMIT):  # typing into an option: not commands
        assert await bot.core.suggest("cohort", "ml", CHANNEL)
    clicks = [await bot.click("Ada", post, post.buttons[0].label) for _ in range(LIMIT + 2)]
    assert all(answered(r) for r in clicks[:LIMIT])
    assert not clicks[0].error and all(r.error for r in clicks[1:LIMIT])  # counted once, then "already"
    assert slowed_down(clicks[LIMIT]) and dropped(clicks[LIMIT + 1])
    rows = await bot.core.store.activities((await bot.core.store.list_cohorts())[0].id)
    assert len(rows) == 1


def test_members_are_forgotten_once_their_window_has_passed() -> None:
    limiter = RateLimiter()
    start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    for i in range(1000):
        limiter.check(("discord", str(i)), start + i * dt.timedelta(milliseconds=1))
    assert len(limiter) == 1000
    limiter.check(("discord", "late"), start + WINDOW + dt.timedelta(milliseconds=500))
    assert len(limiter) == 1 + 499  # those seen within the last 10 seconds, and the newcomer
    limiter.check(("discord", "later"), start + 2 * WINDOW)
    assert len(limiter) == 1 + 1


async def test_the_console_is_not_limited_so_a_piped_script_runs_every_line(bot: Bot, tmp_path: Path) -> None:
    # One person sits at the console, often piping a script: every line runs, however fast.
    out = io.StringIO()
    session = ConsoleSession(
        bot.core,
        ConsoleClock(),
        "ada",
        out,
        interactive=False,
        files_dir=tmp_path,
        jobs=console_jobs(bot.core),
    )
    for line in [":mod on", "cohort create ml time=08:00 tz=UTC days=daily", "join ml"]:
        await session.handle(line)
    for _ in range(3 * LIMIT):
        await session.handle("help streak")
    assert out.getvalue().count("/study streak") >= 3 * LIMIT
    assert SLOW_DOWN not in out.getvalue()
    await session.handle(":post")
    await session.handle(":click 1")
    assert "(pressed " in out.getvalue() and " points" in out.getvalue()


# ---- Discord: every interaction must be answered within 3 seconds, dropped or not ----

EPHEMERAL = 64
MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)


@pytest.fixture
async def discord_setup(
    sqlite_store: SqlStore, catalog: Catalog
) -> AsyncIterator[tuple[FakeDiscord, Core, DiscordPlatform]]:
    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC)))
    async with FakeDiscord() as fake:
        client, _ = build_client(core, guild_ready_timeout=0.05)
        await fake.start_client(client)
        try:
            yield fake, core, DiscordPlatform(client, DEFAULT_TOKEN)
        finally:
            await fake.stop_client(client)


def content(callback: dict[str, Any]) -> str:
    data = callback.get("data") or {}
    return " ".join([data.get("content") or ""] + [e.get("title", "") for e in data.get("embeds", [])])


async def test_on_discord_a_dropped_command_gets_a_short_private_line_and_a_dropped_click_nothing_visible(
    discord_setup: tuple[FakeDiscord, Core, DiscordPlatform],
) -> None:
    fake, core, platform = discord_setup
    member = fake.add_user("ada", display_name="Ada")
    created = await fake.wait_for_callback(
        await fake.slash(
            "cohort", "create", {"name": "ml", "tz": "UTC", "days": "daily"}, permissions=MANAGE_GUILD
        )
    )
    assert "Cohort ml created" in content(created)
    await Poster(core, {"discord": platform}).sweep()
    [post] = fake.channel_messages(CHANNEL_ID)
    button = post["components"][0]["components"][0]

    served = [
        await fake.wait_for_callback(await fake.slash("study", "roadmap", user_id=member))
        for _ in range(LIMIT)
    ]
    assert all(c["type"] == 4 and "ML-engineer roadmap" in content(c) for c in served)
    slow = await fake.wait_for_callback(await fake.slash("study", "roadmap", user_id=member))
    assert slow["type"] == 4 and slow["data"]["flags"] & EPHEMERAL and "Slow down a little" in content(slow)

    skipped = await fake.wait_for_callback(
        await fake.slash("study", "join", {"cohort": "ml"}, user_id=member)
    )
    assert skipped["type"] == 4 and skipped["data"]["flags"] & EPHEMERAL
    assert skipped["data"]["content"] == SKIPPED and not skipped["data"].get("embeds")

    click = await fake.click(int(post["id"]), button["custom_id"], user_id=member)
    acked = await fake.wait_for_callback(click)
    assert acked["type"] == 6  # acknowledged in time, nothing shown, the post left as it was
    assert fake.message(int(post["id"])) == post
    assert fake.followups(click) == [] and fake.original_response(click) == post
    [cohort] = await core.store.list_cohorts()
    assert str(member) not in [m.user_id for m in await core.store.cohort_members(cohort.id)]  # join dropped
    assert await core.store.activities(cohort.id) == []
