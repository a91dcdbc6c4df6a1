"""Bad input gets a clear, friendly error and changes nothing."""

from __future__ import annotations

import pytest

from bot.kernel.registry import MAX_INPUT_CHARS
from tests.conftest import Bot, snapshot


@pytest.fixture
async def ready(bot: Bot) -> Bot:
    assert not (await bot.say("Mia", "cohort create ml-2026 tz=Europe/Berlin")).error
    assert not (await bot.say("Ada", "join ml-2026")).error
    await bot.say("Ada", "today")  # creates nothing, but registers the member first
    return bot


BAD = [
    # (who, what they type, words the reply must contain)
    ("Ada", "strek", ["Unknown command `strek`", "Did you mean `streak`"]),
    ("Ada", "leaderbord", ["Did you mean `leaderboard`"]),
    ("Ada", "/study fly", ["Unknown command `fly`", "/study help"]),
    ("Ada", "cohort", ["`cohort` needs a sub-command", "create", "export"]),
    ("Ada", "answer", ["Missing <choice>", "Usage: `/study answer <A|B|C|D>`", "Example: `/study answer B`"]),
    ("Ada", "answer E", ["`E` is not one of A, B, C, D", "Usage:"]),
    ("Ada", "leaderboard yesterday", ["`yesterday` is not one of week, month, all"]),
    ("Ada", "join", ["Missing <cohort>", "Usage: `/study join <cohort>`"]),
    ("Ada", "join nope", ["no cohort called `nope`", "`ml-2026`"]),
    ("Ada", "today please", ["Unexpected `please`", "Usage: `/study today`"]),
    ("Ada", "timezone Mars/Olympus", ["not a timezone I know", "for example Europe/Berlin"]),
    ("Ada", "timezone Europe/Berlim", ["Did you mean Europe/Berlin?"]),
    ("Ada", "timezone ../../etc/passwd", ["not a timezone I know"]),
    ("Ada", "resources", ["Missing <query>", "Usage: `/study resources <query> [stage:<id>] [kind:<kind>]`"]),
    ("Ada", "resources numpy stage:mathz", ["There is no stage `mathz`", "Did you mean `stage:maths`?"]),
    ("Ada", "resources numpy kind:video", ["`kind:video` is not a kind of resource", "docs, course, book"]),
    ("Ada", "resources stage:maths", ["Say what you are looking for as well"]),
    ("Ada", "streak nobody", ["don't know a member `nobody`"]),
    ("Ada", "cohort create other", ["is for moderators", "Nothing was changed"]),
    ("Ada", "cohort export ml-2026", ["is for moderators"]),
    ("Mia", "cohort create other time=25:00", ["`25:00` is not a time", "HH:MM, for example 09:30"]),
    ("Mia", "cohort create other time=9", ["`9` is not a time"]),
    ("Mia", "cohort create other tz=Berlin", ["not a timezone I know"]),
    ("Mia", "cohort create other days=funday", ["not a set of weekdays", "mon-fri"]),
    ("Mia", "cohort create other start=2026-02-30", ["`2026-02-30` is not a date", "YYYY-MM-DD"]),
    ("Mia", "cohort create other start=tomorrow", ["is not a date"]),
    ("Mia", "cohort create other time=", ["`time=` needs a value"]),
    ("Mia", "cohort create Bad!Name", ["can't be a cohort name", "lowercase"]),
    ("Mia", "cohort create ml-2026", ["already hosts cohort `ml-2026`"]),
    ("Mia", "cohort set ml-2026 colour blue", ["`colour` is not one of time, tz, days, start, name"]),
    ("Mia", "cohort set ml-2026 time noon", ["`noon` is not a time"]),
    ("Mia", "cohort set nope time 10:00", ["no cohort called `nope`", "/study cohort list"]),
    ("Mia", "cohort fix ml-2026 ada 2026-13-01 sick", ["`2026-13-01` is not a date"]),
    ("Mia", "cohort fix ml-2026 ada 2026-11-20", ["Missing <reason>"]),
    ("Mia", "cohort fix ml-2026 ghost 2026-11-20 sick", ["don't know a member `ghost`"]),
    ("Mia", "cohort fix ml-2026 ada 2026-11-20 " + "why " * 150, ["Keep the reason under 500 characters"]),
    ("Mia", "cohort grant ghost", ["don't know a member `ghost`"]),
    ("Mia", "cohort revoke ada", ["has no granted moderator rights"]),
    ("Mia", "help nothing", ["There is no command `nothing`"]),
    ("Ada", "done " + "x" * 600, ["Keep the note under 500 characters"]),
    ("Ada", "done a\x00b", ["control characters", "Nothing was changed"]),
    ("Mia", "cohort fix ml-2026 ada 2026-11-20 why\x00", ["control characters"]),
    ("Ada", "timezone Europe/Berlin\x1b[31m", ["control characters"]),
    ("Ada", "done " + "x" * MAX_INPUT_CHARS, ["too long", "2,000 characters"]),
]


@pytest.mark.parametrize(("who", "line", "expected"), BAD, ids=[b[1][:40] for b in BAD])
async def test_bad_input_explains_and_writes_nothing(
    ready: Bot, who: str, line: str, expected: list[str]
) -> None:
    before = await snapshot(ready.core.store)
    reply = await ready.say(who, line)
    assert reply.error and reply.ephemeral
    for words in expected:
        assert words in reply.text, f"{words!r} not in {reply.text!r}"
    assert "\n" not in reply.text.strip()  # one line
    assert await snapshot(ready.core.store) == before


async def test_an_unknown_member_gets_an_error_before_anything_is_stored(bot: Bot) -> None:
    before = await snapshot(bot.core.store)
    reply = await bot.say("Newcomer", "strek")
    assert reply.error
    assert await snapshot(bot.core.store) == before


async def test_a_stranger_refused_a_moderator_command_leaves_no_trace(bot: Bot) -> None:
    before = await snapshot(bot.core.store)
    reply = await bot.say("Stranger", "cohort create sneaky")
    assert reply.error and "is for moderators" in reply.text
    assert await snapshot(bot.core.store) == before


async def test_a_failure_inside_a_command_gets_an_honest_answer_and_is_logged(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say("Mia", "cohort create ml tz=UTC")
    await bot.say("Ada", "join ml")
    store = bot.core.store

    async def outage(*_: object, **__: object) -> None:
        raise ConnectionError("database went away")

    store.standing = outage  # type: ignore[method-assign]
    reply = await bot.say("Ada", "leaderboard")
    assert reply.error and "Something went wrong on our side" in reply.text
    assert "command 'leaderboard' failed" in caplog.text and "database went away" in caplog.text
