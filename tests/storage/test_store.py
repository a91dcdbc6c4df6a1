"""Storage on SQLite and PostgreSQL: concurrency, uniqueness whatever the timing, and migrations."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401
from bot.kernel.types import Activity, ActivityKind, Cohort, Invocation
from storage.sql_store import SqlStore
from tests.conftest import CHANNEL, PG_URL, Bot, postgres_store, text_of


async def test_200_concurrent_check_ins_all_succeed(bot: Bot) -> None:
    await bot.say("Mia", "cohort create big tz=UTC days=daily")
    names = [f"member{i}" for i in range(200)]
    for name in names:
        await bot.say(name, "join big")
    replies = await asyncio.gather(*(bot.say(name, "done") for name in names))
    failures = [r.text for r in replies if r.error]
    assert failures == []
    assert all("Checked in" in text_of(r) for r in replies)
    cohort = (await bot.core.store.list_cohorts())[0]
    assert len(await bot.core.store.activities(cohort.id)) == 200


async def test_simultaneous_clicks_count_one_answer(bot: Bot) -> None:
    bot.core.limiter = None  # forty clicks at once from one member: the point is the database, not spam
    await bot.say("Mia", "cohort create quiz tz=UTC days=daily")
    await bot.say("Ada", "join quiz")
    bot.clock.set(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC))
    for _ in range(30):  # find a quiz day
        posts = await bot.post()
        if posts and posts[0].buttons[0].command == "answer":
            break
        bot.clock.advance(dt.timedelta(days=1))
    buttons = posts[0].buttons
    clicks = [Invocation("answer", buttons[i % 4].args, bot.user("Ada"), CHANNEL) for i in range(40)]
    replies = await asyncio.gather(*(bot.core.dispatch(inv) for inv in clicks))
    counted = [r for r in replies if not r.error]
    assert len(counted) == 1
    assert all("the first answer counts" in r.text for r in replies if r.error)
    cohort = (await bot.core.store.list_cohorts())[0]
    assert len(await bot.core.store.activities(cohort.id)) == 1


async def make_cohort(store: SqlStore, now: dt.datetime) -> Cohort:
    return await store.create_cohort(
        conversation=CHANNEL,
        name="c",
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=dt.date(2026, 11, 1),
        created_by="mia",
        now=now,
    )


async def test_the_same_claim_is_won_once(store: SqlStore) -> None:
    now = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    cohort = await make_cohort(store, now)
    claims = await asyncio.gather(*(store.claim_post(cohort.id, now.date(), "x", now) for _ in range(20)))
    assert sum(c is not None for c in claims) == 1


async def test_a_double_check_in_is_refused_by_the_database(store: SqlStore) -> None:
    from bot.kernel.ports import Conflict

    now = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    cohort = await make_cohort(store, now)
    member = await store.upsert_member("console", "ada", "Ada")
    entry = Activity(member.id, cohort.id, now.date(), ActivityKind.CHECKIN, 5, at=now)
    await store.record_activity(entry)
    try:
        await store.record_activity(entry)
    except Conflict:
        pass
    else:
        raise AssertionError("a second check-in for the same day was stored")
    assert len(await store.activities(cohort.id)) == 1


def _diff(conn: Connection) -> list[object]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, SQLModel.metadata))


async def test_migrations_build_exactly_the_schema_the_tables_declare(store: SqlStore) -> None:
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_migrating_twice_is_harmless(store: SqlStore) -> None:
    await store.migrate()
    await store.migrate()
    member = await store.upsert_member("console", "ada", "Ada")
    assert (await store.get_member(member.id)) == member


async def test_instants_come_back_aware_in_utc(store: SqlStore) -> None:
    now = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    cohort = await make_cohort(store, now)
    member = await store.upsert_member("console", "ada", "Ada")
    await store.record_activity(Activity(member.id, cohort.id, now.date(), ActivityKind.CHECKIN, 5, at=now))
    [entry] = await store.activities(cohort.id)
    assert entry.at == now and entry.at.tzinfo is not None


async def test_after_a_postgres_restart_every_command_still_succeeds() -> None:
    """Connections are not tested before use, so a restart leaves the pool full of dead ones: the first
    command to meet one empties the pool, and it and every later command run on fresh connections."""
    name = f"studybot-restart-{uuid.uuid4().hex[:8]}"
    async with postgres_store(application_name=name) as store:
        now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
        cohort = await make_cohort(store, now)
        members = await asyncio.gather(*(store.upsert_member("console", f"u{i}", f"m{i}") for i in range(20)))
        assert len({m.id for m in members}) == 20  # twenty at once: the pool holds all its connections now
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            ended = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            )
        await admin.dispose()
        assert ended and ended >= 5
        # Reads and writes, one after another, each on what the pool hands out.
        for m in members[:10]:
            assert await store.get_member(m.id) == m
        for m in members[10:]:
            await store.enrol(cohort.id, m.id, now)
            await store.record_activity(
                Activity(m.id, cohort.id, now.date(), ActivityKind.CHECKIN, 5, at=now)
            )
        assert len(await store.activities(cohort.id)) == 10


async def test_the_bulk_reads_agree_with_the_per_member_ones(store: SqlStore) -> None:
    """cohort_days, ledger_pages, cohorts_of_members and decide_reminders give what their one-by-one
    counterparts give, on both databases."""
    from bot.kernel.types import Excusal

    now = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    cohort = await make_cohort(store, now)
    ada, bo, cy = [await store.upsert_member("console", n, n.title()) for n in ("ada", "bo", "cy")]
    for m in (ada, bo, cy):
        await store.enrol(cohort.id, m.id, now)
    for back, kind in ((0, ActivityKind.CHECKIN), (0, ActivityKind.ANSWER), (2, ActivityKind.CHECKIN)):
        day = now.date() - dt.timedelta(days=back)
        await store.record_activity(Activity(ada.id, cohort.id, day, kind, 5, note=f"n{back}", at=now))
    await store.record_activity(Activity(bo.id, cohort.id, now.date(), ActivityKind.CHECKIN, 5, at=now))
    for day in (dt.date(1, 1, 1), now.date() - dt.timedelta(days=1)):
        await store.add_excusal(Excusal(ada.id, cohort.id, day, "typo", "mia", now))
    days = await store.cohort_days(cohort.id)
    assert set(days) == {ada.id, bo.id}  # cy has neither active nor excused days
    for m in (ada, bo):
        assert tuple(map(set, days[m.id])) == await store.member_days(cohort.id, m.id)
    pages = [page async for page in store.ledger_pages(cohort.id, 2)]
    assert [len(p) for p in pages] == [2, 2]
    entries = [e for p in pages for e in p]
    # The same entries in the same order, without the instants (an export shows none).
    assert [a for a, _, _ in entries] == [
        dataclasses.replace(a, at=None) for a in await store.activities(cohort.id)
    ]
    assert {(a.member_id, name, user_id) for a, name, user_id in entries} == {
        (ada.id, "Ada", "ada"),
        (bo.id, "Bo", "bo"),
    }
    other = await store.create_cohort(
        conversation=CHANNEL,
        name="d",
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=dt.date(2026, 11, 1),
        created_by="mia",
        now=now,
    )
    await store.enrol(other.id, ada.id, now + dt.timedelta(seconds=1))
    lone = await store.upsert_member("console", "lone", "Lone")
    found = await store.cohorts_of_members([ada.id, bo.id, lone.id])
    assert found == {ada.id: await store.member_cohorts(ada.id), bo.id: await store.member_cohorts(bo.id)}
    assert [c.id for c in found[ada.id]] == [other.id, cohort.id]
    assert await store.decide_reminders([(bo.id, now.date(), True)], now) == {(bo.id, now.date())}
    made = await store.decide_reminders([(ada.id, now.date(), True), (bo.id, now.date(), False)], now)
    assert made == {(ada.id, now.date())}
    assert await store.reminders_decided(now.date()) == {(ada.id, now.date()), (bo.id, now.date())}
    assert await store.decide_reminders([], now) == set()
