"""`serve` starts the platforms and the scheduler and, when one of them fails to start, shuts down what had
started (the failing platform's connections included) before the error goes on; `studybot run` then says
what was refused."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.catalog.model import Catalog
from bot.composition.app import make_core, serve
from bot.kernel.clock import FakeClock
from storage.sql_store import SqlStore
from tests.fakes.loadgen import BotProcess, free_port
from tests.fakes.platform import RecordingPlatform
from tests.fakes.slack import FakeSlack


@dataclass
class Tracked(RecordingPlatform):
    events: list[str] = field(default_factory=list)
    refuse: bool = False

    async def start(self) -> None:
        self.events.append(f"{self.name} start")
        if self.refuse:
            raise RuntimeError(f"{self.name} refused the token")

    async def close(self) -> None:
        self.events.append(f"{self.name} close")


async def test_a_platform_failing_to_start_closes_what_started_and_the_database(
    sqlite_store: SqlStore, catalog: Catalog, clock: FakeClock
) -> None:
    core = make_core(sqlite_store, catalog, clock)
    events: list[str] = []
    first = Tracked("discord", events=events)
    second = Tracked("slack", events=events, refuse=True)

    with pytest.raises(RuntimeError, match="slack refused the token"):
        await serve(core, {"discord": first, "slack": second}, asyncio.Event())

    assert events == ["discord start", "slack start", "slack close", "discord close"]
    with pytest.raises(RuntimeError, match="the database is closed"):
        await sqlite_store.list_cohorts()


async def test_a_clean_stop_closes_every_platform_once(
    sqlite_store: SqlStore, catalog: Catalog, clock: FakeClock
) -> None:
    core = make_core(sqlite_store, catalog, clock)
    events: list[str] = []
    stop = asyncio.Event()
    stop.set()  # asked to stop as soon as it has started
    platforms = {"discord": Tracked("discord", events=events), "slack": Tracked("slack", events=events)}
    await serve(core, platforms, stop)
    assert events == ["discord start", "slack start", "slack close", "discord close"]


async def test_studybot_run_with_a_refused_slack_token_exits_and_says_which(tmp_path: Path) -> None:
    """The real command against the fake Slack: a refused bot token ends `studybot run` at once with exit
    code 2 and one line naming the setting, not a traceback or a process that keeps trying."""
    async with FakeSlack() as fake:
        fake.fail_next("auth.test", error="invalid_auth")
        bot = BotProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'studybot.db'}", fake)
        proc = await bot.spawn(free_port(), asyncio.subprocess.PIPE, asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, (out, err)
    assert (
        err.decode()
        .strip()
        .endswith(
            "studybot run: Slack refused SLACK_BOT_TOKEN (invalid_auth): use the app's Bot User OAuth Token "
            "(xoxb-...) from its OAuth & Permissions page."
        )
    ), err
    assert b"Traceback" not in out + err
