"""Issue 12, Discord output: member and pack text is shown as typed, never obeyed (no pings, no markdown, no
links), and every interaction is answered even when a reply cannot be shown as it is.

Driven through the real core (SQLite store) and the real discord.py client against the fake Discord; the
assertions read the JSON bodies the fake received, which is what Discord would act on.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest

from adapters.discord.client import DiscordPlatform, build_client
from adapters.discord.commands import UNRENDERABLE
from adapters.discord.render import CONTENT_MAX, CUSTOM_ID_MAX, EMBED_TOTAL_MAX, discord_escape, render
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.dispatch.context import Context
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from bot.kernel.registry import CommandSpec, Registry
from bot.kernel.types import Button, Card, ConversationRef, Field, Reply
from bot.kernel.untrusted import verbatim
from storage.sql_store import SqlStore
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.server import CHANNEL_ID, DEFAULT_TOKEN, GUILD_ID, USER_ID, RecordedRequest

MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)
EPHEMERAL = 64
# What discord.py sends for AllowedMentions.none(): parse nothing, name no one.
NO_PINGS: dict[str, list[str]] = {"parse": []}
ROLE_ID = 1_150_000_000_000_000_101
# One string with every way member text could ping, link or format on Discord.
HOSTILE = (
    "[Claim Nitro](https://evil.example/x) @everyone @here "
    f"<@&{ROLE_ID}> <@{USER_ID}> <#{CHANNEL_ID}> <https://evil.example/y> "
    "**bold** __under__ ~~gone~~ ||spoiler|| `code` \\"
)
HOSTILE_ESCAPED = (
    "\\[Claim Nitro\\](https\\://evil.example/x) \\@everyone \\@here "
    f"\\<@&{ROLE_ID}> \\<@{USER_ID}> \\<#{CHANNEL_ID}> \\<https\\://evil.example/y> "
    "\\*\\*bold\\*\\* \\_\\_under\\_\\_ \\~\\~gone\\~\\~ \\|\\|spoiler\\|\\| \\`code\\` \\\\"
)
POST_CHANNEL = ConversationRef("discord", str(GUILD_ID), str(CHANNEL_ID))


@dataclass
class World:
    fake: FakeDiscord
    core: Core
    client: discord.Client
    clock: FakeClock
    # What the test command `/study show` answers: a Reply the test builds, returned by the real core.
    shown: list[Reply] = field(default_factory=lambda: [Reply(text="nothing yet")])

    @property
    def platform(self) -> DiscordPlatform:
        return DiscordPlatform(self.client, DEFAULT_TOKEN)

    async def slash(self, group: str, sub: str, options: dict[str, Any] | None = None, **kw: Any) -> Any:
        interaction = await self.fake.slash(group, sub, options or {}, **kw)
        await self.fake.wait_for_callback(interaction)
        return interaction

    async def show(self, reply: Reply) -> dict[str, Any]:
        """Run `/study show` answering `reply`; the JSON body of the interaction callback Discord got."""
        self.shown.append(reply)
        await self.slash("study", "show")
        return callback_bodies(self.fake)[-1]

    async def sweep(self) -> None:
        await Poster(self.core, {"discord": self.platform}).sweep()


@pytest.fixture
async def world(sqlite_store: SqlStore, catalog: Catalog) -> AsyncIterator[World]:
    clock = FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC))
    core = make_core(sqlite_store, catalog, clock, rate_limit=False)
    shown: list[Reply] = [Reply(text="nothing yet")]

    async def show(ctx: Context, values: dict[str, Any]) -> Reply:
        return shown[-1]

    # The real registry, with one command that answers whatever Reply the test sets in place of `unlink`:
    # /study has Discord's most, 25 subcommands, so one more would not sync.
    kept = {name: spec for name, spec in core.registry.commands.items() if name != "unlink"}
    core.registry = Registry({**kept, "show": CommandSpec("show", "Show a reply", show)})
    async with FakeDiscord() as fake:
        client, _ = build_client(core, guild_ready_timeout=0.05)
        await fake.start_client(client)
        try:
            yield World(fake, core, client, clock, shown)
        finally:
            await fake.stop_client(client)


def requests(fake: FakeDiscord, method: str, path: str) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == method and re.fullmatch(path, r.path)]


def callback_bodies(fake: FakeDiscord) -> list[dict[str, Any]]:
    """The message bodies of interaction responses (type 4), oldest first."""
    bodies = [r.json for r in requests(fake, "POST", r"/interactions/\d+/[^/]+/callback")]
    return [b["data"] for b in bodies if b and b.get("type") == 4]


def shown_as(escaped: str) -> str:
    """What Discord displays for text whose markdown is escaped: a backslash before a symbol is hidden."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", escaped)


async def make_daily_cohort(world: World) -> None:
    await world.slash(
        "cohort",
        "create",
        {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily"},
        permissions=MANAGE_GUILD,
    )


# ---- 1. No pings: AllowedMentions.none() on the client and on every request that carries a message ----


async def test_a_public_reply_echoing_a_display_name_of_everyone_pings_no_one(world: World) -> None:
    everyone = world.fake.add_user("mallory", display_name="@everyone")
    await make_daily_cohort(world)
    await world.slash("study", "join", {"cohort": "ml"}, user_id=everyone)
    await world.slash("cohort", "grant", {"member": f"<@{everyone}>"}, permissions=MANAGE_GUILD)
    granted = callback_bodies(world.fake)[-1]
    assert granted["content"].startswith("🛡️ \\@everyone is now a moderator")  # shown as "@everyone"
    assert not granted.get("flags", 0) & EPHEMERAL and granted["allowed_mentions"] == NO_PINGS


async def test_the_daily_post_and_the_edit_that_closes_it_ping_no_one(world: World) -> None:
    await make_daily_cohort(world)
    world.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC))
    await world.sweep()
    [post] = requests(world.fake, "POST", f"/channels/{CHANNEL_ID}/messages")
    assert post.json["allowed_mentions"] == NO_PINGS
    world.clock.set(dt.datetime(2026, 11, 25, 9, 1, tzinfo=dt.UTC))
    await world.sweep()
    [edit] = requests(world.fake, "PATCH", rf"/channels/{CHANNEL_ID}/messages/\d+")
    assert edit.json["embeds"][0]["title"].startswith("Closed") and edit.json["allowed_mentions"] == NO_PINGS


async def test_a_direct_message_pings_no_one(world: World) -> None:
    await make_daily_cohort(world)
    world.fake.fail_next("POST", f"/channels/{CHANNEL_ID}/messages", status=403)
    world.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC))
    await world.sweep()  # studybot may not post: it tells the moderator in a direct message
    [dm] = requests(world.fake, "POST", f"/channels/{world.fake.dm_channel_id(USER_ID)}/messages")
    assert "could not post" in dm.json["content"] and dm.json["allowed_mentions"] == NO_PINGS
    await world.platform.send_direct(str(USER_ID), Reply(text=verbatim("@everyone")))
    last = requests(world.fake, "POST", f"/channels/{world.fake.dm_channel_id(USER_ID)}/messages")[-1]
    assert last.json["content"] == "\\@everyone" and last.json["allowed_mentions"] == NO_PINGS


async def test_a_slow_reply_is_followed_up_without_pings(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("adapters.discord.commands.RESPOND_WITHIN", 0.0)  # everything counts as slow
    world.shown.append(Reply(text="🛡️ " + verbatim("@here <@&1> ") + "is now a moderator."))
    interaction = await world.fake.slash("study", "show", {})
    assert (await world.fake.wait_for_callback(interaction))["type"] == 5  # "thinking…"
    await world.fake.wait_for_followup(interaction)
    [followup] = requests(world.fake, "POST", r"/webhooks/\d+/[^/]+")
    assert followup.json["content"] == "🛡️ \\@here \\<@&1> is now a moderator."
    assert followup.json["allowed_mentions"] == NO_PINGS


async def test_the_client_pings_no_one_even_when_its_caller_asks(catalog: Catalog) -> None:
    core = make_core(None, catalog, FakeClock(dt.datetime(2026, 11, 24, tzinfo=dt.UTC)))  # type: ignore[arg-type]
    client, _ = build_client(core, allowed_mentions=discord.AllowedMentions.all())
    assert client.allowed_mentions is not None and dict(client.allowed_mentions.to_dict()) == NO_PINGS


# ---- 2. Markdown, masked links and mentions in member and pack text are shown as typed ----


async def test_member_text_in_a_reply_is_shown_as_typed_and_the_cores_markdown_still_works(
    world: World,
) -> None:
    reply = Reply(
        text="**Leaderboard** for `ml`: " + verbatim(HOSTILE),
        cards=(
            Card(
                title="🏆 " + verbatim("[Claim Nitro](https://evil.example/x)"),
                body="1. **" + verbatim("*Ada*") + "**: 3 days\n" + verbatim("# not a heading"),
                fields=(Field(verbatim("<@&1>"), "`" + verbatim("a`b_c") + "` · **5** points"),),
                footer="Week of " + verbatim("**Mallory**"),
            ),
        ),
        buttons=(Button(verbatim("**A** [x](https://evil.example)"), "show"),),
    )
    body = await world.show(reply)
    assert body["content"] == "**Leaderboard** for `ml`: " + HOSTILE_ESCAPED
    assert shown_as(HOSTILE_ESCAPED) == HOSTILE  # the member reads exactly what was typed
    [embed] = body["embeds"]
    assert embed["title"] == "🏆 \\[Claim Nitro\\](https\\://evil.example/x)"
    assert embed["description"] == "1. **\\*Ada\\***: 3 days\n\\# not a heading"
    # Inside the core's `code` a backslash would show, so only the backtick that would end it is replaced.
    assert embed["fields"] == [{"name": "\\<@&1>", "value": "`aˋb_c` · **5** points", "inline": False}]
    # Footers and button labels are plain text on Discord: shown as typed, so nothing is escaped there.
    assert embed["footer"]["text"] == "Week of **Mallory**"
    [row] = body["components"]
    assert row["components"][0]["label"] == "**A** [x](https://evil.example)"
    assert "\ue000" not in str(body) and "\ue001" not in str(body)  # no marker reaches Discord
    assert body["allowed_mentions"] == NO_PINGS


async def test_a_display_name_with_a_masked_link_is_not_a_link_on_the_leaderboard(world: World) -> None:
    nitro = world.fake.add_user("mallory", display_name="[Claim Nitro](https://evil.example/x)")
    await make_daily_cohort(world)
    await world.slash("study", "join", {"cohort": "ml"}, user_id=nitro)
    await world.slash("study", "done", {"note": "read"}, user_id=nitro)
    await world.slash("study", "leaderboard", user_id=nitro)
    [embed] = callback_bodies(world.fake)[-1]["embeds"]
    shown = embed["description"]
    assert "\\[Claim Nitro\\](https\\://evil.example/x)" in shown
    assert re.search(r"(?<!\\)\[[^\]]*\]\(", shown) is None  # no live masked link left


async def test_a_pack_question_with_a_masked_link_is_not_a_link_in_the_daily_post(world: World) -> None:
    question = "Which is right? [see the docs](https://evil.example/phish) or <https://evil.example/2>"
    post = Reply(cards=(Card("📅 Today's challenge", "**Question:** " + verbatim(question)),))
    await world.platform.send(POST_CHANNEL, post, key="studybot-post-test")
    [sent] = requests(world.fake, "POST", f"/channels/{CHANNEL_ID}/messages")
    description = sent.json["embeds"][0]["description"]
    assert description == (
        "**Question:** Which is right? \\[see the docs\\](https\\://evil.example/phish) "
        "or \\<https\\://evil.example/2>"
    )
    assert sent.json["allowed_mentions"] == NO_PINGS


@pytest.mark.parametrize(
    "hostile",
    [
        HOSTILE,
        "[a] [Claim Nitro](https://evil.example/x)",  # escape_markdown alone leaves the second one live
        "# Heading\n-# subtext\n> quote\n>>> block\n- item\n* item\n1. item",
        "<t:1700000000:R> <:emoji:123> </study today:1> <@!1150000000000000300>",
        "@EVERYONE @Here everyone@here",
        "```py\nprint()\n```",
    ],
)
def test_no_member_text_can_format_link_or_mention(hostile: str) -> None:
    content = render(Reply(text=verbatim(hostile))).content
    assert shown_as(content) == hostile
    unescaped = re.compile(r"(?<!\\)(?:\\\\)*(?:[\[\]<*_~|`]|://|@everyone|@here)", re.IGNORECASE)
    assert unescaped.search(content) is None, content
    for line in content.split("\n"):
        assert not re.match(r"\s*(?:[#>+-]|\d+\.)", line), line  # no heading, quote or list


def test_escapes_count_against_discords_limits() -> None:
    stars = "*" * 3000  # 6,000 characters once escaped
    reply = Reply(
        text=verbatim(stars), cards=(Card(verbatim(stars), verbatim(stars), (Field("f", verbatim(stars)),)),)
    )
    message = render(reply)
    assert len(message.content) <= CONTENT_MAX and message.content.startswith("\\*\\*")
    [embed] = message.embeds
    assert embed.title is not None and len(embed.title) <= 256 and len(embed) <= EMBED_TOTAL_MAX
    assert all(len(f.value or "") <= 1024 for f in embed.fields)


def test_the_escape_is_the_one_the_renderer_uses() -> None:
    assert render(Reply(text=verbatim(HOSTILE))).content == discord_escape(HOSTILE) == HOSTILE_ESCAPED


# ---- 3. A button payload too long for Discord never reaches it, and the member is answered ----


async def test_a_button_too_long_for_a_custom_id_is_left_out_and_the_command_is_answered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    long_id = "q" * 150  # a community pack's quiz id
    reply = Reply(
        text="🔁 Review: " + verbatim("What is a tensor?"),
        buttons=(Button("A", "review", (long_id, "A")), Button("Done", "done")),
    )
    with caplog.at_level(logging.WARNING, logger="adapters.discord.render"):
        body = await world.show(reply)
    custom_ids = [c["custom_id"] for row in body["components"] for c in row["components"]]
    assert custom_ids == ["study\x1fdone"] and all(len(c) <= CUSTOM_ID_MAX for c in custom_ids)
    assert body["content"].startswith("🔁 Review: What is a tensor?")
    assert "1 button left out" in body["content"]
    assert any("left out button 'A'" in r.getMessage() for r in caplog.records)


# ---- 4. A Reply part Discord cannot show raises in render, and the interaction is still answered ----


async def test_a_reply_discord_cannot_hold_raises_and_the_member_is_still_answered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    too_many = Reply(buttons=tuple(Button(str(i), "done", (str(i),)) for i in range(26)))
    with pytest.raises(ValueError, match="at most 25 buttons"):
        render(too_many)
    with caplog.at_level(logging.ERROR, logger="adapters.discord.commands"):
        body = await world.show(too_many)
    assert body["content"] == UNRENDERABLE and body["flags"] & EPHEMERAL
    assert body["allowed_mentions"] == NO_PINGS
    # exc_text, not exc_info, when an earlier test's secret redaction (which renders the traceback) is on.
    assert any(r.levelno == logging.ERROR and (r.exc_info or r.exc_text) for r in caplog.records)
