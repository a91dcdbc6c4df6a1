"""Operations over HTTP: /healthz, /readyz and /metrics of a real `studybot run` (Slack HTTP mode against the
fake Slack, JSON logs), and readiness that says which part is not ready."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp

from adapters.ops.server import Ops
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.kernel.clock import FakeClock
from bot.kernel.types import ConversationRef, UserRef
from storage.sql_store import SqlStore
from tests.conftest import START
from tests.fakes.loadgen import BotProcess, free_port
from tests.fakes.platform import RecordingPlatform
from tests.fakes.slack import FakeSlack


class WithOps(BotProcess):
    """`studybot run` with the operations server on its own port and JSON logs at INFO."""

    def __init__(self, folder: Path, database_url: str, fake: FakeSlack) -> None:
        super().__init__(folder, database_url, fake)
        self.ops_port = free_port()

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            STUDYBOT_HTTP_PORT=str(self.ops_port), STUDYBOT_LOG_FORMAT="json", STUDYBOT_LOG_LEVEL="INFO"
        )
        return env


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """A sample's value in Prometheus's text format, or None when it is absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else None


async def healthy_then_leading(http: aiohttp.ClientSession, base: str) -> tuple[int, str]:
    """/healthz answers at once; /readyz once the scheduler took the lead, a moment after the start: its
    status and body."""
    status, body = await get(http, f"{base}/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    for _ in range(100):
        status, body = await get(http, f"{base}/readyz")
        if json.loads(body).get("scheduler") == "leader":
            break
        await asyncio.sleep(0.05)
    return status, body


async def test_studybot_run_serves_health_readiness_and_metrics_that_move(tmp_path: Path) -> None:
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        fake.set_user("U0ADMIN", is_admin=True, name="mia")
        bot = WithOps(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'studybot.db'}", fake)
        await bot.start()
        try:
            base = f"http://127.0.0.1:{bot.ops_port}"
            status, body = await healthy_then_leading(http, base)
            ready = json.loads(body)
            assert status == 200, body
            assert ready == {
                "status": "ready",
                "database": "ok",
                "platforms": {"slack": "connected"},
                "scheduler": "leader",
            }

            _, before = await get(http, f"{base}/metrics")
            assert sample(before, "studybot_commands_total", command="help", outcome="ok") is None
            for text in ("help", "help", "nonsense-command", "cohort create ml"):
                status, _, url = await fake.send_slash_command(bot.url, "/study", text, user_id="U0MEMBER")
                assert status == 200
                await fake.wait_for_response(url)
            status, after = await get(http, f"{base}/metrics")
            assert status == 200
            assert sample(after, "studybot_commands_total", command="help", outcome="ok") == 2.0
            assert sample(after, "studybot_commands_total", command="unknown", outcome="refused") == 1.0
            # A member is not a moderator: refused, and counted as such.
            assert sample(after, "studybot_commands_total", command="cohort create", outcome="refused") == 1.0
            assert sample(after, "studybot_command_seconds_count", command="help") == 2.0
            assert sample(after, "studybot_scheduler_leader") == 1.0
            assert sample(after, "studybot_commands_in_flight") == 0.0  # every reply was sent
            assert sample(after, "studybot_event_loop_lag_seconds") is not None
            assert (sample(after, "studybot_db_write_batches_total") or 0) >= 1  # SQLite's group writer
            assert sample(after, "studybot_db_write_queue") == 0.0
            # The member's first command stored them: a write, timed.
            writes = sample(after, "studybot_db_write_seconds_count") or 0
            assert writes > (sample(before, "studybot_db_write_seconds_count") or 0)
            assert sample(after, "studybot_db_write_seconds_bucket", le="+Inf") == writes
            assert (sample(after, "studybot_db_write_seconds_sum") or 0) > 0
        finally:
            assert await bot.stop() == 0
    lines = [line for line in bot.log(chars=10**7).splitlines() if line.strip()]
    assert lines, "nothing was logged at INFO"
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message"} <= set(entry)
        assert "xoxb-" not in line and fake.signing_secret not in line  # redacted as in text logs


class Unplugged(RecordingPlatform):
    """A platform whose connection dropped."""

    async def connected(self) -> bool:
        return False


async def test_readiness_says_which_part_is_not_ready(sqlite_store: SqlStore, catalog: Catalog) -> None:
    core = make_core(sqlite_store, catalog, FakeClock(START))
    ops = Ops(core, {"discord": Unplugged(), "console": RecordingPlatform()}, recheck_after=0)
    core.telemetry = ops
    port = await ops.start(0, host="127.0.0.1")
    try:
        async with aiohttp.ClientSession() as http:
            status, body = await get(http, f"http://127.0.0.1:{port}/readyz")
            assert status == 503
            assert json.loads(body) == {
                "status": "not ready",
                "database": "ok",
                "platforms": {"discord": "not connected", "console": "connected"},
                "scheduler": "standby",
            }
            # A command that fails inside the core is counted as failed, not as refused.
            user, where = UserRef("console", "ada", "Ada"), ConversationRef("console", "ws", "c")

            async def broken(*args: Any, **kwargs: Any) -> Any:
                raise ConnectionError("the database went away")

            core.store.upsert_member = broken  # type: ignore[method-assign]
            reply = await core.dispatch(core.invocation("today", user, where))
            assert reply.error
            _, metrics = await get(http, f"http://127.0.0.1:{port}/metrics")
            assert sample(metrics, "studybot_commands_total", command="today", outcome="failed") == 1.0

            await sqlite_store.close()  # the database is gone
            status, body = await get(http, f"http://127.0.0.1:{port}/readyz")
            assert status == 503 and json.loads(body)["database"].startswith("unreachable")
            assert (await get(http, f"http://127.0.0.1:{port}/healthz"))[0] == 200  # the process is up
    finally:
        await ops.close()


async def test_posts_and_reminders_are_counted(sqlite_store: SqlStore, catalog: Catalog) -> None:
    import datetime as dt

    from bot.jobs.posting import Poster

    clock = FakeClock(START)  # Monday 08:00 UTC
    core = make_core(sqlite_store, catalog, clock)
    ops = Ops(core, {})
    core.telemetry = ops
    admin = UserRef("console", "mia", "Mia", is_admin=True)
    where = ConversationRef("console", "ws1", "general")
    created = await core.dispatch(
        core.invocation("cohort create ml time=09:00 tz=UTC days=daily", admin, where)
    )
    assert not created.error
    poster = Poster(core, {"console": RecordingPlatform()})
    clock.set(START.replace(hour=9, minute=1))
    await poster.sweep()
    await poster.sweep()  # nothing more to post
    clock.set(clock.now() + dt.timedelta(days=1, hours=1))  # Tuesday 10:02: an hour late, caught up
    await poster.sweep()
    clock.set(clock.now() + dt.timedelta(days=1, hours=8))  # Wednesday 18:02: past the 6-hour window
    await poster.sweep()
    await poster.sweep()  # a skipped day counts once, as it is logged once
    metrics = generate(ops)
    assert sample(metrics, "studybot_posts_total", result="sent") == 1.0
    assert sample(metrics, "studybot_posts_total", result="caught_up") == 1.0
    assert sample(metrics, "studybot_posts_total", result="skipped") == 1.0
    assert sample(metrics, "studybot_commands_total", command="cohort create", outcome="ok") == 1.0


def generate(ops: Ops) -> str:
    from prometheus_client import generate_latest

    return generate_latest(ops.registry).decode()


async def test_database_writes_are_timed_on_both_databases(store: SqlStore, catalog: Catalog) -> None:
    """Each write, an answer's one call on PostgreSQL among them, lands in studybot_db_write_seconds."""
    core = make_core(store, catalog, FakeClock(START.replace(hour=10)))
    ops = Ops(core, {})
    core.telemetry = ops
    where = ConversationRef("console", "ws1", "general")
    admin = UserRef("console", "mia", "Mia", is_admin=True)
    ada = UserRef("console", "ada", "Ada")
    for user, text in ((admin, "cohort create ml time=09:00 tz=UTC days=daily"), (ada, "join ml")):
        assert not (await core.dispatch(core.invocation(text, user, where))).error
    cohort = await store.find_cohort("console", "ws1", "ml")
    assert cohort is not None
    assert await store.claim_post(cohort.id, START.date(), _a_quiz(catalog), START) is not None
    before = sample(generate(ops), "studybot_db_write_seconds_count") or 0
    answered = await core.dispatch(core.invocation("answer A", ada, where))
    assert not answered.error, answered.text
    metrics = generate(ops)
    assert sample(metrics, "studybot_db_write_seconds_count") == before + 1  # the answer: one write
    bucket = r'^studybot_db_write_seconds_bucket\{le="[^"]+"\} (\S+)$'
    buckets = [float(v) for v in re.findall(bucket, metrics, re.MULTILINE)]
    assert buckets == sorted(buckets) and buckets[-1] == before + 1  # cumulative, +Inf last


def _a_quiz(catalog: Catalog) -> str:
    return next(c.id for c in catalog.challenges.values() if c.is_quiz)


class SharingSlacksPort(BotProcess):
    """`studybot run --slack-mode http --port N` with STUDYBOT_HTTP_PORT=N too."""

    async def spawn(self, port: int, stdout: Any, stderr: Any) -> asyncio.subprocess.Process:
        self.shared_port = port
        return await super().spawn(port, stdout, stderr)

    def env(self) -> dict[str, str]:
        return {**super().env(), "STUDYBOT_HTTP_PORT": str(self.shared_port)}


async def test_on_slacks_own_port_the_endpoints_sit_beside_slacks(tmp_path: Path) -> None:
    """STUDYBOT_HTTP_PORT may be Slack's --port in HTTP mode: one server answers Slack and the operator."""
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        bot = SharingSlacksPort(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'studybot.db'}", fake)
        await bot.start()
        try:
            base = f"http://127.0.0.1:{bot.port}"
            status, body = await healthy_then_leading(http, base)
            assert status == 200 and json.loads(body)["platforms"] == {"slack": "connected"}, body
            status, _, url = await fake.send_slash_command(bot.url, "/study", "help", user_id="U0MEMBER")
            assert status == 200
            assert "studybot" in json.dumps(await fake.wait_for_response(url))
            status, metrics = await get(http, f"{base}/metrics")
            assert status == 200
            assert sample(metrics, "studybot_commands_total", command="help", outcome="ok") == 1.0
            assert sample(metrics, "studybot_event_loop_lag_seconds") is not None
            # Slack's path stays Slack's: an unsigned request to it is still refused.
            async with http.post(bot.url, data=b"command=%2Fstudy&text=help") as refused:
                assert refused.status == 401
        finally:
            assert await bot.stop() == 0


async def test_commands_waiting_for_their_turn_are_a_visible_queue(
    sqlite_store: SqlStore, catalog: Catalog
) -> None:
    """Beyond the commands an adapter works on at once, the rest queue; /metrics shows how many."""
    core = make_core(sqlite_store, catalog, FakeClock(START))
    ops = Ops(core, {})
    places = asyncio.Semaphore(1)
    first_in = asyncio.Event()
    let_go = asyncio.Event()

    async def command() -> None:
        async with core.turn(places):
            first_in.set()
            await let_go.wait()

    running = [asyncio.create_task(command()) for _ in range(3)]
    await first_in.wait()
    await asyncio.sleep(0)
    assert sample(generate(ops), "studybot_commands_waiting") == 2.0
    let_go.set()
    await asyncio.gather(*running)
    assert sample(generate(ops), "studybot_commands_waiting") == 0.0
