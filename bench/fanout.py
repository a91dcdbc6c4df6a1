"""Benchmark: 2,000 cohorts due in the same minute, through the real scheduler and a recording platform.

Prints the time from the due instant until every post was claimed and handed to the platform, and the
largest event-loop stall while that ran (target: under 100 ms), on SQLite and, given a URL, PostgreSQL.

    python bench/fanout.py                   # SQLite, 2,000 cohorts
    python bench/fanout.py -n 500 --postgres postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.content import load_catalog
from bot.composition.app import make_core, settle_memory
from bot.jobs.scheduler import StudyScheduler
from bot.kernel.clock import SystemClock
from bot.kernel.types import ConversationRef, Reply
from storage.sql_store import SqlStore


class Recorder:
    name = "bench"

    def __init__(self, expected: int) -> None:
        self.sent: list[float] = []
        self.expected = expected
        self.all_sent = asyncio.Event()

    async def start(self) -> None:
        return None

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        self.sent.append(time.perf_counter())
        if len(self.sent) >= self.expected:
            self.all_sent.set()
        return f"m{len(self.sent)}"

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        return None

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        return "dm"

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        return False  # no roles here: the milestone is announced, nothing more

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        return ["group"]

    async def close(self) -> None:
        return None


async def watch_loop(stop: asyncio.Event, stalls: list[float], tick: float = 0.005) -> None:
    """Sleep in short ticks and note how much later than asked each tick wakes: the loop's stalls."""
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(tick)
        stalls.append(time.perf_counter() - asked - tick)


async def run(store: SqlStore, label: str, n: int) -> None:
    await store.migrate()
    clock = SystemClock()
    now = clock.now()
    due = (now + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (due - now).total_seconds() < 20:  # leave time to create the cohorts first
        due += dt.timedelta(minutes=1)
    made = time.perf_counter()
    for i in range(n):
        await store.create_cohort(
            conversation=ConversationRef("bench", "ws", f"room{i}"),
            name=f"c{i}",
            post_time=due.time(),
            timezone="UTC",
            weekdays=frozenset(range(7)),
            start_date=due.date(),
            created_by="bench",
            now=now,
        )
    print(f"{label}: {n:,} cohorts created in {time.perf_counter() - made:.1f} s; all due at {due:%H:%M} UTC")
    core = make_core(store, load_catalog(), clock)
    platform = Recorder(n)
    scheduler = StudyScheduler(core, {"bench": platform})
    await scheduler.start()
    settle_memory()  # as bot.composition.app.serve does after start-up
    stalls: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_loop(stop, stalls))
    await asyncio.sleep(max(0.0, (due - clock.now()).total_seconds()))
    t0 = time.perf_counter()
    await asyncio.wait_for(platform.all_sent.wait(), timeout=600)
    stop.set()
    await watcher
    await scheduler.stop()
    done = platform.sent[-1] - t0
    rate = len(platform.sent) / done
    print(
        f"{label}: {len(platform.sent):,}/{n:,} posts handed over {done:.2f} s after they fell due "
        f"({rate:,.0f} posts/s)"
    )
    worst = sorted(stalls)
    top, p99 = worst[-1] * 1000, worst[int(len(worst) * 0.99)] * 1000
    print(f"{label}: event-loop stall: max {top:.1f} ms, p99 {p99:.1f} ms over {len(stalls):,} ticks of 5 ms")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--cohorts", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.from_url(f"sqlite+aiosqlite:///{tmp}/fanout.db")
        await run(store, "sqlite", args.cohorts)
    if args.postgres:
        name = f"fanout_{uuid.uuid4().hex[:8]}"
        admin = create_async_engine(args.postgres, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            await run(
                SqlStore.from_url(args.postgres.rsplit("/", 1)[0] + "/" + name), "postgres", args.cohorts
            )
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
