"""Helpers shared by the benchmarks: a store or database URL to run on, bulk seeding, percentiles, the SQL
statements a call ran with their times and plans, cProfile summaries and the process's resident memory.

Not a benchmark itself. Imported as `bench.common` once the repository root is on sys.path.
"""

from __future__ import annotations

import contextlib
import cProfile
import datetime as dt
import functools
import inspect
import math
import pstats
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Column, Date, DateTime, Table, Time, event, insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.model import Catalog
from bot.composition.app import make_core as core_with_every_feature
from bot.dispatch.core import Core
from bot.kernel.ports import Clock
from bot.kernel.types import Cohort
from bot.rules.schedule import due_instant, is_scheduled
from storage.points import rebuild_points
from storage.sql_store import SqlStore
from storage.tables import (
    ActivityRow,
    CohortRow,
    EnrolmentRow,
    MemberRow,
    PostRow,
)

# Rows per executemany: big enough to be fast, small enough that the dicts of one chunk fit in memory.
CHUNK = 20_000
MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]
COHORT: Table = CohortRow.__table__  # type: ignore[attr-defined]
ENROLMENT: Table = EnrolmentRow.__table__  # type: ignore[attr-defined]
POST: Table = PostRow.__table__  # type: ignore[attr-defined]
ACTIVITY: Table = ActivityRow.__table__  # type: ignore[attr-defined]
POINTS_CORRECT, POINTS_WRONG, POINTS_CHECKIN = 10, 2, 5


# ---- where to run ----


@contextlib.asynccontextmanager
async def open_store(postgres: str | None) -> AsyncIterator[SqlStore]:
    """A migrated SqlStore: a temporary SQLite file, or a fresh schema of the PostgreSQL database given."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlStore.from_url(f"sqlite+aiosqlite:///{tmp}/bench.db")
            await store.migrate()
            try:
                yield store
            finally:
                await store.close()
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(postgres)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = SqlStore.from_url(postgres, server_settings={"search_path": schema})
        await store.migrate()
        try:
            yield store
        finally:
            await store.close()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def database_url(postgres: str | None) -> AsyncIterator[str]:
    """A database URL another process can open as it is: a temporary SQLite file, or a fresh PostgreSQL
    database (a URL cannot carry a search_path for asyncpg, so a schema would not do)."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/bench.db"
        return
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(postgres, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


def make_core(store: SqlStore, catalog: Catalog, clock: Clock) -> Core:
    """The real Core, with its per-member spam limit off where it has one: a benchmark sends one member's
    command hundreds of times to time it, which the limit would (rightly) refuse after ten."""
    return core_with_every_feature(store, catalog, clock, rate_limit=False)


# ---- bulk seeding ----


def chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_value(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How SQLAlchemy's SQLite dialect stores a column's Python values (dates as text, bools as 0/1)."""
    kind = column.type
    if isinstance(kind, DateTime):
        return lambda v: (
            v if v is None else v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        )
    if isinstance(kind, Date):
        return lambda v: v if v is None else v.isoformat()
    if isinstance(kind, Time):
        return lambda v: v if v is None else v.isoformat("microseconds")
    if isinstance(kind, Boolean):
        return lambda v: v if v is None else int(v)
    return None


async def bulk_insert(store: SqlStore, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows in one transaction, fast: the table's INSERT through the driver's executemany on SQLite,
    COPY on PostgreSQL. (The same rows through SQLAlchemy's executemany of insert(table) spent most of its
    time binding parameters: a million activity rows took 42 s on SQLite and 97 s on PostgreSQL.)"""
    count = 0
    names: list[str] | None = None
    async with store.engine.begin() as conn:
        for batch in chunks(rows):
            if names is None:
                names = list(batch[0])
                columns = [table.c[n] for n in names]
                convert = [_sqlite_value(c) for c in columns]
                sql = str(insert(table).compile(dialect=store.engine.dialect, column_keys=names))
            if store.engine.dialect.name == "sqlite":
                pairs = [(i, f) for i, f in enumerate(convert) if f is not None]
                records = []
                for row in batch:
                    values = [row[n] for n in names]
                    for i, f in pairs:
                        values[i] = f(values[i])
                    records.append(tuple(values))
                await conn.exec_driver_sql(sql, records)
            else:
                raw = (await conn.get_raw_connection()).driver_connection
                assert raw is not None
                await raw.copy_records_to_table(
                    table.name, records=[tuple(row[n] for n in names) for row in batch], columns=names
                )
            count += len(batch)
    return count


async def rebuild_totals(store: SqlStore) -> int:
    """The leaderboard's running totals for a ledger seeded in bulk (record_activity keeps them otherwise)."""
    async with store.engine.begin() as conn:
        return await conn.run_sync(rebuild_points)


async def fix_sequences(store: SqlStore, *tables: Table) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past them."""
    if store.engine.dialect.name != "postgresql":
        return
    async with store.engine.begin() as conn:
        for table in tables:
            name = table.name  # one of storage.tables' own names, never input
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
                )
            )


async def analyze(store: SqlStore) -> None:
    """Refresh the planner's statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE would."""
    async with store.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))


def member_rows(
    ids: Iterable[int], platform: str = "bench", remind_share: float = 0.0, seed: int = 1
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in ids:
        remind = dt.time(20) if rng.random() < remind_share else None
        yield {
            "id": i,
            "platform": platform,
            "user_id": f"u{i}",
            "name": f"member {i}",
            "timezone": None,
            "remind_at": remind,
        }


def cohort_row(
    cohort_id: int,
    *,
    platform: str,
    workspace: str,
    channel: str,
    name: str,
    post_time: dt.time,
    timezone: str,
    weekdays: Iterable[int],
    start: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "id": cohort_id,
        "platform": platform,
        "workspace_id": workspace,
        "channel_id": channel,
        "name": name,
        "post_time": post_time,
        "timezone": timezone,
        "weekdays": ",".join(str(d) for d in sorted(weekdays)),
        "start_date": start,
        "paused": False,
        "created_by": "bench",
        "created_at": now,
        "stage_id": None,
        "stage_since": None,
        "catchup_minutes": 360,
        "health": False,  # a column default: a bulk insert must name it
    }


def quiz_ids(catalog: Catalog) -> list[str]:
    return sorted(c.id for c in catalog.challenges.values() if c.is_quiz)


@functools.lru_cache(maxsize=4096)
def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def activity_row(
    member_id: int,
    cohort_id: int,
    day: dt.date,
    post_id: int | None,
    rng: random.Random,
    kind: str = "answer",
) -> dict[str, Any]:
    at = _noon(day)
    if kind == "checkin":
        return {
            "member_id": member_id,
            "cohort_id": cohort_id,
            "local_date": day,
            "kind": "checkin",
            "points": POINTS_CHECKIN,
            "post_id": post_id,
            "choice": None,
            "correct": None,
            "note": "",
            "created_at": at,
        }
    correct = rng.random() < 0.6
    return {
        "member_id": member_id,
        "cohort_id": cohort_id,
        "local_date": day,
        "kind": "answer",
        "points": POINTS_CORRECT if correct else POINTS_WRONG,
        "post_id": post_id,
        "choice": "A" if correct else "B",
        "correct": correct,
        "note": "",
        "created_at": at,
    }


@dataclass
class World:
    """What seed_world stored: cohorts (id -> row), each cohort's member ids, rows per table."""

    cohorts: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo", "America/Sao_Paulo")


async def seed_world(
    store: SqlStore,
    catalog: Catalog,
    now: dt.datetime,
    *,
    cohorts: int,
    members_per_cohort: int,
    days: int,
    active: float,
    remind_share: float = 0.0,
    platform: str = "bench",
    seed: int = 7,
) -> World:
    """Many cohorts as production would hold them: spread over timezones and post times (a third post on
    weekdays only), each with its own members (one cohort each; a share `remind_share` with a daily
    reminder), the posts of the last `days` days and of today where already due (so a sweep at start-up
    finds nothing to catch up), and answers to those posts from a share `active` of the members."""
    rng = random.Random(seed)
    world = World()
    start = now.date() - dt.timedelta(days=days + 7)
    for c in range(1, cohorts + 1):
        weekdays = range(7) if c % 3 else range(5)
        world.cohorts[c] = cohort_row(
            c,
            platform=platform,
            workspace=f"ws{c % 50}",
            channel=f"room{c}",
            name=f"cohort{c}",
            post_time=dt.time(rng.randrange(6, 22), rng.choice((0, 15, 30, 45))),
            timezone=TIMEZONES[c % len(TIMEZONES)],
            weekdays=weekdays,
            start=start,
            now=now,
        )
        world.members[c] = list(range((c - 1) * members_per_cohort + 1, c * members_per_cohort + 1))
    world.rows["cohort"] = await bulk_insert(store, COHORT, world.cohorts.values())
    total = cohorts * members_per_cohort
    world.rows["member"] = await bulk_insert(
        store, MEMBER, member_rows(range(1, total + 1), platform, remind_share)
    )
    world.rows["enrolment"] = await bulk_insert(
        store,
        ENROLMENT,
        (
            {"cohort_id": c, "member_id": m, "joined_at": now - dt.timedelta(days=days + 7)}
            for c, ids in world.members.items()
            for m in ids
        ),
    )
    quizzes = quiz_ids(catalog)
    posts: list[dict[str, Any]] = []
    for c, row in world.cohorts.items():
        cohort = _as_cohort(row)
        local_today = now.astimezone(ZoneInfo(row["timezone"])).date()
        for back in range(days, -1, -1):
            day = local_today - dt.timedelta(days=back)
            if is_scheduled(cohort, day) and due_instant(cohort, day) <= now:
                posts.append(
                    {
                        "id": len(posts) + 1,
                        "cohort_id": c,
                        "local_date": day,
                        "challenge_id": quizzes[(c + back) % len(quizzes)],
                        "message_id": f"m{len(posts) + 1}",
                        "claimed_at": due_instant(cohort, day),
                    }
                )
    world.rows["daily_post"] = await bulk_insert(store, POST, posts)

    def answers() -> Iterator[dict[str, Any]]:
        for p in posts:
            for m in world.members[p["cohort_id"]]:
                if rng.random() < active:
                    yield activity_row(m, p["cohort_id"], p["local_date"], p["id"], rng)

    world.rows["activity"] = await bulk_insert(store, ACTIVITY, answers())
    world.rows["points"] = await rebuild_totals(store)
    await fix_sequences(store, COHORT, MEMBER, ENROLMENT, POST, ACTIVITY)
    await analyze(store)
    return world


def _as_cohort(row: dict[str, Any]) -> Cohort:
    return Cohort(
        id=row["id"],
        platform=row["platform"],
        workspace_id=row["workspace_id"],
        channel_id=row["channel_id"],
        name=row["name"],
        post_time=row["post_time"],
        timezone=row["timezone"],
        weekdays=frozenset(int(d) for d in row["weekdays"].split(",")),
        start_date=row["start_date"],
        paused=False,
        created_by="bench",
        stage_id=None,
        stage_since=None,
        catchup_minutes=360,
    )


# ---- figures ----


def pct(values: list[float], q: float) -> float:
    """The nearest-rank percentile q (0-100) of values: with fewer than 100 values p99 is the maximum."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def latency_line(values: list[float]) -> str:
    """p50/p99/max in ms of latencies given in seconds."""
    return (
        f"p50 {pct(values, 50) * 1000:.2f} ms, p99 {pct(values, 99) * 1000:.2f} ms, "
        f"max {max(values) * 1000:.2f} ms (n={len(values):,})"
    )


def cpu_sample() -> tuple[int, int]:
    """(CPU time of all cores, the part the host took: steal) in ticks since boot; (0, 0) without /proc."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields), fields[7] if len(fields) > 7 else 0


def steal_since(before: tuple[int, int]) -> str:
    """How much of the machine's CPU time the host (hypervisor) took since `before`: on a shared virtual
    machine this moves every figure, so the benchmarks print it beside them."""
    total, steal = cpu_sample()
    if total <= before[0]:
        return "host steal unknown"
    return f"host steal {(steal - before[1]) / (total - before[0]):.0%}"


def verdict(value_ms: float, target_ms: float) -> str:
    return f"target < {target_ms:g} ms: {'MET' if value_ms < target_ms else 'MISSED'}"


# ---- profiles ----


@dataclass
class Statement:
    sql: str
    params: Any
    seconds: float


class SqlLog:
    """Records every statement SQLAlchemy runs for the store, with its time (the async adapters fetch the
    rows inside execute, so their times include fetching). The store may also keep a synchronous engine
    for SQLite (`_sync`); statements it runs on the bare sqlite3 cursor are not seen here, StoreTimer
    times those calls as a whole."""

    def __init__(self, store: SqlStore) -> None:
        self.engines = [store.engine.sync_engine]
        extra = getattr(store, "_sync", None)
        if extra is not None:
            self.engines.append(extra)
        self.statements: list[Statement] = []
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        t0 = conn.info["bench_t0"].pop()
        self.statements.append(Statement(sql, params, time.perf_counter() - t0))

    def close(self) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._before)
            event.remove(engine, "after_cursor_execute", self._after)

    def report(self, indent: str = "    ") -> str:
        lines = []
        for s in self.statements:
            sql = " ".join(s.sql.split())
            lines.append(f"{indent}{s.seconds * 1000:8.2f} ms  {sql[:150]}{'…' if len(sql) > 150 else ''}")
        return "\n".join(lines)

    def slowest(self) -> Statement:
        return max(self.statements, key=lambda s: s.seconds)


class StoreTimer:
    """Times every call of the store's public coroutine methods, by wrapping them on the instance."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.calls: list[tuple[str, float]] = []
        self._wrapped: list[str] = []
        for name in dir(type(store)):
            method = getattr(store, name)
            if not name.startswith("_") and inspect.iscoroutinefunction(method):
                setattr(store, name, self._wrap(name, method))
                self._wrapped.append(name)

    def _wrap(self, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.calls.append((name, time.perf_counter() - start))

        return timed

    def close(self) -> None:
        for name in self._wrapped:
            delattr(self.store, name)

    def total(self) -> float:
        return sum(seconds for _, seconds in self.calls)

    def report(self, indent: str = "    ") -> str:
        return "\n".join(f"{indent}{seconds * 1000:8.2f} ms  store.{name}" for name, seconds in self.calls)


async def explain(store: SqlStore, statement: Statement) -> str:
    """The plan of a recorded statement: EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL."""
    async with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, statement.params)
            return "\n".join(f"      {row[3]}" for row in result)
        result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params)
        return "\n".join(f"      {row[0]}" for row in result)


def profile_top(profile: cProfile.Profile | str, n: int = 12, sort: str = "tottime") -> str:
    """The n functions with the most own (tottime) or cumulative (cumtime) time, one line each; `profile`
    is a profiler, or the file another process's profiler wrote."""
    stats = pstats.Stats(profile)
    entries = stats.stats  # type: ignore[attr-defined]
    key = 2 if sort == "tottime" else 3
    rows = sorted(entries.items(), key=lambda kv: kv[1][key], reverse=True)[:n]
    lines = [f"    {'own ms':>9} {'cum ms':>9} {'calls':>9}  function"]
    for (path, line, name), (_, calls, own, cum, _) in rows:
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}" if path != "~" else "builtin"
        lines.append(f"    {own * 1000:9.1f} {cum * 1000:9.1f} {calls:9,}  {name} ({where})")
    return "\n".join(lines)
