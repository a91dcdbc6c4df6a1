"""The fake Slack refuses what Slack's published contract refuses, as Slack answers, and takes what it allows.

Each broken payload goes straight to the fake's HTTP API through slack_sdk's own clients (``api_call`` with
a raw JSON body, so nothing is tidied on the way), and must come back ``ok: false`` with Slack's error name:
a bot test that sends such a thing sees the SlackApiError the real Slack would give.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import CHANNEL_ID, USER_ID, FakeSlack

BOT_TOKEN = "xoxb-fake"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def button(action_id: str, label: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(label), "action_id": action_id, "value": action_id, **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def home(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "home", "blocks": list(blocks), **extra}


def message(*blocks: dict[str, Any], text: str = "studybot") -> dict[str, Any]:
    return {"channel": CHANNEL_ID, "text": text, "blocks": list(blocks)}


# (what is broken, Web API method, JSON body, Slack's error)
BROKEN: list[tuple[str, str, dict[str, Any], str]] = [
    # Limits slack_sdk's models hold.
    ("section text over 3000", "chat.postMessage", message(section("x" * 3001)), "invalid_blocks"),
    (
        "section with 11 fields",
        "chat.postMessage",
        message({"type": "section", "fields": [mrkdwn("f")] * 11}),
        "invalid_blocks",
    ),
    (
        "button value over 2000",
        "chat.postMessage",
        message(actions(button("a", value="v" * 2001))),
        "invalid_blocks",
    ),
    ("button action_id over 255", "chat.postMessage", message(actions(button("a" * 256))), "invalid_blocks"),
    ("button label over 75", "chat.postMessage", message(actions(button("a", "L" * 76))), "invalid_blocks"),
    (
        "button style not in the enum",
        "chat.postMessage",
        message(actions(button("a", style="green"))),
        "invalid_blocks",
    ),
    (
        "actions with 26 elements",
        "chat.postMessage",
        message(actions(*(button(f"b{i}") for i in range(26)))),
        "invalid_blocks",
    ),
    (
        "header over 150",
        "chat.postMessage",
        message({"type": "header", "text": plain("h" * 151)}),
        "invalid_blocks",
    ),
    (
        "block_id over 255",
        "chat.postMessage",
        message({"type": "divider", "block_id": "b" * 256}),
        "invalid_blocks",
    ),
    (
        "context with 11 elements",
        "chat.postMessage",
        message({"type": "context", "elements": [mrkdwn("c")] * 11}),
        "invalid_blocks",
    ),
    (
        "image alt_text over 2000",
        "chat.postMessage",
        message({"type": "image", "image_url": "https://example.com/a.png", "alt_text": "a" * 2001}),
        "invalid_blocks",
    ),
    # What the models drop or take silently: unknown types and fields, empty texts, wrong text types.
    (
        "unknown block type",
        "chat.postMessage",
        message({"type": "marquee", "text": mrkdwn("hi")}),
        "invalid_blocks",
    ),
    ("block without a type", "chat.postMessage", message({"text": mrkdwn("hi")}), "invalid_blocks"),
    (
        "unknown field on a section",
        "chat.postMessage",
        message({**section("hi"), "colour": "red"}),
        "invalid_blocks",
    ),
    (
        "unknown field on a button",
        "chat.postMessage",
        message(actions(button("a", onclick="x"))),
        "invalid_blocks",
    ),
    (
        "unknown text type",
        "chat.postMessage",
        message({"type": "section", "text": {"type": "html", "text": "x"}}),
        "invalid_blocks",
    ),
    ("empty section text", "chat.postMessage", message(section("")), "invalid_blocks"),
    ("empty actions block", "chat.postMessage", message(actions()), "invalid_blocks"),
    (
        "emoji on mrkdwn",
        "chat.postMessage",
        message({"type": "section", "text": {**mrkdwn("x"), "emoji": True}}),
        "invalid_blocks",
    ),
    (
        "header with mrkdwn",
        "chat.postMessage",
        message({"type": "header", "text": mrkdwn("*hi*")}),
        "invalid_blocks",
    ),
    (
        "button label in mrkdwn",
        "chat.postMessage",
        message(actions({**button("a"), "text": mrkdwn("Go")})),
        "invalid_blocks",
    ),
    (
        "text in an actions block",
        "chat.postMessage",
        message(actions(mrkdwn("not a button"))),
        "invalid_blocks",
    ),
    (
        "button in a context block",
        "chat.postMessage",
        message({"type": "context", "elements": [button("a")]}),
        "invalid_blocks",
    ),
    # Published rules beyond the models.
    (
        "two primary buttons",
        "chat.postMessage",
        message(actions(button("a", style="primary"), button("b", style="primary"))),
        "invalid_blocks",
    ),
    (
        "section field over 2000",
        "chat.postMessage",
        message({"type": "section", "fields": [mrkdwn("f" * 2001)]}),
        "invalid_blocks",
    ),
    ("51 blocks in a message", "chat.postMessage", message(*[{"type": "divider"}] * 51), "invalid_blocks"),
    (
        "duplicate action_id in a block",
        "chat.postMessage",
        message(actions(button("a"), button("a"))),
        "invalid_blocks",
    ),
    (
        "duplicate block_id",
        "chat.postMessage",
        message({"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}),
        "invalid_blocks",
    ),
    (
        "image of a file never uploaded",
        "chat.postMessage",
        message({"type": "image", "slack_file": {"id": "F404"}, "alt_text": "a"}),
        "invalid_blocks",
    ),
    (
        "blocks not an array",
        "chat.postMessage",
        {"channel": CHANNEL_ID, "text": "x", "blocks": {"type": "divider"}},
        "invalid_blocks_format",
    ),
    (
        "blocks not JSON",
        "chat.postMessage",
        {"channel": CHANNEL_ID, "text": "x", "blocks": "[{"},
        "invalid_blocks_format",
    ),
    # Escaping: member text must not become a mention, a command or a link.
    ("raw & in mrkdwn", "chat.postMessage", message(section("Q&A")), "invalid_blocks"),
    ("<!channel> in mrkdwn", "chat.postMessage", message(section("<!channel> wake up")), "invalid_blocks"),
    ("a user mention in mrkdwn", "chat.postMessage", message(section("hi <@U0ADMIN>")), "invalid_blocks"),
    ("a date in mrkdwn", "chat.postMessage", message(section("<!date^1^{date}|x>")), "invalid_blocks"),
    (
        "raw > in a field",
        "chat.postMessage",
        message({"type": "section", "fields": [mrkdwn("a > b")]}),
        "invalid_blocks",
    ),
    (
        "raw < in a context",
        "chat.postMessage",
        message({"type": "context", "elements": [mrkdwn("a < b")]}),
        "invalid_blocks",
    ),
    (
        "a link smuggling a mention",
        "chat.postMessage",
        message(section("<https://x.example/><!channel>|click>")),
        "invalid_blocks",
    ),
    (
        "a link label with a raw <",
        "chat.postMessage",
        message(section("<https://x.example/|a<b>")),
        "invalid_blocks",
    ),
    (
        "a link URL with a raw &",
        "chat.postMessage",
        message(section("<https://x.example/?a=1&b=2|x>")),
        "invalid_blocks",
    ),
    ("a javascript: link", "chat.postMessage", message(section("<javascript:alert(1)|x>")), "invalid_blocks"),
    (
        "<!channel> in the fallback text",
        "chat.postMessage",
        message(section("hi"), text="<!channel> hi"),
        "invalid_arguments",
    ),
    (
        "<!here> in plain text only",
        "chat.postMessage",
        {"channel": CHANNEL_ID, "text": "<!here>"},
        "invalid_arguments",
    ),
    (
        "raw & in the fallback text",
        "chat.postMessage",
        {"channel": CHANNEL_ID, "text": "Q&A"},
        "invalid_arguments",
    ),
    (
        "raw > in the fallback text",
        "chat.postMessage",
        {"channel": CHANNEL_ID, "text": "a > b"},
        "invalid_arguments",
    ),
    # Messages as a whole.
    ("no text and no blocks", "chat.postMessage", {"channel": CHANNEL_ID}, "no_text"),
    (
        "fallback over 40000",
        "chat.postMessage",
        {"channel": CHANNEL_ID, "text": "x" * 40_001},
        "msg_too_long",
    ),
    # Every method that takes a message.
    (
        "chat.update with two primary",
        "chat.update",
        {**message(actions(button("a", style="primary"), button("b", style="primary"))), "ts": "1.1"},
        "invalid_blocks",
    ),
    (
        "chat.update with <!everyone>",
        "chat.update",
        {"channel": CHANNEL_ID, "ts": "1.1", "text": "<!everyone>"},
        "invalid_arguments",
    ),
    (
        "chat.postEphemeral with a bad block",
        "chat.postEphemeral",
        {**message({"type": "marquee"}), "user": USER_ID},
        "invalid_blocks",
    ),
    # Views.
    (
        "view with 101 blocks",
        "views.publish",
        {"user_id": USER_ID, "view": home(*[{"type": "divider"}] * 101)},
        "invalid_arguments",
    ),
    ("view with no blocks", "views.publish", {"user_id": USER_ID, "view": home()}, "invalid_arguments"),
    (
        "view of an unknown type",
        "views.publish",
        {"user_id": USER_ID, "view": {"type": "page", "blocks": [{"type": "divider"}]}},
        "invalid_arguments",
    ),
    (
        "unknown field on a view",
        "views.publish",
        {"user_id": USER_ID, "view": home({"type": "divider"}, colour="red")},
        "invalid_arguments",
    ),
    (
        "home view with a submit",
        "views.publish",
        {"user_id": USER_ID, "view": home({"type": "divider"}, submit=plain("Send"))},
        "invalid_arguments",
    ),
    (
        "view with a section over 3000",
        "views.publish",
        {"user_id": USER_ID, "view": home(section("x" * 3001))},
        "invalid_arguments",
    ),
    (
        "view with <!channel> in mrkdwn",
        "views.publish",
        {"user_id": USER_ID, "view": home(section("<!channel>"))},
        "invalid_arguments",
    ),
    (
        "view with two primary buttons",
        "views.publish",
        {
            "user_id": USER_ID,
            "view": home(actions(button("a", style="primary"), button("b", style="primary"))),
        },
        "invalid_arguments",
    ),
    (
        "modal title over 24",
        "views.open",
        {
            "trigger_id": "1.2.a",
            "view": {"type": "modal", "title": plain("t" * 25), "blocks": [{"type": "divider"}]},
        },
        "invalid_arguments",
    ),
    (
        "modal title in mrkdwn",
        "views.open",
        {
            "trigger_id": "1.2.a",
            "view": {"type": "modal", "title": mrkdwn("t"), "blocks": [{"type": "divider"}]},
        },
        "invalid_arguments",
    ),
    (
        "view not an object",
        "views.publish",
        {"user_id": USER_ID, "view": [home({"type": "divider"})]},
        "invalid_arguments",
    ),
    # A file's comment is a message in the channel it is shared to.
    (
        "initial_comment with <!here>",
        "files.completeUploadExternal",
        {"files": [{"id": "F1"}], "channel_id": CHANNEL_ID, "initial_comment": "<!here> look"},
        "invalid_arguments",
    ),
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(allow_refusals=True) as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    yield client
    if client.session is not None:
        await client.session.close()


@pytest.mark.parametrize(("method", "body", "error"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
async def test_a_broken_payload_is_refused_as_slack_refuses_it(
    fake: FakeSlack, client: AsyncWebClient, method: str, body: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.api_call(method, json=body)
    answer = err.value.response
    assert answer.status_code == 200
    assert answer["ok"] is False and answer["error"] == error
    # Slack names each problem with a JSON pointer into the request.
    assert answer["response_metadata"]["messages"], answer.data
    assert all("json-pointer:/" in m for m in answer["response_metadata"]["messages"]), answer.data
    assert [(r.where, r.error) for r in fake.refusals] == [(method, error)]
    # Nothing refused was handled: a refused post has no ts, a refused view no id.
    assert "ts" not in answer.data and "view" not in answer.data


def _bot_card() -> list[dict[str, Any]]:
    """A card drawn as adapters/slack/render.py draws one, with member text escaped and one primary button."""
    return [
        {"type": "header", "text": plain('Ada & <Bob> > "everyone"')},  # plain_text shows as written
        {
            "type": "section",
            "text": mrkdwn(
                "Q&amp;A by &lt;!channel&gt;\n<https://example.com/a?b=1&amp;c=2|example.com/a?b=1&amp;c=2>"
            ),
        },
        {"type": "section", "fields": [mrkdwn("*Streak*\n3 days"), mrkdwn("*Points*\n15")]},
        {"type": "context", "elements": [mrkdwn("from &lt;@U0ADMIN&gt;")]},
        actions(
            button("study\x1fanswer\x1f1\x1fA", "A", style="primary"),
            button("study\x1fanswer\x1f1\x1fB", "B"),
            button("study\x1fanswer\x1f1\x1fC", "C", style="danger"),
        ),
    ]


def _sdk_blocks() -> list[dict[str, Any]]:
    """Blocks built with slack_sdk's own models: whatever they emit, the fake takes."""
    built = [
        HeaderBlock(text="Today's challenge"),
        SectionBlock(text=MarkdownTextObject(text="*Stage 1*: tensors"), fields=["a", "b"]),
        DividerBlock(),
        ContextBlock(elements=[PlainTextObject(text="day 3")]),
        ActionsBlock(elements=[ButtonElement(text="Done", action_id="done", value="1", style="primary")]),
    ]
    return [b.to_dict() for b in built]


async def test_what_slack_allows_is_taken(fake: FakeSlack, client: AsyncWebClient) -> None:
    at_the_limits = [
        section("x" * 3000),
        {"type": "section", "fields": [mrkdwn("f" * 2000)] * 10},
        actions(
            *(button(f"b{i}") for i in range(24)),
            button("a" * 255, "L" * 75, value="v" * 2000, style="primary"),
        ),
        {"type": "header", "text": plain("h" * 150)},
        {"type": "divider", "block_id": "b" * 255},
        *[{"type": "divider"}] * 45,
    ]
    assert len(at_the_limits) == 50
    for blocks, text in [
        (_bot_card(), "Ada &amp; &lt;Bob&gt; &gt; everyone"),
        (_sdk_blocks(), "Today's challenge"),
        (at_the_limits, "x" * 40_000),
    ]:
        posted = await client.chat_postMessage(channel=CHANNEL_ID, text=text, blocks=blocks)
        assert posted["ok"] and posted["message"]["blocks"] == blocks
        updated = await client.chat_update(channel=CHANNEL_ID, ts=posted["ts"], text=text, blocks=blocks)
        assert updated["ok"]
        await client.chat_postEphemeral(channel=CHANNEL_ID, user=USER_ID, text=text, blocks=blocks)
    # A Home tab holds up to 100 blocks, and an image of a file the app uploaded.
    uploaded = await client.files_upload_v2(content=b"\x89PNG", filename="h.png", title="Heatmap")
    image = {"type": "image", "slack_file": {"id": uploaded["file"]["id"]}, "alt_text": "your heatmap"}
    view = home(*_bot_card(), image, *[{"type": "divider"}] * 94)
    assert len(view["blocks"]) == 100
    published = await client.views_publish(user_id=USER_ID, view=view)
    assert published["ok"] and published["view"]["blocks"] == view["blocks"]
    modal = {"type": "modal", "title": plain("t" * 24), "close": plain("Close"), "blocks": _sdk_blocks()}
    fake._issue({"trigger_id": "1.2.a"})  # as with a click the fake sent: views.open takes it once
    assert (await client.views_open(trigger_id="1.2.a", view=modal))["ok"]
    assert fake.refusals == []


async def test_a_response_url_post_is_checked_like_a_message(fake: FakeSlack) -> None:
    response_url = fake.new_response_url()
    webhook = AsyncWebhookClient(response_url)
    cases = [
        ({"text": "<!channel> hi"}, "invalid_arguments"),
        ({"text": "x", "blocks": [section("a & b")]}, "invalid_blocks"),
        (
            {"text": "x", "blocks": [actions(button("a", style="primary"), button("b", style="primary"))]},
            "invalid_blocks",
        ),
        ({"text": "x", "blocks": [{"type": "marquee"}]}, "invalid_blocks"),
    ]
    for body, error in cases:
        answer = await webhook.send_dict(body)
        # response_url answers like an incoming webhook: HTTP 400, the error name as the body.
        assert (answer.status_code, answer.body) == (400, error), body
    assert fake.responses_to(response_url) == []
    assert [r.error for r in fake.refusals] == [error for _, error in cases]
    good = {
        "text": "Ada &amp; Bob",
        "blocks": _bot_card(),
        "response_type": "ephemeral",
        "replace_original": False,
    }
    answer = await webhook.send_dict(good)
    assert (answer.status_code, answer.body) == (200, "ok")
    assert fake.responses_to(response_url) == [good]
    # Removing the original message carries no text at all.
    assert (await webhook.send_dict({"delete_original": True})).status_code == 200
