"""Daily posts and their claims: one post per cohort and local date, its message id, stale claims."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update

from bot.kernel.ports import PostStore
from bot.kernel.types import Cohort, Post
from storage.base import P, SqlBase, _aware, _cohort, cohort_t, enrolment_t, post_t
from storage.leader import PostgresLeaderLock, SqliteFileLock

# Run prepared (SqlBase._prepared): built once with bind parameters, compiled once per dialect.
POST_BY_ID = select(post_t).where(post_t.c.id == P("id"))
# A post, its cohort (columns prefixed "cohort__") and the member's enrolment there (None when not enrolled).
POST_FOR_ANSWER = (
    select(
        post_t,
        *(c.label(f"cohort__{c.key}") for c in cohort_t.c),
        enrolment_t.c.id.label("enrolment_id"),
    )
    .join(cohort_t, cohort_t.c.id == post_t.c.cohort_id)
    .outerjoin(
        enrolment_t,
        and_(enrolment_t.c.cohort_id == post_t.c.cohort_id, enrolment_t.c.member_id == P("member_id")),
    )
    .where(post_t.c.id == P("id"))
)
POST_FOR_DAY = select(post_t).where(post_t.c.cohort_id == P("cohort_id"), post_t.c.local_date == P("day"))


class _Prefixed:
    """A row's columns whose labels start with `prefix`, by their names without it."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


def _post(row: Any) -> Post:
    return Post(row.id, row.cohort_id, row.local_date, row.challenge_id, row.message_id)


class SqlPosts(SqlBase):
    """kernel.ports.PostStore on SQLite or PostgreSQL."""

    async def claim_post(
        self, cohort_id: int, local_date: dt.date, challenge_id: str, now: dt.datetime
    ) -> Post | None:
        stmt = (
            self._insert(post_t)
            .values(cohort_id=cohort_id, local_date=local_date, challenge_id=challenge_id, claimed_at=now)
            .on_conflict_do_nothing()
            .returning(post_t)
        )
        row = await self._tx(lambda conn: conn.execute(stmt).first())
        return _post(row) if row else None

    async def stale_claims(self, claimed_before: dt.datetime) -> list[Post]:
        rows = await self._all(
            select(post_t)
            .where(post_t.c.message_id.is_(None), post_t.c.claimed_at < claimed_before)
            .order_by(post_t.c.id)
        )
        return [_post(r) for r in rows]

    async def reclaim_post(self, post_id: int, now: dt.datetime, claimed_before: dt.datetime) -> bool:
        stmt = (
            update(post_t)
            .where(
                post_t.c.id == post_id,
                post_t.c.message_id.is_(None),
                post_t.c.claimed_at < claimed_before,
            )
            .values(claimed_at=now)
        )
        return await self._tx(lambda conn: bool(conn.execute(stmt).rowcount))

    async def posts_since(self, day: dt.date, cohort_id: int | None = None) -> list[Post]:
        query = select(post_t).where(post_t.c.local_date >= day)
        if cohort_id is not None:
            query = query.where(post_t.c.cohort_id == cohort_id)
        rows = await self._all(query)
        return [_post(r) for r in rows]

    async def post_before(self, cohort_id: int, day: dt.date) -> Post | None:
        row = await self._one(
            select(post_t)
            .where(post_t.c.cohort_id == cohort_id, post_t.c.local_date < day)
            .order_by(post_t.c.local_date.desc())
            .limit(1)
        )
        return _post(row) if row else None

    def scheduler_lock(self) -> PostgresLeaderLock | SqliteFileLock:
        if self._sqlite:
            return SqliteFileLock(self.engine.url.database or ":memory:")
        return PostgresLeaderLock(self.engine)

    async def set_post_message(self, post_id: int, message_id: str) -> None:
        await self._change(update(post_t).where(post_t.c.id == post_id).values(message_id=message_id))

    async def get_post(self, post_id: int) -> Post | None:
        row = await self._row(POST_BY_ID, id=post_id)
        return _post(row) if row else None

    async def post_for_answer(self, post_id: int, member_id: int) -> tuple[Post, Cohort, bool] | None:
        row = await self._row(POST_FOR_ANSWER, id=post_id, member_id=member_id)
        if row is None:
            return None
        return _post(row), _cohort(_Prefixed(row, "cohort__")), row.enrolment_id is not None

    async def post_for_day(self, cohort_id: int, local_date: dt.date) -> Post | None:
        row = await self._row(POST_FOR_DAY, cohort_id=cohort_id, day=local_date)
        return _post(row) if row else None

    async def latest_post(self, cohort_id: int) -> Post | None:
        row = await self._one(
            select(post_t)
            .where(post_t.c.cohort_id == cohort_id)
            .order_by(post_t.c.local_date.desc())
            .limit(1)
        )
        return _post(row) if row else None

    async def used_challenges(self, cohort_id: int) -> list[str]:
        rows = await self._all(
            select(post_t.c.challenge_id).where(post_t.c.cohort_id == cohort_id).order_by(post_t.c.local_date)
        )
        return [r.challenge_id for r in rows]

    async def first_post_of(self, cohort_id: int, challenge_id: str) -> tuple[Post, dt.datetime] | None:
        row = await self._one(
            select(post_t)
            .where(post_t.c.cohort_id == cohort_id, post_t.c.challenge_id == challenge_id)
            .order_by(post_t.c.local_date)
            .limit(1)
        )
        return (_post(row), _aware(row.claimed_at)) if row else None

    async def post_claimed_at(self, post_id: int) -> dt.datetime | None:
        row = await self._one(select(post_t.c.claimed_at).where(post_t.c.id == post_id))
        return _aware(row.claimed_at) if row else None


if TYPE_CHECKING:

    def _implements_its_port(store: SqlPosts) -> PostStore:
        """Where mypy checks that SqlPosts has every method of PostStore, with the same signatures."""
        return store
