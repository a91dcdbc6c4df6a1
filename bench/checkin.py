"""Benchmark: N members answer today's quiz at once through core.dispatch.

Prints answers per second and p50/p99 dispatch latency under that burst, the latency of answers sent one
at a time (what a member feels on a quiet day), then inserts the same rows through the raw driver
(aiosqlite or asyncpg, one transaction per row) for comparison.

    python bench/checkin.py                      # 10,000 members on a temporary SQLite file
    python bench/checkin.py -n 2000 --postgres postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.challenges import pick_challenge
from bot.clock import FakeClock
from bot.content import load_catalog
from bot.core import Core
from bot.types import ConversationRef, Invocation, UserRef
from storage.store import SqlStore

WHERE = ConversationRef("bench", "ws", "general")
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
# Answers sent one at a time after the burst, for the latency of a quiet moment.
QUIET = 500


async def setup(store: SqlStore, n: int) -> tuple[Core, int, str, list[UserRef]]:
    catalog = load_catalog()
    core = Core(store, catalog, FakeClock(NOW))
    cohort = await store.create_cohort(
        conversation=WHERE,
        name="bench",
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=NOW.date(),
        created_by="bench",
        now=NOW,
    )
    used: list[str] = []
    while not (challenge := pick_challenge(catalog, cohort, NOW.date(), used)).is_quiz:
        used.append(challenge.id)
    post = await store.claim_post(cohort.id, NOW.date(), challenge.id, NOW)
    assert post is not None
    users = [UserRef("bench", f"u{i}", f"member {i}") for i in range(n)]
    for u in users:
        member = await store.upsert_member(u.platform, u.id, u.name)
        await store.enrol(cohort.id, member.id, NOW)
    return core, post.id, challenge.answer, users


async def dispatch_all(
    core: Core, post_id: int, answer: str, users: list[UserRef]
) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def one(user: UserRef) -> None:
        start = time.perf_counter()
        reply = await core.dispatch(Invocation("answer", (answer, str(post_id)), user, WHERE))
        latencies.append(time.perf_counter() - start)
        if reply.error:
            raise RuntimeError(reply.text)

    start = time.perf_counter()
    await asyncio.gather(*(one(u) for u in users))
    return time.perf_counter() - start, latencies


async def one_at_a_time(core: Core, post_id: int, answer: str, users: list[UserRef]) -> list[float]:
    latencies = []
    for user in users:
        start = time.perf_counter()
        reply = await core.dispatch(Invocation("answer", (answer, str(post_id)), user, WHERE))
        latencies.append(time.perf_counter() - start)
        if reply.error:
            raise RuntimeError(reply.text)
    return latencies


async def raw_sqlite(path: str, n: int) -> float:
    import aiosqlite

    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute(
            "CREATE TABLE raw (member_id INTEGER, post_id INTEGER, choice TEXT, UNIQUE(member_id, post_id))"
        )
        await db.commit()
        start = time.perf_counter()
        for i in range(n):
            await db.execute("INSERT INTO raw VALUES (?, 1, 'A')", (i,))
            await db.commit()
        return time.perf_counter() - start


async def raw_postgres(url: str, n: int) -> float:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TEMP TABLE raw (member_id int, post_id int, choice text, UNIQUE(member_id, post_id))"
        )
        start = time.perf_counter()
        for i in range(n):
            async with conn.transaction():
                await conn.execute("INSERT INTO raw VALUES ($1, 1, 'A')", i)
        return time.perf_counter() - start
    finally:
        await conn.close()


def percentiles(latencies: list[float]) -> str:
    q = statistics.quantiles(latencies, n=100)
    return f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"


def report(
    label: str, n: int, elapsed: float, latencies: list[float], quiet: list[float], raw: float
) -> None:
    print(f"{label}: {n:,} answers through core.dispatch in {elapsed:.2f} s = {n / elapsed:,.0f} answers/s")
    print(f"{label}:   dispatch latency {percentiles(latencies)} (all {n:,} at once)")
    print(f"{label}:   dispatch latency {percentiles(quiet)} ({len(quiet):,} more, one at a time)")
    print(f"{label}: {n:,} raw driver inserts, one transaction each, in {raw:.2f} s = {n / raw:,.0f} rows/s")
    print(f"{label}:   core.dispatch takes {elapsed / raw:.2f}x the raw driver's time")


async def bench_sqlite(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.from_url(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await store.migrate()
        core, post_id, answer, users = await setup(store, n + QUIET)
        elapsed, latencies = await dispatch_all(core, post_id, answer, users[:n])
        quiet = await one_at_a_time(core, post_id, answer, users[n:])
        assert len(await store.activities(1)) == n + QUIET
        await store.close()
        raw = await raw_sqlite(f"{tmp}/raw.db", n)
    report("sqlite", n, elapsed, latencies, quiet, raw)


async def bench_postgres(url: str, n: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = SqlStore.from_url(url, server_settings={"search_path": schema})
        await store.migrate()
        core, post_id, answer, users = await setup(store, n + QUIET)
        elapsed, latencies = await dispatch_all(core, post_id, answer, users[:n])
        quiet = await one_at_a_time(core, post_id, answer, users[n:])
        await store.close()
        raw = await raw_postgres(url, n)
        report("postgres", n, elapsed, latencies, quiet, raw)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--members", type=int, default=10_000)
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+asyncpg://...)")
    args = parser.parse_args()
    asyncio.run(bench_sqlite(args.members))
    if args.postgres:
        asyncio.run(bench_postgres(args.postgres, args.members))


if __name__ == "__main__":
    main()
