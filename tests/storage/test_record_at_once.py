"""Recording an activity on PostgreSQL in one call (migration 0017's function) leaves exactly what the long
way leaves, which SQLite still takes: the ledger, the point totals, the days shared with linked accounts, the
review cards, and what the member is told (their days, the card as filed)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot.kernel.ports import Conflict
from bot.kernel.types import Activity, ActivityKind, Excusal, Recorded
from bot.rules.review import file_daily_answer
from storage.base import member_t
from storage.sql_store import SqlStore
from tests.conftest import PG_URL, postgres_store
from tests.storage.test_store import make_cohort

NOW = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
TODAY = NOW.date()


async def _story(store: SqlStore) -> tuple[list[object], dict[str, list[tuple[Any, ...]]]]:
    """The same members do the same things; what each call returned, and every table the calls write."""
    cohort = await make_cohort(store, NOW)
    post = await store.claim_post(cohort.id, TODAY, "q1", NOW)
    assert post is not None
    ada, bo, cy, cy2 = [
        await store.upsert_member("console", n, n.title()) for n in ("ada", "bo", "cy", "cy2")
    ]
    for m in (ada, cy, cy2):
        await store.enrol(cohort.id, m.id, NOW)  # bo is not enrolled: his activity earns no totals
    await store._tx(  # cy and cy2 are one learner's two accounts
        lambda conn: conn.execute(
            update(member_t).where(member_t.c.id.in_([cy.id, cy2.id])).values(learner_id=cy.id)
        )
    )
    await store.add_excusal(Excusal(ada.id, cohort.id, TODAY - dt.timedelta(days=3), "ill", "mia", NOW))
    said: list[object] = []

    async def record(
        member_id: int, day: dt.date, kind: ActivityKind, challenge: str | None, **kw: Any
    ) -> None:
        learner = cy.id if member_id in (cy.id, cy2.id) else None
        activity = Activity(member_id, cohort.id, day, kind, 10, at=NOW, learner_id=learner, **kw)
        review = None
        if challenge is not None:
            review = file_daily_answer(learner or member_id, challenge, kw.get("correct", False), day)
        try:
            recorded = await store.record_activity(activity, review)
        except Conflict:
            said.append("conflict")
        else:
            said.append(dataclasses.astuple(recorded))

    yesterday = TODAY - dt.timedelta(days=1)
    await record(ada.id, yesterday, ActivityKind.CHECKIN, None, note="notebook")
    # Ada's first answer files a new card, her second to the same post is refused, and her answer four days
    # later changes the card she has.
    await record(ada.id, TODAY, ActivityKind.ANSWER, "q1", post_id=post.id, choice="B", correct=True)
    await record(ada.id, TODAY, ActivityKind.ANSWER, "q1", post_id=post.id, choice="C", correct=False)
    await record(ada.id, TODAY + dt.timedelta(days=4), ActivityKind.ANSWER, "q1", choice="A", correct=False)
    await record(bo.id, TODAY, ActivityKind.CHECKIN, None)
    await record(cy.id, TODAY, ActivityKind.ANSWER, "q1", post_id=post.id, choice="B", correct=True)
    # The learner's second account answers the same question: the card is the learner's, filed already.
    await record(cy2.id, TODAY, ActivityKind.ANSWER, "q1", post_id=post.id, choice="B", correct=True)
    await record(cy2.id, yesterday, ActivityKind.CHECKIN, None)
    tables = {
        "activity": "SELECT member_id, local_date, kind, points, post_id, choice, correct, note, created_at "
        "FROM activity",
        "points": "SELECT member_id, period, period_start, points FROM points",
        "shared_day": "SELECT member_id, source_id, local_date, merged FROM shared_day",
        "review_card": "SELECT member_id, challenge_id, box, due_date, stability, difficulty, last_review, "
        "updated_at FROM review_card",
    }
    left: dict[str, list[tuple[Any, ...]]] = {}
    async with store.engine.connect() as conn:
        for name, query in tables.items():
            rows = [tuple(r) for r in (await conn.execute(text(query))).all()]
            left[name] = sorted(tuple(_plain(v) for v in r) for r in rows)
    return said, left


def _plain(value: Any) -> Any:
    """A value as both databases give it back (SQLite: naive instants, dates as text, 0/1)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-":
        return dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value)
    return value


async def test_one_call_on_postgres_leaves_what_the_long_way_leaves(sqlite_store: SqlStore) -> None:
    long_said, long_left = await _story(sqlite_store)
    async with postgres_store() as pg:
        said, left = await _story(pg)
    assert said == long_said
    assert left == long_left
    assert long_said[2] == "conflict"  # the second answer to the post
    assert len(long_left["shared_day"]) == 3  # cy's today for cy2; cy2's today and yesterday for cy


async def test_the_call_files_only_a_new_card_and_declines_the_rest_changing_nothing() -> None:
    async with postgres_store() as store:
        cohort = await make_cohort(store, NOW)
        ada = await store.upsert_member("console", "ada", "Ada")
        await store.enrol(cohort.id, ada.id, NOW)

        def answer(day: dt.date) -> Activity:
            return Activity(ada.id, cohort.id, day, ActivityKind.ANSWER, 10, choice="A", correct=True, at=NOW)

        first = await store._record_at_once(answer(TODAY), file_daily_answer(ada.id, "q1", True, TODAY))
        assert first is not None and first.card is not None and first.active == {TODAY}
        later = TODAY + dt.timedelta(days=1)
        # The card exists now: the call changes nothing and hands the answer to the long way.
        assert (
            await store._record_at_once(answer(later), file_daily_answer(ada.id, "q1", True, later)) is None
        )
        assert [a.local_date for a in await store.activities(cohort.id)] == [TODAY]
        recorded = await store.record_activity(answer(later), file_daily_answer(ada.id, "q1", True, later))
        assert recorded.card is not None and recorded.card.reviews == 2
        assert recorded.active == {TODAY, later}


@pytest.mark.parametrize("kind", [ActivityKind.ANSWER, ActivityKind.CHECKIN])
async def test_a_card_change_that_fails_stores_nothing(store: SqlStore, kind: ActivityKind) -> None:
    from bot.kernel.types import CardChange

    cohort = await make_cohort(store, NOW)
    ada = await store.upsert_member("console", "ada", "Ada")

    def broken(_: object) -> Any:
        raise ValueError("no memory for this card")

    with pytest.raises(ValueError, match="no memory"):
        await store.record_activity(
            Activity(ada.id, cohort.id, TODAY, kind, 10, at=NOW), CardChange("q1", broken)
        )
    assert await store.activities(cohort.id) == []


def _answer(member_id: int, cohort_id: int, day: dt.date) -> Activity:
    return Activity(member_id, cohort_id, day, ActivityKind.ANSWER, 10, choice="A", correct=True, at=NOW)


@pytest.mark.parametrize("lost", ["the reply", "the call", "the call, after another answer"])
async def test_a_connection_dropped_around_the_call_neither_loses_nor_doubles_the_answer(
    lost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server committed and the reply was lost, or the call never arrived: either way the member is told
    their answer was saved (not that they answered before), and it is stored once. An answer of theirs
    stored before, at the same instant but with another choice, is no reason to say this one was saved."""

    async with postgres_store() as store:
        cohort = await make_cohort(store, NOW)
        ada = await store.upsert_member("console", "ada", "Ada")
        await store.enrol(cohort.id, ada.id, NOW)
        if lost.endswith("another answer"):
            other = dataclasses.replace(
                _answer(ada.id, cohort.id, TODAY), choice="B", correct=False, points=2
            )
            await store.record_activity(other)
            with pytest.raises(Conflict):
                await _record_dropping(store, monkeypatch, lost, ada.id, cohort.id)
            [kept] = await store.activities(cohort.id)
            assert kept.choice == "B"
            return
        recorded = await _record_dropping(store, monkeypatch, lost, ada.id, cohort.id)
        assert recorded.active == {TODAY} and recorded.card is not None
        assert [a.local_date for a in await store.activities(cohort.id)] == [TODAY]
        assert len(await store.review_cards(ada.id)) == 1
        standing = await store.standing(cohort.id, "all", TODAY, ada.id, 10)
        assert standing.points == 10  # the points were added once


async def _record_dropping(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, lost: str, member_id: int, cohort_id: int
) -> Recorded:
    """Ada's answer of today, with the connection dropped at its first call: after the server committed it
    ("the reply" lost) or before it arrived."""
    import asyncpg

    from storage.activity import RECORD_AT_ONCE

    real_fetch = asyncpg.Connection.fetch
    dropped: list[str] = []

    async def fetch(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        if query == RECORD_AT_ONCE and not dropped:
            dropped.append(lost)
            if lost == "the reply":
                await real_fetch(self, query, *args, **kw)  # committed on the server
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        return await real_fetch(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "fetch", fetch)
    try:
        return await store.record_activity(
            _answer(member_id, cohort_id, TODAY), file_daily_answer(member_id, "q1", True, TODAY)
        )
    finally:
        monkeypatch.undo()
        assert dropped == [lost]


async def test_each_write_is_timed_once_whichever_way_it_went(store: SqlStore) -> None:
    cohort = await make_cohort(store, NOW)
    ada = await store.upsert_member("console", "ada", "Ada")
    await store.enrol(cohort.id, ada.id, NOW)
    for day in (TODAY, TODAY + dt.timedelta(days=1)):  # a new card, then the same card: the long way
        before = sum(store.write_seconds.counts)
        await store.record_activity(
            _answer(ada.id, cohort.id, day), file_daily_answer(ada.id, "q1", True, day)
        )
        assert sum(store.write_seconds.counts) == before + 1
    before = sum(store.write_seconds.counts)
    with pytest.raises(Conflict):
        await store.record_activity(
            _answer(ada.id, cohort.id, TODAY), file_daily_answer(ada.id, "q1", True, TODAY)
        )
    assert sum(store.write_seconds.counts) == before + 1


async def test_sqlalchemys_own_url_options_work_on_the_driver_pool_too() -> None:
    """?prepared_statement_cache_size=0 (what a pgbouncer asks for) reaches asyncpg in its own words."""
    async with postgres_store("?prepared_statement_cache_size=0") as store:
        await store.ping()
        ada = await store.upsert_member("console", "ada", "Ada")
        assert await store.get_member(ada.id) == ada


async def test_a_closed_store_refuses_statements_and_opens_no_connection() -> None:
    name = f"studybot-closed-{uuid.uuid4().hex[:8]}"
    async with postgres_store(application_name=name) as store:
        ada = await store.upsert_member("console", "ada", "Ada")
        await store.close()
        with pytest.raises(RuntimeError, match="the database is closed"):
            await store.get_member(ada.id)  # asyncpg's pool
        with pytest.raises(RuntimeError, match="the database is closed"):
            await store.member_cohorts(ada.id)  # SQLAlchemy's
        admin = create_async_engine(PG_URL)
        async with admin.connect() as conn:
            left = await conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"), {"n": name}
            )
        await admin.dispose()
        assert left == 0


async def test_readiness_is_not_refused_while_every_connection_is_at_work() -> None:
    """Under a burst every pooled connection is busy: the readiness ping must not queue behind the burst
    and time out as if the database were down."""
    async with postgres_store(pool_size=2) as store:
        held = [
            asyncio.create_task(store._on_driver(lambda conn: conn.fetchval("SELECT pg_sleep(1.5)")))
            for _ in range(2)
        ]
        pool = await store._open_driver_pool()
        for _ in range(100):
            if pool.get_size() == 2 and pool.get_idle_size() == 0:
                break
            await asyncio.sleep(0.01)
        await asyncio.wait_for(store.ping(), 0.5)
        await asyncio.gather(*held)
