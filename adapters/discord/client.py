"""The Discord client factory and studybot's ChatPlatform for Discord (daily posts, edits, direct messages,
buddy pods' private threads).

`build_client(core, ...)` is the documented way to get a configured client for embedding or tests; `studybot
run` uses it when DISCORD_TOKEN is set.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import aiohttp
import discord
from discord import app_commands

from adapters.discord.commands import PLATFORM, install
from adapters.discord.render import NO_PINGS, render
from bot.dispatch.core import Core
from bot.kernel.ports import Undeliverable
from bot.kernel.types import ConversationRef, Reply

log = logging.getLogger(__name__)

# Discord accepts a nonce of up to 25 characters and, with enforce_nonce, drops a repeat within minutes.
NONCE_MAX = 25
# The longest rate-limit wait the metrics take from a 429's headers (Discord asks for seconds, or minutes).
MAX_WAIT = 3600.0
# Channel type 12: a private thread, which only its members (and moderators) see.
PRIVATE_THREAD: Final = 12


def build_client(
    core: Core,
    *,
    sharded: bool = False,
    guild_id: int | None = None,
    api_base: str | None = None,
    shard: tuple[int, int] | None = None,
    **options: Any,
) -> tuple[discord.Client, app_commands.CommandTree[Any]]:
    """A client with studybot's commands and buttons; it syncs them when it starts (to one guild if given).

    No privileged intents are needed. `api_base` points the REST client elsewhere (a rate-limit proxy);
    `sharded` uses AutoShardedClient for bots in many servers. `shard=(id, count)` makes this process one
    shard of several, so that instances sharing a token each receive their own share of the interactions.
    """
    if shard is not None:
        shard_id, shard_count = shard
        if not 0 <= shard_id < shard_count:
            raise ValueError(f"DISCORD_SHARD_ID must be from 0 to {shard_count - 1}, not {shard_id}")
        options |= {"shard_id": shard_id, "shard_count": shard_count}
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    cls = discord.AutoShardedClient if sharded else discord.Client
    # Forced, not a default a caller's options could widen: studybot never means to ping (see NO_PINGS).
    options["allowed_mentions"] = NO_PINGS
    options.setdefault("http_trace", rate_limit_trace(core))
    client = cls(intents=discord.Intents(guilds=True), **options)
    tree = install(client, core)

    async def sync() -> None:
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            await tree.sync(guild=guild)  # instant, for development
        else:
            await tree.sync()  # global: may take a while to show everywhere
        log.info("synced studybot's commands %s", f"to guild {guild_id}" if guild_id else "globally")

    client.setup_hook = sync  # type: ignore[method-assign]
    return client, tree


def rate_limit_trace(core: Core) -> aiohttp.TraceConfig:
    """Tells the core's telemetry of every 429 Discord answers, with the wait it asks for (discord.py waits
    it out and sends again by itself)."""

    async def ended(_: Any, __: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status != 429:
            return
        headers = params.response.headers
        asked = headers.get("X-RateLimit-Reset-After") or headers.get("Retry-After") or "0"
        try:
            seconds = float(asked)
        except ValueError:
            seconds = 0.0
        # A header is the platform's word, not a number to trust: nothing negative, infinite or absurd.
        core.telemetry.rate_limited(PLATFORM, min(seconds, MAX_WAIT) if math.isfinite(seconds) else 0.0)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(ended)
    return trace


class DiscordPlatform:
    """Posts, edits and direct messages through a running discord.py client."""

    name = PLATFORM

    def __init__(self, client: discord.Client, token: str) -> None:
        self.client = client
        self.token = token
        self._task: asyncio.Task[None] | None = None
        # Why buddy pods fell back to direct messages: each reason is logged once.
        self._fallbacks: set[tuple[str, str, int | None]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self.client.start(self.token))
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()  # raises the login error (a bad token, say)

    async def _channel(self, conversation: ConversationRef) -> discord.abc.Messageable:
        channel_id = int(conversation.channel_id)
        channel = self.client.get_channel(channel_id)
        try:
            if channel is None:
                channel = await self.client.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise Undeliverable(f"channel {channel_id} is gone or hidden from studybot ({exc.text})") from exc
        if not isinstance(channel, discord.abc.Messageable):
            raise Undeliverable(f"channel {channel_id} cannot take messages")
        return channel

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        channel = await self._channel(conversation)
        message = render(reply)  # a proactive post cannot open a form, see render(): its text and cards go
        kwargs: dict[str, Any] = {
            "embeds": message.embeds,
            "files": message.files,
            "allowed_mentions": NO_PINGS,
        }
        if key:
            kwargs["nonce"] = key[:NONCE_MAX]
        if (view := message.view()) is not None:
            kwargs["view"] = view
        try:
            sent = await channel.send(message.content or None, **kwargs)
        except discord.Forbidden as exc:
            raise Undeliverable(
                f"studybot may not post in channel {conversation.channel_id} ({exc.text})"
            ) from exc
        return str(sent.id)

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        channel = await self._channel(conversation)
        message = render(reply)
        partial = channel.get_partial_message(int(message_id))  # type: ignore[attr-defined]
        await partial.edit(
            content=message.content or None,
            embeds=message.embeds,
            view=message.view(),
            allowed_mentions=NO_PINGS,
        )

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        user = self.client.get_user(int(user_id)) or await self.client.fetch_user(int(user_id))
        message = render(reply)  # a form is not opened here, see render(): its text and cards are sent
        kwargs: dict[str, Any] = {
            "embeds": message.embeds,
            "files": message.files,
            "allowed_mentions": NO_PINGS,
        }
        # The buttons work in a DM like anywhere: a click comes back with no guild (workspace "dm").
        if (view := message.view()) is not None:
            kwargs["view"] = view
        sent = await user.send(message.content or None, **kwargs)
        return str(sent.id)

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        try:
            await self.client.http.add_role(
                int(workspace_id), int(user_id), int(role_id), reason="studybot: a milestone reached"
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            raise Undeliverable(
                f"Discord refused to give role {role_id} ({exc.text}): studybot needs the Manage Roles "
                "permission, and its own role must sit above that role in Server Settings > Roles"
            ) from exc
        return True

    async def connected(self) -> bool:
        """Whether the gateway session is up now (kernel.ports.Connected, for /readyz): discord.py stays
        "ready" while it reconnects after a dropped gateway, so the sockets are asked too."""
        client = self.client
        if not client.is_ready() or client.is_closed():
            return False
        shards = getattr(client, "shards", None)
        if isinstance(shards, dict):  # AutoShardedClient: every shard of this process
            return bool(shards) and all(not shard.is_closed() for shard in shards.values())
        ws = client.ws
        return ws is not None and bool(ws.open)

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        """A private thread of the cohort's channel holding `reply`, with the pod added to it; where Discord
        will not let the bot make one or post in it, the same direct message to each member instead."""
        try:
            thread = await self._private_thread(conversation.channel_id)
            # Posted before anyone is added, so a refused post leaves no member in an empty thread.
            sent = await self.send(replace(conversation, channel_id=thread), reply)
        except (discord.HTTPException, Undeliverable) as exc:
            where = f"make a private thread in channel {conversation.channel_id} or post in it"
            self._fall_back("thread", where, exc)
            return await self._each_directly(user_ids, reply)
        left_out = [user_id for user_id in user_ids if not await self._add_to_thread(thread, user_id)]
        return [sent, *(await self._each_directly(left_out, reply) if left_out else [])]

    async def _each_directly(self, user_ids: Sequence[str], reply: Reply) -> list[str]:
        """The same direct message to each member: one who blocks them does not keep it from the others;
        Undeliverable when nobody could be reached."""
        sent, failed = [], []
        for user_id in user_ids:
            try:
                sent.append(await self.send_direct(user_id, reply))
            except (discord.HTTPException, Undeliverable) as exc:
                failed.append(f"{user_id} ({exc})")
        if failed:
            log.warning("could not send a direct message to %s", ", ".join(failed))
            if not sent:
                raise Undeliverable(f"no member could be sent a direct message: {', '.join(failed)}")
        return sent

    async def _private_thread(self, channel_id: str) -> str:
        """A new private thread in the channel, that members cannot invite others to; its id."""
        # Named by the day, never by its members (their names are untrusted, and in the message anyway).
        today = discord.utils.utcnow()
        thread = await self.client.http.start_thread_without_message(
            int(channel_id),
            name=f"Buddy pod · {today.day} {today:%B %Y}",
            auto_archive_duration=10080,  # a week, the pod's life
            type=PRIVATE_THREAD,
            invitable=False,
            reason="studybot: this week's buddy pod",
        )
        return str(thread["id"])

    async def _add_to_thread(self, thread_id: str, user_id: str) -> bool:
        """Add a member to the pod's thread; False where Discord refuses (they left the server, say)."""
        try:
            await self.client.http.add_user_to_thread(int(thread_id), int(user_id))
        except discord.HTTPException as exc:
            self._fall_back("member", f"add member {user_id} to thread {thread_id}", exc)
            return False
        return True

    def _fall_back(self, step: str, what: str, exc: Exception) -> None:
        """Log that a pod (or one member) gets direct messages instead, once per reason, not once per pod."""
        reason = (step, type(exc).__name__, getattr(exc, "code", None))
        if reason in self._fallbacks:
            return
        self._fallbacks.add(reason)
        log.warning(
            "buddy pods: could not %s (%s), so direct messages instead (logged once for this reason); a "
            "pod's thread needs Create Private Threads and Send Messages in Threads in the cohort's channel",
            what,
            exc,
        )

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
