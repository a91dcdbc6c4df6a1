"""One learner on Discord and Slack, end to end: the real discord.py and slack-bolt code paths against the
fake Discord and the fake Slack, one core and one store (SQLite and PostgreSQL) in one process."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import pytest

from adapters.discord.client import build_client
from adapters.slack.app import build_app, make_client
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from storage.sql_store import SqlStore
from tests.adapters.discord.test_discord_adapter import text as discord_text
from tests.adapters.slack.test_slack_adapter import shown as slack_text
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import USER_ID, FakeSlack

MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)
EPHEMERAL = 64
SLACK_ADA = "U0ADA"
DISCORD_ADA = 4242424242424242
CODE = re.compile(r"/study link ([A-Z2-9]{4}-[A-Z2-9]{4})")


class Both:
    """The two platforms' fakes, serving one core."""

    def __init__(self, discord_fake: FakeDiscord, slack_fake: FakeSlack, slack_url: str, core: Core) -> None:
        self.discord, self.slack, self.slack_url, self.core = discord_fake, slack_fake, slack_url, core
        self.discord_ada = discord_fake.add_user("ada", user_id=DISCORD_ADA, display_name="Ada")

    async def on_discord(self, sub: str, options: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        kw.setdefault("user_id", self.discord_ada)
        interaction = await self.discord.slash("study", sub, options or {}, **kw)
        callback = await self.discord.wait_for_callback(interaction)
        return callback["data"]  # type: ignore[no-any-return]

    async def on_slack(self, text: str, user: str = SLACK_ADA) -> dict[str, Any]:
        status, _, url = await self.slack.send_slash_command(self.slack_url, "/study", text, user_id=user)
        assert status == 200
        return await self.slack.wait_for_response(url)  # type: ignore[no-any-return]


@asynccontextmanager
async def both(store: SqlStore, catalog: Catalog, clock: FakeClock) -> AsyncIterator[Both]:
    """Both adapters started on `store`: entering again on the same store is a restart of the process."""
    core = make_core(store, catalog, clock)
    async with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        client, _ = build_client(core, guild_ready_timeout=0.05)
        await discord_fake.start_client(client)
        slack_fake.set_user(USER_ID, is_admin=True, name="mia")
        slack_fake.set_user(SLACK_ADA, name="ada")
        slack_client = make_client("xoxb-fake", slack_fake.api_url)
        app = build_app(core, slack_client, signing_secret=slack_fake.signing_secret)
        try:
            yield Both(discord_fake, slack_fake, await slack_fake.serve_app(app), core)
        finally:
            await discord_fake.stop_client(client)
            await slack_client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))  # a Monday


async def test_a_learner_links_discord_and_slack_and_both_count_each_day(
    store: SqlStore, catalog: Catalog, clock: FakeClock
) -> None:
    async with both(store, catalog, clock) as b:
        interaction = await b.discord.slash(
            "cohort",
            "create",
            {"name": "ml", "time": "09:00", "tz": "UTC", "days": "daily"},
            permissions=MANAGE_GUILD,
        )
        assert "Cohort ml created" in discord_text((await b.discord.wait_for_callback(interaction))["data"])
        assert "Cohort ml created" in slack_text(
            await b.on_slack("cohort create ml time=09:00 tz=UTC days=daily", user=USER_ID)
        )
        assert "Welcome to `ml`" in discord_text(await b.on_discord("join", {"cohort": "ml"}))
        assert "Welcome to `ml`" in slack_text(await b.on_slack("join ml"))

        # Monday on Discord, Tuesday on Slack: before linking, two streaks of one day each.
        assert "Checked in" in discord_text(await b.on_discord("done"))
        clock.set(clock.now() + dt.timedelta(days=1))
        assert "Checked in" in slack_text(await b.on_slack("done"))

        given = await b.on_discord("link")
        assert given["flags"] & EPHEMERAL  # the code is for Ada's eyes only
        found = CODE.search(discord_text(given))
        assert found, discord_text(given)
        code = found.group(1)

        linked = await b.on_slack(f"link {code}")
        assert linked["response_type"] == "ephemeral"
        assert "Accounts linked" in slack_text(linked) and "Discord (Ada)" in slack_text(linked)

        streak = discord_text(await b.on_discord("streak"))
        assert "Ada: 2 days" in streak, streak  # Monday here, Tuesday on Slack

    # A restart: the code is used up for good, and the link holds.
    async with both(store, catalog, clock) as b:
        again = await b.on_slack(f"link {code}", user=USER_ID)
        assert "not valid" in slack_text(again)
        clock.set(clock.now() + dt.timedelta(days=1))
        assert "Checked in" in discord_text(await b.on_discord("done"))  # Wednesday, on Discord
        streak = slack_text(await b.on_slack("streak"))
        assert "3 days" in streak, streak

        undone = await b.on_slack("unlink")
        assert "Unlinked from Discord (Ada)" in slack_text(undone)
        clock.set(clock.now() + dt.timedelta(days=1))
        assert "Checked in" in discord_text(await b.on_discord("done"))  # Thursday: Discord's alone
        # Discord keeps Wednesday and Thursday (its own) and Monday; Tuesday on Slack was copied at the link
        # and went back with the unlink.
        assert "Ada: 2 days" in discord_text(await b.on_discord("streak"))
        # Wednesday, shared while linked, still counts on Slack (with its own Tuesday); Monday, copied from
        # Discord's history at the link, went back with the unlink; Thursday on Discord is not Slack's.
        streak = slack_text(await b.on_slack("streak"))
        assert "ada: 2 days" in streak and "at risk" in streak, streak
