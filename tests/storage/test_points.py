"""The leaderboard's running totals always equal a recomputation from the ledger: after answers, check-ins
and reviews on many days, members leaving and coming back, and a database migrated with history in it."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, column, insert, table

from bot.kernel.types import Activity, ActivityKind, ConversationRef, ScoreRow, Standing
from storage.base import activity_t, cohort_t, enrolment_t, member_t
from storage.engine import alembic_config
from storage.points import PERIODS, bucket_start
from storage.sql_store import SqlStore

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
WHERE = ConversationRef("console", "ws", "general")
KINDS = [
    (ActivityKind.ANSWER, 10),
    (ActivityKind.ANSWER, 2),
    (ActivityKind.CHECKIN, 5),
    (ActivityKind.REVIEW, 3),
]


async def expected(store: SqlStore, cohort_id: int, period: str, day: dt.date, member_id: int) -> Standing:
    """The standing worked out from the ledger and the enrolments alone."""
    enrolled = {m.id for m in await store.cohort_members(cohort_id)}
    start = bucket_start(period, day)
    totals: Counter[int] = Counter()
    for a in await store.activities(cohort_id):
        if a.member_id in enrolled and bucket_start(period, a.local_date) == start:
            totals[a.member_id] += a.points
    names = {m.id: m.name for m in await store.cohort_members(cohort_id)}
    order = sorted((m for m, p in totals.items() if p > 0), key=lambda m: (-totals[m], -m))
    mine = totals.get(member_id, 0)
    rank = 1 + sum(1 for p in totals.values() if p > mine) if mine > 0 else None
    top = tuple(ScoreRow(m, names[m], totals[m]) for m in order[:10])
    return Standing(top, rank, mine, len(order))


def plain(s: Standing) -> tuple[object, ...]:
    return tuple((r.member_id, r.name, r.points) for r in s.top), s.rank, s.points, s.ranked


async def test_totals_equal_the_ledger_through_leaving_and_rejoining(store: SqlStore) -> None:
    rng = random.Random(7)
    cohort = await store.create_cohort(
        conversation=WHERE,
        name="c",
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=dt.date(2026, 9, 1),
        created_by="mia",
        now=NOW,
    )
    members = [await store.upsert_member("console", f"u{i}", f"m{i:02}") for i in range(25)]
    for m in members:
        await store.enrol(cohort.id, m.id, NOW)
    days = [dt.date(2026, 9, 20) + dt.timedelta(days=d) for d in range(70)]
    for day in days:
        for m in rng.sample(members, 8):
            kind, points = rng.choice(KINDS)
            try:
                await store.record_activity(Activity(m.id, cohort.id, day, kind, points, at=NOW))
            except Exception:  # noqa: S112 - the same kind twice a day is refused; that is fine here
                continue
        if rng.random() < 0.15:
            leaver = rng.choice(members)
            await store.unenrol(cohort.id, leaver.id)
            if rng.random() < 0.5:
                await store.enrol(cohort.id, leaver.id, NOW)
    for day in [days[0], days[33], days[-1], days[-1] + dt.timedelta(days=40)]:
        for period in PERIODS:
            for m in rng.sample(members, 4):
                got = await store.standing(cohort.id, period, day, m.id, 10)
                assert plain(got) == plain(await expected(store, cohort.id, period, day, m.id)), (period, day)


LATER = {"calendar", "health", "health_by"}  # cohort columns added after revision 0004


async def test_a_migrated_database_starts_with_the_totals_of_its_history(tmp_path: Path) -> None:
    store = SqlStore.from_url(f"sqlite+aiosqlite:///{tmp_path}/old.db")

    def history_at_0004(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), "0004")
        # The cohort table as it was at 0004 (today's model has columns added since, with defaults).
        cohort_then = table(
            "cohort", *(column(c.name, c.type) for c in cohort_t.columns if c.name not in LATER)
        )
        conn.execute(
            insert(cohort_then).values(
                id=1,
                platform="console",
                workspace_id="ws",
                channel_id="general",
                name="c",
                post_time=dt.time(9),
                timezone="UTC",
                weekdays="0,1,2,3,4,5,6",
                start_date=dt.date(2026, 11, 1),
                paused=False,
                created_by="mia",
                created_at=NOW,
            )
        )
        for i in (1, 2, 3):
            conn.execute(insert(member_t).values(id=i, platform="console", user_id=f"u{i}", name=f"m{i}"))
        for i in (1, 2):  # member 3 left before the upgrade: off the board
            conn.execute(insert(enrolment_t).values(cohort_id=1, member_id=i, joined_at=NOW))
        for i, day, points in [(1, 2, 10), (1, 23, 5), (2, 23, 10), (2, 24, 2), (3, 24, 10)]:
            conn.execute(
                insert(activity_t).values(
                    member_id=i,
                    cohort_id=1,
                    local_date=dt.date(2026, 11, day),
                    kind="answer" if points != 5 else "checkin",
                    points=points,
                    note="",
                    created_at=NOW,
                )
            )

    async with store.engine.begin() as conn:
        await conn.run_sync(history_at_0004)
    await store.migrate()
    week = await store.standing(1, "week", dt.date(2026, 11, 24), 1, 10)
    month = await store.standing(1, "month", dt.date(2026, 11, 24), 3, 10)
    await store.close()
    assert plain(week) == (((2, "m2", 12), (1, "m1", 5)), 2, 5, 2)
    assert plain(month) == (((1, "m1", 15), (2, "m2", 12)), None, 0, 2)
