"""The Slack fake runs the real slack_sdk / slack-bolt async code paths (Web API, HTTP mode, Socket Mode)."""

from __future__ import annotations

import asyncio
import io
import urllib.parse

import pytest
from PIL import Image
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import (
    CHANNEL_ID,
    USER_ID,
    FakeSlack,
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    slash_command_body,
)

BOT_TOKEN = "xoxb-fake"
APP_TOKEN = "xapp-fake"
# slack_sdk's View holds a view to 1..100 blocks, so the smallest Home tab has one.
HOME = {"type": "home", "blocks": [{"type": "divider"}]}
TWO_PRIMARY = [
    {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": t}, "action_id": t, "style": "primary"}
            for t in ("A", "B")
        ],
    }
]


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


def _app(fake: FakeSlack) -> AsyncApp:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    return AsyncApp(client=client, signing_secret=fake.signing_secret)


async def test_post_message_then_update_are_recorded() -> None:
    async with FakeSlack() as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        posted = await client.chat_postMessage(channel=CHANNEL_ID, text="hello", blocks=[{"type": "divider"}])
        assert posted["ok"] and posted["channel"] == CHANNEL_ID and posted["ts"]
        updated = await client.chat_update(channel=CHANNEL_ID, ts=posted["ts"], text="edited")
        assert updated["ts"] == posted["ts"]
        assert [c.method for c in fake.calls] == ["chat.postMessage", "chat.update"]
        first, second = fake.calls
        assert first.args["text"] == "hello" and first.token == BOT_TOKEN
        assert first.args["blocks"] == [{"type": "divider"}]
        assert second.args == {"channel": CHANNEL_ID, "ts": posted["ts"], "text": "edited"}


async def test_other_web_api_methods() -> None:
    async with FakeSlack() as fake:
        fake.set_user("UADMIN", is_admin=True, is_owner=True, name="boss")
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        assert (await client.auth_test())["user_id"]
        admin = await client.users_info(user="UADMIN")
        assert admin["user"]["is_admin"] and admin["user"]["is_owner"]
        member = await client.users_info(user=USER_ID)
        assert not member["user"]["is_admin"]
        dm = await client.conversations_open(users=USER_ID)
        assert dm["channel"]["id"].startswith("D")
        await client.chat_postEphemeral(channel=CHANNEL_ID, user=USER_ID, text="psst")
        await client.views_publish(user_id=USER_ID, view=HOME)
        assert fake.calls_to("views.publish")[0].args["view"]["type"] == "home"
        fake.fail_next("chat.postMessage", error="not_in_channel")
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel=CHANNEL_ID, text="x")
        assert err.value.response["error"] == "not_in_channel"


async def test_files_upload_v2_lands_in_the_fake() -> None:
    png = _png()
    async with FakeSlack() as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        result = await client.files_upload_v2(
            channel=CHANNEL_ID, content=png, filename="card.png", title="Card", initial_comment="look"
        )
        assert result["ok"] and result["file"]["id"]
        stored = fake.files[result["file"]["id"]]
        assert stored["data"] == png and stored["completed"]
        assert stored["filename"] == "card.png" and stored["channel_id"] == CHANNEL_ID
        assert stored["initial_comment"] == "look"
        assert [c.method for c in fake.calls] == [
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
        ]


async def test_http_mode_slash_command_acks_and_responds() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        handled = asyncio.Event()

        @app.command("/study")
        async def study(ack, respond, command) -> None:  # type: ignore[no-untyped-def]
            await ack("on it")
            await respond(f"you said {command['text']}")
            handled.set()

        url = await fake.serve_app(app)
        status, body, response_url = await fake.send_slash_command(url, "/study", "hi")
        assert status == 200 and body == "on it"
        assert await fake.wait_for_response(response_url) == {"text": "you said hi"}
        await asyncio.wait_for(handled.wait(), 5)
        # The app asked auth.test lazily, on its first request.
        assert [c.method for c in fake.calls] == ["auth.test"]

        status, _, _ = await fake.send_slash_command(url, "/study", "hi", secret="wrong")
        assert status == 401


async def test_http_mode_interactive_and_event_with_retry_header() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        clicked = asyncio.Event()
        retries: list[list[str]] = []

        @app.action("join")
        async def join(ack, body) -> None:  # type: ignore[no-untyped-def]
            await ack()
            clicked.set()

        @app.event("app_home_opened")
        async def home(event, client, request) -> None:  # type: ignore[no-untyped-def]
            # Bolt puts no retry number in the context: it is only in the (lower-cased) request headers.
            retries.append(request.headers.get("x-slack-retry-num", []))
            await client.views_publish(user_id=event["user"], view=HOME)

        url = await fake.serve_app(app)
        response_url = fake.new_response_url()
        status, _ = await fake.send_interactive(url, block_actions_payload("join", response_url=response_url))
        assert status == 200
        await asyncio.wait_for(clicked.wait(), 5)

        status, _, _ = await fake.send_event(url, event_callback_body(app_home_opened_event()), retry_num=1)
        assert status == 200
        call = await fake.wait_for_call("views.publish")
        assert call.args["user_id"] == USER_ID
        assert retries == [["1"]]


async def test_socket_mode_slash_command_is_acked_and_handled() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        handled = asyncio.Event()

        @app.command("/study")
        async def study(ack, command) -> None:  # type: ignore[no-untyped-def]
            await ack("got it")
            handled.set()

        handler = AsyncSocketModeHandler(app, app_token=APP_TOKEN)
        try:
            await handler.connect_async()
            envelope_id = await fake.socket_send(
                "slash_commands", slash_command_body("/study", "hi", response_url=fake.new_response_url())
            )
            ack = await fake.wait_for_ack(envelope_id)
            await asyncio.wait_for(handled.wait(), 5)
        finally:
            await handler.close_async()
        assert ack["envelope_id"] == envelope_id
        assert ack["payload"] == {"text": "got it"}
        opened = fake.calls_to("apps.connections.open")
        assert len(opened) == 1 and opened[0].token == APP_TOKEN


async def test_socket_mode_interactive_and_events_are_acked() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        clicked = asyncio.Event()

        @app.action("join")
        async def join(ack) -> None:  # type: ignore[no-untyped-def]
            await ack()
            clicked.set()

        @app.event("app_home_opened")
        async def home(event, client) -> None:  # type: ignore[no-untyped-def]
            await client.views_publish(user_id=event["user"], view=HOME)

        handler = AsyncSocketModeHandler(app, app_token=APP_TOKEN)
        try:
            await handler.connect_async()
            payload = block_actions_payload("join", response_url=fake.new_response_url())
            click_id = await fake.socket_send("interactive", payload)
            assert (await fake.wait_for_ack(click_id)) == {"envelope_id": click_id}
            await asyncio.wait_for(clicked.wait(), 5)
            event_id = await fake.socket_send("events_api", event_callback_body(app_home_opened_event()))
            assert (await fake.wait_for_ack(event_id))["envelope_id"] == event_id
            call = await fake.wait_for_call("views.publish")
        finally:
            await handler.close_async()
        assert call.args["user_id"] == USER_ID


async def test_socket_mode_reconnects_after_disconnect_message() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        handled = asyncio.Event()

        @app.command("/study")
        async def study(ack) -> None:  # type: ignore[no-untyped-def]
            await ack()
            handled.set()

        handler = AsyncSocketModeHandler(app, app_token=APP_TOKEN)
        try:
            await handler.connect_async()
            await fake.wait_for_connections(1)
            await fake.socket_disconnect()
            await fake.wait_for_connections(2)
            envelope_id = await fake.socket_send(
                "slash_commands", slash_command_body("/study", response_url=fake.new_response_url())
            )
            await fake.wait_for_ack(envelope_id)
            await asyncio.wait_for(handled.wait(), 5)
        finally:
            await handler.close_async()
        assert len(fake.calls_to("apps.connections.open")) == 2


async def test_rate_limit_is_retried_with_the_retry_handler() -> None:
    async with FakeSlack() as fake:
        fake.fail_next("chat.postMessage", status=429, retry_after=0)
        client = AsyncWebClient(
            token=BOT_TOKEN,
            base_url=fake.api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        result = await client.chat_postMessage(channel=CHANNEL_ID, text="again")
        assert result["ok"]
        assert len(fake.calls_to("chat.postMessage")) == 2


async def test_rate_limit_without_the_retry_handler_raises() -> None:
    async with FakeSlack() as fake:
        fake.fail_next("chat.postMessage", status=429, retry_after=7)
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel=CHANNEL_ID, text="x")
        assert err.value.response.status_code == 429
        assert err.value.response.headers["Retry-After"] == "7"
        assert len(fake.calls_to("chat.postMessage")) == 1


def test_form_body_round_trips() -> None:
    body = slash_command_body("/study", "a b&c", response_url="http://127.0.0.1:1/response/R1")
    parsed = dict(urllib.parse.parse_qsl(urllib.parse.urlencode(body)))
    assert parsed["text"] == "a b&c" and parsed["command"] == "/study"


async def test_a_refused_call_raises_slack_api_error_and_fails_the_test_at_exit() -> None:
    with pytest.raises(AssertionError, match="refused what the real Slack would refuse") as at_exit:
        async with FakeSlack() as fake:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
            with pytest.raises(SlackApiError) as err:
                await client.chat_postMessage(channel=CHANNEL_ID, text="pick", blocks=TWO_PRIMARY)
            body = err.value.response.data
            assert err.value.response.status_code == 200
            assert body["ok"] is False and body["error"] == "invalid_blocks"
            assert body["errors"] == [
                "at most one button of a set may be styled primary [json-pointer:/blocks/0/elements]"
            ]
            assert body["response_metadata"]["messages"] == ["[ERROR] " + body["errors"][0]]
            # What went over the wire is still recorded; the refusal is kept apart.
            assert [c.method for c in fake.calls] == ["chat.postMessage"]
            assert [(r.where, r.error) for r in fake.refusals] == [("chat.postMessage", "invalid_blocks")]
    # The bot may swallow the SlackApiError; leaving the fake fails the test all the same.
    assert "chat.postMessage: invalid_blocks: at most one button" in str(at_exit.value)


async def test_allow_refusals_leaves_them_to_the_test() -> None:
    async with FakeSlack(allow_refusals=True) as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel=CHANNEL_ID, text="<!channel> wake up")
    assert [(r.where, r.error) for r in fake.refusals] == [("chat.postMessage", "invalid_arguments")]
    assert "<!channel>" in fake.refusals[0].messages[0]


async def test_a_refused_response_url_post_answers_400_and_the_waiting_test_hears_why() -> None:
    async with FakeSlack(allow_refusals=True) as fake:
        response_url = fake.new_response_url()
        webhook = AsyncWebhookClient(response_url)
        refused = await webhook.send(text="ok & done")
        assert (refused.status_code, refused.body) == (400, "invalid_arguments")
        with pytest.raises(AssertionError, match="refused the response: invalid_arguments"):
            await fake.wait_for_response(response_url, timeout=1)
        assert fake.responses_to(response_url) == []
        accepted = await webhook.send(text="ok &amp; done")
        assert (accepted.status_code, accepted.body) == (200, "ok")
        assert fake.responses_to(response_url) == [{"text": "ok &amp; done"}]
    assert [r.error for r in fake.refusals] == ["invalid_arguments"]


async def test_a_socket_mode_ack_with_unescaped_text_is_a_refusal() -> None:
    async with FakeSlack(allow_refusals=True) as fake:
        app = _app(fake)

        @app.command("/study")
        async def study(ack) -> None:  # type: ignore[no-untyped-def]
            await ack("a <b> c")

        handler = AsyncSocketModeHandler(app, app_token=APP_TOKEN)
        try:
            await handler.connect_async()
            envelope_id = await fake.socket_send(
                "slash_commands", slash_command_body("/study", response_url=fake.new_response_url())
            )
            await fake.wait_for_ack(envelope_id)
        finally:
            await handler.close_async()
    assert [(r.where, r.error) for r in fake.refusals] == [(f"socket_ack {envelope_id}", "invalid_arguments")]


async def test_a_home_image_must_be_a_file_uploaded_to_the_fake() -> None:
    async with FakeSlack(allow_refusals=True) as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        uploaded = await client.files_upload_v2(content=_png(), filename="heat.png", title="Heatmap")
        image = {"type": "image", "slack_file": {"id": uploaded["file"]["id"]}, "alt_text": "heatmap"}
        await client.views_publish(user_id=USER_ID, view={"type": "home", "blocks": [image]})
        missing = {**image, "slack_file": {"id": "F404"}}
        with pytest.raises(SlackApiError) as err:
            await client.views_publish(user_id=USER_ID, view={"type": "home", "blocks": [missing]})
        assert err.value.response["error"] == "invalid_arguments"
        assert err.value.response["errors"] == [
            "no such uploaded file [json-pointer:/view/blocks/0/slack_file/id]"
        ]
