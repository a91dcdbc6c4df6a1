"""Workspace-wide reads in one query each, walled to their workspace, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from bot.kernel.types import ConversationRef
from storage.sql_store import SqlStore

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)


async def cohort_in(store: SqlStore, workspace: str, name: str) -> int:
    cohort = await store.create_cohort(
        conversation=ConversationRef("console", workspace, name),
        name=name,
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=NOW.date(),
        created_by="mia",
        now=NOW,
    )
    return cohort.id


async def test_member_counts_and_member_lookups_stay_inside_their_workspace(store: SqlStore) -> None:
    a1, a2 = await cohort_in(store, "A", "one"), await cohort_in(store, "A", "two")
    await cohort_in(store, "A", "empty")
    b1 = await cohort_in(store, "B", "one")
    ada = await store.upsert_member("console", "ada", "Ada")
    bob = await store.upsert_member("console", "bob", "Bob")
    eve = await store.upsert_member("console", "eve", "Eve")
    for cohort, member in ((a1, ada), (a2, ada), (a2, bob), (b1, eve)):
        assert await store.enrol(cohort, member.id, NOW)
    assert await store.member_counts("console", "A") == {a1: 1, a2: 2}
    assert await store.member_counts("console", "B") == {b1: 1}
    assert [m.name for m in await store.find_members("console", "A", "ADA")] == ["Ada"]
    assert [m.name for m in await store.find_members("console", "A", "bob")] == ["Bob"]  # by user id
    assert [m.name for m in await store.find_members("console", "A", "bob", cohort_id=a1)] == []
    assert await store.find_members("console", "A", "eve") == []  # another workspace's member
    assert [m.name for m in await store.find_members("console", "B", "Eve")] == ["Eve"]
    assert await store.find_members("discord", "A", "ada") == []


async def test_joined_at_is_the_latest_joining_and_none_outside(store: SqlStore) -> None:
    cohort = await cohort_in(store, "A", "one")
    ada = await store.upsert_member("console", "ada", "Ada")
    assert await store.joined_at(cohort, ada.id) is None
    await store.enrol(cohort, ada.id, NOW)
    assert await store.joined_at(cohort, ada.id) == NOW
    await store.unenrol(cohort, ada.id)
    later = NOW + dt.timedelta(days=3)
    await store.enrol(cohort, ada.id, later)
    assert await store.joined_at(cohort, ada.id) == later
