"""The Slack adapter keeps its connections to Slack open from one call to the next (Web API calls, file
uploads and response_url posts share one aiohttp session), and refreshes App Homes in the background, one
refresh at a time per member, with later asks folded into one more."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.util.utils import get_arg_names_of_callable

import adapters.slack.app as slack_app
from adapters.slack.app import HomeRefresher, InFlight, SlackService, build_app, make_client
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from bot.kernel.types import UserRef
from storage.sql_store import SqlStore
from tests.fakes.slack import USER_ID, FakeSlack

MEMBER = "U0MEMBER"


class PeerSlack(FakeSlack):
    """FakeSlack noting the client address of each request it gets: one address is one TCP connection."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[tuple[str, int]] = []

    def _note(self, request: web.Request) -> None:
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername"))

    async def _api(self, request: web.Request) -> web.Response:
        self._note(request)
        return await super()._api(request)

    async def _upload(self, request: web.Request) -> web.Response:
        self._note(request)
        return await super()._upload(request)

    async def _response(self, request: web.Request) -> web.Response:
        self._note(request)
        return await super()._response(request)


@pytest.fixture
def core(sqlite_store: SqlStore, catalog: Catalog) -> Core:
    return make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))


@pytest.fixture
async def fake() -> AsyncIterator[PeerSlack]:
    async with PeerSlack() as fake:
        fake.set_user(USER_ID, is_admin=True, name="mia")
        fake.set_user(MEMBER, name="ada")
        yield fake


async def study(fake: FakeSlack, url: str, text: str, user: str = USER_ID) -> Any:
    status, _, response_url = await fake.send_slash_command(url, "/study", text, user_id=user)
    assert status == 200
    return await fake.wait_for_response(response_url)


async def test_calls_uploads_and_replies_reuse_a_few_connections(core: Core, fake: PeerSlack) -> None:
    client = make_client("xoxb-fake", fake.api_url)
    homes = HomeRefresher(core, client)
    url = await fake.serve_app(build_app(core, client, signing_secret=fake.signing_secret, homes=homes))
    await study(fake, url, "cohort create ml tz=UTC days=daily")
    await study(fake, url, "join ml", user=MEMBER)
    await study(fake, url, "done read the pandas guide", user=MEMBER)  # refreshes the App Home
    await homes.idle()
    for command in ("streak", "roadmap", "today", "streak"):  # a streak's heatmap goes to the member's DMs
        await study(fake, url, command, user=MEMBER)
    for _ in range(500):  # the last heatmap is uploaded to the DMs after the reply
        if len(fake.calls_to("files.completeUploadExternal")) == 3:  # the App Home's and two streaks'
            break
        await asyncio.sleep(0.01)
    assert len(fake.calls_to("views.publish")) == 1
    assert {c.method for c in fake.calls} >= {"users.info", "files.completeUploadExternal", "views.publish"}
    assert len(fake.responses) == 7
    # Without a shared session each of these requests opened a connection of its own.
    assert len(fake.peers) > 20 and len(set(fake.peers)) <= 3
    await client.close()
    assert client.session is None  # closed for good: a later call opens (and closes) its own session
    await client.auth_test()


async def test_the_service_closes_its_connections_and_stops_refreshes(
    core: Core, fake: PeerSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[str] = []

    async def stuck_publish(core: Any, client: Any, user: UserRef, team_id: str, images: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append(user.id)
            raise

    monkeypatch.setattr(slack_app, "publish_home", stuck_publish)
    client = make_client("xoxb-fake", fake.api_url)
    service = SlackService(core, client, signing_secret=fake.signing_secret, http_port=0)
    session = client.session
    assert session is not None and not session.closed
    service.homes.refresh(UserRef("slack", MEMBER, "ada"), "T0FAKE")
    service.homes.refresh(UserRef("slack", MEMBER, "ada"), "T0FAKE")  # due after the first: dropped
    await asyncio.sleep(0.01)
    await service.close()
    assert session.closed and stopped == [MEMBER]
    await service.homes.idle()


async def test_a_members_refreshes_are_coalesced_and_others_run_alongside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[str] = []
    gate = asyncio.Event()

    async def slow_publish(core: Any, client: Any, user: UserRef, team_id: str, images: Any) -> None:
        published.append(user.id)
        await gate.wait()
        if user.name == "fails":
            raise RuntimeError("views.publish failed")

    monkeypatch.setattr(slack_app, "publish_home", slow_publish)
    homes = HomeRefresher(None, None, interval=0)  # type: ignore[arg-type]  # no throttle: not its subject
    ada, bob = UserRef("slack", "UADA", "ada"), UserRef("slack", "UBOB", "bob")
    for _ in range(5):  # five answers in a row while the first refresh runs
        homes.refresh(ada, "T1")
    homes.refresh(bob, "T1")
    await asyncio.sleep(0.01)
    assert published == ["UADA", "UBOB"]  # one each at once, in the background
    gate.set()
    await homes.idle()
    assert published == ["UADA", "UBOB", "UADA"]  # and one more for ada, with the latest state, not four

    gate.clear()  # a refresh that fails is logged and does not stop the next
    homes.refresh(UserRef("slack", "UADA", "fails"), "T1")
    homes.refresh(ada, "T1")
    gate.set()
    await homes.idle()
    assert published[3:] == ["UADA", "UADA"]


async def test_a_reply_does_not_wait_for_the_home_refresh(
    core: Core, fake: PeerSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    never = asyncio.Event()

    async def stuck_publish(core: Any, client: Any, user: UserRef, team_id: str, images: Any) -> None:
        started.append(user.id)
        await never.wait()

    monkeypatch.setattr(slack_app, "publish_home", stuck_publish)
    client = make_client("xoxb-fake", fake.api_url)
    homes = HomeRefresher(core, client)
    url = await fake.serve_app(build_app(core, client, signing_secret=fake.signing_secret, homes=homes))
    await study(fake, url, "cohort create ml tz=UTC days=daily")
    await study(fake, url, "join ml", user=MEMBER)
    first = await study(fake, url, "done read the pandas guide", user=MEMBER)
    second = await study(fake, url, "done and the numpy one", user=MEMBER)  # its refresh is stuck
    assert first["response_type"] == second["response_type"] == "ephemeral"
    assert started == [MEMBER]  # the second refresh waits for the first to end
    await homes.close()
    await client.close()


async def test_a_shutdown_lets_the_commands_being_handled_finish_within_the_grace() -> None:
    in_flight, gate, done = InFlight(), asyncio.Event(), []

    @in_flight
    async def handler(ack: Any, respond: Any) -> None:
        await gate.wait()
        done.append(respond)

    assert get_arg_names_of_callable(handler) == ["ack", "respond"]  # what bolt passes it
    task = asyncio.create_task(handler(ack=None, respond="replied"))
    await asyncio.sleep(0)
    assert len(in_flight) == 1
    asyncio.get_running_loop().call_later(0.05, gate.set)
    await in_flight.finish(5)
    assert done == ["replied"] and len(in_flight) == 0 and task.done()

    gate.clear()
    stuck = asyncio.create_task(handler(ack=None, respond="late"))
    await asyncio.sleep(0)
    await in_flight.finish(0.01)  # gives up after the grace
    assert not stuck.done() and len(in_flight) == 1
    stuck.cancel()
    await asyncio.gather(stuck, return_exceptions=True)
    assert len(in_flight) == 0


async def test_the_app_tracks_its_commands_in_the_in_flight_it_is_given(
    core: Core, fake: PeerSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    post = slack_app.post_response

    async def slow_post(*args: Any, **kwargs: Any) -> None:
        await gate.wait()
        await post(*args, **kwargs)

    monkeypatch.setattr(slack_app, "post_response", slow_post)
    client = make_client("xoxb-fake", fake.api_url)
    in_flight = InFlight()  # empty, so falsy: it must still be the one used
    app = build_app(core, client, signing_secret=fake.signing_secret, in_flight=in_flight)
    url = await fake.serve_app(app)
    status, _, response_url = await fake.send_slash_command(url, "/study", "help")
    assert status == 200  # acked; the reply waits at the gate
    for _ in range(500):
        if len(in_flight):
            break
        await asyncio.sleep(0.01)
    assert len(in_flight) == 1
    gate.set()
    await in_flight.finish(5)
    assert len(in_flight) == 0 and fake.responses_to(response_url)
    await client.close()


def test_outside_the_event_loop_the_client_opens_no_session() -> None:
    client = make_client("xoxb-fake")
    assert client.session is None  # opened on first use inside the loop, where it belongs
