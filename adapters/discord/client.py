"""The Discord client factory and studybot's ChatPlatform for Discord (daily posts, edits, direct messages).

`build_client(core, ...)` is the documented way to get a configured client for embedding or tests; `studybot
run` uses it when DISCORD_TOKEN is set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

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


class DiscordPlatform:
    """Posts, edits and direct messages through a running discord.py client."""

    name = PLATFORM

    def __init__(self, client: discord.Client, token: str) -> None:
        self.client = client
        self.token = token
        self._task: asyncio.Task[None] | None = None

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

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        # A bot cannot open a group DM on Discord, and a private thread needs a channel and a permission
        # this bot does not ask for: the same direct message to each member instead.
        return [await self.send_direct(user_id, reply) for user_id in user_ids]

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
