"""An HTTP + websocket fake of Discord on 127.0.0.1, so the real discord.py runs against it in tests.

``FakeDiscord`` serves Discord's REST API and gateway on a random free port, points discord.py at them,
records what the bot sends, and lets a test act as Discord's users (slash commands, autocomplete, button
clicks, chat messages). Nothing in discord.py is mocked: ``discord.Client``, ``app_commands.CommandTree``,
``Interaction``, views and webhooks all run their real code paths.

What is faked
-------------
REST, under ``/api/v10`` (every request is recorded in :attr:`FakeDiscord.requests`):

* login: ``GET /users/@me`` (401 for a wrong token when the fake has one) and ``GET /oauth2/applications/@me``
  (``Client.login`` asks both; a plain Client never asks ``/gateway/bot``), ``GET /applications/@me``
* users and DMs: ``GET /users/{id}``, ``POST /users/@me/channels`` (one DM channel per user)
* commands: ``GET|PUT|POST /applications/{app}/commands`` and ``.../guilds/{guild}/commands``, ``DELETE``
  of one command; a bulk overwrite is validated, recorded and echoed back with ids that stay stable per name
* interactions: ``POST /interactions/{id}/{token}/callback`` (``?with_response=1`` answers with the callback
  response object, ``resource.message`` carrying the new message), followups ``POST /webhooks/{app}/{token}``
  and ``GET|PATCH|DELETE /webhooks/{app}/{token}/messages/{@original|id}``
* channels: ``GET /channels/{id}``, ``GET|POST /channels/{id}/messages`` (JSON or multipart with files),
  ``GET|PATCH|DELETE /channels/{id}/messages/{id}``, ``POST /channels/{id}/typing``
* threads: ``POST /channels/{id}/threads`` (a thread without a message, 201) and
  ``PUT /channels/{thread}/thread-members/{user}``; a thread is a channel, so its messages use the routes
  above (see :meth:`FakeDiscord.threads`)
* guild: ``GET /guilds/{id}``, ``GET /guilds/{id}/channels``, ``GET /guilds/{id}/members/{id}``
* uploaded files are served back at their attachment URL (``/attachments/...``) for ``Attachment.read()``
* anything else: 404 with a JSON error body, also recorded in :attr:`FakeDiscord.unhandled`

Gateway, at ``ws://127.0.0.1:PORT/gateway`` (plain-text JSON frames, no compression): HELLO; IDENTIFY →
READY (guilds unavailable, ``application`` {id, flags}) then GUILD_CREATE, which like Discord is sent only
with the GUILDS intent; HEARTBEAT → HEARTBEAT_ACK; RESUME → RESUMED; REQUEST_GUILD_MEMBERS → one chunk;
INTERACTION_CREATE from :meth:`FakeDiscord.slash`, :meth:`~FakeDiscord.autocomplete`,
:meth:`~FakeDiscord.click` and :meth:`~FakeDiscord.submit_modal`; MESSAGE_CREATE/UPDATE/DELETE for messages
in the fake (only with the GUILD_MESSAGES or DIRECT_MESSAGES intent, and a user's content only with
MESSAGE_CONTENT, in DMs or when the bot is mentioned); RECONNECT from :meth:`~FakeDiscord.request_reconnect`;
THREAD_CREATE (``newly_created``) for a thread the bot made; any other event through
:meth:`~FakeDiscord.dispatch`.

Discord behaviour it keeps, so that such bugs show up in tests rather than in production
--------------------------------------------------------------------------------------
* Every request body (JSON, a multipart ``payload_json``, interaction callbacks, webhook followups and edits,
  command overwrites) is checked against the request schema of Discord's official OpenAPI spec for that
  method and path, strictly (no fields the spec does not list), plus the documented rules the schemas leave
  out (see :mod:`tests.fakes.discord.openapi`, which also lists the few discord.py deviations allowed). A
  body that fails gets 400 ``Invalid Form Body`` (50035) with Discord's ``errors`` tree. Without the spec
  file only the fake's own checks below apply.
* JSON responses carry ``Content-Type: application/json`` exactly (discord.py decodes nothing else).
* An interaction must be answered within ``interaction_deadline`` seconds (3 by default): a later callback
  gets 404 ``Unknown interaction`` (10062); a second callback gets 400 (40060); the callback type must suit
  the interaction (8 only for autocomplete, 6 and 7 only for components); followups and ``@original``
  before the callback get 404 ``Unknown Webhook`` (10015). The first followup after a "thinking" defer
  replaces the loading message, as on Discord.
* Slash commands must have been synced (``data.guild_id`` is set exactly when the command was synced to that
  guild), guild-only commands cannot be used in DMs, options are typed from the synced schema, required
  options and choices are enforced; a click needs a message in the fake holding that enabled component.
* Messages: empty → 400 (50006); content over 2000, more than 10 embeds, embeds over Discord's limits, bad
  component layouts or custom_ids → 400 ``Invalid Form Body`` (50035); ``enforce_nonce`` returns the earlier
  message for a repeated nonce instead of posting twice; DMs to a user who blocks them → 403 (50007).
* Modals (callback type 9): the spec's modal components, plus at most 5 top-level components, unique
  custom_ids and ids, and the checkbox group's min_values/required rule; :meth:`FakeDiscord.submit_modal`
  answers with Discord's modal-submit shape (a label wraps its input: a text input's ``value``, a radio
  group's ``value`` or null, a checkbox group's ``values``) and refuses what the modal would not let a user
  submit. A modal can answer only a command or a component interaction, and only as the first callback.
* Threads: a private thread needs Create Private Threads in the parent (see
  :attr:`FakeDiscord.bot_creates_private_threads`) and a public one Create Public Threads, else 403
  (50013); the parent must be a guild text channel (404 10003 when unknown, 400 50024 for a DM or a
  thread); a bad name, type, ``invitable`` or ``auto_archive_duration`` gets 400 ``Invalid Form Body``;
  adding an unknown user to a thread gets 404 (10007).
* :meth:`FakeDiscord.fail_next` injects 429s (with ``Via``, ``Retry-After``, ``X-RateLimit-*`` headers and
  the JSON body discord.py needs to wait and retry), 403s (``Missing Permissions``, 50013) or any status.

Patched discord.py globals (set on enter, restored on exit)
----------------------------------------------------------
* ``discord.http.Route.BASE`` → ``http://127.0.0.1:PORT/api/v10``. The webhook module
  (``discord.webhook.async_``) builds its requests with the same ``Route`` class, so interaction callbacks,
  followups and ``@original`` edits arrive here too; only the display property ``Webhook.url`` still says
  discord.com. (Channel webhooks made with ``Webhook.from_url`` would reach the fake too but are not faked.)
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` → ``ws://127.0.0.1:PORT/gateway``; READY's
  ``resume_gateway_url`` points here too, so reconnects and resumes stay local.

These are process globals, so only one FakeDiscord can be active at a time. Clients should be created with a
small ``guild_ready_timeout`` (e.g. ``discord.Client(..., guild_ready_timeout=0.05)``): discord.py waits that
long after the last GUILD_CREATE before ``on_ready``, 2 seconds by default.

Typical use
-----------
::

    async with FakeDiscord() as fake:
        client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
        tree = app_commands.CommandTree(client)  # ... add commands
        await fake.start_client(client)  # or start it yourself, then: await fake.wait_for_gateway_op(2)
        await tree.sync()                #                               await client.wait_until_ready()
        interaction = await fake.slash("study", "today", {"days": 3})
        callback = await fake.wait_for_callback(interaction)  # {"type": 4, "data": {...}}
        reply = fake.original_response(interaction)           # the message, after any later edits

A bug in the fake itself answers 503 (discord.py raises at once) and is re-raised when the ``async with``
ends, from :attr:`FakeDiscord.internal_errors`.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import hashlib
import json
import math
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import discord
import yarl
from aiohttp import BodyPartReader, WSMsgType, web
from discord.gateway import DiscordWebSocket
from discord.http import Route

from tests.fakes.discord.openapi import DiscordContract, load_contract

__all__ = [
    "APPLICATION_ID",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "DEFAULT_TOKEN",
    "GUILD_ID",
    "USER_ID",
    "FakeDiscord",
    "FakeInteraction",
    "RecordedRequest",
]

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Fixed ids of the fake's world (real snowflakes from 2023). A bot user has its application's id.
APPLICATION_ID = 1_150_000_000_000_000_001
BOT_USER_ID = APPLICATION_ID
GUILD_ID = 1_150_000_000_000_000_100
BOT_ROLE_ID = 1_150_000_000_000_000_101
CHANNEL_ID = 1_150_000_000_000_000_200
USER_ID = 1_150_000_000_000_000_300
OWNER_ID = 1_150_000_000_000_000_301
DEFAULT_TOKEN = "fake-bot-token"

# Gateway intents.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Message flags.
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12
COMPONENTS_V2 = 1 << 15
CHANNEL_MESSAGE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | COMPONENTS_V2
RESPONSE_FLAGS = CHANNEL_MESSAGE_FLAGS | EPHEMERAL

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
NONCE_WINDOW_SECONDS = 120.0

EVERYONE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    use_external_emojis=True,
    use_application_commands=True,
    create_public_threads=True,
).value
BOT_ROLE_PERMISSIONS = discord.Permissions(manage_messages=True, manage_threads=True).value
# Where studybot's own role sits among the guild's roles (a role it gives must sit lower).
BOT_ROLE_POSITION = 5
CREATE_PUBLIC_THREADS = discord.Permissions(create_public_threads=True).value
CREATE_PRIVATE_THREADS = discord.Permissions(create_private_threads=True).value

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
GUILD_TEXT, PUBLIC_THREAD, PRIVATE_THREAD = 0, 11, 12
THREAD_TYPES = {PUBLIC_THREAD, PRIVATE_THREAD}
THREAD_NAME_MAX = 100
AUTO_ARCHIVE_MINUTES = {60, 1440, 4320, 10080}

# Which callback types each interaction type accepts (interaction type → callback types).
CALLBACK_TYPES = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
SELECT_TYPES = {3, 5, 6, 7, 8}
NAME_RE = re.compile(r"^[-_'\w]{1,32}$")
HTTP_REASONS = {
    400: ("400: Bad Request", 0),
    401: ("401: Unauthorized", 0),
    403: ("Missing Permissions", 50013),
    404: ("404: Not Found", 0),
    429: ("You are being rate limited.", 0),
    500: ("500: Internal Server Error", 0),
}

Handler = Callable[..., Awaitable[Any]]


@dataclass
class RecordedRequest:
    """One REST request as the fake received it."""

    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any  # parsed JSON body; for multipart, the parsed payload_json part
    files: list[str]  # uploaded file names, in order
    headers: dict[str, str] = field(repr=False)
    file_data: dict[str, bytes] = field(default_factory=dict, repr=False)  # file name → content
    status: int | None = None  # what the fake answered
    response: Any = field(default=None, repr=False)  # the JSON it answered with
    parts: dict[str, tuple[str, bytes]] = field(default_factory=dict, repr=False)  # "files[0]" → (name, data)
    invalid_json: bool = field(default=False, repr=False)
    has_body: bool = field(default=False, repr=False)  # a JSON body or a payload_json part arrived


@dataclass
class FakeInteraction:
    """An interaction the fake sent; the callback and messages it produced are filled in as they arrive."""

    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete
    payload: dict[str, Any] = field(repr=False)
    deadline: float | None = field(default=None, repr=False)
    callback: dict[str, Any] | None = None
    callback_files: list[str] = field(default_factory=list)
    # The event loop's time when the fake sent the interaction and when the bot's callback arrived.
    sent_at: float = 0.0
    callback_at: float | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel"]["id"])

    @property
    def guild_id(self) -> int | None:
        value = self.payload.get("guild_id")
        return int(value) if value else None

    @property
    def user_id(self) -> int:
        user = self.payload["member"]["user"] if "member" in self.payload else self.payload["user"]
        return int(user["id"])

    @property
    def message_id(self) -> int | None:
        """For a component interaction, the message whose component was used."""
        message = self.payload.get("message")
        return int(message["id"]) if message else None

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


class _FormErrors:
    """Collects Discord's nested ``Invalid Form Body`` errors."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: Sequence[str | int], value: Any, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def raise_if_any(self) -> None:
        if self.tree:
            raise _ApiError(400, 50035, "Invalid Form Body", errors=self.tree)


@dataclass
class _Failure:
    method: str
    path: str | re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int

    def matches(self, method: str, path: str) -> bool:
        if method != self.method:
            return False
        if isinstance(self.path, re.Pattern):
            return self.path.fullmatch(path) is not None
        return path == self.path


@dataclass
class _User:
    id: int
    name: str
    display_name: str | None = None
    bot: bool = False
    dms_blocked: bool = False


@dataclass
class _Channel:
    id: int
    type: int  # 0 guild text, 1 DM, 11 public thread, 12 private thread
    name: str | None
    guild_id: int | None
    position: int = 0
    recipient_id: int | None = None
    last_message_id: int | None = None
    # A thread's: the channel it is in, who made it, its settings and its members (user ids, in order).
    parent_id: int | None = None
    owner_id: int | None = None
    invitable: bool = True
    auto_archive_duration: int = 10080
    created_at: str | None = None
    members: list[int] = field(default_factory=list)


@dataclass
class _Answer:
    """A handler's answer with a status other than 200 (Discord answers a created thread with 201)."""

    status: int
    data: Any


@dataclass
class _Session:
    ws: web.WebSocketResponse
    query: dict[str, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session_id: str | None = None
    seq: int = 0
    intents: int = 0
    identified: bool = False
    presence: Any = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime | None = None) -> str:
    return (moment or _now()).isoformat()


def _snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


def _as_int(value: Any) -> int:
    if isinstance(value, discord.abc.Snowflake):
        return value.id
    return int(value)


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    """Parse a JSON body as Discord does (UTF-8, no NaN or Infinity); return (body, invalid)."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=refuse), False
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return raw.decode(errors="replace"), True


def _walk_components(components: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component, depth first, including v2 containers' children, section accessories and labels."""
    found: list[dict[str, Any]] = []
    for component in components:
        found.append(component)
        found.extend(_walk_components(component.get("components") or []))
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                found.extend(_walk_components([child]))
    return found


class FakeDiscord:
    """Discord's REST API and gateway on 127.0.0.1, for the real discord.py. Use as an async context manager.

    The fake's world: one guild (:attr:`guild_id`) with a text channel ``#general`` (:attr:`channel_id`), the
    bot user (:attr:`bot_user_id`, also the application id) and a member ``alice`` (:attr:`user_id`). Add more
    with :meth:`add_user` and :meth:`add_channel`.

    * lifecycle: ``async with FakeDiscord()``, :meth:`start_client`, :meth:`stop_client`
    * acting as users: :meth:`slash`, :meth:`autocomplete`, :meth:`click`, :meth:`submit_modal`,
      :meth:`post_user_message`, and :meth:`dispatch` / :meth:`request_reconnect` for raw gateway traffic
    * what the bot did: :attr:`requests`, :attr:`unhandled`, :attr:`gateway_received`,
      :meth:`synced_commands`, :meth:`registered_commands`, :meth:`channel_messages`, :meth:`direct_messages`,
      :meth:`threads`, :meth:`message`, :meth:`original_response`, :meth:`followups`
    * waiting (no sleeps): :meth:`wait_for_callback`, :meth:`wait_for_followup`, :meth:`wait_for_request`,
      :meth:`wait_for_gateway_op`
    * faults: :meth:`fail_next`, :meth:`block_dms`, :attr:`interaction_deadline`, and studybot's role's
      permissions: :attr:`bot_manages_roles`, :attr:`bot_creates_private_threads`
    """

    _active: ClassVar[FakeDiscord | None] = None

    def __init__(
        self,
        *,
        token: str | None = None,
        guild_name: str = "Study Group",
        interaction_deadline: float | None = 3.0,
        heartbeat_interval: float = 41.25,
        privileged_intents: bool = True,
        application_flags: int = 0,
    ) -> None:
        """``token``: when set, REST and IDENTIFY must use it (else any token works).
        ``interaction_deadline``: seconds the bot has to answer an interaction (None: no limit).
        ``privileged_intents``: False makes IDENTIFY with members/presences/message content fail (4014)."""
        self.token = token
        self.guild_name = guild_name
        self.interaction_deadline = interaction_deadline
        self.heartbeat_interval = heartbeat_interval
        self.privileged_intents = privileged_intents
        self.application_flags = application_flags
        self.application_id = APPLICATION_ID
        self.bot_user_id = BOT_USER_ID
        self.guild_id = GUILD_ID
        self.channel_id = CHANNEL_ID
        self.user_id = USER_ID
        self.port = 0
        # Roles a test adds (id -> (name, position)), members' roles, and whether studybot's own role has
        # Manage Roles (off, as a bot invited with studybot's default permissions).
        self.guild_roles: dict[int, tuple[str, int]] = {}
        self.member_roles: dict[int, set[int]] = {}
        self.bot_manages_roles = False
        # Whether studybot's role has Create Private Threads: on, as README's invite link asks for it (a
        # buddy pod's thread). A test turns it off to see the fallback to direct messages.
        self.bot_creates_private_threads = True

        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.internal_errors: list[Exception] = []  # bugs in the fake itself; close() raises the first
        self.contract: DiscordContract | None = load_contract()  # None: the spec file is absent

        self._users: dict[int, _User] = {
            BOT_USER_ID: _User(BOT_USER_ID, "studybot", bot=True),
            USER_ID: _User(USER_ID, "alice", display_name="Alice"),
            OWNER_ID: _User(OWNER_ID, "owner"),
        }
        self._channels: dict[int, _Channel] = {
            CHANNEL_ID: _Channel(CHANNEL_ID, 0, "general", GUILD_ID),
        }
        self._dm_channels: dict[int, int] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._message_origin: dict[int, str] = {}
        self._message_order: list[int] = []
        self._attachments: dict[int, tuple[str, bytes, str]] = {}
        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self._synced: dict[int | None, list[dict[str, Any]]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._interactions: dict[int, FakeInteraction] = {}
        self._failures: list[_Failure] = []
        self._sessions: list[_Session] = []
        self._sessions_by_id: dict[str, _Session] = {}
        self._identify_count = 0
        self._clients: dict[discord.Client, asyncio.Task[None]] = {}
        self._last_snowflake = 0
        self._joined_at = _iso()
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._saved_globals: tuple[str, yarl.URL] | None = None
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern), handler) for method, pattern, handler in self._route_table()
        ]

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` is patched to."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` is patched to."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
        if self.internal_errors and exc_info[0] is None:
            raise RuntimeError("the Discord fake failed while serving a request") from self.internal_errors[0]

    async def start(self) -> None:
        """Serve on 127.0.0.1 (a free port) and point discord.py at the fake."""
        if FakeDiscord._active is not None:
            raise RuntimeError("another FakeDiscord is active; discord.py's URLs are process globals")
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._saved_globals = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        Route.BASE = self.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        FakeDiscord._active = self

    async def close(self) -> None:
        """Stop the clients started here, close the gateway and the server, and restore discord.py's URLs."""
        try:
            for client in list(self._clients):
                await self.stop_client(client)
            for session in list(self._sessions):
                await session.ws.close(code=1001)
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
        finally:
            if self._saved_globals is not None:
                Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_globals
                self._saved_globals = None
            if FakeDiscord._active is self:
                FakeDiscord._active = None

    async def start_client(
        self,
        client: discord.Client,
        token: str = DEFAULT_TOKEN,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for the whole start, like the brief's API
    ) -> None:
        """Run ``client.start(token)`` in a task and return once ``on_ready`` has fired.

        Raises what ``start`` raised (e.g. ``discord.LoginFailure``) or ``TimeoutError``; the client is
        closed then. Stop it with :meth:`stop_client` (or leave that to the end of the ``async with``)."""
        identified_before = self._identify_count
        task = asyncio.create_task(client.start(token), name="fake-discord-client")
        self._clients[client] = task
        try:
            async with asyncio.timeout(timeout):
                await self._race(task, self._wait_until(lambda: self._identify_count > identified_before))
                await self._race(task, client.wait_until_ready())
        except BaseException:
            self._clients.pop(client, None)
            await client.close()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise

    async def stop_client(self, client: discord.Client) -> None:
        """Close the client and wait for its ``start`` task to end (re-raising what it raised)."""
        await client.close()
        task = self._clients.pop(client, None)
        if task is not None:
            await asyncio.wait_for(task, 5.0)

    @staticmethod
    async def _race(task: asyncio.Task[None], awaitable: Awaitable[Any]) -> None:
        waiter = asyncio.ensure_future(awaitable)
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not waiter.done():
                waiter.cancel()
        if waiter.done() and not waiter.cancelled():
            waiter.result()
            return
        task.result()  # the client stopped first: raise why
        raise RuntimeError("the client stopped before it was ready")

    # ------------------------------------------------------------------ the fake's world

    def add_user(self, name: str, *, user_id: int | None = None, display_name: str | None = None) -> int:
        """Add a user (a guild member) and return its id."""
        uid = user_id if user_id is not None else self._snowflake()
        self._users[uid] = _User(uid, name, display_name=display_name)
        return uid

    async def add_channel(self, name: str) -> int:
        """Add a text channel to the guild (sending CHANNEL_CREATE to connected clients) and return its id."""
        position = sum(1 for c in self._channels.values() if c.guild_id == GUILD_ID)
        channel = _Channel(self._snowflake(), 0, name, GUILD_ID, position=position)
        self._channels[channel.id] = channel
        for session in self._identified_sessions():
            if session.intents & GUILDS:
                await self._send_dispatch(session, "CHANNEL_CREATE", self._channel_obj(channel))
        return channel.id

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the DM channel between the bot and this user (made on first use, as Discord does)."""
        return self._dm_channel(self._user(user_id)).id

    def block_dms(self, user_id: int, blocked: bool = True) -> None:
        """Make DMs to this user fail with 403 ``Cannot send messages to this user`` (50007)."""
        self._user(user_id).dms_blocked = blocked

    # ------------------------------------------------------------------ what the bot did

    def synced_commands(self, guild_id: int | None = None) -> list[dict[str, Any]] | None:
        """The last bulk-overwrite payload exactly as the bot sent it (global, or for a guild), or None."""
        payload = self._synced.get(guild_id)
        return copy.deepcopy(payload) if payload is not None else None

    def registered_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The commands as Discord holds them now (with ids), global or for a guild."""
        return copy.deepcopy(self._commands.get(guild_id, []))

    def message(self, message_id: int) -> dict[str, Any]:
        """A message as it is now (after edits); KeyError if unknown or deleted."""
        return copy.deepcopy(self._messages[int(message_id)])

    def channel_messages(
        self, channel_id: int, *, include_interactions: bool = False
    ) -> list[dict[str, Any]]:
        """Messages posted with ``POST /channels/{id}/messages`` to the channel, oldest first, as now.

        ``include_interactions`` adds interaction responses and followups (and fake users' messages)."""
        cid = str(int(channel_id))
        return [
            copy.deepcopy(self._messages[mid])
            for mid in self._message_order
            if mid in self._messages
            and self._messages[mid]["channel_id"] == cid
            and (include_interactions or self._message_origin[mid] == "channel")
        ]

    def threads(self, parent_id: int | None = None) -> list[dict[str, Any]]:
        """The threads the bot made (in one channel, if given), oldest first: each its channel object with
        ``members`` (user ids in the order added, the bot first) and ``messages`` (as
        :meth:`channel_messages`)."""
        return [
            self._thread_obj(c) | {"members": list(c.members), "messages": self.channel_messages(c.id)}
            for c in self._channels.values()
            if c.type in THREAD_TYPES and (parent_id is None or c.parent_id == int(parent_id))
        ]

    def direct_messages(self, user_id: int) -> list[dict[str, Any]]:
        """Messages the bot posted in its DM channel with this user."""
        if user_id not in self._dm_channels:
            return []
        return self.channel_messages(self._dm_channels[user_id])

    def original_response(self, interaction: FakeInteraction) -> dict[str, Any] | None:
        """The interaction's original response message as it is now, if any."""
        mid = interaction.original_message_id
        return copy.deepcopy(self._messages[mid]) if mid in self._messages else None

    def followups(self, interaction: FakeInteraction) -> list[dict[str, Any]]:
        """Followup messages of the interaction as they are now."""
        return [copy.deepcopy(self._messages[m]) for m in interaction.followup_ids if m in self._messages]

    async def wait_for_callback(
        self,
        interaction: FakeInteraction,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait for the bot's callback to the interaction and return its body ({"type": ..., "data": ...})."""
        await self._wait_until(
            lambda: interaction.callback is not None, timeout, f"a callback to {interaction}"
        )
        assert interaction.callback is not None
        return copy.deepcopy(interaction.callback)

    async def wait_for_followup(
        self,
        interaction: FakeInteraction,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait until the interaction has ``count`` followups and return the ``count``-th message."""
        await self._wait_until(
            lambda: len(interaction.followup_ids) >= count, timeout, f"followup {count} of {interaction}"
        )
        return copy.deepcopy(self._messages[interaction.followup_ids[count - 1]])

    async def wait_for_request(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedRequest:
        """Wait until ``count`` requests matching method and path (exact, or a regex) were answered; return
        the ``count``-th."""

        def matching() -> list[RecordedRequest]:
            probe = _Failure(method.upper(), path, 0, {}, {}, 0)
            return [r for r in self.requests if r.status is not None and probe.matches(r.method, r.path)]

        await self._wait_until(lambda: len(matching()) >= count, timeout, f"{count}× {method} {path}")
        return matching()[count - 1]

    async def wait_for_gateway_op(
        self,
        op: int,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait until clients have sent ``count`` gateway payloads with this opcode (2 IDENTIFY, 6 RESUME,
        ...) and the fake has answered them; return the ``count``-th."""

        def matching() -> list[dict[str, Any]]:
            return [p for p in self.gateway_received if p.get("op") == op]

        await self._wait_until(lambda: len(matching()) >= count, timeout, f"{count}× gateway op {op}")
        return copy.deepcopy(matching()[count - 1])

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        path: str | re.Pattern[str],
        status: int = 429,
        *,
        retry_after: float = 0.1,
        is_global: bool = False,
        code: int | None = None,
        message: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching method and path (relative to /api/v10, exact or a
        regex) with an error, before any other handling.

        429 comes with ``retry_after`` (seconds) in the JSON body and Discord's rate-limit headers, including
        ``Via`` (without which discord.py takes a 429 for a Cloudflare ban and raises). 403 defaults to
        ``Missing Permissions`` (50013); ``code`` and ``message`` override the JSON error body."""
        default_message, default_code = HTTP_REASONS.get(status, (f"{status}", 0))
        body: dict[str, Any] = {
            "message": message or default_message,
            "code": code if code is not None else default_code,
        }
        headers: dict[str, str] = {}
        if status == 429:
            body |= {"retry_after": retry_after, "global": is_global}
            bucket = hashlib.sha1(f"{method} {path}".encode(), usedforsecurity=False).hexdigest()[:32]
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, math.ceil(retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": bucket,
                "X-RateLimit-Scope": "global" if is_global else "user",
            }
            if is_global:
                headers["X-RateLimit-Global"] = "true"
        self._failures.append(_Failure(method.upper(), path, status, body, headers, times))

    # ------------------------------------------------------------------ acting as Discord's users

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch (op 0) event to every identified gateway session."""
        sessions = self._identified_sessions()
        if not sessions:
            raise RuntimeError("no client is connected to the fake gateway")
        for session in sessions:
            await self._send_dispatch(session, event, data)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes the socket and RESUMEs on a new one."""
        for session in self._identified_sessions():
            await self._send(session, {"op": 7, "d": None, "s": None, "t": None})

    async def slash(
        self,
        name: str,
        subcommand: str | None = None,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        user_id: int = USER_ID,
        guild_id: int | None = GUILD_ID,
        channel_id: int | None = None,
        permissions: int | discord.Permissions | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user runs ``/name [subcommand] options``: sends INTERACTION_CREATE (type 2); returns its handle.

        ``subcommand`` may be "group sub". ``options`` maps option names to values (typed from the synced
        schema), or is a list of raw option dicts. ``guild_id=None`` means in a DM with the bot. The channel
        defaults to #general (or the DM); ``permissions`` are the member's (default: @everyone's)."""
        command, synced_guild = self._synced_command(name, 1, guild_id)
        built, resolved = self._build_options(command, subcommand, options, guild_id=guild_id)
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1}
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if synced_guild is not None:
            data["guild_id"] = str(synced_guild)
        return await self._interact(2, data, user_id, guild_id, channel_id, permissions, locale)

    async def autocomplete(
        self,
        name: str,
        subcommand: str | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        user_id: int = USER_ID,
        guild_id: int | None = GUILD_ID,
        channel_id: int | None = None,
        permissions: int | discord.Permissions | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user types into option ``focused`` of ``/name [subcommand]``: sends an autocomplete interaction
        (type 4). ``options`` holds what has been typed so far, including the focused option's text."""
        command, synced_guild = self._synced_command(name, 1, guild_id)
        values = dict(options or {})
        values.setdefault(focused, "")
        built, resolved = self._build_options(command, subcommand, values, guild_id=guild_id, focused=focused)
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": built}
        if resolved:
            data["resolved"] = resolved
        if synced_guild is not None:
            data["guild_id"] = str(synced_guild)
        return await self._interact(4, data, user_id, guild_id, channel_id, permissions, locale)

    async def click(
        self,
        message_id: int,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        user_id: int = USER_ID,
        permissions: int | discord.Permissions | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user clicks a button (or picks ``values`` in a select) on a message the fake holds: sends a
        component interaction (type 3) carrying that message."""
        message = self._messages.get(int(message_id))
        if message is None:
            raise LookupError(f"no message {message_id} in the fake")
        component = next(
            (c for c in _walk_components(message.get("components", [])) if c.get("custom_id") == custom_id),
            None,
        )
        if component is None:
            raise LookupError(f"message {message_id} has no component with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; Discord would not let anyone use it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in SELECT_TYPES:
            picked = [str(v) for v in values or []]
            low, high = component.get("min_values", 1), component.get("max_values", 1)
            if not low <= len(picked) <= high:
                raise ValueError(f"select {custom_id!r} takes {low}..{high} values, not {len(picked)}")
            if component["type"] == 3:
                offered = {o["value"] for o in component.get("options", [])}
                if not set(picked) <= offered:
                    raise ValueError(f"{sorted(set(picked) - offered)} are not options of {custom_id!r}")
            data["values"] = picked
        elif values:
            raise ValueError(f"{custom_id!r} is a button; it takes no values")
        channel = self._channels[int(message["channel_id"])]
        return await self._interact(
            3, data, user_id, channel.guild_id, channel.id, permissions, locale, message=message
        )

    async def submit_modal(
        self,
        interaction: FakeInteraction,
        values: Mapping[str, str | Sequence[str] | None],
        *,
        custom_id: str | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """The user fills in and submits the modal the bot answered ``interaction`` with (callback type 9):
        sends a modal-submit interaction (type 5) shaped as Discord sends it. ``values`` maps the inputs'
        custom_ids to what the user entered: text for a text input (left out: its pre-filled value), the
        chosen option's value for a radio group (None or left out: none), a list of option values for a
        checkbox group or a select (left out: none). What the modal's own rules would not let the user
        submit (a required input left empty, a value that is not an option) raises ValueError.
        ``custom_id`` forges the modal's id, as a modified client could."""
        callback = interaction.callback or {}
        if callback.get("type") != 9:
            raise ValueError(f"{interaction} was not answered with a modal")
        modal = callback["data"]
        unknown = set(values) - {c.get("custom_id") for c in _walk_components(modal["components"])}
        if unknown:
            raise LookupError(f"the modal has no inputs {sorted(unknown)}")

        def offered(component: dict[str, Any]) -> set[str]:
            return {o["value"] for o in component.get("options", [])}

        def submitted(component: dict[str, Any]) -> dict[str, Any]:
            # Discord's "component interaction response" structures: a label wraps its input, a text display
            # comes back as its type and id only, each input as its custom_id with its value(s).
            ctype, input_id = component["type"], str(component.get("custom_id") or "")
            out: dict[str, Any] = {"type": ctype, "id": component["id"]}
            if ctype == 1:
                out["components"] = [submitted(c) for c in component.get("components", [])]
            elif ctype == 18:
                out["component"] = submitted(component["component"])
            elif ctype == 4:
                text = str(values.get(input_id, component.get("value")) or "")
                low, high = component.get("min_length") or 0, component.get("max_length") or 4000
                if component.get("required", True) is not False and not text:
                    raise ValueError(f"text input {input_id!r} is required")
                if text and not low <= len(text) <= high:
                    raise ValueError(f"text input {input_id!r} takes {low}..{high} characters")
                out |= {"custom_id": input_id, "value": text}
            elif ctype == 21:
                choice = values.get(input_id)
                if choice is not None and (not isinstance(choice, str) or choice not in offered(component)):
                    raise ValueError(f"{choice!r} is not an option of radio group {input_id!r}")
                if choice is None and component.get("required", True) is not False:
                    raise ValueError(f"radio group {input_id!r} is required")
                out |= {"custom_id": input_id, "value": choice}
            elif ctype == 22:
                picked = values.get(input_id) or []
                if isinstance(picked, str):
                    raise ValueError(f"checkbox group {input_id!r} takes a list of values")
                picked = [str(v) for v in picked]
                required = component.get("required", True) is not False
                low = component.get("min_values")
                low = 1 if low is None else low
                high = component.get("max_values") or len(component.get("options", []))
                if not set(picked) <= offered(component) or len(set(picked)) < len(picked):
                    raise ValueError(f"{picked} are not distinct options of checkbox group {input_id!r}")
                if (required or picked) and not low <= len(picked) <= high:
                    raise ValueError(f"checkbox group {input_id!r} takes {low}..{high} values")
                out |= {"custom_id": input_id, "values": picked}
            elif ctype in SELECT_TYPES:
                out |= {"custom_id": input_id, "values": [str(v) for v in values.get(input_id) or []]}
            return out

        data = {
            "custom_id": modal["custom_id"] if custom_id is None else custom_id,
            "components": [submitted(c) for c in self._number_components(modal["components"])],
        }
        message = self._messages.get(interaction.message_id or 0)
        return await self._interact(
            5,
            data,
            interaction.user_id,
            interaction.guild_id,
            interaction.channel_id,
            int(interaction.payload.get("member", {}).get("permissions", EVERYONE_PERMISSIONS)),
            locale,
            message=message,
        )

    async def post_user_message(
        self, content: str, *, user_id: int = USER_ID, channel_id: int = CHANNEL_ID
    ) -> dict[str, Any]:
        """A user posts a message: sends MESSAGE_CREATE (content only with MESSAGE_CONTENT, in DMs or when
        the bot is mentioned, as on Discord) and returns the message."""
        channel = self._channel(channel_id)
        user = self._user(user_id)
        message = self._store_message(
            channel, {"content": content}, {}, author=user, origin="user", flags=0, validate=True
        )
        await self._broadcast_message("MESSAGE_CREATE", message, channel)
        return copy.deepcopy(message)

    # ------------------------------------------------------------------ internals: ids, users, payloads

    def _snowflake(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | (1 << 17)
        self._last_snowflake = max(candidate, self._last_snowflake + 1)
        return self._last_snowflake

    def _user(self, user_id: Any) -> _User:
        uid = _as_int(user_id)
        if uid not in self._users:
            self._users[uid] = _User(uid, f"user{uid % 10000}")
        return self._users[uid]

    def _channel(self, channel_id: Any) -> _Channel:
        channel = self._channels.get(_as_int(channel_id))
        if channel is None:
            raise _ApiError(404, 10003, "Unknown Channel")
        return channel

    def _dm_channel(self, user: _User) -> _Channel:
        if user.id not in self._dm_channels:
            channel = _Channel(self._snowflake(), 1, None, None, recipient_id=user.id)
            self._channels[channel.id] = channel
            self._dm_channels[user.id] = channel.id
        return self._channels[self._dm_channels[user.id]]

    def _user_obj(self, user: _User) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(user.id),
            "username": user.name,
            "discriminator": "0",
            "global_name": user.display_name,
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if user.bot:
            data["bot"] = True
        return data

    def _me_obj(self) -> dict[str, Any]:
        return self._user_obj(self._users[BOT_USER_ID]) | {
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
            "bio": "",
        }

    def _member_obj(self, user: _User, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self._user_obj(user),
            "roles": [str(BOT_ROLE_ID)] if user.id == BOT_USER_ID else [],
            "joined_at": self._joined_at,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def _channel_obj(self, channel: _Channel, *, permissions: int | None = None) -> dict[str, Any]:
        if channel.type == 1:
            assert channel.recipient_id is not None
            return {
                "id": str(channel.id),
                "type": 1,
                "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
                "flags": 0,
                "recipients": [self._user_obj(self._user(channel.recipient_id))],
            }
        if channel.type in THREAD_TYPES:
            return self._thread_obj(channel, permissions=permissions)
        data: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "flags": 0,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def _thread_obj(self, thread: _Channel, *, permissions: int | None = None) -> dict[str, Any]:
        messages = sum(1 for m in self._messages.values() if m["channel_id"] == str(thread.id))
        data: dict[str, Any] = {
            "id": str(thread.id),
            "type": thread.type,
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "last_message_id": str(thread.last_message_id) if thread.last_message_id else None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "message_count": messages,
            "total_message_sent": messages,
            "member_count": min(len(thread.members), 50),  # Discord stops counting at 50
            "thread_metadata": {
                "archived": False,
                "archive_timestamp": thread.created_at,
                "auto_archive_duration": thread.auto_archive_duration,
                "locked": False,
                "create_timestamp": thread.created_at,
                **({"invitable": thread.invitable} if thread.type == PRIVATE_THREAD else {}),
            },
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def _bot_permissions(self) -> int:
        """studybot's permissions in any channel of the guild (no channel overwrites are faked)."""
        return EVERYONE_PERMISSIONS | self._bot_role_permissions()

    def _bot_role_permissions(self) -> int:
        return (
            BOT_ROLE_PERMISSIONS
            | (discord.Permissions(manage_roles=True).value if self.bot_manages_roles else 0)
            | (CREATE_PRIVATE_THREADS if self.bot_creates_private_threads else 0)
        )

    def _roles(self) -> list[dict[str, Any]]:
        def role(role_id: int, name: str, permissions: int, position: int, **extra: Any) -> dict[str, Any]:
            return {
                "id": str(role_id),
                "name": name,
                "permissions": str(permissions),
                "position": position,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "icon": None,
                "unicode_emoji": None,
                "managed": False,
                "mentionable": False,
                "flags": 0,
                **extra,
            }

        return [
            role(GUILD_ID, "@everyone", EVERYONE_PERMISSIONS, 0),
            role(
                BOT_ROLE_ID,
                "studybot",
                self._bot_role_permissions(),
                BOT_ROLE_POSITION,
                managed=True,
                tags={"bot_id": str(BOT_USER_ID)},
            ),
            *(role(rid, name, 0, position) for rid, (name, position) in self.guild_roles.items()),
        ]

    def _guild_obj(self, *, with_members: bool) -> dict[str, Any]:
        members = [self._member_obj(self._users[BOT_USER_ID])]
        if with_members:
            members += [self._member_obj(u) for u in self._users.values() if u.id != BOT_USER_ID]
        return {
            "id": str(GUILD_ID),
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(OWNER_ID),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "roles": self._roles(),
            "emojis": [],
            "stickers": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(CHANNEL_ID),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "incidents_data": None,
            # GUILD_CREATE extras
            "joined_at": self._joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(members) if with_members else len(self._users),
            "members": members,
            # Channels in GUILD_CREATE come without guild_id.
            "channels": [
                {k: v for k, v in self._channel_obj(c).items() if k != "guild_id"}
                for c in self._channels.values()
                if c.guild_id == GUILD_ID and c.type not in THREAD_TYPES
            ],
            # The active threads the bot can see (a private one only as its member).
            "threads": [
                self._thread_obj(c)
                for c in self._channels.values()
                if c.guild_id == GUILD_ID and c.type in THREAD_TYPES and BOT_USER_ID in c.members
            ],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # ------------------------------------------------------------------ internals: interactions

    def _synced_command(
        self, name: str, ctype: int, guild_id: int | None
    ) -> tuple[dict[str, Any], int | None]:
        def find(scope: int | None) -> dict[str, Any] | None:
            return next(
                (c for c in self._commands.get(scope, []) if c["name"] == name and c.get("type", 1) == ctype),
                None,
            )

        if guild_id is not None and guild_id != GUILD_ID:
            raise ValueError(f"the fake has one guild, {GUILD_ID}, not {guild_id}")
        if guild_id is not None and (command := find(guild_id)) is not None:
            return command, guild_id
        command = find(None)
        if command is None:
            where = "globally" if guild_id is None else f"globally or to guild {guild_id}"
            raise LookupError(f"/{name} was not synced {where}; Discord would not offer it (run tree.sync())")
        contexts = command.get("contexts")
        if guild_id is None:
            in_dms = 1 in contexts if contexts is not None else command.get("dm_permission") is not False
            if not in_dms:
                raise ValueError(f"/{name} is not available in DMs")
        elif contexts is not None and 0 not in contexts:
            raise ValueError(f"/{name} is not available in guilds")
        return command, None

    def _build_options(
        self,
        command: dict[str, Any],
        subcommand: str | None,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None,
        *,
        guild_id: int | None,
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        schema: list[dict[str, Any]] = command.get("options") or []
        path: list[dict[str, Any]] = []
        for part in (subcommand or "").split():
            option = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if option is None:
                raise LookupError(f"/{command['name']} has no subcommand {part!r}")
            path.append(option)
            schema = option.get("options") or []
        if any(o["type"] in (1, 2) for o in schema):
            names = [o["name"] for o in schema]
            raise ValueError(f"/{command['name']} {subcommand or ''} needs a subcommand: one of {names}")
        resolved: dict[str, Any] = {}
        if options is None or isinstance(options, Mapping):
            values = dict(options or {})
            unknown = set(values) - {o["name"] for o in schema}
            if unknown:
                raise LookupError(
                    f"unknown options {sorted(unknown)}; the command has {[o['name'] for o in schema]}"
                )
            leaf = []
            for definition in schema:
                name = definition["name"]
                if name not in values:
                    if definition.get("required") and focused is None:
                        raise ValueError(f"option {name!r} is required")
                    continue
                leaf.append(
                    self._option(definition, values[name], name == focused, resolved, guild_id=guild_id)
                )
        else:
            leaf = [dict(o) for o in options]
        built = leaf
        for option in reversed(path):
            built = [{"type": option["type"], "name": option["name"], "options": built}]
        return built, resolved

    def _option(
        self,
        definition: dict[str, Any],
        value: Any,
        is_focused: bool,
        resolved: dict[str, Any],
        *,
        guild_id: int | None,
    ) -> dict[str, Any]:
        name, otype = definition["name"], definition["type"]
        option: dict[str, Any] = {"name": name, "type": otype}
        if is_focused:
            if not definition.get("autocomplete"):
                raise ValueError(f"option {name!r} has no autocomplete")
            return option | {"value": str(value), "focused": True}
        if otype == 3:
            value = str(value)
            if not definition.get("min_length", 0) <= len(value) <= definition.get("max_length", 6000):
                raise ValueError(f"option {name!r}: {value!r} has a length outside the allowed range")
        elif otype == 4:
            value = int(value)
        elif otype == 5:
            value = bool(value)
        elif otype == 10:
            value = float(value)
        elif otype in (6, 7, 8, 9):
            value = str(self._resolve(otype, _as_int(value), resolved, guild_id=guild_id))
        else:
            raise NotImplementedError(f"option type {otype} ({name!r}) is not faked; pass raw option dicts")
        if otype in (4, 10):
            low, high = definition.get("min_value"), definition.get("max_value")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"option {name!r}: {value} is outside {low}..{high}")
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}: {value!r} is not one of its choices")
        return option | {"value": value}

    def _resolve(self, otype: int, target: int, resolved: dict[str, Any], *, guild_id: int | None) -> int:
        roles = {int(r["id"]): r for r in self._roles()}
        if otype == 8 or (otype == 9 and target in roles):
            if target not in roles:
                raise LookupError(f"no role {target}")
            resolved.setdefault("roles", {})[str(target)] = roles[target]
        elif otype in (6, 9):
            user = self._user(target)
            resolved.setdefault("users", {})[str(target)] = self._user_obj(user)
            if guild_id is not None:
                member = self._member_obj(user, EVERYONE_PERMISSIONS)
                del member["user"]
                resolved.setdefault("members", {})[str(target)] = member
        elif otype == 7:
            channel = self._channels.get(target)
            if channel is None:
                raise LookupError(f"no channel {target}")
            data = self._channel_obj(channel, permissions=EVERYONE_PERMISSIONS)
            resolved.setdefault("channels", {})[str(target)] = data | {"name": channel.name or ""}
        return target

    async def _interact(
        self,
        itype: int,
        data: dict[str, Any],
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        permissions: int | discord.Permissions | None,
        locale: str,
        *,
        message: dict[str, Any] | None = None,
    ) -> FakeInteraction:
        user = self._user(user_id)
        if channel_id is None:
            channel = self._channels[CHANNEL_ID] if guild_id is not None else self._dm_channel(user)
        else:
            if int(channel_id) not in self._channels:
                raise LookupError(f"no channel {channel_id} in the fake")
            channel = self._channels[int(channel_id)]
        if channel.guild_id != guild_id:
            raise ValueError(f"channel {channel.id} is not in guild {guild_id}")
        perms = permissions.value if isinstance(permissions, discord.Permissions) else permissions
        if perms is None:
            perms = EVERYONE_PERMISSIONS
        interaction_id = self._snowflake()
        token = f"aW50ZXJhY3Rpb24.{interaction_id}.{secrets.token_urlsafe(32)}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APPLICATION_ID),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel.id),
            "app_permissions": str(self._bot_permissions()),
        }
        if guild_id is not None:
            payload |= {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "member": self._member_obj(user, perms),
                "channel": self._channel_obj(channel, permissions=perms),
                "authorizing_integration_owners": {"0": str(guild_id)},
                "context": 0,
            }
        else:
            payload |= {
                "user": self._user_obj(user),
                "channel": self._channel_obj(channel),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        deadline = None
        if self.interaction_deadline is not None:
            deadline = asyncio.get_running_loop().time() + self.interaction_deadline
        interaction = FakeInteraction(interaction_id, token, itype, payload, deadline)
        self._interactions[interaction_id] = interaction
        sessions = self._identified_sessions()
        if not sessions:
            raise RuntimeError("no client is connected to the fake gateway")
        # Discord sends an interaction to one session (the bot's shard), not to every connection.
        interaction.sent_at = asyncio.get_running_loop().time()
        await self._send_dispatch(sessions[-1], "INTERACTION_CREATE", payload)
        return interaction

    def _webhook_interaction(self, app_id: str, token: str) -> FakeInteraction:
        interaction = next((i for i in self._interactions.values() if i.token == token), None)
        if int(app_id) != APPLICATION_ID or interaction is None or interaction.callback is None:
            # Before the first callback the interaction's webhook does not exist yet.
            raise _ApiError(404, 10015, "Unknown Webhook")
        return interaction

    # ------------------------------------------------------------------ internals: messages

    def _store_message(
        self,
        channel: _Channel,
        payload: dict[str, Any],
        files: dict[str, tuple[str, bytes]],
        *,
        author: _User,
        origin: str,
        flags: int,
        validate: bool,
        message_type: int = 0,
        interaction: FakeInteraction | None = None,
    ) -> dict[str, Any]:
        message_id = self._snowflake()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": self._user_obj(author),
            "content": payload.get("content") or "",
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [self._embed(e) for e in payload.get("embeds") or []],
            "components": self._number_components(payload.get("components") or []),
            "pinned": False,
            "type": message_type,
            "flags": flags,
        }
        if origin == "user":
            mentioned = {int(m) for m in re.findall(r"<@!?(\d+)>", message["content"])}
            message["mentions"] = [self._user_obj(self._user(m)) for m in sorted(mentioned)]
        if payload.get("nonce") is not None:
            message["nonce"] = payload["nonce"]
        reference = payload.get("message_reference")
        if reference:
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "message_id": str(reference.get("message_id")),
                "channel_id": str(reference.get("channel_id") or channel.id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
        if interaction is not None:
            user = interaction.payload.get("member", {}).get("user") or interaction.payload.get("user")
            message["webhook_id"] = str(APPLICATION_ID)
            message["application_id"] = str(APPLICATION_ID)
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
            }
        message["attachments"] = self._attachments_for(channel, payload, files, [])
        if validate:
            self._validate_message(message, payload)
        self._messages[message_id] = message
        self._message_origin[message_id] = origin
        self._message_order.append(message_id)
        channel.last_message_id = message_id
        return message

    def _edit_message(
        self, message: dict[str, Any], payload: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> dict[str, Any]:
        edited = copy.deepcopy(message)
        if "content" in payload:
            edited["content"] = payload["content"] or ""
        if "embeds" in payload:
            edited["embeds"] = [self._embed(e) for e in payload["embeds"] or []]
        if "components" in payload:
            edited["components"] = self._number_components(payload["components"] or [])
        if payload.get("flags") is not None:
            kept = edited["flags"] & ~(SUPPRESS_EMBEDS | COMPONENTS_V2)
            edited["flags"] = kept | (payload["flags"] & (SUPPRESS_EMBEDS | COMPONENTS_V2))
        if "attachments" in payload or files:
            channel = self._channels[int(message["channel_id"])]
            edited["attachments"] = self._attachments_for(channel, payload, files, message["attachments"])
        edited["flags"] &= ~LOADING
        edited["edited_timestamp"] = _iso()
        self._validate_message(edited, payload)
        self._messages[int(message["id"])] = edited
        return edited

    def _delete_message(self, message_id: int) -> dict[str, Any]:
        message = self._messages.pop(message_id, None)
        if message is None:
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    @staticmethod
    def _embed(embed: dict[str, Any]) -> dict[str, Any]:
        return {"type": "rich", **copy.deepcopy(embed)}

    @staticmethod
    def _number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Discord gives every component a numeric ``id`` (depth first) when the sender did not."""
        numbered = copy.deepcopy(components)
        walked = _walk_components(numbered)
        next_id = max([c["id"] for c in walked if isinstance(c.get("id"), int)] + [0]) + 1
        for component in walked:
            if not component.get("id"):  # absent, null or 0: "treated as empty and replaced by the API"
                component["id"] = next_id
                next_id += 1
        return numbered

    def _attachments_for(
        self,
        channel: _Channel,
        payload: dict[str, Any],
        files: dict[str, tuple[str, bytes]],
        existing: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        by_index: dict[int, tuple[str, bytes]] = {}
        for key, value in files.items():
            match = re.fullmatch(r"files\[(\d+)\]", key)
            if match:
                by_index[int(match[1])] = value
        specs = payload.get("attachments")
        if specs is None:
            kept = list(existing)
            specs = [{"id": index, "filename": name} for index, (name, _) in sorted(by_index.items())]
        else:
            kept = []
        old = {a["id"]: a for a in existing}
        result = copy.deepcopy(kept)
        for spec in specs:
            spec_id = str(spec["id"])
            if spec_id in old:
                result.append(copy.deepcopy(old[spec_id]))
            elif spec_id.isdigit() and int(spec_id) in by_index:
                filename, data = by_index[int(spec_id)]
                attachment_id = self._snowflake()
                content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
                self._attachments[attachment_id] = (filename, data, content_type)
                url = f"{self.base_url}/attachments/{channel.id}/{attachment_id}/{filename}"
                attachment = {
                    "id": str(attachment_id),
                    "filename": filename,
                    "size": len(data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": content_type,
                }
                if spec.get("description"):
                    attachment["description"] = spec["description"]
                result.append(attachment)
            else:
                errors = _FormErrors()
                errors.add(["attachments", spec_id], "ATTACHMENT_NOT_FOUND", "Unknown attachment or file.")
                errors.raise_if_any()
        return result

    def _validate_message(self, message: dict[str, Any], payload: dict[str, Any]) -> None:
        content = message["content"]
        if not (
            content.strip()
            or message["embeds"]
            or message["components"]
            or message["attachments"]
            or payload.get("sticker_ids")
            or payload.get("poll")
        ):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        errors = _FormErrors()
        errors.max_length(["content"], content, CONTENT_MAX)
        self._check_embeds(message["embeds"], errors)
        self._check_components(message["components"], bool(message["flags"] & COMPONENTS_V2), errors)
        errors.raise_if_any()

    @staticmethod
    def _check_embeds(embeds: list[dict[str, Any]], errors: _FormErrors) -> None:
        errors.max_length(["embeds"], embeds, EMBEDS_MAX)
        total = 0
        for index, embed in enumerate(embeds):
            path: list[str | int] = ["embeds", index]
            limits = {"title": 256, "description": 4096}
            for key, limit in limits.items():
                errors.max_length([*path, key], embed.get(key), limit)
                total += len(embed.get(key) or "")
            footer = (embed.get("footer") or {}).get("text")
            author = (embed.get("author") or {}).get("name")
            errors.max_length([*path, "footer", "text"], footer, 2048)
            errors.max_length([*path, "author", "name"], author, 256)
            total += len(footer or "") + len(author or "")
            fields = embed.get("fields") or []
            errors.max_length([*path, "fields"], fields, 25)
            for number, embed_field in enumerate(fields):
                for key, limit in (("name", 256), ("value", 1024)):
                    text = embed_field.get(key) or ""
                    if not text:
                        errors.add(
                            [*path, "fields", number, key], "BASE_TYPE_REQUIRED", "This field is required"
                        )
                    errors.max_length([*path, "fields", number, key], text, limit)
                    total += len(text)
        if total > EMBED_TOTAL_MAX:
            errors.add(
                ["embeds"], "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"
            )

    @staticmethod
    def _check_components(components: list[dict[str, Any]], v2: bool, errors: _FormErrors) -> None:
        seen: set[str] = set()
        for component in _walk_components(components):
            custom_id = component.get("custom_id")
            if custom_id is not None:
                if custom_id in seen:
                    errors.add(
                        ["components"], "COMPONENT_CUSTOM_ID_DUPLICATED", f"Duplicate custom_id {custom_id!r}"
                    )
                seen.add(custom_id)
                errors.max_length(["components", "custom_id"], custom_id, 100)
        if v2:
            return
        errors.max_length(["components"], components, 5)
        for row_index, row in enumerate(components):
            path: list[str | int] = ["components", row_index]
            if row.get("type") != 1:
                errors.add(path, "UNION_TYPE_CHOICES", "Top-level components must be action rows")
                continue
            children = row.get("components") or []
            if not 1 <= len(children) <= 5:
                errors.add(
                    [*path, "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
                )
            if any(c.get("type") in SELECT_TYPES for c in children) and len(children) > 1:
                errors.add([*path, "components"], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A select fills a row")
            for index, child in enumerate(children):
                if child.get("type") != 2:
                    continue
                child_path = [*path, "components", index]
                errors.max_length([*child_path, "label"], child.get("label"), 80)
                if child.get("style") == 5:
                    if not child.get("url") or child.get("custom_id"):
                        errors.add(
                            child_path, "BUTTON_COMPONENT_INVALID_URL", "A link button needs a url only"
                        )
                elif child.get("style") != 6 and not child.get("custom_id"):
                    errors.add([*child_path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")

    async def _broadcast_message(self, event: str, message: dict[str, Any], channel: _Channel) -> None:
        needed = GUILD_MESSAGES if channel.guild_id else DIRECT_MESSAGES
        if message["flags"] & EPHEMERAL:
            return
        for session in self._identified_sessions():
            if not session.intents & needed:
                continue
            data = copy.deepcopy(message)
            author_id = int(message["author"]["id"])
            mentioned = any(int(m["id"]) == BOT_USER_ID for m in message.get("mentions", []))
            mentioned = mentioned or f"<@{BOT_USER_ID}>" in message["content"]
            if (
                author_id != BOT_USER_ID
                and channel.guild_id
                and not mentioned
                and not session.intents & MESSAGE_CONTENT
            ):
                data |= {"content": "", "embeds": [], "attachments": [], "components": []}
            if channel.guild_id:
                data["guild_id"] = str(channel.guild_id)
                author = self._user(author_id)
                member = self._member_obj(author)
                del member["user"]
                data["member"] = member
            await self._send_dispatch(session, event, data)

    # ------------------------------------------------------------------ internals: waiting

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "",
    ) -> None:
        assert self._changed is not None
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(predicate)
        except TimeoutError:
            recent = [f"{r.method} {r.path} → {r.status}" for r in self.requests[-10:]]
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what}; last requests: {recent}"
            ) from None

    # ------------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> web.Response:
        # discord.py decodes a body only when Content-Type is exactly application/json (no charset).
        return web.Response(
            status=status,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        record = await self._record(request, path)
        self.requests.append(record)
        try:
            self._check_auth(request, path)
            if record.invalid_json:
                raise _ApiError(400, 50109, "The request body contains invalid JSON.")
            response = self._injected_failure(record)
            if response is None:
                self._check_contract(record)
                response = await self._route(record)
        except _ApiError as exc:
            record.response = exc.body()
            response = self._json_response(exc.status, record.response, exc.headers)
        except Exception as exc:
            # A bug in the fake: 503 makes discord.py raise at once (500 would be retried for seconds), and
            # close() re-raises it so the test fails.
            self.internal_errors.append(exc)
            record.response = {"message": f"the Discord fake failed: {exc!r}", "code": 0}
            response = self._json_response(503, record.response)
        record.status = response.status
        await self._notify()
        return response

    async def _record(self, request: web.Request, path: str) -> RecordedRequest:
        body: Any = None
        files: dict[str, tuple[str, bytes]] = {}
        invalid_json = has_body = False
        if request.content_type == "application/json":
            body, invalid_json = _parse_json(await request.read())
            has_body = True
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    body, invalid_json = _parse_json(bytes(await part.read()))
                    has_body = True
                elif part.filename is not None:
                    files[part.name or ""] = (part.filename, bytes(await part.read()))
        elif request.can_read_body:
            raw = await request.read()
            body = raw.decode(errors="replace") if raw else None
            has_body = bool(raw)
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body,
            files=[name for name, _ in files.values()],
            headers=dict(request.headers),
            file_data={name: data for name, data in files.values()},
        )
        record.parts = files
        record.invalid_json = invalid_json
        record.has_body = has_body
        return record

    def _check_contract(self, record: RecordedRequest) -> None:
        """Refuse a body that Discord's published request schema or documented rules do not allow."""
        if self.contract is None:
            return
        problems = self.contract.problems(record.method, record.path, record.json, has_body=record.has_body)
        errors = _FormErrors()
        for path, code, message in problems:
            errors.add(path, code, message)
        errors.raise_if_any()

    def _check_auth(self, request: web.Request, path: str) -> None:
        if path.startswith("/interactions/") or re.match(r"^/webhooks/\d+/[^/]+", path):
            return  # the interaction token is the credential
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bot" or not token or (self.token is not None and token != self.token):
            raise _ApiError(401, 0, "401: Unauthorized")

    def _injected_failure(self, record: RecordedRequest) -> web.Response | None:
        for failure in self._failures:
            if failure.matches(record.method, record.path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                record.response = failure.body
                return self._json_response(failure.status, failure.body, failure.headers)
        return None

    async def _route(self, record: RecordedRequest) -> web.Response:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(record.path)
            if match and method == record.method:
                result = await handler(record, **match.groupdict())
                status = 200
                if isinstance(result, _Answer):
                    status, result = result.status, result.data
                record.response = result
                if result is None:
                    return web.Response(status=204)
                return self._json_response(status, result)
        self.unhandled.append(record)
        raise _ApiError(404, 0, "404: Not Found")

    def _route_table(self) -> list[tuple[str, str, Handler]]:
        app = r"/applications/(?P<app_id>\d+)"
        guild_commands = app + r"/guilds/(?P<guild_id>\d+)/commands"
        webhook = r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)"
        webhook_message = webhook + r"/messages/(?P<message_id>@original|\d+)"
        channel = r"/channels/(?P<channel_id>\d+)"
        message = channel + r"/messages/(?P<message_id>\d+)"
        return [
            ("GET", r"/gateway", self._get_gateway),
            ("GET", r"/gateway/bot", self._get_gateway),
            ("GET", r"/users/@me", self._get_me),
            ("GET", r"/users/(?P<user_id>\d+)", self._get_user),
            ("POST", r"/users/@me/channels", self._create_dm),
            ("GET", r"/oauth2/applications/@me", self._get_application),
            ("GET", r"/applications/@me", self._get_application),
            ("GET", app + r"/commands", self._get_commands),
            ("PUT", app + r"/commands", self._put_commands),
            ("POST", app + r"/commands", self._post_command),
            ("DELETE", app + r"/commands/(?P<command_id>\d+)", self._delete_command),
            ("GET", guild_commands, self._get_commands),
            ("PUT", guild_commands, self._put_commands),
            ("POST", guild_commands, self._post_command),
            ("DELETE", guild_commands + r"/(?P<command_id>\d+)", self._delete_command),
            ("POST", r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback", self._callback),
            ("POST", webhook, self._post_followup),
            ("GET", webhook_message, self._get_webhook_message),
            ("PATCH", webhook_message, self._edit_webhook_message),
            ("DELETE", webhook_message, self._delete_webhook_message),
            ("GET", channel, self._get_channel),
            ("GET", channel + r"/messages", self._get_channel_messages),
            ("POST", channel + r"/messages", self._post_channel_message),
            ("GET", message, self._get_channel_message),
            ("PATCH", message, self._edit_channel_message),
            ("DELETE", message, self._delete_channel_message),
            ("POST", channel + r"/typing", self._typing),
            ("POST", channel + r"/threads", self._create_thread),
            ("PUT", channel + r"/thread-members/(?P<user_id>\d+)", self._add_thread_member),
            ("GET", r"/guilds/(?P<guild_id>\d+)", self._get_guild),
            ("GET", r"/guilds/(?P<guild_id>\d+)/channels", self._get_guild_channels),
            ("GET", r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)", self._get_member),
            (
                "PUT",
                r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)/roles/(?P<role_id>\d+)",
                self._add_member_role,
            ),
        ]

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        stored = self._attachments.get(int(request.match_info["attachment_id"]))
        if stored is None or stored[0] != request.match_info["filename"]:
            return web.Response(status=404)
        _, data, content_type = stored
        return web.Response(body=data, headers={"Content-Type": content_type})

    # ------------------------------------------------------------------ REST handlers

    async def _get_gateway(self, record: RecordedRequest) -> Any:
        # Only AutoShardedClient asks; a plain Client goes straight to DEFAULT_GATEWAY.
        data: dict[str, Any] = {"url": self.gateway_url}
        if record.path.endswith("/bot"):
            limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
            data |= {"shards": 1, "session_start_limit": limit}
        return data

    async def _get_me(self, record: RecordedRequest) -> Any:
        return self._me_obj()

    async def _get_user(self, record: RecordedRequest, user_id: str) -> Any:
        if int(user_id) not in self._users:
            raise _ApiError(404, 10013, "Unknown User")
        return self._user_obj(self._users[int(user_id)])

    async def _create_dm(self, record: RecordedRequest) -> Any:
        recipient = (record.json or {}).get("recipient_id")
        if recipient is None:
            errors = _FormErrors()
            errors.add(["recipient_id"], "BASE_TYPE_REQUIRED", "This field is required")
            errors.raise_if_any()
        return self._channel_obj(self._dm_channel(self._user(recipient)))

    async def _get_application(self, record: RecordedRequest) -> Any:
        return {
            "id": str(APPLICATION_ID),
            "name": "studybot",
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": self._user_obj(self._users[OWNER_ID]),
            "verify_key": "0" * 64,
            "team": None,
            "flags": self.application_flags,
            "summary": "",
            "bot": self._user_obj(self._users[BOT_USER_ID]),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "approximate_guild_count": 1,
            "integration_types_config": {"0": {}},
        }

    def _command_scope(self, app_id: str, guild_id: str | None) -> int | None:
        if int(app_id) != APPLICATION_ID:
            raise _ApiError(403, 50001, "Missing Access")
        if guild_id is None:
            return None
        if int(guild_id) != GUILD_ID:
            raise _ApiError(403, 50001, "Missing Access")
        return GUILD_ID

    async def _get_commands(self, record: RecordedRequest, app_id: str, guild_id: str | None = None) -> Any:
        return self._commands.get(self._command_scope(app_id, guild_id), [])

    async def _put_commands(self, record: RecordedRequest, app_id: str, guild_id: str | None = None) -> Any:
        scope = self._command_scope(app_id, guild_id)
        payload = record.json
        if not isinstance(payload, list):
            raise _ApiError(400, 50035, "Invalid Form Body")
        self._validate_commands(payload)
        self._synced[scope] = copy.deepcopy(payload)
        self._commands[scope] = [self._echo_command(scope, c) for c in payload]
        return self._commands[scope]

    async def _post_command(self, record: RecordedRequest, app_id: str, guild_id: str | None = None) -> Any:
        scope = self._command_scope(app_id, guild_id)
        command = record.json or {}
        current = [c for c in self._commands.get(scope, []) if c["name"] != command.get("name")]
        self._validate_commands([*current, command])
        echoed = self._echo_command(scope, command)
        self._commands[scope] = [*current, echoed]
        return echoed

    async def _delete_command(
        self, record: RecordedRequest, app_id: str, command_id: str, guild_id: str | None = None
    ) -> Any:
        scope = self._command_scope(app_id, guild_id)
        commands = self._commands.get(scope, [])
        if not any(c["id"] == command_id for c in commands):
            raise _ApiError(404, 10063, "Unknown application command")
        self._commands[scope] = [c for c in commands if c["id"] != command_id]
        return None

    def _echo_command(self, scope: int | None, command: dict[str, Any]) -> dict[str, Any]:
        ctype = command.get("type", 1)
        command_id = self._command_ids.setdefault((scope, command["name"], ctype), self._snowflake())
        echoed = copy.deepcopy(command) | {
            "id": str(command_id),
            "application_id": str(APPLICATION_ID),
            "version": str(self._snowflake()),
            "type": ctype,
            "description": command.get("description", ""),
            "default_member_permissions": command.get("default_member_permissions"),
            "nsfw": command.get("nsfw", False),
        }
        if scope is not None:
            echoed["guild_id"] = str(scope)
        else:
            echoed.setdefault("dm_permission", True)
        return echoed

    @staticmethod
    def _validate_commands(commands: list[dict[str, Any]]) -> None:
        errors = _FormErrors()
        seen: set[tuple[str, int]] = set()
        for index, command in enumerate(commands):
            ctype = command.get("type", 1)
            name = command.get("name", "")
            if (name, ctype) in seen:
                errors.add([index, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Duplicate name {name!r}")
            seen.add((name, ctype))
            if ctype == 1:
                FakeDiscord._check_option_like(command, [index], errors)
                FakeDiscord._check_options(command.get("options") or [], [index, "options"], 0, errors)
            elif not 1 <= len(name) <= 32:
                errors.add([index, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        if sum(1 for c in commands if c.get("type", 1) == 1) > 100:
            errors.add([], "MAX_APPLICATION_COMMANDS", "Maximum number of application commands reached (100)")
        errors.raise_if_any()

    @staticmethod
    def _check_option_like(item: dict[str, Any], path: list[str | int], errors: _FormErrors) -> None:
        name = item.get("name", "")
        if not NAME_RE.match(name) or name != name.lower():
            errors.add(
                [*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}"
            )
        if not 1 <= len(item.get("description") or "") <= 100:
            errors.add([*path, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")

    @staticmethod
    def _check_options(
        options: list[dict[str, Any]], path: list[str | int], depth: int, errors: _FormErrors
    ) -> None:
        errors.max_length(path, options, 25)
        optional_seen = False
        for index, option in enumerate(options):
            here = [*path, index]
            FakeDiscord._check_option_like(option, here, errors)
            if option.get("type") in (1, 2):
                if depth >= 2 or (option["type"] == 2 and depth >= 1):
                    errors.add(here, "APPLICATION_COMMAND_OPTIONS_TOO_DEEP", "Subcommands nested too deeply")
                FakeDiscord._check_options(option.get("options") or [], [*here, "options"], depth + 1, errors)
                continue
            if option.get("required"):
                if optional_seen:
                    errors.add(
                        here, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be first"
                    )
            else:
                optional_seen = True
            choices = option.get("choices") or []
            errors.max_length([*here, "choices"], choices, 25)
            if choices and option.get("autocomplete"):
                errors.add(here, "AUTOCOMPLETE_AND_CHOICES", "Autocomplete and choices cannot be combined")

    async def _callback(self, record: RecordedRequest, interaction_id: str, token: str) -> Any:
        interaction = self._interactions.get(int(interaction_id))
        if interaction is None or interaction.token != token:
            raise _ApiError(404, 10062, "Unknown interaction")
        if interaction.deadline is not None and asyncio.get_running_loop().time() > interaction.deadline:
            raise _ApiError(404, 10062, "Unknown interaction")
        if interaction.callback is not None:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = record.json or {}
        ctype = body.get("type")
        if ctype not in CALLBACK_TYPES[interaction.type] or (
            ctype in (6, 7) and interaction.message_id is None
        ):
            errors = _FormErrors()
            errors.add(["type"], "INTERACTION_RESPONSE_TYPE_INVALID", f"Invalid response type {ctype}")
            errors.raise_if_any()
        data = body.get("data") or {}
        files = record.parts
        channel = self._channels[interaction.channel_id]
        bot = self._users[BOT_USER_ID]
        message: dict[str, Any] | None = None
        if ctype == 4:
            message = self._store_message(
                channel,
                data,
                files,
                author=bot,
                origin="interaction",
                flags=(data.get("flags") or 0) & RESPONSE_FLAGS,
                validate=True,
                message_type=20 if interaction.type == 2 else 0,
                interaction=interaction,
            )
        elif ctype == 5:
            flags = LOADING | ((data.get("flags") or 0) & EPHEMERAL)
            message = self._store_message(
                channel,
                {},
                {},
                author=bot,
                origin="interaction",
                flags=flags,
                validate=False,
                message_type=20 if interaction.type == 2 else 0,
                interaction=interaction,
            )
        elif ctype == 7:
            assert interaction.message_id is not None
            message = self._edit_message(self._messages[interaction.message_id], data, files)
        elif ctype == 8:
            choices = data.get("choices") or []
            errors = _FormErrors()
            errors.max_length(["data", "choices"], choices, 25)
            for index, choice in enumerate(choices):
                if not isinstance(choice, dict):
                    continue  # the spec allows null entries; Discord skips them
                errors.max_length(["data", "choices", index, "name"], choice.get("name"), 100)
                if isinstance(choice.get("value"), str):
                    errors.max_length(["data", "choices", index, "value"], choice["value"], 100)
            errors.raise_if_any()
        elif ctype == 9 and not (data.get("custom_id") and data.get("title") and data.get("components")):
            raise _ApiError(400, 50035, "Invalid Form Body")

        interaction.callback = copy.deepcopy(body)
        interaction.callback_at = asyncio.get_running_loop().time()
        interaction.callback_files = list(record.files)
        if ctype in (4, 5):
            assert message is not None
            interaction.original_message_id = int(message["id"])
            await self._broadcast_message("MESSAGE_CREATE", message, channel)
        elif ctype in (6, 7):
            # For a component, "@original" is the message the component is on.
            interaction.original_message_id = interaction.message_id
            if message is not None:
                await self._broadcast_message("MESSAGE_UPDATE", message, channel)
        if record.query.get("with_response", "").lower() not in ("1", "true"):
            return None
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        if message is not None:
            summary |= {
                "response_message_id": message["id"],
                "response_message_loading": bool(message["flags"] & LOADING),
                "response_message_ephemeral": bool(message["flags"] & EPHEMERAL),
            }
        response: dict[str, Any] = {"interaction": summary}
        if ctype != 8:
            response["resource"] = {"type": ctype}
            if message is not None:
                response["resource"]["message"] = message
        return response

    async def _post_followup(self, record: RecordedRequest, app_id: str, token: str) -> Any:
        interaction = self._webhook_interaction(app_id, token)
        payload = record.json or {}
        files = record.parts
        channel = self._channels[interaction.channel_id]
        original = self._messages.get(interaction.original_message_id or 0)
        if original is not None and original["flags"] & LOADING:
            # Discord turns the first followup after a "thinking" defer into the deferred message itself.
            message = self._edit_message(original, payload, files)
            await self._broadcast_message("MESSAGE_UPDATE", message, channel)
        else:
            message = self._store_message(
                channel,
                payload,
                files,
                author=self._users[BOT_USER_ID],
                origin="followup",
                flags=(payload.get("flags") or 0) & RESPONSE_FLAGS,
                validate=True,
                interaction=interaction,
            )
            await self._broadcast_message("MESSAGE_CREATE", message, channel)
        interaction.followup_ids.append(int(message["id"]))
        return message if record.query.get("wait", "").lower() in ("1", "true") else None

    def _webhook_message(self, interaction: FakeInteraction, message_id: str) -> dict[str, Any]:
        mid = interaction.original_message_id if message_id == "@original" else int(message_id)
        if mid is None or mid not in self._messages:
            raise _ApiError(404, 10008, "Unknown Message")
        if (
            message_id != "@original"
            and mid not in interaction.followup_ids
            and mid != interaction.original_message_id
        ):
            raise _ApiError(404, 10008, "Unknown Message")
        return self._messages[mid]

    async def _get_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        return self._webhook_message(self._webhook_interaction(app_id, token), message_id)

    async def _edit_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        message = self._webhook_message(self._webhook_interaction(app_id, token), message_id)
        edited = self._edit_message(message, record.json or {}, record.parts)
        await self._broadcast_message("MESSAGE_UPDATE", edited, self._channels[int(edited["channel_id"])])
        return edited

    async def _delete_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        message = self._webhook_message(self._webhook_interaction(app_id, token), message_id)
        await self._deleted(self._delete_message(int(message["id"])))
        return None

    async def _deleted(self, message: dict[str, Any]) -> None:
        channel = self._channels[int(message["channel_id"])]
        data = {"id": message["id"], "channel_id": message["channel_id"]}
        if channel.guild_id:
            data["guild_id"] = str(channel.guild_id)
        needed = GUILD_MESSAGES if channel.guild_id else DIRECT_MESSAGES
        if not message["flags"] & EPHEMERAL:
            for session in self._identified_sessions():
                if session.intents & needed:
                    await self._send_dispatch(session, "MESSAGE_DELETE", data)

    async def _get_channel(self, record: RecordedRequest, channel_id: str) -> Any:
        channel = self._channel(channel_id)
        return self._channel_obj(channel)

    async def _get_channel_messages(self, record: RecordedRequest, channel_id: str) -> Any:
        channel = self._channel(channel_id)
        limit = int(record.query.get("limit", 50))
        before = int(record.query.get("before", 0)) or None
        after = int(record.query.get("after", 0)) or None
        found = [
            m
            for mid, m in self._messages.items()
            if m["channel_id"] == str(channel.id)
            and not m["flags"] & EPHEMERAL
            and (before is None or mid < before)
            and (after is None or mid > after)
        ]
        found.sort(key=lambda m: int(m["id"]), reverse=True)
        return found[:limit]

    async def _post_channel_message(self, record: RecordedRequest, channel_id: str) -> Any:
        channel = self._channel(channel_id)
        if channel.recipient_id is not None and self._user(channel.recipient_id).dms_blocked:
            raise _ApiError(403, 50007, "Cannot send messages to this user")
        payload = record.json or {}
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            now = time.time()
            for mid in reversed(self._message_order):
                earlier = self._messages.get(mid)
                if (
                    earlier is not None
                    and earlier["channel_id"] == str(channel.id)
                    and earlier.get("nonce") == nonce
                    and int(earlier["author"]["id"]) == BOT_USER_ID
                    and now - _snowflake_time(mid) < NONCE_WINDOW_SECONDS
                ):
                    return earlier
        reference = payload.get("message_reference")
        if reference and reference.get("fail_if_not_exists", True):
            if int(reference.get("message_id") or 0) not in self._messages:
                errors = _FormErrors()
                errors.add(["message_reference"], "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
                errors.raise_if_any()
        message = self._store_message(
            channel,
            payload,
            record.parts,
            author=self._users[BOT_USER_ID],
            origin="channel",
            flags=(payload.get("flags") or 0) & CHANNEL_MESSAGE_FLAGS,
            validate=True,
        )
        await self._broadcast_message("MESSAGE_CREATE", message, channel)
        return message

    def _channel_message(self, channel_id: str, message_id: str) -> dict[str, Any]:
        channel = self._channel(channel_id)
        message = self._messages.get(int(message_id))
        if message is None or message["channel_id"] != str(channel.id) or message["flags"] & EPHEMERAL:
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    async def _get_channel_message(self, record: RecordedRequest, channel_id: str, message_id: str) -> Any:
        return self._channel_message(channel_id, message_id)

    async def _edit_channel_message(self, record: RecordedRequest, channel_id: str, message_id: str) -> Any:
        message = self._channel_message(channel_id, message_id)
        if int(message["author"]["id"]) != BOT_USER_ID:
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        edited = self._edit_message(message, record.json or {}, record.parts)
        await self._broadcast_message("MESSAGE_UPDATE", edited, self._channels[int(channel_id)])
        return edited

    async def _delete_channel_message(self, record: RecordedRequest, channel_id: str, message_id: str) -> Any:
        message = self._channel_message(channel_id, message_id)
        await self._deleted(self._delete_message(int(message["id"])))
        return None

    async def _typing(self, record: RecordedRequest, channel_id: str) -> Any:
        self._channel(channel_id)
        return None

    async def _create_thread(self, record: RecordedRequest, channel_id: str) -> Any:
        # A thread without a starter message (in a text channel; a forum's needs a message, not faked).
        parent = self._channel(channel_id)
        body = record.json if isinstance(record.json, dict) else {}
        errors = _FormErrors()
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= THREAD_NAME_MAX:
            limit = f"Must be between 1 and {THREAD_NAME_MAX} in length."
            errors.add(["name"], "BASE_TYPE_BAD_LENGTH", limit)
        kind = body.get("type")
        kind = PRIVATE_THREAD if kind is None else kind  # API v9's default, which Discord still applies
        if kind not in THREAD_TYPES:
            errors.add(["type"], "BASE_TYPE_CHOICES", f"Value must be one of {sorted(THREAD_TYPES)}.")
        invitable = body.get("invitable")
        if invitable is not None and not isinstance(invitable, bool):
            errors.add(["invitable"], "BASE_TYPE_BOOLEAN", "Must be either true or false.")
        archive = body.get("auto_archive_duration")
        if archive is not None and archive not in AUTO_ARCHIVE_MINUTES:
            choices = sorted(AUTO_ARCHIVE_MINUTES)
            errors.add(["auto_archive_duration"], "BASE_TYPE_CHOICES", f"Value must be one of {choices}.")
        errors.raise_if_any()
        if parent.type != GUILD_TEXT:
            raise _ApiError(400, 50024, "Cannot execute action on this channel type")
        needed = CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else CREATE_PUBLIC_THREADS
        if not self._bot_permissions() & needed:
            raise _ApiError(403, 50013, "Missing Permissions")
        thread = _Channel(
            self._snowflake(),
            kind,
            name,
            parent.guild_id,
            parent_id=parent.id,
            owner_id=BOT_USER_ID,
            invitable=True if invitable is None else invitable,
            auto_archive_duration=archive or 4320,
            created_at=_iso(),
            members=[BOT_USER_ID],  # the thread's creator is its first member
        )
        self._channels[thread.id] = thread
        for session in self._identified_sessions():
            if session.intents & GUILDS:
                await self._send_dispatch(
                    session, "THREAD_CREATE", self._thread_obj(thread) | {"newly_created": True}
                )
        return _Answer(201, self._thread_obj(thread))

    async def _add_thread_member(self, record: RecordedRequest, channel_id: str, user_id: str) -> Any:
        thread = self._channel(channel_id)
        if thread.type not in THREAD_TYPES:
            raise _ApiError(400, 50024, "Cannot execute action on this channel type")
        if int(user_id) not in self._users:
            raise _ApiError(404, 10007, "Unknown Member")
        if thread.type == PRIVATE_THREAD and BOT_USER_ID not in thread.members:
            raise _ApiError(403, 50001, "Missing Access")  # a private thread is hidden from non-members
        if int(user_id) not in thread.members:
            thread.members.append(int(user_id))
        return None

    async def _get_guild(self, record: RecordedRequest, guild_id: str) -> Any:
        if int(guild_id) != GUILD_ID:
            raise _ApiError(404, 10004, "Unknown Guild")
        guild = self._guild_obj(with_members=False)
        for key in ("joined_at", "large", "unavailable", "members", "channels", "threads", "voice_states"):
            guild.pop(key)
        return guild

    async def _get_guild_channels(self, record: RecordedRequest, guild_id: str) -> Any:
        if int(guild_id) != GUILD_ID:
            raise _ApiError(404, 10004, "Unknown Guild")
        # As Discord: the guild's channels, not its threads.
        return [
            self._channel_obj(c)
            for c in self._channels.values()
            if c.guild_id == GUILD_ID and c.type not in THREAD_TYPES
        ]

    def add_guild_role(self, name: str, position: int = 1) -> int:
        """A role of the guild a moderator made (below studybot's own by default); its id."""
        role_id = self._snowflake()
        self.guild_roles[role_id] = (name, position)
        return role_id

    async def _add_member_role(
        self, record: RecordedRequest, guild_id: str, user_id: str, role_id: str
    ) -> Any:
        # As Discord: Manage Roles needed, and the role must sit below the bot's highest role.
        if int(guild_id) != GUILD_ID:
            raise _ApiError(404, 10004, "Unknown Guild")
        if int(user_id) not in self._users:
            raise _ApiError(404, 10007, "Unknown Member")
        if int(role_id) not in self.guild_roles:
            raise _ApiError(404, 10011, "Unknown Role")
        if not self.bot_manages_roles or self.guild_roles[int(role_id)][1] >= BOT_ROLE_POSITION:
            raise _ApiError(403, 50013, "Missing Permissions")
        self.member_roles.setdefault(int(user_id), set()).add(int(role_id))
        return None

    async def _get_member(self, record: RecordedRequest, guild_id: str, user_id: str) -> Any:
        if int(guild_id) != GUILD_ID:
            raise _ApiError(404, 10004, "Unknown Guild")
        if int(user_id) not in self._users:
            raise _ApiError(404, 10007, "Unknown Member")
        return self._member_obj(self._users[int(user_id)])

    # ------------------------------------------------------------------ gateway

    def _identified_sessions(self) -> list[_Session]:
        return [s for s in self._sessions if s.identified and not s.ws.closed]

    async def _send(self, session: _Session, payload: dict[str, Any]) -> None:
        async with session.lock:
            if not session.ws.closed:
                try:
                    await session.ws.send_str(json.dumps(payload))
                except ConnectionResetError:
                    pass  # the client went away meanwhile, as on a real network

    async def _send_dispatch(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        await self._send(session, {"op": 0, "s": session.seq, "t": event, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        session = _Session(ws=ws, query=dict(request.query))
        self._sessions.append(session)
        try:
            hello = {"heartbeat_interval": int(self.heartbeat_interval * 1000), "_trace": ["fake-discord"]}
            await self._send(session, {"op": 10, "d": hello, "s": None, "t": None})
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    if frame.type is WSMsgType.BINARY:
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                    continue
                try:
                    payload = json.loads(frame.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                self.gateway_received.append(payload)
                try:
                    await self._on_gateway_payload(session, payload)
                except Exception as exc:  # a bug in the fake; close() re-raises it
                    self.internal_errors.append(exc)
                    await ws.close(code=4000, message=b"Unknown error.")
                await self._notify()
        finally:
            if session in self._sessions:
                self._sessions.remove(session)
            await self._notify()
        return ws

    async def _on_gateway_payload(self, session: _Session, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await self._send(session, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(session, data or {})
        elif op == 6:
            await self._resume(session, data or {})
        elif not session.identified:
            await session.ws.close(code=4003, message=b"Not authenticated.")
        elif op == 3:
            session.presence = data
        elif op == 8:
            await self._members_chunk(session, data or {})
        elif op != 4:  # voice state updates are accepted and ignored
            await session.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, session: _Session, data: dict[str, Any]) -> None:
        if session.identified:
            await session.ws.close(code=4005, message=b"Already authenticated.")
            return
        token = data.get("token")
        if not token or (self.token is not None and token != self.token):
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if not self.privileged_intents and intents & PRIVILEGED_INTENTS:
            await session.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        session.intents = intents
        session.identified = True
        session.session_id = secrets.token_hex(16)
        self._sessions_by_id[session.session_id] = session
        ready: dict[str, Any] = {
            "v": 10,
            "user": self._me_obj(),
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APPLICATION_ID), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "_trace": ["fake-discord"],
        }
        if data.get("shard") is not None:
            ready["shard"] = data["shard"]
        await self._send_dispatch(session, "READY", ready)
        if intents & GUILDS:
            await self._send_dispatch(
                session, "GUILD_CREATE", self._guild_obj(with_members=bool(intents & GUILD_MEMBERS))
            )
        self._identify_count += 1

    async def _resume(self, session: _Session, data: dict[str, Any]) -> None:
        old = self._sessions_by_id.get(data.get("session_id") or "")
        if old is None or (self.token is not None and data.get("token") != self.token):
            await self._send(session, {"op": 9, "d": False, "s": None, "t": None})
            return
        session.session_id, session.seq, session.intents = old.session_id, old.seq, old.intents
        session.identified = True
        self._sessions_by_id[old.session_id or ""] = session
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-discord"]})

    async def _members_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        query = (data.get("query") or "").lower()
        wanted = {int(u) for u in data.get("user_ids") or []}
        members = [
            self._member_obj(u)
            for u in self._users.values()
            if (not wanted or u.id in wanted) and u.name.lower().startswith(query)
        ]
        limit = data.get("limit") or 0
        chunk = {
            "guild_id": str(GUILD_ID),
            "members": members[:limit] if limit else members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in wanted - set(self._users)],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)
