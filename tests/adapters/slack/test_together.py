"""Learning together on Slack, end to end through slack-bolt and slack_sdk against the fake Slack: a 7-day
streak announced once in the channel, buddy pods in a group conversation, the weekly health note to the
moderator, and `cohort stats` with its retention image."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from tests.adapters.slack.test_slack_adapter import MEMBER, Setup, setup, shown  # noqa: F401 - the fixture
from tests.fakes.slack import CHANNEL_ID

BOB = "U0BOB"


def posted(on: Setup, words: str) -> list[dict[str, Any]]:
    return [c.args for c in on.fake.calls_to("chat.postMessage") if words in shown(c.args)]


async def uploads(on: Setup, prefix: str, more_than: int = 0) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(300):  # files are shared after the reply
        found = [
            f for f in on.fake.files.values() if f["filename"].startswith(prefix) and f.get("channel_id")
        ]
        if len(found) > more_than:
            return found
        await asyncio.sleep(0.01)
    return found


async def test_a_week_together_on_slack(setup: Setup) -> None:  # noqa: F811
    setup.fake.set_user(BOB, name="bob")
    # Tuesday 24 November, 08:00 UTC: a daily cohort, the health note on, two members in the pods.
    await setup.study("cohort create ml time=09:00 tz=UTC days=daily start=2026-11-24")
    assert "on: moderators get it" in shown(await setup.study("cohort set ml health on"))
    for user in (MEMBER, BOB):
        await setup.study("join ml", user=user)
        assert "buddy pods of ml" in shown(await setup.study("pods on", user=user))

    for day in range(7):  # Tuesday to Monday: ada checks in every day, bob never
        setup.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC) + dt.timedelta(days=day))
        await setup.sweep()
        assert "Checked in" in shown(await setup.study("done", user=MEMBER))
        await setup.sweep()
    setup.clock.set(setup.clock.now() + dt.timedelta(minutes=5))
    await setup.sweep()

    [streak] = posted(setup, "reached a 7-day streak")
    assert streak["channel"] == CHANNEL_ID and "ada reached a 7-day streak" in shown(streak)
    assert "<!everyone>" not in shown(streak) and "<!channel>" not in shown(streak)

    # Pods and the health note come on each week's first posting day: Tuesday 24 (the start), Monday 30.
    opened = [c.args for c in setup.fake.calls_to("conversations.open")]
    pods = [o for o in opened if o.get("users") == f"{MEMBER},{BOB}"]
    assert len(pods) == 2, opened  # one group conversation a week, not a message to each
    first, second = posted(setup, "Your buddy pod this week in ml")
    assert first["channel"] == second["channel"] != CHANNEL_ID
    assert "ada · 🔥 6" in shown(second) and "bob · 🔥 0" in shown(second), shown(second)
    # The moderator's weekly note, privately: bob is at risk (no activity on his last 3 posting days).
    health = posted(setup, "Your weekly note on cohort `ml`")
    assert len(health) == 2 and health[-1]["channel"] != CHANNEL_ID and "bob" in shown(health[-1])
    await setup.sweep()  # once a week, once a pod
    assert len(posted(setup, "Your weekly note")) == 2 and len(posted(setup, "Your buddy pod")) == 2

    notes = len(await uploads(setup, "retention"))  # each weekly note carries the curve too
    stats = await setup.study("cohort stats ml")
    text = shown(stats)
    assert stats["response_type"] == "ephemeral" and "Members" in text and "bob" in text, text
    images = await uploads(setup, "retention", more_than=notes)
    assert len(images) == notes + 1, images
    assert images[-1]["data"].startswith(b"\x89PNG") and images[-1].get("channel_id") != CHANNEL_ID
    refused = await setup.study("cohort stats ml", user=MEMBER)
    assert "is for moderators" in shown(refused)
