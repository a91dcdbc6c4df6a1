"""Peer review on Discord end to end: the real discord.py and the real core against the fake Discord. Members
submit with the slash command, reviewers get a direct message with a Review button, the button opens the
review form as a modal, the submitted modal decides, and the author hears of it privately."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.kernel.types import ConversationRef
from tests.adapters.discord.test_discord_adapter import (
    EPHEMERAL,
    MANAGE_GUILD,
    Setup,
    message_of,
    setup,  # noqa: F401 - the fixture
    text,
)
from tests.fakes.discord.server import CHANNEL_ID, GUILD_ID


async def to_a_task_day(setup: Setup) -> None:  # noqa: F811
    for _ in range(40):
        setup.clock.set(setup.clock.now().replace(hour=9, minute=1))
        await setup.sweep()
        posts = setup.fake.channel_messages(CHANNEL_ID)
        if posts and posts[-1]["components"] and "done" in json.dumps(posts[-1]["components"]):
            return
        setup.clock.set(setup.clock.now() + dt.timedelta(days=1))
    raise AssertionError("no task day in 40 days")


def review_button(dm: dict[str, Any]) -> dict[str, Any]:
    return next(c for row in dm["components"] for c in row["components"] if c["label"] == "📝 Review")


async def test_review_requests_arrive_by_dm_and_the_modal_review_decides(setup: Setup) -> None:  # noqa: F811
    fake = setup.fake
    people = {name: fake.add_user(name.lower(), display_name=name) for name in ("Bob", "Cy")}
    people["Ada"] = setup.member
    created = await setup.slash(
        "cohort",
        "create",
        {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily"},
        permissions=MANAGE_GUILD,
    )
    assert created["type"] == 4
    for uid in people.values():
        assert "Welcome" in text(
            message_of(await setup.slash("study", "join", {"cohort": "ml"}, user_id=uid))
        )
    await to_a_task_day(setup)
    for name, uid in people.items():
        reply = await setup.slash(
            "study", "submit", {"link": f"https://github.com/{name.lower()}/eda"}, user_id=uid
        )
        assert message_of(reply)["flags"] & EPHEMERAL and "📎 Submitted" in text(message_of(reply))
    await setup.sweep()  # the minute's sweep tells the reviewers
    requests = {
        name: [m for m in fake.direct_messages(uid) if "github.com/ada/eda" in text(m)]
        for name, uid in people.items()
    }
    assert requests["Ada"] == []  # never asked to review her own work
    assert sorted(n for n, dms in requests.items() if dms) == ["Bob", "Cy"]
    first = requests["Bob"][0]
    assert "What to look for" in text(first)
    dm_channel = fake.dm_channel_id(people["Bob"])
    sent = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{dm_channel}/messages"]
    assert sent and all(r.json["allowed_mentions"] == {"parse": []} for r in sent)  # a DM pings nobody either

    clicked = await fake.click(int(first["id"]), review_button(first)["custom_id"], user_id=people["Bob"])
    opened = await fake.wait_for_callback(clicked)
    assert opened["type"] == 9  # the review form, as a modal
    modal = opened["data"]
    assert modal["title"].startswith("Review #") and [c["type"] for c in modal["components"]] == [
        10,
        18,
        18,
        18,
    ]
    answers = {"verdict": "accept", "checks": ["1", "2"], "comment": "Runs end to end.\nGood plots."}
    saved = await fake.wait_for_callback(await fake.submit_modal(clicked, answers))
    assert saved["data"]["flags"] & EPHEMERAL and "Review saved" in text(saved["data"])

    second = requests["Cy"][0]
    clicked = await fake.click(int(second["id"]), review_button(second)["custom_id"], user_id=people["Cy"])
    assert (await fake.wait_for_callback(clicked))["type"] == 9
    decided = await fake.wait_for_callback(
        await fake.submit_modal(
            clicked, {"verdict": "accept", "checks": [], "comment": "Clear and complete."}
        )
    )
    assert "now accepted" in text(decided["data"])
    await setup.sweep()
    told = [m for m in fake.direct_messages(people["Ada"]) if "Accepted" in text(m)]
    assert len(told) == 1 and "Runs end to end." in json.dumps(told[0]["embeds"])
    again = await fake.click(int(first["id"]), review_button(first)["custom_id"], user_id=people["Bob"])
    answer = await fake.wait_for_callback(again)
    assert answer["type"] == 4 and "already reviewed" in text(answer["data"])
    assert not [r for r in fake.requests if (r.status or 0) >= 400]


async def test_a_pod_note_is_a_private_thread_of_the_cohorts_channel_on_discord(setup: Setup) -> None:  # noqa: F811
    from bot.kernel.types import Reply

    bob = setup.fake.add_user("bob", display_name="Bob")
    await setup.platform.send_group(
        ConversationRef("discord", str(GUILD_ID), str(CHANNEL_ID)),
        [str(setup.member), str(bob)],
        Reply(text="🤝 Your buddy pod this week"),
    )
    [thread] = setup.fake.threads(CHANNEL_ID)  # the fallback to direct messages: see test_pod_threads.py
    assert thread["type"] == 12 and thread["members"][1:] == [setup.member, bob]
    assert [m["content"] for m in thread["messages"]] == ["🤝 Your buddy pod this week"]
    assert setup.fake.direct_messages(setup.member) == setup.fake.direct_messages(bob) == []


async def test_a_milestones_role_is_given_on_discord_and_a_refusal_is_told_once(setup: Setup) -> None:  # noqa: F811
    fake = setup.fake
    mod = fake.add_user("mia", display_name="Mia")
    created = await setup.slash(
        "cohort",
        "create",
        {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily"},
        permissions=MANAGE_GUILD,
    )
    assert created["type"] == 4
    await setup.slash("study", "join", {"cohort": "ml"}, user_id=setup.member)
    role = fake.add_guild_role("Streaker")
    bad = await setup.slash(
        "cohort", "set", {"name": "ml", "field": "role", "value": "streak-99 <@&1>"}, permissions=MANAGE_GUILD
    )
    assert "Say a milestone and a role" in text(message_of(bad))
    said = await setup.slash(
        "cohort",
        "set",
        {"name": "ml", "field": "role", "value": f"streak-7 <@&{role}>"},
        permissions=MANAGE_GUILD,
        user_id=mod,
    )
    assert f"get role {role}" in text(message_of(said))
    [ml] = await setup.core.store.list_cohorts()
    ada = await setup.core.store.upsert_member("discord", str(setup.member), "Ada")
    day = setup.clock.now().date()
    # Without Manage Roles: congratulated in the channel, the moderator told once however many reach it.
    await setup.core.store.record_milestones(ml.id, ada.id, ["streak-7"], day, setup.clock.now())
    await setup.sweep()
    assert fake.member_roles == {}
    bob = await setup.core.store.upsert_member("discord", "42", "Bob")
    await setup.core.store.enrol(ml.id, bob.id, setup.clock.now())
    fake.add_user("bob", user_id=42)
    await setup.core.store.record_milestones(ml.id, bob.id, ["streak-7"], day, setup.clock.now())
    await setup.sweep()
    warnings = [m for m in fake.direct_messages(mod) if "could not give role" in text(m)]
    assert len(warnings) == 1 and "Manage Roles" in text(warnings[0])
    # With it: the role is given.
    fake.bot_manages_roles = True
    cy = await setup.core.store.upsert_member("discord", "43", "Cy")
    await setup.core.store.enrol(ml.id, cy.id, setup.clock.now())
    fake.add_user("cy", user_id=43)
    await setup.core.store.record_milestones(ml.id, cy.id, ["streak-7"], day, setup.clock.now())
    await setup.sweep()
    assert fake.member_roles == {43: {role}}
