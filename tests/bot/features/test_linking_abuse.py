"""Linked accounts as a careless or hostile member uses them: double taps, both ends at once, someone
else's code, clashing platforms, a stolen database copy, progress completed by the merge. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re

import pytest

from bot.dispatch.core import Core
from bot.features.linking import code_hash, new_code
from bot.kernel.clock import FakeClock
from bot.kernel.types import ConversationRef, Reply, UserRef
from tests.conftest import text_of
from tests.fakes.platform import shown as rendered

WHERE = {
    "discord": ConversationRef("discord", "G1", "C1"),
    "slack": ConversationRef("slack", "T1", "C9"),
    "console": ConversationRef("console", "ws1", "general"),
    "discord2": ConversationRef("discord", "G1", "C2"),  # a second Discord channel, for a second cohort
}
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
CODE = re.compile(r"`/study link ([A-Z2-9]{4}-[A-Z2-9]{4})`")


class Three:
    def __init__(self, core: Core, clock: FakeClock) -> None:
        self.core, self.clock = core, clock

    async def say(self, who: str, line: str) -> Reply:
        where, _, name = who.partition(":")
        user = UserRef(WHERE[where].platform, name.lower(), name, is_admin=name == "Mia")
        return rendered(
            await self.core.dispatch(self.core.invocation(line, user, WHERE[where]), limited=False)
        )

    async def ok(self, who: str, line: str) -> Reply:
        reply = await self.say(who, line)
        assert not reply.error, text_of(reply)
        return reply

    async def code(self, who: str) -> str:
        found = CODE.search(text_of(await self.ok(who, "link")))
        assert found
        return found.group(1)

    async def link(self, giver: str, taker: str) -> None:
        await self.ok(taker, f"link {await self.code(giver)}")

    async def member(self, who: str):  # type: ignore[no-untyped-def]
        platform, _, name = who.partition(":")
        return await self.core.members.upsert_member(platform, name.lower(), name)

    async def streak(self, who: str) -> str:
        return text_of(await self.ok(who, "streak"))

    def next_day(self) -> None:
        self.clock.set(self.clock.now() + dt.timedelta(days=1))


@pytest.fixture
async def t(core: Core, clock: FakeClock) -> Three:
    clock.set(MONDAY)
    t = Three(core, clock)
    for platform in ("discord", "slack", "console"):
        await t.ok(f"{platform}:Mia", "cohort create ml time=09:00 tz=UTC days=daily start=2026-11-23")
    for who in ("discord:Ada", "slack:Ada", "console:Ada", "discord:Eve", "slack:Sam"):
        await t.ok(who, "join ml")
    return t


INTERNAL = "Something went wrong on our side"


async def test_tapping_link_twice_at_once_gives_a_code_not_an_internal_error(t: Three) -> None:
    # A double click on Discord, or a laggy Slack retry: two `/study link` from one account at once.
    for _ in range(10):
        replies = await asyncio.gather(t.say("discord:Ada", "link"), t.say("discord:Ada", "link"))
        for reply in replies:
            assert INTERNAL not in text_of(reply), "PostgreSQL: duplicate key on link_code.member_id"


async def test_unlinking_both_accounts_at_once_is_not_an_internal_error(t: Three) -> None:
    # Ada taps /study unlink on her phone (Slack) and laptop (Discord) at the same moment.
    for _ in range(10):
        await t.link("discord:Ada", "slack:Ada")
        replies = await asyncio.gather(t.say("discord:Ada", "unlink"), t.say("slack:Ada", "unlink"))
        for reply in replies:
            assert INTERNAL not in text_of(reply), "PostgreSQL: deadlock detected"


async def test_redeeming_each_others_codes_at_once_is_not_an_internal_error(t: Three) -> None:
    # Ada asked for a code on both accounts and types each into the other, at the same time.
    for _ in range(10):
        discord, slack = await t.code("discord:Ada"), await t.code("slack:Ada")
        replies = await asyncio.gather(
            t.say("slack:Ada", f"link {discord}"), t.say("discord:Ada", f"link {slack}")
        )
        for reply in replies:
            assert INTERNAL not in text_of(reply), "PostgreSQL: deadlock detected"
        await t.ok("discord:Ada", "unlink")


async def test_someone_elses_code_linked_and_unlinked_at_once_does_not_hand_over_their_streak(
    t: Three,
) -> None:
    # Ada (Discord) has 8 days in a row; Sam (a different person, Slack) redeems her code, which she gave
    # him or he saw on her screen, and unlinks straight away.
    for _ in range(8):
        await t.ok("discord:Ada", "done")
        t.next_day()
    await t.ok("slack:Sam", f"link {await t.code('discord:Ada')}")
    await t.ok("slack:Sam", "unlink")
    await t.ok("slack:Sam", "done")  # Sam's first day ever
    streak = await t.streak("slack:Sam")
    sam = await t.member("slack:Sam")
    milestones = await t.core.notices.claim_milestones(t.clock.now(), 10, ["slack"])
    # Ada's history was copied to Sam at the link and goes with the unlink: no streak, freeze or milestone.
    assert [m for m in milestones if m.member_id == sam.id] == []
    assert "Sam: 1 day" in streak, streak


async def test_the_platform_clash_names_the_platform_that_clashes(t: Three) -> None:
    await t.link("discord:Ada", "console:Ada")
    await t.link("slack:Sam", "discord:Sam")  # Sam: Slack and Discord
    reply = await t.say("slack:Sam", f"link {await t.code('discord:Ada')}")
    shown = text_of(reply)
    assert reply.error
    assert "two Discord accounts: Discord (Ada) on the code's side and Discord (Sam) on yours" in shown, shown


def test_a_stolen_database_copy_does_not_give_the_live_codes_away() -> None:
    # 31**8 = 8.5e11 codes: one GPU computes that many SHA-256 in minutes, so a plain hash of a live code
    # would give it back within its ten minutes. The kept value is scrypt's, and the same for the code typed.
    code, kept = new_code()
    assert kept != hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    assert code_hash(code.lower().replace("-", " ")) == kept and code_hash("AAAA-AAAA") != kept


async def test_a_stage_finished_by_linking_is_a_milestone(t: Three) -> None:
    python = ["python-basics", "numpy", "pandas", "visualisation", "scikit-learn", "notebooks"]
    for topic in python:
        await t.ok("discord:Ada", f"learned python/{topic}")
    await t.ok("slack:Ada", "learned python/deep-learning-frameworks")  # the last one, on Slack
    await t.link("discord:Ada", "slack:Ada")
    roadmap = text_of(await t.ok("discord:Ada", "roadmap python"))
    assert roadmap.count("✅") == 7, roadmap  # the stage is complete for the learner now...
    await t.ok(
        "discord:Ada", "learned python/deep-learning-frameworks"
    )  # ...and saying so again changes nothing
    kinds = [m.kind for m in await t.core.notices.claim_milestones(t.clock.now(), 50, ["discord", "slack"])]
    assert "stage:python" in kinds, kinds
