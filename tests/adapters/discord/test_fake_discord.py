"""The Discord fake speaks enough Discord for the real discord.py: login, gateway, commands, interactions,
views, followups, DMs, rate limits and permission errors."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fakes.discord import FakeDiscord

TOPICS = ["python", "pytorch", "pandas", "statistics"]


def new_client(intents: discord.Intents | None = None) -> discord.Client:
    # discord.py waits guild_ready_timeout after the last GUILD_CREATE before on_ready (2 s by default).
    if intents is None:
        intents = discord.Intents(guilds=True)
    return discord.Client(intents=intents, guild_ready_timeout=0.05)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as running:
        yield running


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[tuple[discord.Client, app_commands.CommandTree[Any]]]:
    """A connected client whose tree has /ping, /topic (with autocomplete) and /study today."""
    client = new_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="ping", description="Replies pong")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @tree.command(name="topic", description="Look up a topic")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"topic {name}", ephemeral=True)

    @topic.autocomplete("name")
    async def topic_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if t.startswith(current)]

    study = app_commands.Group(name="study", description="Study commands")

    @study.command(name="today", description="Today's challenge")
    async def today(interaction: discord.Interaction, days: int = 1) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"challenge for {days} day(s)")
        await interaction.edit_original_response(content=f"edited: {days}")

    tree.add_command(study)
    await fake.start_client(client)
    yield client, tree
    await fake.stop_client(client)


async def test_a_client_logs_in_gets_ready_and_knows_the_guild(fake: FakeDiscord) -> None:
    client = new_client()
    ready = asyncio.Event()

    @client.event
    async def on_ready() -> None:
        ready.set()

    await fake.start_client(client)
    await asyncio.wait_for(ready.wait(), 1.0)

    assert client.user is not None and client.user.id == fake.bot_user_id
    assert client.application_id == fake.application_id
    guild = client.get_guild(fake.guild_id)
    assert guild is not None and not guild.unavailable and guild.name == "Study Group"
    channel = guild.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel) and channel.name == "general"
    assert guild.me is not None and guild.me.guild_permissions.send_messages
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
    ]
    identify = next(p for p in fake.gateway_received if p["op"] == 2)
    assert identify["d"]["intents"] == client.intents.value
    await fake.stop_client(client)
    assert client.is_closed()


async def test_without_the_guilds_intent_the_guild_stays_unavailable(fake: FakeDiscord) -> None:
    client = new_client(discord.Intents.none())
    await fake.start_client(client)
    guild = client.get_guild(fake.guild_id)
    assert guild is not None and guild.unavailable and not guild.channels


async def test_a_wrong_token_fails_login(fake: FakeDiscord) -> None:
    fake.token = "right"
    with pytest.raises(discord.LoginFailure):
        await fake.start_client(new_client(), token="wrong")


async def test_the_command_tree_syncs_globally_and_to_a_guild(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    _, tree = bot
    synced = await tree.sync()
    assert [c.name for c in synced] == ["ping", "topic", "study"]
    sent = fake.synced_commands()
    assert sent is not None and sent[0]["name"] == "ping" and sent[0]["description"] == "Replies pong"
    assert sent == [c.to_dict(tree) for c in tree.get_commands()]
    again = await tree.sync()
    assert [c.id for c in again] == [c.id for c in synced]  # ids stay stable, as on Discord

    guild = discord.Object(fake.guild_id)
    tree.copy_global_to(guild=guild)
    in_guild = await tree.sync(guild=guild)
    assert all(c.guild_id == fake.guild_id for c in in_guild)
    guild_payload = fake.synced_commands(guild_id=fake.guild_id)
    assert guild_payload is not None and [c["name"] for c in guild_payload] == ["ping", "topic", "study"]
    assert fake.synced_commands(guild_id=12345) is None


async def test_a_slash_command_reaches_the_callback_and_its_reply_is_recorded(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    _, tree = bot
    await tree.sync()
    interaction = await fake.slash("ping")
    assert "guild_id" not in interaction.payload["data"]  # synced globally
    callback = await fake.wait_for_callback(interaction)
    assert callback["type"] == 4 and callback["data"]["content"] == "pong"
    original = fake.original_response(interaction)
    assert original is not None and original["content"] == "pong" and original["type"] == 20
    assert fake.channel_messages(fake.channel_id, include_interactions=True)[-1]["content"] == "pong"
    assert fake.channel_messages(fake.channel_id) == []  # not posted with POST /channels/{id}/messages

    in_dm = await fake.slash("ping", guild_id=None)
    assert (await fake.wait_for_callback(in_dm))["data"]["content"] == "pong"
    dm_reply = fake.original_response(in_dm)
    assert dm_reply is not None and dm_reply["channel_id"] == str(fake.dm_channel_id(fake.user_id))


async def test_a_command_synced_to_the_guild_carries_the_guild_id(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    _, tree = bot
    guild = discord.Object(fake.guild_id)
    tree.copy_global_to(guild=guild)
    await tree.sync(guild=guild)
    interaction = await fake.slash("ping")
    assert interaction.payload["data"]["guild_id"] == str(fake.guild_id)
    assert (await fake.wait_for_callback(interaction))["data"]["content"] == "pong"
    with pytest.raises(LookupError, match="not synced"):
        await fake.slash("ping", guild_id=None)  # only the guild has it


async def test_autocomplete_gets_choices(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    _, tree = bot
    await tree.sync()
    interaction = await fake.autocomplete("topic", options={"name": "p"}, focused="name")
    callback = await fake.wait_for_callback(interaction)
    assert callback == {
        "type": 8,
        "data": {"choices": [{"name": t, "value": t} for t in ("python", "pytorch", "pandas")]},
    }
    chosen = await fake.slash("topic", options={"name": "pandas"})
    reply = await fake.wait_for_callback(chosen)
    assert reply["data"]["content"] == "topic pandas" and reply["data"]["flags"] == 64


async def test_a_deferred_command_follows_up_and_edits_the_original(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    _, tree = bot
    await tree.sync()
    interaction = await fake.slash("study", "today", {"days": 3})
    assert interaction.payload["data"]["options"] == [
        {"type": 1, "name": "today", "options": [{"name": "days", "type": 4, "value": 3}]}
    ]
    callback = await fake.wait_for_callback(interaction)
    assert callback == {"type": 5, "data": {"flags": 64}}
    followup = await fake.wait_for_followup(interaction)
    # Discord turns the first followup after a "thinking" defer into the deferred message itself.
    assert followup["id"] == str(interaction.original_message_id) and followup["flags"] == 64
    await fake.wait_for_request("PATCH", re.compile(r"/webhooks/\d+/[^/]+/messages/@original"))
    original = fake.original_response(interaction)
    assert original is not None and original["content"] == "edited: 3"
    with pytest.raises(ValueError, match="needs a subcommand"):
        await fake.slash("study")


class Counter(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"counter:(?P<n>\d+)"):
    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"count {n}", custom_id=f"counter:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Counter:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"clicked {self.n}", ephemeral=True)


async def test_a_click_on_a_dynamic_button_reaches_its_callback(fake: FakeDiscord) -> None:
    client = new_client()
    client.add_dynamic_items(Counter)
    await fake.start_client(client)
    view = discord.ui.View(timeout=None)
    view.add_item(Counter(7))
    channel = client.get_partial_messageable(fake.channel_id)
    sent = await channel.send("press it", view=view)
    [posted] = fake.channel_messages(fake.channel_id)
    assert posted["id"] == str(sent.id)
    assert posted["components"][0]["components"][0]["custom_id"] == "counter:7"

    interaction = await fake.click(sent.id, "counter:7")
    callback = await fake.wait_for_callback(interaction)
    assert callback["type"] == 4
    assert callback["data"]["content"] == "clicked 7" and callback["data"]["flags"] == 64
    assert interaction.payload["message"]["id"] == str(sent.id)
    with pytest.raises(LookupError):
        await fake.click(sent.id, "counter:8")


class Toggle(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="On", custom_id="toggle")
    async def toggle(self, interaction: discord.Interaction, button: discord.ui.Button[Toggle]) -> None:
        button.disabled = True
        await interaction.response.edit_message(content="switched on", view=self)


async def test_a_persistent_view_button_updates_its_message(fake: FakeDiscord) -> None:
    client = new_client()
    await fake.start_client(client)
    client.add_view(Toggle())
    channel = client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("off", view=Toggle())
    interaction = await fake.click(sent.id, "toggle")
    assert (await fake.wait_for_callback(interaction))["type"] == 7
    message = fake.message(sent.id)
    assert message["content"] == "switched on"
    assert message["components"][0]["components"][0]["disabled"] is True
    with pytest.raises(ValueError, match="disabled"):
        await fake.click(sent.id, "toggle")


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="What did you learn?", custom_id="text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks for: {self.text.value}", ephemeral=True)


async def test_a_modal_is_shown_and_submitted(fake: FakeDiscord) -> None:
    client = new_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="feedback", description="Tell us")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    await fake.start_client(client)
    await tree.sync()
    asked = await fake.slash("feedback")
    assert (await fake.wait_for_callback(asked))["type"] == 9
    with pytest.raises(ValueError, match="required"):
        await fake.submit_modal(asked, {})
    submitted = await fake.submit_modal(asked, {"text": "embeddings"})
    callback = await fake.wait_for_callback(submitted)
    assert callback["type"] == 4 and callback["data"]["content"] == "thanks for: embeddings"


async def test_a_429_is_honoured_and_the_post_lands_once(fake: FakeDiscord) -> None:
    client = new_client()
    await fake.start_client(client)
    path = f"/channels/{fake.channel_id}/messages"
    fake.fail_next("POST", path, status=429, retry_after=0.2)
    started = time.monotonic()
    await client.get_partial_messageable(fake.channel_id).send("after the wait")
    assert time.monotonic() - started >= 0.19  # discord.py slept retry_after (give or take the clock)
    assert [r.status for r in fake.requests if r.path == path] == [429, 200]
    assert [m["content"] for m in fake.channel_messages(fake.channel_id)] == ["after the wait"]


async def test_a_403_raises_forbidden(fake: FakeDiscord) -> None:
    client = new_client()
    await fake.start_client(client)
    fake.fail_next("POST", f"/channels/{fake.channel_id}/messages", status=403)
    with pytest.raises(discord.Forbidden) as raised:
        await client.get_partial_messageable(fake.channel_id).send("nope")
    assert raised.value.code == 50013 and raised.value.text == "Missing Permissions"
    assert fake.channel_messages(fake.channel_id) == []


async def test_direct_messages_and_blocked_users(fake: FakeDiscord) -> None:
    client = new_client()
    await fake.start_client(client)
    user = await client.fetch_user(fake.user_id)
    await user.send("hello alice")
    assert [m["content"] for m in fake.direct_messages(fake.user_id)] == ["hello alice"]
    fake.block_dms(fake.user_id)
    with pytest.raises(discord.Forbidden) as raised:
        await user.send("again")
    assert raised.value.code == 50007


async def test_files_are_uploaded_as_multipart_and_served_back(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    client, _ = bot
    channel = client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("notes", file=discord.File(io.BytesIO(b"hello"), filename="notes.txt"))
    request = fake.requests[-1]
    assert request.files == ["notes.txt"] and request.json["content"] == "notes"
    [attachment] = sent.attachments
    assert attachment.filename == "notes.txt" and await attachment.read() == b"hello"
    assert fake.channel_messages(fake.channel_id)[0]["attachments"][0]["size"] == 5


async def test_user_messages_carry_content_only_with_the_intent_or_a_mention(fake: FakeDiscord) -> None:
    client = new_client(discord.Intents(guilds=True, guild_messages=True))
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        seen.put_nowait(message)

    await fake.start_client(client)
    await fake.post_user_message("hello")
    plain = await asyncio.wait_for(seen.get(), 1.0)
    assert plain.author.id == fake.user_id and plain.content == ""
    await fake.post_user_message(f"<@{fake.bot_user_id}> hello")
    mention = await asyncio.wait_for(seen.get(), 1.0)
    assert mention.content.endswith("hello") and client.user in mention.mentions


async def test_discord_rules_are_kept(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    client, tree = bot
    channel = client.get_partial_messageable(fake.channel_id)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.code == 50035
    first = await channel.send("once", nonce=42)
    second = await channel.send("once", nonce=42)
    assert first.id == second.id and len(fake.channel_messages(fake.channel_id)) == 1

    await tree.sync()
    fake.interaction_deadline = 0.0  # already too late when the bot answers
    late = await fake.slash("ping")
    refused = await fake.wait_for_request("POST", re.compile(rf"/interactions/{late.id}/[^/]+/callback"))
    assert refused.status == 404 and refused.response["code"] == 10062 and late.callback is None


async def test_what_discords_published_contract_refuses_is_refused(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    if fake.contract is None:
        pytest.skip("Discord's OpenAPI spec is absent (../shared/specs); the fake checks only its own rules")
    client, _ = bot
    channel = client.get_partial_messageable(fake.channel_id)
    with pytest.raises(discord.HTTPException) as colour:
        await channel.send(embed=discord.Embed(title="t", colour=0x1000000))
    assert colour.value.status == 400 and colour.value.code == 50035
    assert "embeds.0.color" in colour.value.text  # discord.py flattens Discord's errors tree
    with pytest.raises(discord.HTTPException) as nonce:
        await channel.send("once", nonce="n" * 26)
    assert nonce.value.code == 50035 and "nonce" in nonce.value.text
    assert fake.channel_messages(fake.channel_id) == []
    assert not fake.internal_errors


async def test_a_resumed_session_keeps_receiving_interactions(
    fake: FakeDiscord, bot: tuple[discord.Client, app_commands.CommandTree[Any]]
) -> None:
    _, tree = bot
    await tree.sync()
    await fake.request_reconnect()
    resume = await fake.wait_for_gateway_op(6)
    assert resume["d"]["session_id"] and resume["d"]["seq"] >= 2  # READY and GUILD_CREATE were seen
    interaction = await fake.slash("ping")
    assert (await fake.wait_for_callback(interaction))["data"]["content"] == "pong"
