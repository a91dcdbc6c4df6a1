"""studybot's Slack adapter end to end: the real slack-bolt and slack_sdk and the real core, against the fake
Slack, in HTTP mode (signed requests) and in Socket Mode."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import generate_latest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.ops.server import Ops
from adapters.slack.app import HomeRefresher, SlackClient, SlackPlatform, SlackService, build_app, make_client
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from bot.kernel.ports import PlatformRefused
from storage.sql_store import SqlStore
from tests.adapters.test_ops import sample
from tests.fakes.slack import (
    CHANNEL_ID,
    USER_ID,
    FakeSlack,
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    slash_command_body,
)

MEMBER = "U0MEMBER"


class Setup:
    def __init__(self, fake: FakeSlack, core: Core, clock: FakeClock, url: str, client: SlackClient) -> None:
        self.fake, self.core, self.clock, self.url = fake, core, clock, url
        self.platform = SlackPlatform(client)  # the app's client, as SlackService has it

    async def study(self, text: str, user: str = USER_ID) -> dict[str, Any]:
        status, _, response_url = await self.fake.send_slash_command(self.url, "/study", text, user_id=user)
        assert status == 200
        return await self.fake.wait_for_response(response_url)  # type: ignore[no-any-return]

    async def sweep(self) -> None:
        await Poster(self.core, {"slack": self.platform}).sweep()


@pytest.fixture
async def setup(sqlite_store: SqlStore, catalog: Catalog) -> AsyncIterator[Setup]:
    store = sqlite_store
    clock = FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC))
    core = make_core(store, catalog, clock)
    async with FakeSlack() as fake:
        fake.set_user(USER_ID, is_admin=True, name="mia")
        fake.set_user(MEMBER, name="ada")
        client = make_client("xoxb-fake", fake.api_url)
        app = build_app(core, client, signing_secret=fake.signing_secret)
        setup = Setup(fake, core, clock, await fake.serve_app(app), client)
        yield setup
        await client.close()  # its shared connections


async def publishes(setup: Setup, count: int) -> list[Any]:
    """views.publish calls, once there are `count` of them (events are handled after their ack)."""
    for _ in range(500):
        calls = setup.fake.calls_to("views.publish")
        if len(calls) >= count:
            return calls
        await asyncio.sleep(0.01)
    raise AssertionError(
        f"{count} views.publish calls expected, saw {len(setup.fake.calls_to('views.publish'))}"
    )


def shown(message: dict[str, Any]) -> str:
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(parts)


async def test_a_workspace_admin_runs_a_cohort_and_a_member_answers_by_button(setup: Setup) -> None:
    created = await setup.study("cohort create ml time=09:00 tz=UTC days=daily")
    assert created["response_type"] == "in_channel" and "Cohort ml created" in shown(created)
    joined = await setup.study("join ml", user=MEMBER)
    assert joined["response_type"] == "ephemeral" and "Welcome to `ml`" in shown(joined)

    for _ in range(30):  # to the first quiz day
        setup.clock.set(setup.clock.now().replace(hour=9, minute=1))
        await setup.sweep()
        post = setup.fake.calls_to("chat.postMessage")[-1].args
        actions = [b for b in post["blocks"] if b["type"] == "actions"]
        if actions and actions[0]["elements"][0]["text"]["text"] == "A":
            break
        setup.clock.set(setup.clock.now() + dt.timedelta(days=1))
    assert post["channel"] == CHANNEL_ID
    button = actions[0]["elements"][0]
    response_url = setup.fake.new_response_url()
    payload = block_actions_payload(
        button["action_id"], button["value"], response_url=response_url, user_id=MEMBER
    )
    status, _ = await setup.fake.send_interactive(setup.url, payload)
    assert status == 200
    answered = await setup.fake.wait_for_response(response_url)
    assert answered["response_type"] == "ephemeral"
    assert "Correct" in shown(answered) or "Not quite" in shown(answered)

    setup.clock.set(setup.clock.now() + dt.timedelta(days=1))
    await setup.sweep()
    [update] = setup.fake.calls_to("chat.update")
    assert update.args["ts"] and "Closed:" in shown(update.args)


async def test_a_member_is_not_a_moderator_and_nothing_changes(setup: Setup) -> None:
    refused = await setup.study("cohort create sneaky", user=MEMBER)
    assert "is for moderators" in shown(refused)
    assert await setup.core.store.list_cohorts() == []


@pytest.mark.parametrize("problem", ["bad signature", "stale timestamp", "no headers"])
async def test_requests_that_fail_verification_get_401_and_change_nothing(setup: Setup, problem: str) -> None:
    import urllib.parse

    body = urllib.parse.urlencode(
        slash_command_body("/study", "cohort create sneaky", response_url=setup.fake.new_response_url())
    )
    if problem == "bad signature":
        headers = setup.fake.sign(body, "wrong-secret")
    elif problem == "stale timestamp":
        headers = setup.fake.sign(body, timestamp=int(dt.datetime.now(dt.UTC).timestamp()) - 6 * 60)
    else:
        headers = {}
    status, _, _ = await setup.fake.post_to(
        setup.url, body, {"Content-Type": "application/x-www-form-urlencoded", **headers}
    )
    assert status == 401
    assert await setup.core.store.list_cohorts() == []


async def test_app_home_shows_progress_once_per_event(setup: Setup) -> None:
    # Without the throttle (tests/abuse/test_slack_safety.py covers it), so that every event may refresh.
    client = make_client("xoxb-fake", setup.fake.api_url)
    homes = HomeRefresher(setup.core, client, interval=0)
    setup.url = await setup.fake.serve_app(
        build_app(setup.core, client, signing_secret=setup.fake.signing_secret, homes=homes)
    )
    await setup.study("cohort create ml tz=UTC days=daily")
    await setup.study("join ml", user=MEMBER)
    await setup.study("done read the pandas guide", user=MEMBER)
    refreshed = await setup.fake.wait_for_call("views.publish")  # after a check-in, home is refreshed
    assert refreshed.args["user_id"] == MEMBER
    await homes.idle()
    body = event_callback_body(app_home_opened_event(MEMBER), event_id="Ev1")
    await setup.fake.send_event(setup.url, body)
    call = (await publishes(setup, 2))[-1]
    assert call.args["user_id"] == MEMBER and call.args["view"]["type"] == "home"
    [heatmap] = [b for b in call.args["view"]["blocks"] if b["type"] == "image"]
    assert setup.fake.files[heatmap["slack_file"]["id"]]["data"].startswith(b"\x89PNG")
    home = shown(call.args["view"])
    assert "ada: 1 day" in home and "ML-engineer roadmap" in home
    await setup.fake.send_event(setup.url, body, retry_num=1)  # Slack delivers it again
    await setup.fake.send_event(
        setup.url, event_callback_body(app_home_opened_event(USER_ID), event_id="Ev2")
    )
    later = await publishes(setup, 3)  # the next, different event is handled...
    assert [c.args["user_id"] for c in later] == [MEMBER, MEMBER, USER_ID]  # ...and the repeat was not
    await homes.close()
    await client.close()


async def test_a_rate_limit_is_waited_out_and_a_channel_without_the_bot_is_reported(setup: Setup) -> None:
    await setup.study("cohort create ml time=09:00 tz=UTC days=daily")
    setup.core.telemetry = ops = Ops(setup.core, {})
    setup.fake.fail_next("chat.postMessage", status=429, retry_after=0)
    setup.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC))
    await setup.sweep()
    posts = [c for c in setup.fake.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL_ID]
    assert len(posts) == 2  # the 429, then the retry that landed
    metrics = generate_latest(ops.registry).decode()
    assert sample(metrics, "studybot_platform_rate_limits_total", platform="slack") == 1.0
    waited = sample(metrics, "studybot_platform_rate_limit_wait_seconds_total", platform="slack")
    assert waited is not None and 0 <= waited < 1.5  # Retry-After 0, and slack_sdk's up to 1 s of jitter
    setup.fake.fail_next("chat.postMessage", error="not_in_channel")
    setup.clock.set(dt.datetime(2026, 11, 25, 9, 1, tzinfo=dt.UTC))
    await setup.sweep()
    dm = setup.fake.calls_to("chat.postMessage")[-1].args
    assert dm["channel"] != CHANNEL_ID and "could not post today's challenge of cohort `ml`" in dm["text"]


async def test_the_same_flow_works_over_socket_mode(sqlite_store: SqlStore, catalog: Catalog) -> None:
    store = sqlite_store
    core = make_core(store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    async with FakeSlack() as fake:
        fake.set_user(USER_ID, is_admin=True)
        client = make_client("xoxb-fake", fake.api_url)
        handler = AsyncSocketModeHandler(build_app(core, client), app_token="xapp-x")
        await handler.connect_async()
        try:
            response_url = fake.new_response_url()
            envelope = await fake.socket_send(
                "slash_commands", slash_command_body("/study", "cohort create ml", response_url=response_url)
            )
            assert (await fake.wait_for_ack(envelope))["envelope_id"] == envelope
            reply = await fake.wait_for_response(response_url)
            assert "Cohort ml created" in shown(reply)
            click_url = fake.new_response_url()
            help_button = "study\x1fhelp\x1fstreak"  # what a button for `/study help streak` carries
            click = await fake.socket_send(
                "interactive", block_actions_payload(help_button, help_button, response_url=click_url)
            )
            await fake.wait_for_ack(click)
            clicked = await fake.wait_for_response(click_url)
            assert clicked["response_type"] == "ephemeral" and "/study streak" in shown(clicked)
            event = event_callback_body(app_home_opened_event(USER_ID), event_id="Ev9")
            first = await fake.socket_send("events_api", event)
            again = await fake.socket_send("events_api", event, retry_attempt=1)
            await fake.wait_for_ack(first)
            await fake.wait_for_ack(again)
            await fake.wait_for_call("views.publish")
        finally:
            await handler.close_async()
            await client.close()
    assert len([c for c in fake.calls_to("views.publish")]) == 1


async def test_the_service_studybot_run_uses_connects_over_socket_mode(
    sqlite_store: SqlStore, catalog: Catalog
) -> None:
    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    with pytest.raises(ValueError, match="SLACK_APP_TOKEN"):
        SlackService(core, make_client("xoxb-fake"))
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        SlackService(core, make_client("xoxb-fake"), http_port=3000)
    async with FakeSlack() as fake:
        service = SlackService(core, make_client("xoxb-fake", fake.api_url), app_token="xapp-fake")
        await service.start()
        try:
            response_url = fake.new_response_url()
            await fake.socket_send(
                "slash_commands", slash_command_body("/study", "roadmap", response_url=response_url)
            )
            assert "ML-engineer roadmap" in shown(await fake.wait_for_response(response_url))
        finally:
            await service.close()


@pytest.mark.parametrize(
    ("method", "http_port", "setting"),
    [
        ("auth.test", None, "SLACK_BOT_TOKEN"),
        ("apps.connections.open", None, "SLACK_APP_TOKEN"),
        ("auth.test", 0, "SLACK_BOT_TOKEN"),
    ],
)
async def test_a_refused_token_stops_the_start_and_names_the_setting(
    sqlite_store: SqlStore, catalog: Catalog, method: str, http_port: int | None, setting: str
) -> None:
    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    async with FakeSlack() as fake:
        fake.fail_next(method, error="invalid_auth")
        service = SlackService(
            core,
            make_client("xoxb-fake", fake.api_url),
            app_token="xapp-fake",
            signing_secret=fake.signing_secret,
            http_port=http_port,
        )
        with pytest.raises(PlatformRefused, match=rf"Slack refused {setting} \(invalid_auth\)"):
            await service.start()
        await service.close()
        # Refused once, it is not asked again and again: one call, and no Socket Mode connection.
        assert len(fake.calls_to(method)) == 1
        assert len(fake.calls_to("apps.connections.open")) == (1 if setting == "SLACK_APP_TOKEN" else 0)


async def test_a_personal_image_is_uploaded_to_the_members_direct_messages(setup: Setup) -> None:
    await setup.study("cohort create ml tz=UTC days=daily")
    await setup.study("join ml", user=MEMBER)
    await setup.study("done", user=MEMBER)
    streak = await setup.study("streak", user=MEMBER)
    assert streak["response_type"] == "ephemeral" and "ada: 1 day" in shown(streak)
    # App Home's own copy (refreshed after `done`) is uploaded without a channel; the reply's goes to a DM.
    shared: list[dict[str, Any]] = []
    for _ in range(500):
        shared = [
            f
            for f in setup.fake.files.values()
            if f["filename"].startswith("streak-") and f.get("channel_id")
        ]
        if shared:
            break
        await asyncio.sleep(0.01)
    [upload] = shared
    assert upload["data"].startswith(b"\x89PNG")
    assert upload["channel_id"] != CHANNEL_ID  # a DM, not the channel


async def test_the_operators_endpoints_share_slacks_port_unlogged(
    sqlite_store: SqlStore, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """Ops's routes on Slack's HTTP server: answered, not access-logged (probes come every few seconds),
    and refused once the server listens (they would silently never be served)."""
    import logging

    import aiohttp

    from tests.fakes.loadgen import free_port

    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    async with FakeSlack() as fake:
        port = free_port()
        service = SlackService(
            core, make_client("xoxb-fake", fake.api_url), signing_secret=fake.signing_secret, http_port=port
        )
        ops = Ops(core, {"slack": service})
        service.serve_also(ops.routes())
        await service.listen()
        assert not await service.connected()  # listening, but the tokens are not checked yet
        with pytest.raises(RuntimeError, match="before Slack's server listens"):
            service.serve_also(ops.routes())
        await service.start()
        try:
            assert await service.connected()
            caplog.set_level(logging.INFO, logger="aiohttp.access")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                    assert health.status == 200
                async with http.post(f"http://127.0.0.1:{port}/slack/events", data=b"x=1") as unsigned:
                    assert unsigned.status == 401
            logged = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
            assert any("/slack/events" in line for line in logged)
            assert not any("/healthz" in line for line in logged)
        finally:
            await service.close()
            await service.client.close()


@pytest.mark.parametrize("header", ["0.2", "Wed, 21 Oct 2026 07:28:00 GMT", "-3", "inf"])
async def test_a_429_with_an_odd_retry_after_is_waited_out_not_failed(setup: Setup, header: str) -> None:
    """slack_sdk reads Retry-After with int(): "0.2" or an HTTP date (which the header may be) failed the
    post. Now the post goes out after a bounded wait, and the wait is counted."""
    from adapters.slack.app import MAX_RETRY_AFTER, retry_after

    await setup.study("cohort create ml time=09:00 tz=UTC days=daily")
    setup.core.telemetry = ops = Ops(setup.core, {})
    assert 0.0 <= retry_after({"Retry-After": [header]}) <= MAX_RETRY_AFTER
    if header != "0.2":  # a date, a negative or infinite wait: one second, not a failure
        assert retry_after({"Retry-After": [header]}) in (0.0, 1.0)
    setup.fake.fail_next("chat.postMessage", status=429, retry_after=header)
    setup.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC))
    await setup.sweep()
    posts = [c for c in setup.fake.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL_ID]
    assert len(posts) == 2  # the 429, then the post that landed
    metrics = generate_latest(ops.registry).decode()
    assert sample(metrics, "studybot_platform_rate_limits_total", platform="slack") == 1.0
