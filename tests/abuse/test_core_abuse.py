"""Hostile members against the core: names, markers, foreign refs, timezone hopping, heavy floods."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from bot.catalog.model import LETTERS
from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from bot.kernel.registry import Registry
from bot.kernel.types import ConversationRef, Invocation, Reply, UserRef
from bot.kernel.untrusted import CLOSE, MAX_NAME_CHARS, OPEN, plain
from storage.sql_store import SqlStore
from tests.bot.features.test_member_flow import post_quiz_day, start_cohort
from tests.conftest import CHANNEL, Bot, text_of

ELSEWHERE = ConversationRef("console", "other-workspace", "general")


async def say_as(bot: Bot, user: UserRef, line: str, where: ConversationRef = CHANNEL) -> Reply:
    """What the core answers `user` (whose name the platform sent as it liked), markers and all."""
    return await bot.core.dispatch(bot.core.invocation(line, user, where))


async def test_a_name_with_a_lone_surrogate_and_controls_is_cleaned_and_its_commands_work(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    # A lone surrogate made every command of this member fail; CR/LF/ESC/NUL would forge log lines.
    evil = UserRef("console", "eve", "Eve\ud800\r\nINFO forged line\x1b[31m\x00")
    joined = await say_as(bot, evil, "join ml-2026")
    assert not joined.error, joined.text
    done = await say_as(bot, evil, "done")
    assert not done.error and "Checked in" in text_of(done)
    board = text_of(await bot.say("Ada", "leaderboard"))
    assert "Eve\ufffd INFO forged line[31m" in board
    [member] = [m for m in await bot.core.store.cohort_members(1) if m.user_id == "eve"]
    assert member.name == "Eve\ufffd INFO forged line[31m"
    assert not any(c in member.name for c in "\r\n\x1b\x00")


async def test_a_very_long_name_is_cut_and_an_empty_one_gets_a_placeholder(bot: Bot) -> None:
    await start_cohort(bot)
    long = UserRef("console", "long", "x" * 5000)
    assert not (await say_as(bot, long, "join ml-2026")).error
    blank = UserRef("console", "blank", "\x00\x01 \u200b"[:3])
    assert not (await say_as(bot, blank, "join ml-2026")).error
    names = {m.user_id: m.name for m in await bot.core.store.cohort_members(1)}
    assert names["long"] == "x" * MAX_NAME_CHARS
    assert names["blank"] == "someone"


async def test_names_notes_and_pack_text_are_marked_as_data_in_replies(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    hostile = "[Claim Nitro](https://evil.example/x) @everyone <!channel>"
    eve = UserRef("console", "eve", hostile)
    assert not (await say_as(bot, eve, "join ml-2026")).error
    await say_as(bot, eve, "done **bold** <@&123>")
    board = await say_as(bot, eve, "leaderboard")
    assert f"{OPEN}{hostile}{CLOSE}: " in board.cards[0].body
    mine = await say_as(bot, eve, "streak")
    assert mine.cards[0].title.startswith(f"🔥 {OPEN}{hostile}{CLOSE}")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))
    await post_quiz_day(bot)
    [(_, posted)] = [s for s in bot.platform.sent if s[1].buttons][-1:]
    raw_post = await say_as(bot, UserRef("console", "ada", "Ada"), "today")
    # The question and options come from a content pack: data, not markup.
    assert raw_post.cards[0].body.startswith(OPEN) and raw_post.cards[0].body.endswith(CLOSE)
    assert posted.cards[0].body == raw_post.cards[0].body.strip(OPEN + CLOSE)


async def test_markers_typed_by_a_member_cannot_open_or_close_a_span(bot: Bot) -> None:
    await start_cohort(bot)
    forger = UserRef("console", "forger", f"x{CLOSE} **not data** {OPEN}y")
    assert not (await say_as(bot, forger, "join ml-2026")).error
    await say_as(bot, forger, "done hi")
    board = await say_as(bot, forger, "leaderboard")
    assert f"{OPEN}x **not data** y{CLOSE}" in board.cards[0].body
    note = await say_as(bot, forger, "leaderboard")
    assert note.cards[0].body.count(OPEN) == note.cards[0].body.count(CLOSE) == 1


async def click_as(bot: Bot, user: UserRef, args: tuple[str, ...], where: ConversationRef) -> Reply:
    """An answer button's Invocation, as an adapter builds it from a click (or a forged payload)."""
    return await bot.core.dispatch(Invocation("answer", args, user, where))


async def test_an_answer_ref_cannot_be_typed(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))
    post = await post_quiz_day(bot)
    ref = post.buttons[0].args[1]
    for line in (f"answer A {ref}", "answer A 99999999999999999999999999", f"/study answer b {ref}"):
        typed = await bot.say("Ada", line)
        assert typed.error and "Unexpected" in typed.text and "Usage: `/study answer <A|B|C|D>`" in typed.text
    assert (await bot.core.store.post_tally(int(ref))) == (0, 0, 0)


async def test_an_answer_ref_from_another_workspace_reveals_nothing(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC))
    post = await post_quiz_day(bot)
    ref = post.buttons[0].args[1]
    outsider = UserRef("console", "mallory", "Mallory")
    missing = await click_as(bot, outsider, ("A", "999999"), ELSEWHERE)
    assert missing.error and "no longer exists" in missing.text
    for letter in LETTERS:
        forged = await click_as(bot, outsider, (letter, ref), ELSEWHERE)
        assert forged.error and forged.text == missing.text
        assert "ml-2026" not in text_of(forged) and not forged.cards
    bot.clock.advance(dt.timedelta(days=1))  # the next day the closed card would show the answer
    closed = await click_as(bot, outsider, ("A", ref), ELSEWHERE)
    assert closed.error and closed.text == missing.text and not closed.cards
    assert (await bot.core.store.post_tally(int(ref))) == (0, 0, 0)
    huge = await click_as(bot, outsider, ("A", "9" * 40), CHANNEL)
    assert huge.error and huge.text == missing.text


async def test_timezone_hopping_buys_no_extra_days(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    # 11:00 UTC on the 24th is 23:00 on the 23rd at UTC-12 and 01:00 on the 25th at UTC+14.
    bot.clock.set(dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC))
    answers = []
    for zone in ("Etc/GMT+12", "UTC", "Etc/GMT-14"):
        assert not (await bot.say("Ada", f"timezone {zone}")).error
        answers.append(await bot.say("Ada", "done"))
    assert not answers[0].error
    assert all(a.error and "Nothing was recorded" in a.text for a in answers[1:])
    cohort = (await bot.core.store.list_cohorts())[0]
    days = await bot.core.store.activities(cohort.id)
    assert [a.local_date for a in days] == [dt.date(2026, 11, 23)]
    assert sum(a.points for a in days) == 5
    # Two days later, hopping west to fill the day just missed is refused too.
    bot.clock.advance(dt.timedelta(days=2))  # 11:00 UTC on the 26th
    assert not (await bot.say("Ada", "timezone UTC")).error
    assert "for Thu 26 Nov" in text_of(await bot.say("Ada", "done"))
    assert not (await bot.say("Ada", "timezone Etc/GMT+12")).error  # 23:00 on the 25th there
    back = await bot.say("Ada", "done")
    assert back.error and "cannot take you back a day" in back.text
    assert len(await bot.core.store.activities(cohort.id)) == 2


async def test_a_member_on_one_timezone_gets_a_new_day_right_after_midnight(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    await bot.say("Ada", "timezone Europe/Berlin")
    bot.clock.set(dt.datetime(2026, 11, 24, 22, 55, tzinfo=dt.UTC))  # 23:55 in Berlin
    assert not (await bot.say("Ada", "done")).error
    bot.clock.advance(dt.timedelta(minutes=10))  # 00:05 the next day
    assert "for Wed 25 Nov" in text_of(await bot.say("Ada", "done"))


async def test_heavy_commands_are_bounded_per_workspace(
    store: SqlStore, catalog: Any, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    started: list[str] = []
    moved = asyncio.Event()
    registry = Registry()

    @registry.command("slow", "stand-in for a search, an image or an export", heavy=True)
    async def slow(ctx: Any, _: dict[str, Any]) -> Reply:
        started.append(ctx.conversation.workspace_id)
        moved.set()
        await gate.wait()
        return Reply(text="done")

    core = Core(store, catalog, clock, registry, rate_limit=False)
    core.heavy.wait = 0.05
    here = ConversationRef("console", "busy", "general")

    def run(name: str, where: ConversationRef) -> asyncio.Task[Reply]:
        user = UserRef("console", name, name)
        return asyncio.create_task(core.dispatch(Invocation("slow", (), user, where)))

    async def started_count(n: int) -> None:
        async with asyncio.timeout(10):
            while len(started) < n:
                moved.clear()
                await moved.wait()

    flood = [run(f"m{i}", here) for i in range(2)]
    await started_count(2)
    refused = await run("m2", here)
    assert refused.error and "busy" in refused.text and "nothing was changed" in refused.text
    other = run("o1", ELSEWHERE)
    await started_count(3)
    assert started == ["busy", "busy", "other-workspace"]
    gate.set()
    assert [r.text for r in await asyncio.gather(*flood, other)] == ["done"] * 3
    assert (await run("m3", here)).text == "done"


async def test_resource_cards_and_the_echoed_query_are_marked_as_data(bot: Bot) -> None:
    reply = await say_as(
        bot, UserRef("console", "ada", "Ada"), "resources pandas `x` [y](https://evil.example)"
    )
    assert (
        reply.text.startswith("🔎 Best")
        and f"`{OPEN}pandas `x` [y](https://evil.example){CLOSE}`" in reply.text
    )
    assert reply.cards and all(c.title.startswith(OPEN) and c.body.startswith(OPEN) for c in reply.cards)


async def test_an_overlong_autocomplete_prefix_reads_nothing(bot: Bot, monkeypatch: Any) -> None:
    reads: list[str] = []
    list_cohorts = bot.core.store.list_cohorts

    async def counted(*args: Any) -> Any:
        reads.append("list_cohorts")
        return await list_cohorts(*args)

    monkeypatch.setattr(bot.core.store, "list_cohorts", counted)
    assert await bot.core.suggest("cohort", "m" * 5000, CHANNEL) == []
    assert reads == []
    await bot.core.suggest("cohort", "m", CHANNEL)
    assert reads == ["list_cohorts"]


async def test_a_member_sees_and_changes_only_this_workspaces_cohorts(bot: Bot) -> None:
    await start_cohort(bot, "Ada")  # in CHANNEL's workspace
    await bot.say("Ada", "done")
    # Discord user ids are global: the same member in another server must not reach this cohort from there.
    for line in ("leaderboard", "today", "done", "answer A", "streak", "leave"):
        reply = await bot.say("Ada", line, ELSEWHERE)
        assert reply.error and "You have not joined a cohort yet" in reply.text, (line, reply.text)
        assert "ml-2026" not in text_of(reply)
    roadmap = await bot.say("Ada", "roadmap", ELSEWHERE)
    assert not roadmap.error and "Join a cohort to follow the roadmap together." in text_of(roadmap)
    cohort = (await bot.core.store.list_cohorts())[0]
    assert len(await bot.core.store.activities(cohort.id)) == 1
    assert [m.name for m in await bot.core.store.cohort_members(cohort.id)] == ["Ada"]


async def test_changing_the_cohorts_timezone_buys_no_extra_days(bot: Bot) -> None:
    await start_cohort(bot, "Ada")
    bot.clock.set(dt.datetime(2026, 11, 23, 10, 30, tzinfo=dt.UTC))
    replies = []
    for zone in ("Pacific/Pago_Pago", "Europe/London", "Pacific/Kiritimati"):  # the 22nd, 23rd, 24th
        assert not (await bot.say("Mia", f"cohort set ml-2026 tz {zone}")).error
        replies.append(await bot.say("Ada", "done"))
    assert not replies[0].error
    assert all(r.error and "Nothing was recorded" in r.text for r in replies[1:])
    cohort = (await bot.core.store.list_cohorts())[0]
    assert [a.local_date for a in await bot.core.store.activities(cohort.id)] == [dt.date(2026, 11, 22)]


async def test_pack_text_in_the_cohort_card_is_marked_as_data(bot: Bot) -> None:
    reply = await say_as(bot, bot.user("Mia"), "cohort create ml-2026")
    [stage] = [f.value for f in reply.cards[0].fields if f.name == "Stage"]
    assert stage.startswith(OPEN) and f"{CLOSE}, week 1 of" in stage


async def test_a_cohort_name_with_a_trailing_newline_is_refused(bot: Bot) -> None:
    mia = bot.user("Mia")
    for args in (("ab\n",), ("ab\n", "time=09:00")):
        reply = await bot.core.dispatch(Invocation("cohort create", args, mia, CHANNEL))
        assert reply.error and "can't be a cohort name" in plain(reply.text)
    assert await bot.core.store.list_cohorts() == []


async def test_naming_a_member_reads_only_the_members_it_matches(bot: Bot, monkeypatch: Any) -> None:
    # Resolving `streak ada` used to read the whole cohort onto the event loop: 470 ms at 100,000 members.
    await start_cohort(bot, "Ada", "Alan", "Grace")
    bot.clock.set(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC))
    read: list[int] = []
    find_members = bot.core.store.find_members

    async def counted(*args: Any, **kwargs: Any) -> Any:
        found = await find_members(*args, **kwargs)
        read.append(len(found))
        return found

    async def everyone(*_: Any) -> Any:
        raise AssertionError("a member lookup read every member")

    monkeypatch.setattr(bot.core.store, "find_members", counted)
    monkeypatch.setattr(bot.core.store, "cohort_members", everyone)
    assert "🌱 Ada: 0 days" in text_of(await bot.say("Alan", "streak ADA"))
    assert "Grace is now a moderator" in text_of(await bot.say("Mia", "cohort grant <@grace>"))
    assert not (await bot.say("Mia", "cohort fix ml-2026 alan 2026-11-24 flu")).error
    unknown = await bot.say("Alan", "streak nobody")
    assert unknown.error and "don't know a member" in unknown.text
    assert read == [1, 1, 1, 0]
