"""SQLite's single writer: concurrent writes are committed together, each write fails alone, a failed
commit tells every caller in its batch, and a write is on disk before its caller hears it succeeded."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from bot.kernel.ports import Conflict
from bot.kernel.types import Activity, ActivityKind, ConversationRef, Recorded
from storage.sql_store import SqlStore

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
WHERE = ConversationRef("console", "ws", "general")


async def cohort_with_members(store: SqlStore, n: int) -> tuple[int, list[int]]:
    cohort = await store.create_cohort(
        conversation=WHERE,
        name="c",
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=NOW.date(),
        created_by="mia",
        now=NOW,
    )
    members = await asyncio.gather(*(store.upsert_member("console", f"u{i}", f"m{i}") for i in range(n)))
    return cohort.id, [m.id for m in members]


def checkin(cohort_id: int, member_id: int) -> Activity:
    return Activity(member_id, cohort_id, NOW.date(), ActivityKind.CHECKIN, 5, at=NOW)


def rows_on_disk(path: Path, table: str) -> int:
    """Count rows through a connection of its own, as another process would see the file."""
    with sqlite3.connect(path) as conn:
        count: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        return count


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "studybot.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqlStore]:
    s = SqlStore.from_url(f"sqlite+aiosqlite:///{db_path}")
    await s.migrate()
    yield s
    await s.close()


async def test_concurrent_writes_share_commits_and_all_land(store: SqlStore, db_path: Path) -> None:
    cohort_id, members = await cohort_with_members(store, 300)
    writer = store.group_writer
    assert writer is not None
    before = writer.batches
    await asyncio.gather(*(store.record_activity(checkin(cohort_id, m)) for m in members))
    commits = writer.batches - before
    assert commits < len(members) / 5, f"{commits} commits for {len(members)} writes: not grouped"
    assert rows_on_disk(db_path, "activity") == len(members)


async def test_a_failing_write_undoes_only_itself(store: SqlStore, db_path: Path) -> None:
    cohort_id, members = await cohort_with_members(store, 40)
    await store.record_activity(checkin(cohort_id, members[0]))
    # The second check-in of member 0 conflicts; it is queued among 39 good ones.
    results = await asyncio.gather(
        *(store.record_activity(checkin(cohort_id, m)) for m in members), return_exceptions=True
    )
    assert [type(r) for r in results] == [Conflict] + [Recorded] * 39
    assert rows_on_disk(db_path, "activity") == 40


async def test_a_commit_that_fails_fails_every_write_of_its_batch(store: SqlStore, db_path: Path) -> None:
    cohort_id, members = await cohort_with_members(store, 20)

    def breaks_at_commit(conn: Connection) -> None:
        # A foreign key checked only at COMMIT: the statement passes, the COMMIT of the batch fails.
        conn.execute(text("PRAGMA defer_foreign_keys=ON"))
        conn.execute(
            text("INSERT INTO enrolment (cohort_id, member_id, joined_at) VALUES (:c, 999999, :t)"),
            {
                "c": cohort_id,
                "t": NOW,
            },
        )

    results = await asyncio.gather(
        *(store.record_activity(checkin(cohort_id, m)) for m in members[:10]),
        store._tx(breaks_at_commit),
        *(store.record_activity(checkin(cohort_id, m)) for m in members[10:]),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    stored = rows_on_disk(db_path, "activity")
    # Every write in the failed batch heard it failed; none of them is on disk. (Writes that happened to
    # be committed in an earlier batch succeeded and are stored.)
    assert failed, "the broken commit was reported to nobody"
    assert len(failed) + stored == len(members) + 1
    assert rows_on_disk(db_path, "enrolment") == 0
    # The writer carries on after a failed batch.
    await store.record_activity(Activity(members[0], cohort_id, NOW.date(), ActivityKind.ANSWER, 2, at=NOW))
    assert rows_on_disk(db_path, "activity") == stored + 1


async def test_a_write_is_on_disk_when_its_caller_hears_of_it(store: SqlStore, db_path: Path) -> None:
    cohort_id, members = await cohort_with_members(store, 50)
    seen: list[int] = []

    async def write_then_look(member_id: int) -> None:
        await store.record_activity(checkin(cohort_id, member_id))
        seen.append(rows_on_disk(db_path, "activity"))

    await asyncio.gather(*(write_then_look(m) for m in members))
    # When each caller resumed, at least as many rows as callers resumed so far were committed.
    assert all(count >= i + 1 for i, count in enumerate(seen))


async def test_a_cancelled_caller_does_not_undo_its_write(store: SqlStore, db_path: Path) -> None:
    cohort_id, members = await cohort_with_members(store, 1)
    task = asyncio.create_task(store.record_activity(checkin(cohort_id, members[0])))
    await asyncio.sleep(0)  # queued with the writer
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if rows_on_disk(db_path, "activity"):
            break
        await asyncio.sleep(0.01)
    assert rows_on_disk(db_path, "activity") == 1


async def test_a_closed_store_says_so(db_path: Path) -> None:
    s = SqlStore.from_url(f"sqlite+aiosqlite:///{db_path}")
    await s.migrate()
    await s.upsert_member("console", "u1", "Ada")
    await s.close()
    with pytest.raises(RuntimeError, match="closed"):
        await s.upsert_member("console", "u2", "Bo")


async def test_writes_reach_the_database_file_and_closing_leaves_an_empty_wal(db_path: Path) -> None:
    s = SqlStore.from_url(f"sqlite+aiosqlite:///{db_path}")
    await s.migrate()
    cohort_id, members = await cohort_with_members(s, 500)
    await asyncio.gather(*(s.record_activity(checkin(cohort_id, m)) for m in members))
    await s.close()
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert rows_on_disk(db_path, "activity") == 500
