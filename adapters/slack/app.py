"""The slack-bolt AsyncApp: /study, button clicks and App Home, each turned into an Invocation; plus
studybot's ChatPlatform for Slack (daily posts, edits of yesterday's post, direct messages)."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.render import ACTION_PREFIX, SEPARATOR, SlackMessage, decode_action, render
from bot.core import Core
from bot.ports import PlatformRefused, Undeliverable
from bot.types import ConversationRef, Invocation, Reply, UserRef

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Whether a member is a workspace admin changes rarely; ask users.info at most this often per member.
ADMIN_CACHE_SECONDS = 600
# Commands one process works on at once after acking them (more wait their turn, already acked).
CONCURRENT_COMMANDS = 64
# Slack redelivers an event it thinks was missed; remember this many event ids to process each once.
SEEN_EVENTS = 2048
# Commands after which the member's App Home is refreshed.
PROGRESS_COMMANDS = frozenset({"answer", "done", "learned", "unlearn"})
# How often to wait out a 429 before giving up on one call.
RATE_LIMIT_RETRIES = 3
# Connections to Slack kept open at most, across every Web API call, file upload and response_url post.
CONNECTIONS = 100
# On shutdown, how long the commands being handled get to send their replies before the connections close.
SHUTDOWN_GRACE_SECONDS = 5.0
# Errors after which posting to a channel cannot work until a person fixes something.
UNDELIVERABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "missing_scope"}


class Profiles:
    """Members' display names and whether they are workspace admins or owners, from users.info, cached."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[float, UserRef]] = {}

    async def user(self, user_id: str) -> UserRef:
        hit = self._cache.get(user_id)
        if hit and time.monotonic() - hit[0] < ADMIN_CACHE_SECONDS:
            return hit[1]
        try:
            info = (await self.client.users_info(user=user_id)).get("user") or {}
            profile = info.get("profile") or {}
            name = profile.get("display_name") or info.get("real_name") or info.get("name") or user_id
            ref = UserRef(
                PLATFORM, user_id, str(name), is_admin=bool(info.get("is_admin") or info.get("is_owner"))
            )
        except SlackApiError:
            log.warning("users.info failed for %s; treating them as a member", user_id, exc_info=True)
            ref = UserRef(PLATFORM, user_id, user_id)
        self._cache[user_id] = (time.monotonic(), ref)
        return ref


class SlackPlatform:
    """Posts, edits and direct messages through the Web API."""

    name = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _post(self, channel: str, message: SlackMessage) -> str:
        try:
            response = await self.client.chat_postMessage(
                channel=channel, text=message.text, blocks=message.blocks
            )
            for filename, data, title in message.files:
                await self.client.files_upload_v2(
                    channel=channel, content=data, filename=filename, title=title
                )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in UNDELIVERABLE:
                raise Undeliverable(f"Slack says {error} for channel {channel}") from exc
            raise
        return str(response["ts"])

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        return await self._post(conversation.channel_id, render(reply))

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        message = render(reply)
        await self.client.chat_update(
            channel=conversation.channel_id, ts=message_id, text=message.text, blocks=message.blocks
        )

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        opened = await self.client.conversations_open(users=user_id)
        return await self._post(str(opened["channel"]["id"]), render(reply))


class SlackClient(AsyncWebClient):
    """An AsyncWebClient whose requests share one aiohttp session, so one pool of kept-alive connections:
    without one, slack_sdk opens a session, and a new connection, for every call. bolt's per-request clients
    are given this client's session, and the adapter posts to response_urls through it too.

    The session is opened on first use, inside the running event loop, and closed by close(); after that,
    calls still work, each in a session of its own, as slack_sdk does without a shared one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._shared: aiohttp.ClientSession | None = None
        self._closed = False
        super().__init__(*args, **kwargs)

    @property
    def session(self) -> aiohttp.ClientSession | None:
        if self._shared is None and not self._closed:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return None  # outside the event loop: a session is bound to the loop it is opened in
            self._shared = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS),
                # What slack_sdk gives a session of its own, for a call or a response_url post.
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._shared

    @session.setter
    def session(self, session: aiohttp.ClientSession | None) -> None:
        self._shared = session

    async def close(self) -> None:
        self._closed = True
        session, self._shared = self._shared, None
        if session is not None:
            await session.close()


def make_client(token: str, api_url: str | None = None) -> SlackClient:
    """A Web API client that waits out rate limits (429 with Retry-After) instead of failing, and keeps its
    connections open for the next call (close it when done: SlackService.close does)."""
    kwargs: dict[str, Any] = {"base_url": api_url} if api_url else {}
    return SlackClient(
        token=token,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        **kwargs,
    )


class HomeRefresher:
    """Refreshes members' App Home in the background, so a command's reply never waits for it. Refreshes of
    one member are coalesced: while one runs, asking again only marks that one more is due when it ends, so
    the home ends up showing the latest state, and a burst of asks costs at most two refreshes."""

    def __init__(self, core: Core, client: AsyncWebClient) -> None:
        self.core, self.client = core, client
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._again: dict[tuple[str, str], UserRef] = {}

    def refresh(self, user: UserRef, team_id: str) -> None:
        key = (team_id, user.id)
        if key in self._running:
            self._again[key] = user  # the newest profile, for the one more refresh
            return
        self._running[key] = asyncio.create_task(self._run(key, user))

    async def _run(self, key: tuple[str, str], user: UserRef) -> None:
        try:
            while True:
                try:
                    await publish_home(self.core, self.client, user, key[0])
                except Exception:
                    log.exception("could not refresh the App Home of %s", user.id)
                again = self._again.pop(key, None)
                if again is None:
                    return
                user = again
        finally:
            del self._running[key]

    async def idle(self) -> None:
        """Wait until no refresh is running or due."""
        while self._running:
            await asyncio.wait(list(self._running.values()))

    async def close(self) -> None:
        """Stop the refreshes running and drop those due."""
        self._again.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


P = ParamSpec("P")


class InFlight:
    """The command and button handlers running now (bolt runs each after its ack, as a task of its own), so a
    shutdown can let them finish sending their replies and files before closing the connections they use."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def __call__(self, handler: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
        """Decorate a handler to be tracked (bolt still sees the handler's own arguments)."""

        @functools.wraps(handler)
        async def tracked(*args: P.args, **kwargs: P.kwargs) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await handler(*args, **kwargs)
            finally:
                if task is not None:
                    self._tasks.discard(task)

        return tracked

    async def finish(self, grace: float) -> None:
        """Wait until the handlers running now are done, or `grace` seconds have gone by."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)


async def post_response(
    client: AsyncWebClient, respond: AsyncRespond, message: SlackMessage, *, ephemeral: bool
) -> None:
    """What bolt's respond() does, through the client's shared session instead of a new one a post."""
    if respond.response_url is None:
        raise ValueError("respond is unsupported here as there is no response_url")
    webhook = AsyncWebhookClient(
        url=respond.response_url,
        timeout=client.timeout,
        ssl=respond.ssl,
        proxy=respond.proxy,
        session=client.session,
    )
    await webhook.send(
        text=message.text,
        blocks=message.blocks,
        response_type="ephemeral" if ephemeral else "in_channel",
        replace_original=False,
    )


def build_app(
    core: Core,
    client: AsyncWebClient,
    *,
    signing_secret: str | None = None,
    homes: HomeRefresher | None = None,
    in_flight: InFlight | None = None,
) -> AsyncApp:
    """The bolt app with studybot's handlers. HTTP mode needs the signing secret (verification stays on).
    App Home refreshes run in `homes`; command and button handlers are tracked in `in_flight` (each of its own
    when not given)."""
    app = AsyncApp(client=client, signing_secret=signing_secret)
    profiles = Profiles(client)
    homes = HomeRefresher(core, client) if homes is None else homes
    in_flight = InFlight() if in_flight is None else in_flight
    seen: OrderedDict[str, None] = OrderedDict()
    # Commands worked on at once after their ack. Without a bound, a burst's handlers all become ready
    # together and every request still waiting for its ack queues behind them on the event loop.
    working = asyncio.Semaphore(CONCURRENT_COMMANDS)

    async def answer(message: SlackMessage, respond: AsyncRespond, channel_id: str, user_id: str) -> None:
        await post_response(client, respond, message, ephemeral=message.ephemeral)
        for filename, data, title in message.files:
            # Files cannot be ephemeral: a personal image goes to the member's direct messages.
            target = channel_id
            if message.ephemeral:
                target = str((await client.conversations_open(users=user_id))["channel"]["id"])
            await client.files_upload_v2(channel=target, content=data, filename=filename, title=title)

    @app.command("/study")
    @in_flight
    async def study(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # within Slack's 3 seconds; the work below answers through response_url
        async with working:
            user = await profiles.user(command["user_id"])
            where = ConversationRef(PLATFORM, command["team_id"], command["channel_id"])
            inv = core.invocation(command.get("text", ""), user, where)
            reply = await core.dispatch(inv)
            if reply.silent:  # dropped over the spam limit: the empty ack above was all Slack needs
                return
            await answer(render(reply), respond, command["channel_id"], command["user_id"])
        if inv.command in PROGRESS_COMMANDS and not reply.error:
            homes.refresh(user, command["team_id"])  # in the background: the handler ends here

    @app.action(re.compile(f"^{ACTION_PREFIX}{SEPARATOR}"))
    @in_flight
    async def clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        decoded = decode_action(action["action_id"])
        if decoded is None:
            return
        user_info = body["user"]
        channel_id = (body.get("channel") or {}).get("id", "")
        async with working:
            user = await profiles.user(user_info["id"])
            where = ConversationRef(PLATFORM, body["team"]["id"], channel_id)
            reply = await core.dispatch(Invocation(decoded[0], decoded[1], user, where))
            if reply.silent:  # dropped over the spam limit: acked, nothing to say
                return
            message = render(reply)
            await answer(
                SlackMessage(message.text, message.blocks, True, message.files),
                respond,
                channel_id,
                user_info["id"],
            )
        if decoded[0] in PROGRESS_COMMANDS and not reply.error:
            homes.refresh(user, body["team"]["id"])

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], body: dict[str, Any]) -> None:
        event_id = str(body.get("event_id", ""))
        if event_id in seen:
            return  # a redelivery
        seen[event_id] = None
        while len(seen) > SEEN_EVENTS:
            seen.popitem(last=False)
        homes.refresh(await profiles.user(event["user"]), str(body.get("team_id", "")))

    return app


async def publish_home(core: Core, client: AsyncWebClient, user: UserRef, team_id: str) -> None:
    """The App Home tab: the member's streak and heatmap, roadmap progress and today's challenge."""
    where = ConversationRef(PLATFORM, team_id, "app_home")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "📚 studybot", "emoji": True}}
    ]
    for command in ("streak", "roadmap", "today"):
        # studybot refreshes the home on its own account: these are not the member's commands to count.
        reply = await core.dispatch(Invocation(command, (), user, where), limited=False)
        blocks.extend(render(Reply(text=reply.text, cards=reply.cards)).blocks)
        for image in reply.images:
            # A home view shows an image only by URL or as a file Slack holds: upload it privately.
            uploaded = await client.files_upload_v2(
                content=image.data, filename=image.filename, title=image.alt
            )
            file_id = uploaded["files"][0]["id"] if uploaded.get("files") else uploaded["file"]["id"]
            blocks.append({"type": "image", "slack_file": {"id": file_id}, "alt_text": image.alt[:2000]})
        blocks.append({"type": "divider"})
    # A home view holds at most 100 blocks.
    await client.views_publish(user_id=user.id, view={"type": "home", "blocks": blocks[:100]})


class SlackService:
    """Receives Slack's traffic for studybot: over Socket Mode (no public URL), or over HTTP on a port."""

    name = PLATFORM

    def __init__(
        self,
        core: Core,
        client: AsyncWebClient,
        *,
        app_token: str = "",
        signing_secret: str = "",
        http_port: int | None = None,
    ) -> None:
        if http_port is None and not app_token:
            raise ValueError(
                "Socket Mode needs SLACK_APP_TOKEN; for HTTP mode use --slack-mode http --port N"
            )
        if http_port is not None and not signing_secret:
            raise ValueError("HTTP mode needs SLACK_SIGNING_SECRET: requests are always verified")
        self.client = client
        self.platform = SlackPlatform(client)
        self.homes = HomeRefresher(core, client)
        self.in_flight = InFlight()
        self.app = build_app(
            core, client, signing_secret=signing_secret or None, homes=self.homes, in_flight=self.in_flight
        )
        self.app_token, self.http_port = app_token, http_port
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        await self._check_tokens()
        if self.http_port is None:
            self._socket = AsyncSocketModeHandler(self.app, app_token=self.app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            return
        self._runner = web.AppRunner(self.app.web_app(path="/slack/events"))
        await self._runner.setup()
        await web.TCPSite(self._runner, port=self.http_port).start()

    async def _check_tokens(self) -> None:
        """Fail at start, saying which token, when Slack refuses one: bolt would otherwise fail every request
        (the bot token), and Socket Mode would try to connect again and again (the app token)."""
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            raise PlatformRefused(
                f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')}): use the app's Bot User OAuth "
                "Token (xoxb-...) from its OAuth & Permissions page."
            ) from None
        if self.http_port is not None:
            return
        try:
            # Asks for a Socket Mode URL, as connecting does; an unused URL expires on its own.
            await self.client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            raise PlatformRefused(
                f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): Socket Mode needs an "
                "app-level token (xapp-...) with the connections:write scope, from the app's Basic "
                "Information page."
            ) from None

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        # No new commands come in now: let those being handled send their replies, drop App Home refreshes
        # (the next command or home visit makes one again), then close the connections to Slack.
        await self.in_flight.finish(SHUTDOWN_GRACE_SECONDS)
        await self.homes.close()
        if isinstance(self.client, SlackClient):
            await self.client.close()

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        return await self.platform.send(conversation, reply, key=key)

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        await self.platform.edit(conversation, message_id, reply)

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        return await self.platform.send_direct(user_id, reply)
