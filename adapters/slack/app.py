"""The slack-bolt AsyncApp: /study, button clicks and App Home, each turned into an Invocation; plus
studybot's ChatPlatform for Slack (daily posts, edits of yesterday's post, direct messages)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import math
import random
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ParamSpec

import aiohttp
from aiohttp import web
from aiohttp.web_log import AccessLogger
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.forms import answers, submitted_command
from adapters.slack.modals import answer_submission, open_form, send_direct, show_in_modal
from adapters.slack.render import ACTION_PREFIX, SEPARATOR, SlackMessage, decode_action, render, unescape
from bot.dispatch.core import Core
from bot.kernel.ports import Clock, PlatformRefused, Undeliverable
from bot.kernel.types import ConversationRef, Image, Invocation, Reply, UserRef
from bot.kernel.untrusted import plain

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Whether a member is a workspace admin changes rarely, so users.info is asked at most this often per
# member; but a demoted admin keeps moderator rights until then, so no longer than a minute.
ADMIN_CACHE = dt.timedelta(seconds=60)
# A member's App Home is refreshed at most this often: a refresh is three commands' work and a views.publish,
# and opening the tab again and again must not buy more.
HOME_REFRESH_SECONDS = 60.0
# Slack accepts a signed request whose timestamp is within 5 minutes of its clock, so the same signed bytes
# can come again until up to 10 minutes after the first (with a clock 5 minutes ahead): remember that long.
REPLAY_SECONDS = 600.0
# Requests remembered at most (a digest and a time each, some 150 bytes): 80 a second for the whole window.
REPLAY_MEMORY = 50_000
# Of an unverifiable request's body, this much is logged (the rest is an unknown sender's to fill).
LOGGED_BODY_CHARS = 2000
# Commands one process works on at once after acking them (more wait their turn, already acked).
CONCURRENT_COMMANDS = 64
# Slack redelivers an event it thinks was missed; remember this many event ids to process each once.
SEEN_EVENTS = 2048
# Commands after which the member's App Home is refreshed.
PROGRESS_COMMANDS = frozenset({"answer", "done", "learned", "unlearn"})
# How often to wait out a 429 before giving up on one call, and the longest wait taken from its Retry-After.
RATE_LIMIT_RETRIES = 3
MAX_RETRY_AFTER = 60.0
# Connections to Slack kept open at most, across every Web API call, file upload and response_url post.
CONNECTIONS = 100
# On shutdown, how long the commands being handled get to send their replies before the connections close.
SHUTDOWN_GRACE_SECONDS = 5.0
# Errors after which posting to a channel cannot work until a person fixes something.
UNDELIVERABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "missing_scope"}


class Profiles:
    """Members' display names and whether they are workspace admins or owners, from users.info, cached for
    at most ADMIN_CACHE by `clock` (the core's)."""

    def __init__(self, client: AsyncWebClient, clock: Clock) -> None:
        self.client, self.clock = client, clock
        self._cache: dict[str, tuple[dt.datetime, UserRef]] = {}

    async def user(self, user_id: str) -> UserRef:
        hit = self._cache.get(user_id)
        # A clock set back must not make an entry young again: only 0 <= age < ADMIN_CACHE is fresh.
        if hit and dt.timedelta(0) <= self.clock.now() - hit[0] < ADMIN_CACHE:
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
        self._cache[user_id] = (self.clock.now(), ref)
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

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        return False  # Slack has no roles to give: the milestone is announced

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        # One group conversation with the members (a multi-person DM, at most 8 people besides the bot).
        opened = await self.client.conversations_open(users=",".join(user_ids))
        return [await self._post(str(opened["channel"]["id"]), render(reply))]


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


class RateLimitWaits(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's handler of 429s: wait for Retry-After (and up to a second more, as slack_sdk does), then
    send again, telling `report` how long it waited; build_app points `report` at the core's telemetry.

    slack_sdk's own reads Retry-After with int(), so "1.5" (or an HTTP date, which the header may also be)
    raised ValueError and the call failed; here a value that is not a number of seconds waits one second,
    and no wait is longer than MAX_RETRY_AFTER.
    """

    def __init__(self, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.report: Callable[[float], None] = lambda seconds: None

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("a 429 without a response")
        state.next_attempt_requested = True
        wait = retry_after(response.headers) + random.random()  # noqa: S311 - jitter, not a secret
        await asyncio.sleep(wait)
        state.increment_current_attempt()
        self.report(wait)


def retry_after(headers: Mapping[str, Any]) -> float:
    """The seconds a 429's Retry-After header asks for: a number of seconds, within 0 and MAX_RETRY_AFTER;
    1 when it is missing or not a number."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            text = value[0] if isinstance(value, list | tuple) and value else value
            try:
                seconds = float(str(text).strip())
            except ValueError:
                return 1.0
            return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else 1.0
    return 1.0


def make_client(token: str, api_url: str | None = None) -> SlackClient:
    """A Web API client that waits out rate limits (429 with Retry-After) instead of failing, and keeps its
    connections open for the next call (close it when done: SlackService.close does)."""
    kwargs: dict[str, Any] = {"base_url": api_url} if api_url else {}
    return SlackClient(token=token, retry_handlers=[RateLimitWaits(RATE_LIMIT_RETRIES)], **kwargs)


class HomeImages:
    """The App Home's images as files Slack holds: uploaded once per distinct image (a hash of its bytes,
    with its name and title) and reused while it is unchanged; a file no member's home shows is deleted."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._files: dict[tuple[str, str, str, str], str] = {}  # (team, sha256, filename, title) -> file id
        self._keys: dict[str, tuple[str, str, str, str]] = {}  # file id -> its key above
        self._users: dict[str, int] = {}  # file id -> views showing it, or about to be published with it
        self._shown: dict[tuple[str, str], list[str]] = {}  # (team, member) -> the files their home shows

    async def acquire(self, team_id: str, image: Image) -> str:
        """The id of a file holding `image`, uploaded if no file holds it yet; release it when done."""
        title = plain(image.alt)
        key = (team_id, hashlib.sha256(image.data).hexdigest(), plain(image.filename), title)
        file_id = self._files.get(key)
        if file_id is None:
            # A home view shows an image only by URL or as a file Slack holds: upload it privately.
            uploaded = await self.client.files_upload_v2(content=image.data, filename=key[2], title=title)
            file_id = str(uploaded["files"][0]["id"] if uploaded.get("files") else uploaded["file"]["id"])
            self._files[key], self._keys[file_id] = file_id, key
        self._users[file_id] = self._users.get(file_id, 0) + 1
        return file_id

    async def shown(self, team_id: str, user_id: str, file_ids: list[str]) -> None:
        """The member's home now shows `file_ids` (acquired for it): release the files it showed before."""
        before = self._shown.get((team_id, user_id), [])
        self._shown[(team_id, user_id)] = file_ids
        await self.release(before)

    async def release(self, file_ids: list[str]) -> None:
        """One view fewer shows each of `file_ids`; a file no view shows is deleted from Slack."""
        for file_id in file_ids:
            self._users[file_id] -= 1
            if self._users[file_id] > 0:
                continue
            del self._users[file_id]
            del self._files[self._keys.pop(file_id)]
            try:
                await self.client.files_delete(file=file_id)
            except SlackApiError:
                log.warning("could not delete the App Home image %s", file_id, exc_info=True)


class HomeRefresher:
    """Refreshes members' App Home in the background, so a command's reply never waits for it.

    A member's home is refreshed at most once per `interval` seconds. After a command that changed what it
    shows, `refresh` runs one now, or, within the interval, once at its end with the latest state (asks in
    between are folded into that one). Opening the tab (`opened`) refreshes only when no refresh ran, runs or
    is due within the interval: every change already refreshes the home, so it shows the latest state.
    """

    def __init__(
        self,
        core: Core,
        client: AsyncWebClient,
        *,
        interval: float = HOME_REFRESH_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core, self.client = core, client
        self.images = HomeImages(client)
        self.interval, self._now = interval, now
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._again: dict[tuple[str, str], UserRef] = {}
        # When each member's last refresh started, oldest first (a refresh moves its member to the end).
        self._last: dict[tuple[str, str], float] = {}

    def refresh(self, user: UserRef, team_id: str) -> None:
        key = (team_id, user.id)
        if key in self._running:
            self._again[key] = user  # the newest profile, for the one more refresh
            return
        self._running[key] = asyncio.create_task(self._run(key, user))

    def opened(self, user: UserRef, team_id: str) -> None:
        key = (team_id, user.id)
        last = self._last.get(key)
        if key in self._running or (last is not None and self._now() - last < self.interval):
            return
        self.refresh(user, team_id)

    async def _run(self, key: tuple[str, str], user: UserRef) -> None:
        try:
            while True:
                last = self._last.get(key)
                if last is not None and (wait := last + self.interval - self._now()) > 0:
                    await asyncio.sleep(wait)
                    user = self._again.pop(key, user)  # asks while waiting are folded into this one
                self._forget_old()
                self._last.pop(key, None)  # to the end: the dict stays in the order of the times
                self._last[key] = self._now()
                try:
                    await publish_home(self.core, self.client, user, key[0], self.images)
                except Exception:
                    log.exception("could not refresh the App Home of %s", user.id)
                again = self._again.pop(key, None)
                if again is None:
                    return
                user = again
        finally:
            del self._running[key]

    def _forget_old(self) -> None:
        """Drop the refresh times older than the interval, so memory follows activity, not all members.

        From the oldest until the first recent one: a burst of N refreshes costs N steps in all, where going
        through every time at each refresh cost N² (1.1 s of the event loop for 3,000 at once, 12 s for
        10,000, holding every Slack ack behind it)."""
        now = self._now()
        while self._last:
            key, started = next(iter(self._last.items()))
            if now - started < self.interval:
                return
            del self._last[key]

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
    response = await webhook.send(
        text=message.text,
        blocks=message.blocks,
        response_type="ephemeral" if ephemeral else "in_channel",
        replace_original=False,
    )
    if response.status_code != 200:
        # The webhook client does not raise: a refused reply would otherwise vanish without a trace.
        log.error("Slack refused a reply (HTTP %s): %.200s", response.status_code, response.body)


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
    if signing_secret:
        # bolt's own verification, replaced by one that also refuses a malformed timestamp and replays.
        app = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            request_verification_enabled=False,
            before_authorize=SignedOnce(signing_secret),
        )
    else:  # Socket Mode: Slack's connection is the proof; bolt verifies whatever comes over HTTP
        app = AsyncApp(client=client, signing_secret=signing_secret)
    for handler in client.retry_handlers:  # the 429s its calls wait out, for /metrics
        if isinstance(handler, RateLimitWaits):
            handler.report = lambda seconds: core.telemetry.rate_limited(PLATFORM, seconds)
    profiles = Profiles(client, core.clock)
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
        async with core.turn(working):
            user = await profiles.user(command["user_id"])
            where = ConversationRef(PLATFORM, command["team_id"], command["channel_id"])
            # Slack sends the text with &, < and > escaped, as it sends all text: decode once.
            inv = core.invocation(unescape(command.get("text", "")), user, where)
            reply = await core.dispatch(inv)
            if reply.silent:  # dropped over the spam limit: the empty ack above was all Slack needs
                return
            trigger = str(command.get("trigger_id", ""))
            if not await open_form(client, trigger, reply, command["channel_id"], command["user_id"]):
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
        # A click inside a modal (a form's reply) comes with the view, and no channel or response_url.
        view = body.get("view") or {}
        in_modal = (body.get("container") or {}).get("type") == "view" and view.get("type") == "modal"
        channel_id = str(
            (body.get("channel") or {}).get("id") or (in_modal and view.get("private_metadata")) or ""
        )
        async with core.turn(working):
            user = await profiles.user(user_info["id"])
            where = ConversationRef(PLATFORM, body["team"]["id"], channel_id)
            reply = await core.dispatch(Invocation(decoded[0], decoded[1], user, where))
            if reply.silent:  # dropped over the spam limit: acked, nothing to say
                return
            trigger = str(body.get("trigger_id", ""))
            if in_modal:
                await show_in_modal(client, view, reply, channel_id, user_info["id"])
            elif await open_form(client, trigger, reply, channel_id, user_info["id"]):
                pass  # the form is open: its text would only repeat it
            elif respond.response_url is None:  # a click in the App Home: nowhere to respond but directly
                await send_direct(client, user_info["id"], reply)
            else:
                message = render(reply)
                await answer(
                    SlackMessage(message.text, message.blocks, True, message.files),
                    respond,
                    channel_id,
                    user_info["id"],
                )
        if decoded[0] in PROGRESS_COMMANDS and not reply.error:
            homes.refresh(user, body["team"]["id"])

    @app.view(re.compile(f"^{ACTION_PREFIX}{SEPARATOR}"))
    @in_flight
    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        decoded = submitted_command(view)
        if decoded is None:
            await ack()
            return
        user_id = str(body["user"]["id"])
        team_id = str((body.get("team") or {}).get("id") or body["user"].get("team_id", ""))
        where = ConversationRef(PLATFORM, team_id, str(view.get("private_metadata") or ""))
        user: UserRef | None = None

        async def work() -> Reply:
            nonlocal user
            async with core.turn(working):
                user = await profiles.user(user_id)
                return await core.dispatch(Invocation(*decoded, user, where, fields=answers(view)))

        reply = await answer_submission(ack, client, view, user_id, work())
        if user is not None and decoded[0] in PROGRESS_COMMANDS and not reply.error:
            homes.refresh(user, team_id)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], body: dict[str, Any]) -> None:
        event_id = str(body.get("event_id", ""))
        if event_id in seen:
            return  # a redelivery
        seen[event_id] = None
        while len(seen) > SEEN_EVENTS:
            seen.popitem(last=False)
        homes.opened(await profiles.user(event["user"]), str(body.get("team_id", "")))

    return app


async def publish_home(
    core: Core, client: AsyncWebClient, user: UserRef, team_id: str, images: HomeImages | None = None
) -> None:
    """The App Home tab: the member's streak and heatmap, roadmap progress and today's challenge."""
    images = HomeImages(client) if images is None else images
    file_ids: list[str] = []
    where = ConversationRef(PLATFORM, team_id, "app_home")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "📚 studybot", "emoji": True}}
    ]
    for command in ("streak", "roadmap", "today"):
        # studybot refreshes the home on its own account: these are not the member's commands to count.
        reply = await core.dispatch(Invocation(command, (), user, where), limited=False)
        blocks.extend(render(Reply(text=reply.text, cards=reply.cards)).blocks)
        for image in reply.images:
            file_ids.append(await images.acquire(team_id, image))
            alt = plain(image.alt)[:2000]
            blocks.append({"type": "image", "slack_file": {"id": file_ids[-1]}, "alt_text": alt})
        blocks.append({"type": "divider"})
    try:
        # A home view holds at most 100 blocks.
        await client.views_publish(user_id=user.id, view={"type": "home", "blocks": blocks[:100]})
    except BaseException:
        await images.release(file_ids)
        raise
    await images.shown(team_id, user.id, file_ids)


class SignedOnce(AsyncRequestVerification):
    """bolt's request verification, stricter: a timestamp that is no number is a bad signature (401, where
    bolt raises and answers 500), and a request whose exact body came before within REPLAY_SECONDS is
    answered 200 and not run again. That covers a replay of captured signed bytes and Slack's own retries,
    which send the same body re-signed (X-Slack-Retry-Num): Slack wants a quick 200 to stop retrying, and
    the first delivery is already being handled. Every genuine request's body is unique (it carries a
    trigger_id, response_url, action_ts or event_id), so nothing new is ever taken for a repeat."""

    def __init__(self, signing_secret: str, *, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__(signing_secret)
        self._now = now
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # sha256 of a body -> when it first came

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # bolt passes it by this name
    ) -> BoltResponse:
        if self._can_skip(req.mode, req.body):
            return await next()
        body = req.raw_body
        timestamp = req.headers.get("x-slack-request-timestamp", [""])[0]
        signature = req.headers.get("x-slack-signature", [""])[0]
        if not _TIMESTAMP.fullmatch(timestamp) or not self.verifier.is_valid(body, timestamp, signature):
            # bolt's own log line (at INFO), with what an unknown sender wrote made safe to log.
            self._debug_log_error(_loggable(signature), _loggable(timestamp), _loggable(body))
            return self._build_error_response()
        if self._repeated(hashlib.sha256(body.encode()).digest()):
            retry = req.headers.get("x-slack-retry-num", [""])[0]
            log.info("a request came again (Slack retry %s); it was handled once", _loggable(retry) or "none")
            return BoltResponse(status=200, body="")
        return await next()

    def _repeated(self, digest: bytes) -> bool:
        """Whether `digest` came within REPLAY_SECONDS; remember it if not (at most REPLAY_MEMORY)."""
        now = self._now()
        while self._seen and (now - next(iter(self._seen.values())) >= REPLAY_SECONDS):
            self._seen.popitem(last=False)
        if digest in self._seen:
            return True
        self._seen[digest] = now
        while len(self._seen) > REPLAY_MEMORY:
            self._seen.popitem(last=False)
        return False


# A Slack request timestamp: seconds since 1970 in ASCII digits (bolt's int() would take " 12" or "١٢").
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_LOG_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _loggable(text: str) -> str:
    """What an unknown sender wrote, cut short, control characters shown as escapes (no forged lines)."""
    cut = text[:LOGGED_BODY_CHARS] + ("…" if len(text) > LOGGED_BODY_CHARS else "")
    return _LOG_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", cut)


# Connections waiting to be accepted on Slack's HTTP port.
LISTEN_BACKLOG = 4096


def _access_log_without(paths: frozenset[str]) -> type[AccessLogger]:
    """aiohttp's access log, leaving out requests to `paths` (health probes and scrapes, every few s)."""

    class Quieter(AccessLogger):
        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            if request.path not in paths:
                super().log(request, response, time)

    return Quieter


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
        self._also: list[web.RouteDef] = []
        self._started = False

    def serve_also(self, routes: Sequence[web.RouteDef]) -> None:
        """In HTTP mode, serve these routes on Slack's port too (the operator's health and metrics), before
        the server listens. They are not Slack's: requests to them are not signed, nor access-logged."""
        if self.http_port is None:
            raise ValueError("only Slack's HTTP mode has a port to share")
        if self._runner is not None:
            raise RuntimeError("serve_also() must come before Slack's server listens")
        self._also.extend(routes)

    async def connected(self) -> bool:
        """Whether Slack can reach studybot now: its Socket Mode connection, or the HTTP server listening
        (with the tokens checked)."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self._runner is not None and self._started

    async def start(self) -> None:
        await self._check_tokens()
        if self.http_port is None:
            self._socket = AsyncSocketModeHandler(self.app, app_token=self.app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            return
        await self.listen()
        self._started = True

    async def listen(self) -> None:
        """HTTP mode: listen on Slack's port now (start() does, if it was not done before); early when the
        operator's endpoints share the port, so that they answer while the other platforms start."""
        if self._runner is not None or self.http_port is None:
            return
        web_app = self.app.web_app(path="/slack/events")
        web_app.add_routes(self._also)
        quiet = frozenset(route.path for route in self._also)
        self._runner = web.AppRunner(web_app, access_log_class=_access_log_without(quiet))
        await self._runner.setup()
        # A burst opens thousands of connections at once: aiohttp's backlog of 128 would drop the rest,
        # and their senders retry seconds later (the system caps it at net.core.somaxconn).
        await web.TCPSite(self._runner, port=self.http_port, backlog=LISTEN_BACKLOG).start()

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

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        return await self.platform.send_group(conversation, user_ids, reply)

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        return await self.platform.grant_role(workspace_id, user_id, role_id)
