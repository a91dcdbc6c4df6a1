"""Several real studybot processes (tests/fakes/runner.py) on one database, with simulated time:
a crash between claim and send, and a leader killed midway, still give every (cohort, day) one post."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.kernel.registry import parse_days
from bot.kernel.types import ConversationRef
from bot.rules.schedule import due_instant, is_scheduled
from storage.sql_store import SqlStore
from tests.conftest import PG_URL, _postgres_or_skip

ROOT = Path(__file__).resolve().parents[3]
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


class Fleet:
    """The clock file, the processes, and what they sent."""

    def __init__(self, folder: Path, db: str) -> None:
        self.folder, self.db = folder, db
        self.procs: list[subprocess.Popen[bytes]] = []

    def set_clock(self, instant: dt.datetime) -> str:
        stamp = instant.isoformat()
        tmp = self.folder / "clock.tmp"
        tmp.write_text(stamp)
        tmp.replace(self.folder / "clock")
        return stamp

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.runner", "--db", self.db, "--dir", str(self.folder), *extra],
            cwd=ROOT,
            stderr=open(self.folder / f"stderr.{len(self.procs)}", "wb"),
        )
        self.procs.append(proc)
        return proc

    def wait_ack(self, stamp: str, timeout: float = 30) -> None:
        ack = self.folder / "ack"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ack.exists() and ack.read_text().strip() == stamp:
                return
            time.sleep(0.01)
        logs = "\n".join(p.read_text()[-2000:] for p in self.folder.glob("stderr.*"))
        raise AssertionError(f"no process handled {stamp} in {timeout} s\n{logs}")

    def sends(self) -> list[dict[str, object]]:
        path = self.folder / "sends"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def make_cohorts(db: str, count: int, seed: int) -> None:
    store = SqlStore.from_url(db)
    await store.migrate()
    rng = random.Random(seed)
    for i in range(count):
        await store.create_cohort(
            conversation=ConversationRef("console", "ws", f"room{i}"),
            name=f"c{i}",
            post_time=dt.time(rng.randrange(24), rng.choice([0, 15, 30, 45])),
            timezone=ZONES[i % len(ZONES)],
            weekdays=parse_days(rng.choice(["daily", "mon-fri", "mon,wed,fri"])),
            start_date=dt.date(2026, 11, 1),
            created_by="mia",
            now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        )
    await store.close()


async def posts_of(db: str) -> dict[tuple[int, dt.date], tuple[int, str | None]]:
    store = SqlStore.from_url(db)
    try:
        return {
            (p.cohort_id, p.local_date): (p.id, p.message_id)
            for p in await store.posts_since(dt.date(2026, 1, 1))
        }
    finally:
        await store.close()


async def cohorts_of(db: str) -> list:  # type: ignore[type-arg]
    store = SqlStore.from_url(db)
    try:
        return await store.list_cohorts()
    finally:
        await store.close()


def test_a_process_killed_between_claim_and_send_posts_once_after_restart(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/studybot.db"
    asyncio.run(make_cohorts(db, 1, seed=1))
    [cohort] = asyncio.run(cohorts_of(db))
    fleet = Fleet(tmp_path, db)
    due = due_instant(cohort, dt.date(2026, 11, 24))
    fleet.set_clock(due + dt.timedelta(seconds=30))
    crashing = fleet.start("--crash-on-send")
    assert crashing.wait(timeout=60) == -signal.SIGKILL
    [(post_id, message_id)] = asyncio.run(posts_of(db)).values()
    assert message_id is None and fleet.sends() == []  # claimed, never sent
    try:
        fleet.start()
        fleet.wait_ack(fleet.set_clock(due + dt.timedelta(minutes=1)))
        assert fleet.sends() == []  # a fresh claim may still be a slow send
        fleet.wait_ack(fleet.set_clock(due + dt.timedelta(minutes=3)))
    finally:
        fleet.stop_all()
    sends = fleet.sends()
    assert [(s["key"], s["posted"]) for s in sends] == [(f"studybot-post-{post_id}", True)]
    assert asyncio.run(posts_of(db))[(cohort.id, dt.date(2026, 11, 24))][1] == sends[0]["message_id"]


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database that separate processes can reach by URL."""
    url = _postgres_or_skip()
    name = f"studybot_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_two_processes_and_a_leader_killed_midway_post_every_day_exactly_once(
    pg_database: str, tmp_path: Path
) -> None:
    db = pg_database
    asyncio.run(make_cohorts(db, 100, seed=2))
    cohorts = asyncio.run(cohorts_of(db))
    fleet = Fleet(tmp_path, db)
    start = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=3)
    step = dt.timedelta(minutes=30)
    first = fleet.start()
    fleet.wait_ack(fleet.set_clock(start))
    fleet.start()  # stands by
    now, killed = start, False
    try:
        while now < end:
            now += step
            if not killed and now >= start + dt.timedelta(days=1, hours=13):
                first.send_signal(signal.SIGKILL)  # the leader dies midway
                first.wait(timeout=20)
                killed = True
            fleet.wait_ack(fleet.set_clock(now))
    finally:
        fleet.stop_all()
    assert killed
    posts = asyncio.run(posts_of(db))
    posted = [s for s in fleet.sends() if s["posted"]]
    assert sorted(str(s["key"]) for s in posted) == sorted(
        f"studybot-post-{pid}" for pid, _ in posts.values()
    )
    assert all(message_id for _, message_id in posts.values())
    pids = {s["pid"] for s in posted}
    assert len(pids) == 2  # both processes led at some point
    missing = []
    for c in cohorts:
        tz = ZoneInfo(c.timezone)
        day = start.astimezone(tz).date()
        while day <= end.astimezone(tz).date():
            due = due_instant(c, day)
            # Every day that fell due after the first step and before the last one (one sweep later) posted.
            if is_scheduled(c, day) and start < due <= end - step and (c.id, day) not in posts:
                missing.append((c.name, c.timezone, str(c.post_time), str(day)))
            day += dt.timedelta(days=1)
    assert missing == []
    assert PG_URL  # ran against the real server
