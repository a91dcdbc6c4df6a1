"""One learner across platforms, as members use it (and misuse it): `/study link` on one account gives a
one-time code, `/study link <code>` on the other links them, `/study unlink` splits them going forward.
On SQLite and PostgreSQL (the `store` fixture), with the core driven as the adapters drive it."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from bot.kernel.types import ConversationRef, Reply, UserRef
from tests.conftest import snapshot, text_of
from tests.fakes.platform import shown as rendered

DISCORD = ConversationRef("discord", "G1", "C1")
SLACK = ConversationRef("slack", "T1", "C9")
# Monday 23 November 2026, 10:00 UTC: both cohorts post daily at 09:00 UTC.
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
CODE = re.compile(r"`/study link ([A-Z2-9]{4}-[A-Z2-9]{4})`")


class Two:
    """One person's Discord and Slack accounts, and a few others, against one core."""

    def __init__(self, core: Core, clock: FakeClock) -> None:
        self.core, self.clock = core, clock

    async def say(self, who: str, line: str) -> Reply:
        platform, _, name = who.partition(":")
        where = DISCORD if platform == "discord" else SLACK
        user = UserRef(platform, name.lower(), name, is_admin=name == "Mia")
        return rendered(await self.core.dispatch(self.core.invocation(line, user, where)))

    async def ok(self, who: str, line: str) -> Reply:
        reply = await self.say(who, line)
        assert not reply.error, text_of(reply)
        return reply

    async def code(self, who: str) -> str:
        reply = await self.ok(who, "link")
        found = CODE.search(text_of(reply))
        assert found, text_of(reply)
        assert reply.ephemeral  # nobody else sees it
        return found.group(1)

    async def streak(self, who: str) -> str:
        return text_of(await self.ok(who, "streak"))

    def next_day(self) -> None:
        self.clock.set(self.clock.now() + dt.timedelta(days=1))


@pytest.fixture
async def two(core: Core, clock: FakeClock) -> Two:
    clock.set(MONDAY)
    t = Two(core, clock)
    await t.ok("discord:Mia", "cohort create ml time=09:00 tz=UTC days=daily start=2026-11-23")
    await t.ok("slack:Mia", "cohort create ml time=09:00 tz=UTC days=daily start=2026-11-23")
    for who in ("discord:Ada", "slack:Ada", "discord:Eve", "slack:Sam"):
        await t.ok(who, "join ml")
    return t


async def test_linking_merges_streak_days_progress_and_cards_once_and_then_shares_each_new_day(
    two: Two,
) -> None:
    # Ada studies on Discord Monday and Tuesday, on Slack Wednesday and Thursday: two 2-day streaks, broken.
    for account in ("discord:Ada", "discord:Ada", "slack:Ada", "slack:Ada"):
        await two.ok(account, "done")
        two.next_day()
    await two.ok("discord:Ada", "learned python/numpy")
    await two.ok("slack:Ada", "learned python/pandas")
    assert "0 days" in await two.streak("discord:Ada")  # Friday, nothing yet: Wednesday broke it

    code = await two.code("discord:Ada")
    linked = await two.ok("slack:Ada", f"link {code.lower().replace('-', ' ')}")  # typed carelessly
    shown = text_of(linked)
    assert "🔗 Accounts linked" in shown and "Discord (Ada)" in shown and linked.ephemeral
    assert "Slack (Ada): 10 points" in shown and "Discord (Ada): 10 points" in shown  # two check-ins each
    assert "20 points together" in shown

    # Both accounts now see four days in a row, and both topics learned.
    await two.ok("slack:Ada", "done")
    for account in ("discord:Ada", "slack:Ada"):
        streak = await two.streak(account)
        assert "Ada: 5 days" in streak and "Longest: 5 days" in streak, streak
        assert "days on your linked accounts count too" in streak
        roadmap = text_of(await two.ok(account, "roadmap python"))
        assert roadmap.count("✅") >= 2, roadmap

    # Saturday on Discord counts for the Slack account too, as it happens.
    two.next_day()
    await two.ok("discord:Ada", "done")
    assert "Ada: 6 days" in await two.streak("slack:Ada")
    # Points stay where they were earned: the Slack cohort's leaderboard has no Discord check-ins.
    board = text_of(await two.ok("slack:Sam", "leaderboard all"))
    assert "🥇 Ada: 15 pts" in board, board


async def test_unlinking_splits_them_going_forward_and_keeps_what_was_merged(two: Two) -> None:
    await two.ok("discord:Ada", "done")
    await two.ok("slack:Ada", f"link {await two.code('discord:Ada')}")
    await two.ok("discord:Ada", "learned python/numpy")
    two.next_day()
    await two.ok("slack:Ada", "done")
    assert "Ada: 2 days" in await two.streak("discord:Ada")

    unlinked = await two.ok("discord:Ada", "unlink")
    assert "Unlinked from Slack (Ada)" in text_of(unlinked)
    assert "nothing to undo" in text_of(await two.ok("discord:Ada", "unlink"))  # a second time

    two.next_day()
    await two.ok("slack:Ada", "done")
    await two.ok("slack:Ada", "learned python/pandas")
    # Wednesday's Slack day no longer counts on Discord; Monday and Tuesday still do.
    discord = await two.streak("discord:Ada")
    assert "Ada: 2 days" in discord and "at risk" in discord, discord
    # Slack's Tuesday and Wednesday are its own; Monday was copied from Discord's history at the link, and
    # an unlink takes such copies back (someone else's code cannot hand over a streak).
    assert "Ada: 2 days" in await two.streak("slack:Ada")
    # Each kept the progress from while they were linked; what came after is each one's own.
    slack_map = text_of(await two.ok("slack:Ada", "roadmap python"))
    discord_map = text_of(await two.ok("discord:Ada", "roadmap python"))
    assert "✅ NumPy" in slack_map and "✅ NumPy" in discord_map, (slack_map, discord_map)
    assert "✅ pandas" in slack_map and "✅ pandas" not in discord_map


async def test_codes_refused_change_nothing_and_say_why(two: Two) -> None:
    code = await two.code("discord:Ada")
    before = await snapshot(two.core.store)  # type: ignore[arg-type]
    cases = {
        ("slack:Ada", "link hello"): "is not a link code",
        ("slack:Ada", "link " + "X" * 1900): "is not a link code",
        ("slack:Ada", "link <@everyone> AAAA-AAAA"): "is not a link code",
        ("slack:Ada", "link ABCD-EFGH"): "not valid",  # well formed, but no one's
        ("discord:Ada", f"link {code}"): "own code",
        ("discord:Eve", f"link {code}"): "two Discord accounts",  # same platform as the code's
    }
    for (who, line), said in cases.items():
        reply = await two.say(who, line)
        assert reply.error and said in text_of(reply), (line[:30], text_of(reply))
        assert "@everyone" not in text_of(reply)
    assert await snapshot(two.core.store) == before  # type: ignore[arg-type]
    # The code still works for the right account after all that.
    await two.ok("slack:Ada", f"link {code}")


async def test_a_code_works_once_and_for_ten_minutes(two: Two) -> None:
    code = await two.code("discord:Ada")
    await two.ok("slack:Ada", f"link {code}")
    used = await two.say("slack:Sam", f"link {code}")  # someone who saw it on a screen share
    assert used.error and "not valid" in text_of(used)

    late = await two.code("discord:Eve")
    two.clock.set(two.clock.now() + dt.timedelta(minutes=10, seconds=1))
    expired = await two.say("slack:Sam", f"link {late}")
    assert expired.error and "older than 10 minutes" in text_of(expired)

    first = await two.code("discord:Eve")
    second = await two.code("discord:Eve")  # asking again replaces the first
    assert "not valid" in text_of(await two.say("slack:Sam", f"link {first}"))
    await two.ok("slack:Sam", f"link {second}")


async def test_one_account_per_platform_for_a_learner(two: Two) -> None:
    await two.ok("slack:Ada", f"link {await two.code('discord:Ada')}")
    clash = await two.say("slack:Sam", f"link {await two.code('discord:Ada')}")
    assert clash.error and "two Slack accounts: Slack (Ada) on the code's side and Slack (Sam)" in text_of(
        clash
    )
    again = await two.say("slack:Ada", f"link {await two.code('discord:Ada')}")
    assert again.error and "already linked" in text_of(again)


async def test_two_accounts_typing_one_code_at_once_link_one(two: Two) -> None:
    code = await two.code("discord:Ada")
    replies = await asyncio.gather(two.say("slack:Ada", f"link {code}"), two.say("slack:Sam", f"link {code}"))
    assert sorted(r.error for r in replies) == [False, True]
    accounts = await two.core.links.linked_accounts(
        (await two.core.members.upsert_member("discord", "ada", "Ada")).id
    )
    assert len(accounts) == 2


async def test_a_review_card_both_accounts_hold_keeps_the_one_answered_last(two: Two) -> None:
    from bot.kernel.types import CardChange, ReviewCard

    members = two.core.members
    discord = await members.upsert_member("discord", "ada", "Ada")
    slack = await members.upsert_member("slack", "ada", "Ada")

    def card(member_id: int, last: dt.date, due: dt.date) -> CardChange:
        return CardChange("q1", lambda _: ReviewCard(member_id, "q1", due, 3.0, 5.0, last, 1))

    now = two.clock.now()
    await two.core.learning.update_review_card(
        discord.id, card(discord.id, dt.date(2026, 11, 1), dt.date(2026, 11, 5)), now
    )
    await two.core.learning.update_review_card(
        slack.id, card(slack.id, dt.date(2026, 11, 20), dt.date(2026, 12, 9)), now
    )
    await two.core.learning.update_review_card(
        slack.id,
        CardChange("q2", lambda _: ReviewCard(slack.id, "q2", dt.date(2026, 12, 1), 1.0, 5.0, None, 0)),
        now,
    )
    await two.ok("slack:Ada", f"link {await two.code('discord:Ada')}")
    for account in (discord, slack):
        again = await members.get_member(account.id)
        assert again is not None
        cards = {c.challenge_id: c for c in await two.core.learning.review_cards(again.learner)}
        assert set(cards) == {"q1", "q2"} and cards["q1"].due == dt.date(2026, 12, 9)
