"""Learning together on Discord, end to end through discord.py against the fake Discord: a 7-day streak
announced once in the channel with no pings, the weekly health note to the moderator who turned it on, and
`cohort stats` with its retention image, for moderators only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.adapters.discord.test_discord_adapter import (  # noqa: F401 - the fixture
    EPHEMERAL,
    MANAGE_GUILD,
    Setup,
    message_of,
    setup,
    text,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.server import CHANNEL_ID, USER_ID

NO_PINGS = {"parse": []}


def sent_with(fake: FakeDiscord, words: str) -> list[dict[str, Any]]:
    """The bodies of the message posts whose text has `words`, as they went over the wire."""
    return [
        r.json
        for r in fake.requests
        if r.method == "POST" and r.path.endswith("/messages") and r.json and words in text(r.json)
    ]


async def test_a_week_together_on_discord(setup: Setup) -> None:  # noqa: F811
    fake = setup.fake
    bob = fake.add_user("bob", display_name="@everyone Bob")
    await setup.daily_cohort("2026-11-24")
    turned = await setup.slash(
        "cohort", "set", {"name": "ml", "field": "health", "value": "on"}, permissions=MANAGE_GUILD
    )
    assert "on: moderators get it" in text(message_of(turned))
    for member in (setup.member, bob):
        await setup.slash("study", "join", {"cohort": "ml"}, user_id=member)

    for day in range(7):  # Tuesday 24 November to Monday 30: Ada checks in every day, Bob never
        setup.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC) + dt.timedelta(days=day))
        await setup.sweep()
        assert "Checked in" in text(message_of(await setup.slash("study", "done", user_id=setup.member)))
        await setup.sweep()
    setup.clock.set(setup.clock.now() + dt.timedelta(minutes=5))
    await setup.sweep()

    channel = fake.channel_messages(CHANNEL_ID)
    streaks = [m for m in channel if "reached a 7-day streak" in text(m)]
    assert len(streaks) == 1 and "Ada reached a 7-day streak" in text(streaks[0])
    assert [b["allowed_mentions"] for b in sent_with(fake, "reached a 7-day streak")] == [NO_PINGS]

    # The moderator who turned the note on gets it privately each week; Bob is at risk by Monday.
    notes = [m for m in fake.direct_messages(USER_ID) if "weekly note on cohort `ml`" in text(m)]
    assert len(notes) == 2 and "Bob" in text(notes[-1]), [text(n) for n in notes]
    assert all(b["allowed_mentions"] == NO_PINGS for b in sent_with(fake, "weekly note on cohort"))

    stats = await setup.slash("cohort", "stats", {"name": "ml"}, permissions=MANAGE_GUILD)
    shown = text(message_of(stats))
    assert message_of(stats)["flags"] & EPHEMERAL and "Members" in shown and "Bob" in shown, shown
    request = next(r for r in reversed(fake.requests) if r.path.endswith("/callback"))
    assert any(name.startswith("retention") and name.endswith(".png") for name in request.files)
    refused = await setup.slash("cohort", "stats", {"name": "ml"}, user_id=setup.member, permissions="0")
    assert "is for moderators" in text(message_of(refused))
