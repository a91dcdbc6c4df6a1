"""Peer review on Slack end to end: the real slack-bolt and the real core against the fake Slack. Members
submit with /study, reviewers get a direct message with a Review button, the button opens the review modal
(views.open), its view_submission decides, and the author hears of it privately."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.kernel.types import ConversationRef
from tests.adapters.slack.test_forms import opened
from tests.adapters.slack.test_slack_adapter import MEMBER, Setup, setup  # noqa: F401 - the fixture
from tests.fakes.slack import CHANNEL_ID, USER_ID, block_actions_payload

BOB, CY = "U0BOB", "U0CY"


def direct_to(setup: Setup, user: str) -> list[dict[str, Any]]:  # noqa: F811
    """Messages posted to the member's DM (the fake's conversations.open gives D0<user>)."""
    return [c.args for c in setup.fake.calls_to("chat.postMessage") if c.args.get("channel") == "D0" + user]


def review_action(message: dict[str, Any]) -> str:
    blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("type") == "button" and "Review" in element["text"]["text"]:
                return str(element["action_id"])
    raise AssertionError("no Review button")


async def review(
    setup: Setup,  # noqa: F811
    user: str,
    message: dict[str, Any],
    count: int,
    answers: dict[str, Any],
) -> Any:
    response_url = setup.fake.new_response_url()
    action = review_action(message)
    click = block_actions_payload(
        action, action, response_url=response_url, user_id=user, channel_id="D0" + user
    )
    status, _ = await setup.fake.send_interactive(setup.url, click)
    assert status == 200
    view = await opened(setup.fake, count)
    assert view["type"] == "modal" and view["title"]["text"].startswith("Review #")
    return await setup.fake.submit_view(view["id"], answers, app_url=setup.url, user_id=user)


async def test_review_requests_arrive_by_dm_and_the_modal_review_decides(setup: Setup) -> None:  # noqa: F811
    for user, name in ((BOB, "bob"), (CY, "cy")):
        setup.fake.set_user(user, name=name)
    created = await setup.study("cohort create ml time=09:00 tz=UTC days=daily")
    assert "Cohort ml created" in json.dumps(created)
    for user in (MEMBER, BOB, CY):
        assert "Welcome" in json.dumps(await setup.study("join ml", user))
    for _ in range(40):  # to a task day
        setup.clock.set(setup.clock.now().replace(hour=9, minute=1))
        await setup.sweep()
        today = await setup.study("today", MEMBER)
        if '"done' in json.dumps(today) or "/study done" in json.dumps(today):
            break
        setup.clock.set(setup.clock.now() + dt.timedelta(days=1))
    for user, name in ((MEMBER, "ada"), (BOB, "bob"), (CY, "cy")):
        sent = await setup.study(f"submit https://github.com/{name}/eda", user)
        assert "Submitted" in json.dumps(sent), sent
    await setup.sweep()
    asked = {
        u: [m for m in direct_to(setup, u) if "github.com/ada/eda" in json.dumps(m)]
        for u in (MEMBER, BOB, CY)
    }
    assert asked[MEMBER] == [] and asked[BOB] and asked[CY]  # never the author

    answer = await review(
        setup,
        BOB,
        asked[BOB][0],
        1,
        {"verdict": "accept", "checks": ["1"], "comment": "Good <!channel> work"},
    )
    assert answer["response_action"] == "update" and "Review saved" in json.dumps(answer["view"])
    assert "&lt;!channel&gt;" in json.dumps(answer["view"])  # member text escaped, pings nobody
    refused = await review(setup, CY, asked[CY][0], 2, {"verdict": "accept", "comment": "ok"})
    assert refused["response_action"] == "errors" and "a sentence or more" in refused["errors"]["comment"]
    answer = await review(setup, CY, asked[CY][0], 3, {"verdict": "accept", "comment": "Clear and complete."})
    assert "now accepted" in json.dumps(answer["view"])
    await setup.sweep()
    told = [m for m in direct_to(setup, MEMBER) if "Accepted" in json.dumps(m)]
    assert len(told) == 1 and "Clear and complete." in json.dumps(told[0])
    short = (
        await review(setup, BOB, asked[BOB][0], 3, {"verdict": "accept", "comment": "x"}) if False else None
    )
    assert short is None
    assert USER_ID not in {c.args.get("channel") for c in setup.fake.calls_to("chat.postMessage")}


async def test_a_pod_note_is_one_group_conversation_on_slack(setup: Setup) -> None:  # noqa: F811
    from bot.kernel.types import Reply

    await setup.platform.send_group(
        ConversationRef("slack", "T1", CHANNEL_ID),
        [MEMBER, BOB, CY],
        Reply(text="🤝 Your buddy pod this week"),
    )
    [opened] = setup.fake.calls_to("conversations.open")
    assert opened.args["users"] == f"{MEMBER},{BOB},{CY}"
    [posted] = setup.fake.calls_to("chat.postMessage")
    assert posted.args["channel"] == "D0" + MEMBER and "buddy pod" in json.dumps(posted.args)
