"""Buddy pods on Discord, through the real discord.py against the fake Discord: a pod's note goes to a private
thread of the cohort's channel with the pod added to it, and where Discord refuses (no Create Private
Threads, a refused post, a member who left) to each member by direct message instead, with nothing
half-made and the reason logged once."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import aiohttp
import pytest

from bot.kernel.types import Card, ConversationRef, Reply
from tests.adapters.discord.test_discord_adapter import (  # noqa: F401 - the fixture
    MANAGE_GUILD,
    Setup,
    message_of,
    setup,
    text,
)
from tests.fakes.discord import DEFAULT_TOKEN, FakeDiscord
from tests.fakes.discord.server import BOT_USER_ID, CHANNEL_ID, GUILD_ID

COHORT_CHANNEL = ConversationRef("discord", str(GUILD_ID), str(CHANNEL_ID))
NOTE = Reply(cards=(Card("🤝 Your buddy pod this week in ml", "Ada · 🔥 2 · just starting\nBob · 🔥 0"),))
THREADS = re.compile(r"/channels/\d+/threads")


def thread_posts(fake: FakeDiscord, thread_id: str) -> list[Any]:
    """The bodies of the message posts into the thread, as they went over the wire."""
    return [
        r.json for r in fake.requests if r.method == "POST" and r.path == f"/channels/{thread_id}/messages"
    ]


async def test_a_pod_gets_one_private_thread_of_the_cohorts_channel(setup: Setup) -> None:  # noqa: F811
    fake = setup.fake
    bob = fake.add_user("bob", display_name="@everyone Bob")
    ids = await setup.platform.send_group(COHORT_CHANNEL, [str(setup.member), str(bob)], NOTE)

    [thread] = fake.threads(CHANNEL_ID)
    assert thread["type"] == 12 and thread["parent_id"] == str(CHANNEL_ID)  # private, in the cohort's channel
    assert thread["name"].startswith("Buddy pod · ") and len(thread["name"]) <= 100
    assert "Bob" not in thread["name"] and "Ada" not in thread["name"]
    assert thread["thread_metadata"]["invitable"] is False
    assert thread["thread_metadata"]["auto_archive_duration"] == 10080
    assert thread["members"] == [BOT_USER_ID, setup.member, bob]
    [message] = thread["messages"]
    assert ids == [message["id"]]
    assert "Your buddy pod this week in ml" in text(message)
    assert [body["allowed_mentions"] for body in thread_posts(fake, thread["id"])] == [{"parse": []}]
    assert fake.direct_messages(setup.member) == fake.direct_messages(bob) == []
    assert not [r for r in fake.requests if (r.status or 0) >= 400]


async def test_without_create_private_threads_each_member_gets_a_direct_message(
    setup: Setup,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = setup.fake
    fake.bot_creates_private_threads = False
    bob, cy, dee = (fake.add_user(name) for name in ("bob", "cy", "dee"))
    with caplog.at_level(logging.WARNING, logger="adapters.discord.client"):
        first = await setup.platform.send_group(COHORT_CHANNEL, [str(setup.member), str(bob)], NOTE)
        second = await setup.platform.send_group(COHORT_CHANNEL, [str(cy), str(dee)], NOTE)
    assert fake.threads() == []  # nothing half-made
    for uid in (setup.member, bob, cy, dee):
        [dm] = fake.direct_messages(uid)
        assert "Your buddy pod this week in ml" in text(dm)
    assert len(first) == len(second) == 2
    refused = [r for r in fake.requests if THREADS.fullmatch(r.path)]
    assert [(r.status, r.response["code"]) for r in refused] == [(403, 50013)] * 2
    [warning] = [r for r in caplog.records if "buddy pods" in r.getMessage()]  # once, not once per pod
    assert "Create Private Threads" in warning.getMessage()


async def test_a_refused_post_in_the_thread_leaves_no_one_in_an_empty_thread(setup: Setup) -> None:  # noqa: F811
    fake = setup.fake
    bob = fake.add_user("bob")
    fake.fail_next("POST", re.compile(r"/channels/\d+/messages"), 403)  # the post into the new thread
    await setup.platform.send_group(COHORT_CHANNEL, [str(setup.member), str(bob)], NOTE)
    [thread] = fake.threads()
    assert thread["members"] == [BOT_USER_ID] and thread["messages"] == []
    for uid in (setup.member, bob):
        assert len(fake.direct_messages(uid)) == 1


async def test_a_member_who_cannot_be_added_is_told_directly(setup: Setup) -> None:  # noqa: F811
    fake = setup.fake
    bob, gone = fake.add_user("bob"), fake.add_user("gone")
    # Gone from the server since the pods were made: Discord will not add them to the thread.
    fake.fail_next("PUT", re.compile(rf"/channels/\d+/thread-members/{gone}"), 404, code=10007)
    ids = await setup.platform.send_group(COHORT_CHANNEL, [str(setup.member), str(gone), str(bob)], NOTE)
    [thread] = fake.threads()
    assert thread["members"] == [BOT_USER_ID, setup.member, bob]
    [dm] = fake.direct_messages(gone)
    assert ids == [thread["messages"][0]["id"], dm["id"]]
    assert fake.direct_messages(setup.member) == fake.direct_messages(bob) == []


async def test_pods_made_by_the_weekly_sweep_meet_in_one_thread(setup: Setup) -> None:  # noqa: F811
    fake = setup.fake
    bob, cy = fake.add_user("bob", display_name="Bob"), fake.add_user("cy", display_name="Cy")
    await setup.daily_cohort("2026-11-24")
    for member in (setup.member, bob, cy):
        await setup.slash("study", "join", {"cohort": "ml"}, user_id=member)
        opted = await setup.slash("study", "pods", {"switch": "on"}, user_id=member)
        assert "You are in the buddy pods of ml" in text(message_of(opted))
    # Tuesday 24 November 08:00 now; the week's pods come on its first posting day, Monday 30th, at 09:00.
    setup.clock.set(dt.datetime(2026, 11, 30, 9, 5, tzinfo=dt.UTC))
    await setup.sweep()
    await setup.sweep()  # a second sweep makes no second thread

    [thread] = fake.threads(CHANNEL_ID)
    assert sorted(thread["members"]) == sorted([BOT_USER_ID, setup.member, bob, cy])
    [note] = thread["messages"]
    assert "Your buddy pod this week" in text(note)
    assert all(name in text(note) for name in ("Ada", "Bob", "Cy"))
    assert all(b["allowed_mentions"] == {"parse": []} for b in thread_posts(fake, thread["id"]))
    assert not [m for uid in (setup.member, bob, cy) for m in fake.direct_messages(uid) if "pod" in text(m)]


# The fake Discord's thread endpoints, straight over HTTP as the bot.

BROKEN_THREADS = [
    ("an empty name", {"name": "", "type": 12}),
    ("a name over 100", {"name": "p" * 101, "type": 12}),
    ("a text channel's type", {"name": "pod", "type": 0}),
    ("invitable as a word", {"name": "pod", "type": 12, "invitable": "no"}),
    ("an archive after 30 minutes", {"name": "pod", "type": 12, "auto_archive_duration": 30}),
]


@pytest.mark.parametrize("body", [b for _, b in BROKEN_THREADS], ids=[w for w, _ in BROKEN_THREADS])
@pytest.mark.parametrize("contract", [True, False], ids=["spec", "fake's own checks"])
async def test_a_broken_thread_is_refused_and_not_made(body: dict[str, Any], contract: bool) -> None:
    async with FakeDiscord() as fake, aiohttp.ClientSession() as http:
        if not contract:
            fake.contract = None
        url = f"{fake.api_base}/channels/{fake.channel_id}/threads"
        async with http.post(url, json=body, headers={"Authorization": f"Bot {DEFAULT_TOKEN}"}) as answer:
            assert answer.status == 400 and (await answer.json())["code"] == 50035
        assert fake.threads() == [] and not fake.internal_errors


async def test_thread_endpoints_answer_as_discord() -> None:
    async with FakeDiscord() as fake, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {DEFAULT_TOKEN}"}

        async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
            async with http.request(method, fake.api_base + path, json=body, headers=headers) as answer:
                raw = await answer.text()
                return answer.status, (await answer.json()) if raw else None

        body = {"name": "pod", "type": 12, "invitable": False, "auto_archive_duration": 10080}
        status, thread = await call("POST", f"/channels/{fake.channel_id}/threads", body)
        assert status == 201 and thread["type"] == 12 and thread["owner_id"] == str(BOT_USER_ID)
        assert thread["guild_id"] == str(GUILD_ID) and thread["member_count"] == 1
        assert await call("PUT", f"/channels/{thread['id']}/thread-members/{fake.user_id}") == (204, None)
        status, error = await call("PUT", f"/channels/{thread['id']}/thread-members/12345")
        assert (status, error["code"]) == (404, 10007)
        assert (await call("POST", f"/channels/{thread['id']}/messages", {"content": "hi"}))[0] == 200
        status, fetched = await call("GET", f"/channels/{thread['id']}")
        assert fetched["parent_id"] == str(fake.channel_id) and fetched["member_count"] == 2
        assert fetched["message_count"] == 1
        status, error = await call("POST", f"/channels/{thread['id']}/threads", body)  # no thread in a thread
        assert (status, error["code"]) == (400, 50024)
        status, error = await call("POST", f"/channels/{fake.dm_channel_id(fake.user_id)}/threads", body)
        assert (status, error["code"]) == (400, 50024)
        status, error = await call("POST", "/channels/1/threads", body)
        assert (status, error["code"]) == (404, 10003)
        fake.bot_creates_private_threads = False
        status, error = await call("POST", f"/channels/{fake.channel_id}/threads", body)
        assert (status, error["code"]) == (403, 50013)
        assert (await call("POST", f"/channels/{fake.channel_id}/threads", body | {"type": 11}))[0] == 201
        [private, public] = fake.threads()
        assert private["members"] == [BOT_USER_ID, fake.user_id] and public["type"] == 11
        channels = await call("GET", f"/guilds/{GUILD_ID}/channels")
        assert [c["id"] for c in channels[1]] == [str(fake.channel_id)]  # threads are not listed there
        assert not fake.internal_errors and not fake.unhandled
