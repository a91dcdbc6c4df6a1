"""studybot's Discord adapter end to end: the real discord.py and the real core, against the fake Discord."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from prometheus_client import generate_latest

from adapters.discord.client import DiscordPlatform, build_client
from adapters.ops.server import Ops
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from storage.sql_store import SqlStore
from tests.adapters.test_ops import sample
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.server import CHANNEL_ID, DEFAULT_TOKEN, GUILD_ID, USER_ID

MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)
EPHEMERAL = 64
SNAPSHOT = Path(__file__).with_name("commands.snapshot.json")


class Setup:
    def __init__(self, fake: FakeDiscord, core: Core, client: discord.Client, clock: FakeClock) -> None:
        self.fake, self.core, self.client, self.clock = fake, core, client, clock
        self.platform = DiscordPlatform(client, DEFAULT_TOKEN)
        self.member = fake.add_user("ada", display_name="Ada")

    async def slash(
        self, group: str, sub: str, options: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        interaction = await self.fake.slash(group, sub, options or {}, **kw)
        return await self.fake.wait_for_callback(interaction)  # type: ignore[no-any-return]

    async def sweep(self) -> None:
        await Poster(self.core, {"discord": self.platform}).sweep()

    async def daily_cohort(self, start: str) -> None:
        """A moderator's cohort `ml` in #general, posting daily at 09:00 UTC from `start`."""
        options = {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily", "start": start}
        created = await self.slash("cohort", "create", options, permissions=MANAGE_GUILD)
        assert "Cohort ml created" in text(message_of(created))


@pytest.fixture
async def setup(sqlite_store: SqlStore, catalog: Catalog) -> AsyncIterator[Setup]:
    store = sqlite_store
    clock = FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC))
    core = make_core(store, catalog, clock)
    async with FakeDiscord() as fake:
        client, _ = build_client(core, guild_ready_timeout=0.05)
        await fake.start_client(client)
        try:
            yield Setup(fake, core, client, clock)
        finally:
            await fake.stop_client(client)


def message_of(callback: dict[str, Any]) -> dict[str, Any]:
    return callback["data"]  # type: ignore[no-any-return]


def text(message: dict[str, Any]) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        parts.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(parts)


async def test_the_synced_commands_are_the_registry(setup: Setup) -> None:
    synced = setup.fake.synced_commands()
    assert synced is not None
    expected = json.loads(SNAPSHOT.read_text())
    assert [c["name"] for c in synced] == [c["name"] for c in expected] == ["study", "cohort"]
    for got, want in zip(synced, expected, strict=True):
        assert [o["name"] for o in got["options"]] == [o["name"] for o in want["options"]]
        assert got["default_member_permissions"] == want["default_member_permissions"]


async def test_a_moderator_runs_a_cohort_and_a_member_answers_the_daily_quiz(setup: Setup) -> None:
    created = await setup.slash(
        "cohort",
        "create",
        {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily"},
        permissions=MANAGE_GUILD,
    )
    assert created["type"] == 4 and "🎓 Cohort ml created" in text(message_of(created))
    joined = await setup.slash("study", "join", {"cohort": "ml"}, user_id=setup.member)
    assert message_of(joined)["flags"] & EPHEMERAL and "Welcome to `ml`" in text(message_of(joined))

    for _ in range(30):  # to the first quiz day, at 09:00
        setup.clock.set(setup.clock.now().replace(hour=9, minute=1))
        await setup.sweep()
        posts = setup.fake.channel_messages(CHANNEL_ID)
        if posts and posts[-1]["components"] and "answer" in json.dumps(posts[-1]["components"]):
            break
        setup.clock.set(setup.clock.now() + dt.timedelta(days=1))
    post = posts[-1]
    buttons = [c for row in post["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == ["A", "B", "C", "D"]
    assert post["nonce"].startswith("studybot-post-")
    clicked = await setup.fake.click(int(post["id"]), buttons[0]["custom_id"], user_id=setup.member)
    answer = await setup.fake.wait_for_callback(clicked)
    shown = text(message_of(answer))
    assert message_of(answer)["flags"] & EPHEMERAL and ("Correct" in shown or "Not quite" in shown)
    again = await setup.fake.wait_for_callback(
        await setup.fake.click(int(post["id"]), buttons[1]["custom_id"], user_id=setup.member)
    )
    assert "the first answer counts" in text(message_of(again))


async def test_a_member_without_manage_server_is_refused(setup: Setup) -> None:
    refused = await setup.slash("cohort", "create", {"name": "sneaky"}, user_id=setup.member, permissions="0")
    assert message_of(refused)["flags"] & EPHEMERAL and "is for moderators" in text(message_of(refused))
    assert await setup.core.store.list_cohorts() == []


async def test_autocomplete_suggests_this_servers_cohorts(setup: Setup) -> None:
    await setup.slash("cohort", "create", {"name": "ml-2026"}, permissions=MANAGE_GUILD)
    interaction = await setup.fake.autocomplete("study", "join", {"cohort": "ml"}, focused="cohort")
    callback = await setup.fake.wait_for_callback(interaction)
    assert callback["type"] == 8 and [c["value"] for c in callback["data"]["choices"]] == ["ml-2026"]


async def test_resources_autocomplete_offers_searches_from_the_core(setup: Setup) -> None:
    async def choices(typed: str) -> dict[str, Any]:
        interaction = await setup.fake.autocomplete("study", "resources", {"query": typed}, focused="query")
        return await setup.fake.wait_for_callback(interaction)

    # A half-typed phrase completes to the roadmap topic; filters typed so far stay on.
    k_means = {"name": "k-means clustering", "value": "k-means clustering"}
    assert await choices("k me") == {"type": 8, "data": {"choices": [k_means]}}
    docs = await choices("pandas kind:docs")
    values = [c["value"] for c in docs["data"]["choices"]]
    assert values[0] == "pandas kind:docs" and "pandas user guide kind:docs" in values
    assert all(v.endswith(" kind:docs") and "pandas" in v.lower() for v in values)
    pandas_docs = {
        r.title
        for r in setup.core.catalog.resources.values()
        if r.kind == "docs" and "pandas" in r.title.lower()
    }
    assert {v.removesuffix(" kind:docs") for v in values[1:]} <= pandas_docs
    # A typo finds what the search finds; an empty box offers the roadmap's topics, 25 at most.
    typo = await choices("transfomers")
    assert typo["data"]["choices"][0] == {
        "name": "Hugging Face Transformers documentation",
        "value": "Hugging Face Transformers documentation",
    }
    assert len((await choices(""))["data"]["choices"]) == 25

    picked = await setup.slash("study", "resources", {"query": typo["data"]["choices"][0]["value"]})
    assert message_of(picked)["embeds"][0]["title"] == "Hugging Face Transformers documentation"


async def test_streak_comes_with_its_heatmap_attached(setup: Setup) -> None:
    await setup.slash("cohort", "create", {"name": "ml"}, permissions=MANAGE_GUILD)
    await setup.slash("study", "join", {"cohort": "ml"}, user_id=setup.member)
    await setup.slash("study", "done", {"note": "read a paper"}, user_id=setup.member)
    streak = await setup.slash("study", "streak", user_id=setup.member)
    request = next(r for r in reversed(setup.fake.requests) if r.path.endswith("/callback"))
    assert any(name.startswith("streak-") and name.endswith(".png") for name in request.files)
    assert "Ada: 1 day" in text(message_of(streak))


async def test_a_rate_limited_post_is_retried_and_a_forbidden_one_is_reported(setup: Setup) -> None:
    await setup.slash(
        "cohort",
        "create",
        {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily"},
        permissions=MANAGE_GUILD,
    )
    path = f"/channels/{CHANNEL_ID}/messages"
    setup.core.telemetry = ops = Ops(setup.core, {})
    setup.fake.fail_next("POST", path, status=429, retry_after=0.1)
    setup.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC))
    await setup.sweep()
    assert len(setup.fake.channel_messages(CHANNEL_ID)) == 1  # waited out, posted once
    metrics = generate_latest(ops.registry).decode()
    assert sample(metrics, "studybot_platform_rate_limits_total", platform="discord") == 1.0
    assert sample(metrics, "studybot_platform_rate_limit_wait_seconds_total", platform="discord") == 0.1
    setup.fake.fail_next("POST", path, status=403)
    setup.clock.set(dt.datetime(2026, 11, 25, 9, 1, tzinfo=dt.UTC))
    await setup.sweep()
    assert len(setup.fake.channel_messages(CHANNEL_ID)) == 1
    [dm] = setup.fake.direct_messages(USER_ID)
    assert "could not post today's challenge of cohort `ml`" in dm["content"]


async def test_the_next_post_closes_yesterdays_message(setup: Setup) -> None:
    await setup.slash(
        "cohort",
        "create",
        {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily"},
        permissions=MANAGE_GUILD,
    )
    setup.clock.set(dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC))
    await setup.sweep()
    [first] = setup.fake.channel_messages(CHANNEL_ID)
    setup.clock.set(dt.datetime(2026, 11, 25, 9, 1, tzinfo=dt.UTC))
    await setup.sweep()
    edited = setup.fake.message(int(first["id"]))
    assert edited["embeds"][0]["title"] == "Closed: Tue 24 Nov" and edited["components"] == []


async def test_help_on_discord_names_the_cohort_command_as_discord_shows_it(setup: Setup) -> None:
    shown = text(message_of(await setup.slash("study", "help", {"command": "cohort create"})))
    assert "/cohort create <name>" in shown and "/study cohort" not in shown


async def test_commands_sync_to_one_server_for_development(sqlite_store: SqlStore, catalog: Catalog) -> None:
    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, tzinfo=dt.UTC)))
    async with FakeDiscord() as fake:
        client, _ = build_client(core, guild_id=GUILD_ID, guild_ready_timeout=0.05)
        await fake.start_client(client)
        try:
            synced = fake.synced_commands(guild_id=GUILD_ID)
            assert synced is not None and [c["name"] for c in synced] == ["study", "cohort"]
            reply = await fake.wait_for_callback(await fake.slash("study", "roadmap", {}))
            assert "ML-engineer roadmap" in text(reply["data"])
        finally:
            await fake.stop_client(client)


async def test_slow_work_is_deferred_and_followed_up(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.discord.commands.RESPOND_WITHIN", 0.0)  # everything counts as slow here
    interaction = await setup.fake.slash("study", "roadmap", {})
    callback = await setup.fake.wait_for_callback(interaction)
    assert callback["type"] == 5  # "thinking…", within Discord's 3 seconds
    answer = await setup.fake.wait_for_followup(interaction)
    assert "ML-engineer roadmap" in text(answer)  # the answer replaces the "thinking…" message


def test_the_factory_points_rest_at_a_proxy_and_can_shard(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after the test
    core = make_core(None, catalog, FakeClock(dt.datetime(2026, 11, 24, tzinfo=dt.UTC)))  # type: ignore[arg-type]
    client, _ = build_client(core, api_base="http://ratelimit-proxy.internal:8080/api/v10/", sharded=True)
    assert discord.http.Route.BASE == "http://ratelimit-proxy.internal:8080/api/v10"
    assert isinstance(client, discord.AutoShardedClient)
    assert not client.intents.message_content and not client.intents.members  # no privileged intents


def test_an_instance_can_be_one_shard_of_several(catalog: Catalog) -> None:
    core = make_core(None, catalog, FakeClock(dt.datetime(2026, 11, 24, tzinfo=dt.UTC)))  # type: ignore[arg-type]
    client, _ = build_client(core, shard=(1, 3))
    assert (client.shard_id, client.shard_count) == (1, 3)
    with pytest.raises(ValueError, match="DISCORD_SHARD_ID must be from 0 to 2"):
        build_client(core, shard=(3, 3))
