"""The fake Slack's views: views.open takes only a trigger_id it handed out, once and in time; a modal the
real Slack would refuse is refused; a view_submission answer is held to Slack's rules."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack, block_actions_payload, new_trigger_id

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "study\x1frate",
    "title": {"type": "plain_text", "text": "Rate"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "verdict",
            "label": {"type": "plain_text", "text": "Verdict"},
            "element": {
                "type": "radio_buttons",
                "action_id": "verdict",
                "options": [{"text": {"type": "plain_text", "text": "Accept"}, "value": "accept"}],
            },
        },
        {
            "type": "input",
            "block_id": "comment",
            "optional": True,
            "label": {"type": "plain_text", "text": "Comment"},
            "element": {
                "type": "plain_text_input",
                "action_id": "comment",
                "multiline": True,
                "max_length": 10,
            },
        },
    ],
}


async def _issued(fake: FakeSlack, app_url: str) -> str:
    """A trigger_id the fake handed out with a click."""
    payload = block_actions_payload("noop", response_url=fake.new_response_url())
    await fake.send_interactive(app_url, payload)
    return str(payload["trigger_id"])


def _app(fake: FakeSlack, answer: dict[str, Any]) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-x", base_url=fake.api_url), signing_secret=fake.signing_secret
    )

    @app.action("noop")
    async def noop(ack: AsyncAck) -> None:
        await ack()

    @app.view("study\x1frate")
    async def submitted(ack: AsyncAck) -> None:
        await ack(**answer)

    return app


async def test_a_trigger_opens_one_view_once_and_only_if_the_fake_gave_it() -> None:
    async with FakeSlack(allow_refusals=True) as fake:
        url = await fake.serve_app(_app(fake, {}))
        client = AsyncWebClient(token="xoxb-x", base_url=fake.api_url)
        trigger = await _issued(fake, url)
        opened = await client.views_open(trigger_id=trigger, view=MODAL)
        assert opened["view"]["id"] in fake.views and fake.opened[0]["callback_id"] == "study\x1frate"
        for used, error in ((trigger, "exchanged_trigger_id"), (new_trigger_id(), "invalid_trigger_id")):
            with pytest.raises(SlackApiError) as refused:
                await client.views_open(trigger_id=used, view=MODAL)
            assert refused.value.response["error"] == error
        assert [r.error for r in fake.refusals] == ["exchanged_trigger_id", "invalid_trigger_id"]
        fake.trigger_seconds = 0.0
        late = await _issued(fake, url)
        await asyncio.sleep(0.01)
        with pytest.raises(SlackApiError) as expired:
            await client.views_open(trigger_id=late, view=MODAL)
        assert expired.value.response["error"] == "expired_trigger_id" and fake.expired_triggers == [late]
        assert len(fake.refusals) == 2  # expiring is the app's lot, not a broken request


def _broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    view = copy.deepcopy(MODAL)
    node: Any = view
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return view


@pytest.mark.parametrize(
    ("path", "value", "why"),
    [
        (("blocks", 0, "element", "options", 0, "text", "text"), "x" * 76, "75"),
        (
            ("blocks", 0, "element", "options"),
            [{"text": {"type": "plain_text", "text": "o"}, "value": "v"}] * 11,
            "1 to 10",
        ),
        (("blocks", 1, "element", "max_length"), 3001, "max_length"),
        (("title", "text"), "x" * 25, "title"),
        (("callback_id",), "x" * 256, "callback_id"),
        (("submit",), None, "submit"),
        (("type",), "home", "modal"),
    ],
)
async def test_a_modal_slack_would_refuse_is_refused(path: tuple[Any, ...], value: Any, why: str) -> None:
    async with FakeSlack(allow_refusals=True) as fake:
        url = await fake.serve_app(_app(fake, {}))
        client = AsyncWebClient(token="xoxb-x", base_url=fake.api_url)
        with pytest.raises(SlackApiError) as refused:
            await client.views_open(trigger_id=await _issued(fake, url), view=_broken(path, value))
        assert refused.value.response["error"] == "invalid_arguments"
        assert why in " ".join(fake.refusals[0].messages)


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        ({"response_action": "errors", "errors": {"comment": "too short"}}, False),
        ({"response_action": "errors", "errors": {"nowhere": "too short"}}, True),
        ({"response_action": "update", "view": _broken(("title", "text"), "x" * 25)}, True),
        (
            {"response_action": "update", "view": {**MODAL, "title": {"type": "plain_text", "text": "Done"}}},
            False,
        ),
        ({}, False),
    ],
)
async def test_an_answer_to_a_submission_is_held_to_slacks_rules(
    answer: dict[str, Any], refused: bool
) -> None:
    async with FakeSlack(allow_refusals=True) as fake:
        url = await fake.serve_app(_app(fake, answer))
        client = AsyncWebClient(token="xoxb-x", base_url=fake.api_url)
        view_id = (await client.views_open(trigger_id=await _issued(fake, url), view=MODAL))["view"]["id"]
        with pytest.raises(ValueError, match="required"):
            await fake.submit_view(
                view_id, {"comment": "hi"}, app_url=url
            )  # Slack's client asks for a verdict
        with pytest.raises(ValueError, match="lengths"):
            await fake.submit_view(view_id, {"verdict": "accept", "comment": "x" * 11}, app_url=url)
        with pytest.raises(ValueError, match="offers"):
            await fake.submit_view(view_id, {"verdict": "maybe"}, app_url=url)
        got = await fake.submit_view(view_id, {"verdict": "accept", "comment": "a\nb"}, app_url=url)
        assert got == answer and bool(fake.refusals) is refused
        payload = fake.submissions[0][0]
        assert payload["type"] == "view_submission" and payload["view"]["hash"]
        assert payload["view"]["state"]["values"] == {
            "verdict": {
                "verdict": {
                    "type": "radio_buttons",
                    "selected_option": {"text": {"type": "plain_text", "text": "Accept"}, "value": "accept"},
                }
            },
            "comment": {"comment": {"type": "plain_text_input", "value": "a\nb"}},
        }
        assert (view_id in fake.closed) is (answer == {})
