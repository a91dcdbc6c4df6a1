"""Benchmark: members answering today's quiz through core.dispatch, against the raw driver's own rate.

On SQLite (a temporary file):
  * burst: N members (default 10,000) answer at once; answers per second, and how the writes were grouped
    into commits (group commit: one COMMIT, one fsync, for everything queued meanwhile);
  * open loop: answers offered at a fixed rate (default 1,000/s) whatever the replies do; latency from each
    answer's scheduled send to its reply (so a stall counts for every answer it delays);
  * quiet: 500 answers one at a time, what a member feels on a calm day;
  * the raw driver: aiosqlite inserting one row per transaction in WAL mode, with synchronous=NORMAL (the
    figure the target is set against) and synchronous=FULL (studybot's setting: a commit is on disk).

With --postgres URL the burst runs on PostgreSQL too, in one process and then split across --processes
bot processes sharing the database, against asyncpg inserting one row per transaction.

    python bench/checkin.py
    python bench/checkin.py -n 2000 --postgres postgresql+asyncpg://postgres@127.0.0.1/test --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import cpu_sample, steal_since
from bot.catalog.content import load_catalog
from bot.catalog.daily import pick_challenge
from bot.composition.app import make_core, settle_memory
from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from bot.kernel.types import Cohort, ConversationRef, Invocation, UserRef
from storage.sql_store import SqlStore

WHERE = ConversationRef("bench", "ws", "general")
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
# Answers sent one at a time after the burst, for the latency of a quiet moment.
QUIET = 500


async def make_cohort(store: SqlStore, name: str) -> tuple[Cohort, int, str]:
    """A daily cohort with today's post claimed, a quiz: (cohort, post id, right answer)."""
    catalog = load_catalog()
    cohort = await store.create_cohort(
        conversation=ConversationRef("bench", "ws", name),
        name=name,
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
    if post is None:
        raise RuntimeError("the post was already claimed")
    return cohort, post.id, challenge.answer


async def enrol(store: SqlStore, cohort: Cohort, users: list[UserRef]) -> None:
    async def one(u: UserRef) -> None:
        member = await store.upsert_member(u.platform, u.id, u.name)
        await store.enrol(cohort.id, member.id, NOW)

    for i in range(0, len(users), 1000):  # concurrently, so the writes are grouped like real traffic
        await asyncio.gather(*(one(u) for u in users[i : i + 1000]))


def members(prefix: str, n: int) -> list[UserRef]:
    return [UserRef("bench", f"{prefix}{i}", f"member {prefix}{i}") for i in range(n)]


def answer_of(user: UserRef, post_id: int, answer: str) -> Invocation:
    return Invocation("answer", (answer, str(post_id)), user, WHERE)


async def timed(core: Core, inv: Invocation, since: float) -> float:
    reply = await core.dispatch(inv)
    if reply.error:
        raise RuntimeError(reply.text)
    return time.perf_counter() - since


async def burst(core: Core, post_id: int, answer: str, users: list[UserRef]) -> tuple[float, list[float]]:
    start = time.perf_counter()
    latencies = await asyncio.gather(*(timed(core, answer_of(u, post_id, answer), start) for u in users))
    return time.perf_counter() - start, list(latencies)


async def open_loop(core: Core, post_id: int, answer: str, users: list[UserRef], rate: float) -> list[float]:
    """Offer answers at `rate` per second; latency from each one's scheduled time to its reply."""
    start = time.perf_counter()
    tasks = []
    for i, user in enumerate(users):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(timed(core, answer_of(user, post_id, answer), due)))
    return list(await asyncio.gather(*tasks))


async def one_at_a_time(core: Core, post_id: int, answer: str, users: list[UserRef]) -> list[float]:
    return [await timed(core, answer_of(u, post_id, answer), time.perf_counter()) for u in users]


async def raw_sqlite(path: str, n: int, synchronous: str) -> float:
    import aiosqlite

    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute(f"PRAGMA synchronous={synchronous}")
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

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
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


def ms(latencies: list[float]) -> str:
    q = statistics.quantiles(latencies, n=100)
    return f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"


async def bench_sqlite(n: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.from_url(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await store.migrate()
        core = make_core(store, load_catalog(), FakeClock(NOW))
        cohort, post_id, answer = await make_cohort(store, "burst")
        users = members("b", n + QUIET)
        await enrol(store, cohort, users)
        open_cohort, open_post, open_answer = await make_cohort(store, "steady")
        steady = members("s", int(rate * 5))
        await enrol(store, open_cohort, steady)

        settle_memory()  # as serve() does once started: start-up objects out of the collector's way
        writer = store.group_writer
        batches, writes = (writer.batches, writer.operations) if writer else (0, 0)
        cpu = cpu_sample()
        elapsed, latencies = await burst(core, post_id, answer, users[:n])
        burst_steal = steal_since(cpu)
        if writer:
            batches, writes = writer.batches - batches, writer.operations - writes
        quiet = await one_at_a_time(core, post_id, answer, users[n:])
        cpu = cpu_sample()
        steady_latencies = await open_loop(core, open_post, open_answer, steady, rate)
        steady_steal = steal_since(cpu)
        stored = len(await store.activities(cohort.id)) + len(await store.activities(open_cohort.id))
        if stored != n + QUIET + len(steady):
            raise RuntimeError(f"{stored} answers stored, expected {n + QUIET + len(steady)}")
        await store.close()
        normal = n / await raw_sqlite(f"{tmp}/raw-normal.db", n, "NORMAL")
        full = n / await raw_sqlite(f"{tmp}/raw-full.db", n, "FULL")
    rate_seen = n / elapsed
    print(
        f"sqlite: burst of {n:,} answers through core.dispatch: {elapsed:.2f} s = {rate_seen:,.0f} answers/s"
        f" ({burst_steal})"
    )
    if batches:
        print(f"sqlite:   {writes:,} writes in {batches:,} group commits ({writes / batches:.0f} each)")
    print(f"sqlite:   latency under the burst: {ms(latencies)}")
    print(
        f"sqlite: open loop, {len(steady):,} answers offered at {rate:,.0f}/s: {ms(steady_latencies)} "
        f"({steady_steal})"
    )
    print(f"sqlite: quiet, {QUIET} answers one at a time: {ms(quiet)}")
    print(f"sqlite: raw aiosqlite, one row per transaction, synchronous=NORMAL: {normal:,.0f} rows/s")
    print(f"sqlite: raw aiosqlite, one row per transaction, synchronous=FULL: {full:,.0f} rows/s")
    ratio = rate_seen / normal
    print(
        f"sqlite: core.dispatch answers/s / raw NORMAL rows/s = {ratio:.2f} "
        f"(target 0.50: {'MET' if ratio >= 0.5 else 'MISSED'})"
    )


async def pg_store(url: str, schema: str) -> SqlStore:
    return SqlStore.from_url(url, server_settings={"search_path": schema})


async def pg_worker(
    url: str, schema: str, post_id: int, answer: str, first: int, count: int, at: float
) -> None:
    """One bot process of the multi-process run: wait for the common start, answer, print figures."""
    store = await pg_store(url, schema)
    core = make_core(store, load_catalog(), FakeClock(NOW))
    users = members("b", first + count)[first:]
    # Connect before the start: enough reads at once to open every connection of the pool.
    await asyncio.gather(*(store.get_post(post_id) for _ in range(20)))
    await asyncio.sleep(max(0.0, at - time.time()))
    began = time.time()
    await burst(core, post_id, answer, users)
    print(json.dumps({"began": began, "ended": time.time(), "count": count}), flush=True)
    await store.close()


async def bench_postgres(url: str, n: int, processes: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = await pg_store(url, schema)
        await store.migrate()
        core = make_core(store, load_catalog(), FakeClock(NOW))
        cohort, post_id, answer = await make_cohort(store, "burst")
        users = members("b", 2 * n)
        await enrol(store, cohort, users)
        cpu = cpu_sample()
        elapsed, latencies = await burst(core, post_id, answer, users[:n])
        pg_steal = steal_since(cpu)
        await store.close()
        raw = n / await raw_postgres(url, n)
        print(
            f"postgres: burst of {n:,} answers, one process: {elapsed:.2f} s = {n / elapsed:,.0f} answers/s "
            f"({pg_steal})"
        )
        print(f"postgres:   latency under the burst: {ms(latencies)}")
        print(f"postgres: raw asyncpg, one row per transaction: {raw:,.0f} rows/s")
        print(f"postgres: one process answers/s / raw asyncpg rows/s = {n / elapsed / raw:.2f}")
        if processes > 1:
            together = await multi_process(url, schema, post_id, answer, n, processes)
            print(
                f"postgres: {processes} processes answers/s / raw asyncpg rows/s = {together / raw:.2f} "
                f"(target 0.50: {'MET' if together / raw >= 0.5 else 'MISSED'})"
            )
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def multi_process(url: str, schema: str, post_id: int, answer: str, n: int, processes: int) -> float:
    """The burst split across `processes` bot processes started together; answers per second together."""
    share = n // processes
    at = time.time() + 4.0  # time for every process to import and connect
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            json.dumps([url, schema, post_id, answer, n + i * share, share, at]),
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(processes)
    ]
    cpu = cpu_sample()
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"a worker failed with exit code {proc.returncode}")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    began = min(r["began"] for r in results)
    ended = max(r["ended"] for r in results)
    total = sum(r["count"] for r in results)
    print(
        f"postgres: burst of {total:,} answers split across {processes} bot processes: {ended - began:.2f} s "
        f"= {total / (ended - began):,.0f} answers/s together ({steal_since(cpu)})"
    )
    return total / (ended - began)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--members", type=int, default=10_000, help="answers in the burst")
    parser.add_argument("--rate", type=float, default=1000.0, help="answers/s offered in the open loop")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+asyncpg://...)")
    parser.add_argument("--processes", type=int, default=2, help="bot processes for the PostgreSQL run")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite runs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(pg_worker(*json.loads(args.worker)))
        return
    if not args.no_sqlite:
        asyncio.run(bench_sqlite(args.members, args.rate))
    if args.postgres:
        asyncio.run(bench_postgres(args.postgres, args.members, args.processes))


if __name__ == "__main__":
    main()
