"""The operations server as outages and hostile callers meet it: failures counted as failures (a core that
raises, an undelivered or failed post, a moderator's post), readiness that names a broken or hanging check
and does not let a flood of requests load the database, a port of 0 refused, JSON log lines that stay one
line, and a scrape example that finds every instance."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest
from pydantic import ValidationError

from adapters.discord.client import DiscordPlatform
from adapters.ops.server import Ops
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.composition.logsafe import configure_logging
from bot.composition.settings import Settings
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from bot.kernel.ports import Undeliverable
from bot.kernel.types import ConversationRef, Reply, UserRef
from storage.sql_store import SqlStore
from tests.adapters.test_ops import generate, get, sample
from tests.conftest import START
from tests.fakes.platform import RecordingPlatform

ADMIN = UserRef("console", "mia", "Mia", is_admin=True)
MEMBER = UserRef("console", "ada", "Ada")
WHERE = ConversationRef("console", "ws1", "general")


class Refusing(RecordingPlatform):
    """A platform that refuses the cohort's channel (deleted, or studybot lost its right to post)."""

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        raise Undeliverable("Missing Access: the channel is gone")


class Down(RecordingPlatform):
    """A platform whose API is down: every send fails."""

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        raise ConnectionError("the platform is down")


async def _cohort(core: Any) -> None:
    created = await core.dispatch(
        core.invocation("cohort create ml time=09:00 tz=UTC days=daily", ADMIN, WHERE)
    )
    assert not created.error, created.text


async def _watched(store: SqlStore, catalog: Catalog) -> tuple[FakeClock, Core, Ops]:
    """A core with its telemetry on an Ops, and a daily cohort `ml` at 09:00 UTC, on Monday 08:00."""
    clock = FakeClock(START)
    core = make_core(store, catalog, clock)
    ops = Ops(core, {})
    core.telemetry = ops
    await _cohort(core)
    return clock, core, ops


# ---- metrics that lie or stay still ----


async def test_a_command_that_raises_out_of_the_core_is_counted_as_failed(
    sqlite_store: SqlStore, catalog: Catalog
) -> None:
    """The moderator check runs outside _dispatch's try: a database outage there escapes dispatch() and
    the command is not counted at all (no `failed`, no latency)."""
    core = make_core(sqlite_store, catalog, FakeClock(START))
    ops = Ops(core, {})
    core.telemetry = ops

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    core.store.is_moderator = broken  # type: ignore[method-assign]
    try:
        await core.dispatch(core.invocation("cohort create ml", MEMBER, WHERE))
    except ConnectionError:
        pass  # escaping or answered with the internal error: either way it is counted
    metrics = generate(ops)
    assert sample(metrics, "studybot_commands_total", command="cohort create", outcome="failed") == 1.0


async def test_an_undelivered_daily_post_is_not_counted_as_sent(
    sqlite_store: SqlStore, catalog: Catalog
) -> None:
    clock, core, ops = await _watched(sqlite_store, catalog)
    poster = Poster(core, {"console": Refusing()})
    clock.set(START.replace(hour=9, minute=1))
    report = await poster.sweep()
    assert report.posted and report.posted[0].message_id == "undelivered"
    metrics = generate(ops)
    assert sample(metrics, "studybot_posts_total", result="sent") is None  # nobody saw it
    assert sample(metrics, "studybot_posts_total", result="undelivered") == 1.0


async def test_a_failed_resend_is_counted_as_failed(sqlite_store: SqlStore, catalog: Catalog) -> None:
    clock, core, ops = await _watched(sqlite_store, catalog)
    poster = Poster(core, {"console": Down()})
    clock.set(START.replace(hour=9, minute=1))
    first = await poster.sweep()  # the claim is made, its send fails: counted
    clock.set(START.replace(hour=9, minute=5))
    second = await poster.sweep()  # the stale claim is re-sent and fails again: counted too
    assert len(first.failed) == 1 and len(second.failed) == 1
    assert sample(generate(ops), "studybot_posts_total", result="failed") == 2.0


async def test_a_cohort_post_that_fails_on_our_side_is_failed_not_refused(
    sqlite_store: SqlStore, catalog: Catalog
) -> None:
    clock, core, ops = await _watched(sqlite_store, catalog)
    Poster(core, {"console": Down()})
    clock.set(START.replace(hour=9, minute=1))
    reply = await core.dispatch(core.invocation("cohort post ml", ADMIN, WHERE))
    assert reply.error and "the error is logged" in reply.text
    metrics = generate(ops)
    assert sample(metrics, "studybot_commands_total", command="cohort post", outcome="refused") is None
    assert sample(metrics, "studybot_commands_total", command="cohort post", outcome="failed") == 1.0


async def test_a_moderators_cohort_post_is_counted_in_posts(sqlite_store: SqlStore, catalog: Catalog) -> None:
    clock, core, ops = await _watched(sqlite_store, catalog)
    platform = RecordingPlatform()
    Poster(core, {"console": platform})
    clock.set(START.replace(hour=9, minute=1))
    reply = await core.dispatch(core.invocation("cohort post ml", ADMIN, WHERE))
    assert not reply.error and platform.sent  # the day's challenge went out
    assert sample(generate(ops), "studybot_posts_total", result="sent") == 1.0


# ---- readiness ----


async def test_discord_is_not_ready_while_its_gateway_is_down() -> None:
    """discord.py sets its ready event once and clears it only on close(): while it reconnects after a
    dropped gateway, is_ready() stays True and /readyz says "connected"."""
    client = discord.Client(intents=discord.Intents.none())
    client._ready = asyncio.Event()
    client._ready.set()  # READY was received once
    client.ws = SimpleNamespace(open=False)  # type: ignore[assignment]  # then the gateway dropped
    assert not await DiscordPlatform(client, "token").connected()


class Broken(RecordingPlatform):
    async def connected(self) -> bool:
        raise RuntimeError("the connection object is gone")


async def test_readiness_answers_503_naming_a_platform_whose_check_raises(
    sqlite_store: SqlStore, catalog: Catalog
) -> None:
    core = make_core(sqlite_store, catalog, FakeClock(START))
    ops = Ops(core, {"slack": Broken()})
    port = await ops.start(0, host="127.0.0.1")
    try:
        async with aiohttp.ClientSession() as http:
            status, body = await get(http, f"http://127.0.0.1:{port}/readyz")
        assert status == 503, body
        assert json.loads(body)["platforms"]["slack"] != "connected"
    finally:
        await ops.close()


async def test_a_flood_of_readiness_checks_does_not_flood_the_database(
    sqlite_store: SqlStore, catalog: Catalog
) -> None:
    """/readyz is unauthenticated on every interface; each request runs its own query on the pool that
    members' commands use."""
    core = make_core(sqlite_store, catalog, FakeClock(START))
    ops = Ops(core, {})
    running = most = 0
    real = sqlite_store.ping

    async def slow_ping() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.3)
            await real()
        finally:
            running -= 1

    sqlite_store.ping = slow_ping  # type: ignore[method-assign]
    port = await ops.start(0, host="127.0.0.1")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            answers = await asyncio.gather(*(get(http, f"http://127.0.0.1:{port}/readyz") for _ in range(50)))
        assert all(status == 200 for status, _ in answers)
        assert most <= 2, f"{most} database pings ran at once"
    finally:
        await ops.close()


# ---- settings ----


def test_http_port_zero_is_refused() -> None:
    """STUDYBOT_HTTP_PORT=0 starts the server on a random port that is printed nowhere: compose's
    healthcheck then asks port 0 and Prometheus cannot find it."""
    with pytest.raises(ValidationError):
        Settings(_env_file=None, http_port=0)  # type: ignore[call-arg]


# ---- JSON logs ----


def test_a_json_log_record_is_one_line_for_any_line_splitter() -> None:
    """ensure_ascii=False leaves U+2028, U+2029 and U+0085 raw: str.splitlines() (and test_ops.py's own
    check) cut the JSON object there."""
    settings = Settings(_env_file=None, log_format="json")  # type: ignore[call-arg]
    stream = io.StringIO()
    handler = configure_logging(settings, stream)
    try:
        logging.getLogger("abuse").warning("member wrote %s", "a\u2028b\u2029c\x85d")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert json.loads(lines[0])["message"] == "member wrote a\u2028b\u2029c\x85d"


# ---- README ----


def test_the_scrape_example_finds_every_instance_of_a_scaled_service() -> None:
    """The README suggests `--scale studybot=2`, then scrapes the one static target `studybot:9100`: Docker's
    DNS answers one replica, so only one instance is scraped and "studybot_scheduler_leader summing to 0
    across instances" fires whenever that one is the standby."""
    from tests.fakes.loadgen import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "--scale studybot=2" in readme
    operations = readme.split("## Operations", 1)[1].split("\n## ", 1)[0]
    scrape = operations.split("```yaml", 1)[1].split("```", 1)[0]
    assert "dns_sd_configs" in scrape, scrape


@pytest.mark.parametrize("header", ["1e999", "-5", "inf", "nan", "soon", "86400000"])
async def test_a_429s_odd_wait_header_is_counted_without_breaking_the_wait_total(
    sqlite_store: SqlStore, catalog: Catalog, header: str
) -> None:
    """A 429 is counted whatever its headers say; its wait adds only a finite, capped number of seconds (a
    counter that became +Inf would stay so for the life of the process)."""
    from adapters.discord.client import MAX_WAIT, rate_limit_trace

    core = make_core(sqlite_store, catalog, FakeClock(START))
    core.telemetry = ops = Ops(core, {})
    [ended] = rate_limit_trace(core).on_request_end
    response = SimpleNamespace(status=429, headers={"X-RateLimit-Reset-After": header})
    await ended(None, None, SimpleNamespace(response=response))
    metrics = generate(ops)
    assert sample(metrics, "studybot_platform_rate_limits_total", platform="discord") == 1.0
    waited = sample(metrics, "studybot_platform_rate_limit_wait_seconds_total", platform="discord") or 0.0
    assert 0.0 <= waited <= MAX_WAIT
