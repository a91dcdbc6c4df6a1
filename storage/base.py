"""What every storage area shares: table handles, SqlBase (transactions, prepared statements), converters."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, delete, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.util import await_only

from bot.kernel.types import CardChange, Cohort, Member, ReviewCard, Tally
from storage.calendars import breaks_from, history_from
from storage.engine import POOL_SIZE
from storage.sqlite_io import GroupWriter, Plain, Readers, sync_engine
from storage.tables import (
    ActivityRow,
    AwardRow,
    CohortRow,
    EnrolmentRow,
    ExcusalRow,
    HealthNoteRow,
    LearnedTopicRow,
    LinkCodeRow,
    MemberRow,
    MilestoneRoleRow,
    MilestoneRow,
    ModeratorRow,
    PeerReviewRow,
    PodMemberRow,
    PodOptInRow,
    PodWeekRow,
    PostRow,
    RecapRow,
    ReminderRow,
    ReviewActionRow,
    ReviewCardRow,
    SharedDayRow,
    SubmissionRow,
)

if TYPE_CHECKING:
    import asyncpg


log = logging.getLogger(__name__)

T = TypeVar("T")


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


member_t = _t(MemberRow)
moderator_t = _t(ModeratorRow)
cohort_t = _t(CohortRow)
enrolment_t = _t(EnrolmentRow)
post_t = _t(PostRow)
activity_t = _t(ActivityRow)
excusal_t = _t(ExcusalRow)
learned_t = _t(LearnedTopicRow)
review_t = _t(ReviewCardRow)
reminder_t = _t(ReminderRow)
recap_t = _t(RecapRow)
submission_t = _t(SubmissionRow)
peer_review_t = _t(PeerReviewRow)
health_note_t = _t(HealthNoteRow)
milestone_t = _t(MilestoneRow)
milestone_role_t = _t(MilestoneRoleRow)
pod_optin_t = _t(PodOptInRow)
pod_week_t = _t(PodWeekRow)
pod_member_t = _t(PodMemberRow)
review_action_t = _t(ReviewActionRow)
award_t = _t(AwardRow)
link_code_t = _t(LinkCodeRow)
shared_day_t = _t(SharedDayRow)


def dialect_insert(name: str) -> Callable[[Table], Any]:
    """The INSERT with ON CONFLICT of a dialect. PostgreSQL's is imported on first use: importing it costs a
    tenth of a second at every start, which a bot on SQLite need not pay."""
    if name == "sqlite":
        return cast(Callable[[Table], Any], sqlite.insert)
    from sqlalchemy.dialects import postgresql

    return cast(Callable[[Table], Any], postgresql.insert)


class ByDialect:
    """A statement with ON CONFLICT, built for a dialect (by its name) the first time it is asked for."""

    def __init__(self, build: Callable[[Callable[[Table], Any]], Any]) -> None:
        self._build = build
        self._built: dict[str, Any] = {}

    def __getitem__(self, dialect: str) -> Any:
        stmt = self._built.get(dialect)
        if stmt is None:
            stmt = self._built[dialect] = self._build(dialect_insert(dialect))
        return stmt


# The statements of the busiest paths (a member's command, an answer) are built once with bind
# parameters and compiled once per dialect (storage.sqlite_io.Plain), then run on the driver's own
# connection: sqlite3's, or asyncpg's on PostgreSQL.
P = bindparam

# A member's review card, read and saved by _change_card: answers (activity) and reviews (learning) share it.
# FOR UPDATE on PostgreSQL; SQLite has no such clause and needs none (its writer runs one write at a time).
REVIEW_CARD = (
    select(review_t)
    .where(review_t.c.member_id == P("member_id"), review_t.c.challenge_id == P("challenge_id"))
    .with_for_update()
)


def _upsert_review_card(insert: Any) -> Any:
    values: dict[str, Any] = {
        "box": P("reviews"),
        "due_date": P("due"),
        "stability": P("stability"),
        "difficulty": P("difficulty"),
        "last_review": P("last_review"),
        "updated_at": P("now"),
    }
    return (
        insert(review_t)
        .values(member_id=P("member_id"), challenge_id=P("challenge_id"), **values)
        .on_conflict_do_update(index_elements=["member_id", "challenge_id"], set_=values)
    )


SAVE_REVIEW_CARD = ByDialect(_upsert_review_card)


def _review_card(row: Any) -> ReviewCard:
    """A stored review card; migration 0007 gave every card from before FSRS a memory."""
    return ReviewCard(
        row.member_id,
        row.challenge_id,
        row.due_date,
        row.stability or 0.0,
        row.difficulty or 0.0,
        row.last_review,
        row.box,
    )


# A unique constraint broken: SQLAlchemy's error, or sqlite3's own from a prepared statement (on PostgreSQL
# the store adds asyncpg's).
CONFLICT: tuple[type[Exception], ...] = (IntegrityError, sqlite3.IntegrityError)


def _raw(conn: Connection) -> sqlite3.Connection:
    return cast(sqlite3.Connection, conn.connection.driver_connection)


def _driver(conn: Connection | None) -> asyncpg.Connection:
    """The asyncpg connection under a PostgreSQL connection."""
    if conn is None:
        raise RuntimeError("the connection is closed")
    return cast("asyncpg.Connection", conn.connection.driver_connection)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _weekdays(text: str) -> frozenset[int]:
    return frozenset(int(d) for d in text.split(",") if d)


def _cohort(row: Any) -> Cohort:
    return Cohort(
        id=row.id,
        platform=row.platform,
        workspace_id=row.workspace_id,
        channel_id=row.channel_id,
        name=row.name,
        post_time=row.post_time,
        timezone=row.timezone,
        weekdays=_weekdays(row.weekdays),
        start_date=row.start_date,
        paused=row.paused,
        created_by=row.created_by,
        stage_id=row.stage_id,
        stage_since=row.stage_since,
        catchup_minutes=row.catchup_minutes,
        health=bool(row.health),
        health_by=row.health_by,
        history=history_from(row.calendar),
        end_date=row.end_date,
        graduated_on=row.graduated_on,
    )


def _member(row: Any) -> Member:
    return Member(
        row.id,
        row.platform,
        row.user_id,
        row.name,
        row.timezone,
        row.remind_at,
        breaks_from(row.breaks),
        row.learner_id,
    )


# Rows converted to bot types on the event loop; more are converted on a worker thread. A thousand rows
# take about 5 ms, the most a single read may hold the loop for.
ROWS_ON_THE_LOOP = 1000


async def _converted(rows: Sequence[Any], convert: Callable[[Any], T]) -> list[T]:
    """`rows` as bot types: on the event loop when few, else on a worker thread (tens of milliseconds)."""
    if len(rows) <= ROWS_ON_THE_LOOP:
        return [convert(r) for r in rows]
    return await asyncio.to_thread(lambda: [convert(r) for r in rows])


# How long closing the store waits for statements still running on the driver pool.
CLOSE_WITHIN = 10.0


async def _no_reset(_: asyncpg.Connection) -> None:
    """What a connection of the driver pool needs on its way back: nothing (see _open_driver_pool)."""


class SqlBase:
    """What every area's store runs on: the engine, SQLite's writer and readers, one transaction per
    operation, and the prepared statements run on the driver's own connection."""

    def __init__(
        self, engine: AsyncEngine, *, pool_size: int = POOL_SIZE, connect_args: dict[str, Any] | None = None
    ) -> None:
        self.engine = engine
        # PostgreSQL: asyncpg's own pool for the statements run on the driver (a member's reads, an answer's
        # one-call write), opened on first use; SQLAlchemy's checkout, its greenlet and its reset on return
        # cost more than those statements themselves. SQLAlchemy's pool serves everything else.
        self._pool_size = pool_size
        self._connect_args = dict(connect_args or {})
        self._driver_pool: asyncio.Future[asyncpg.Pool] | None = None
        self._closed = False
        self._sqlite = engine.dialect.name == "sqlite"
        self._writer: GroupWriter | None = None
        self._readers: Readers | None = None
        if self._sqlite:
            # SQLite: one writer thread commits concurrent writes together; reader threads beside it.
            self._sync = sync_engine(engine.url.database or "")
            self._writer = GroupWriter(self._sync)
            self._readers = Readers(self._sync)
        # The prepared statements run on the driver's own connection: sqlite3's, or asyncpg's on PostgreSQL.
        self._dialect = self._sync.dialect if self._sqlite else engine.dialect
        self._conflict = CONFLICT
        # The server went away under a pooled connection (it restarted, or an administrator ended it).
        self._disconnected: tuple[type[Exception], ...] = ()
        if not self._sqlite:
            import asyncpg  # only here: it takes a tenth of a second to import, which SQLite need not pay

            self._conflict += (asyncpg.IntegrityConstraintViolationError,)
            # InternalClientError: asyncpg's state machine, met by the server's goodbye mid-statement.
            self._disconnected = (
                asyncpg.PostgresConnectionError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
                ConnectionError,
            )
        # What a statement raises when the server dropped its connection (which _dropped tells apart).
        self._connection_errors: tuple[type[Exception], ...] = (DBAPIError, *self._disconnected)
        self._plain: dict[int, Plain] = {}
        # How long each write took, from the call to its commit (for /metrics).
        self.write_seconds = Tally()

    async def _tx(self, op: Callable[[Connection], T], *, timed: bool = True) -> T:
        """Run `op` as a write: committed (on SQLite, together with concurrent writes) before it returns.
        `timed=False` leaves it out of write_seconds, for a caller that counts the write itself."""
        started = time.perf_counter()
        try:
            if self._writer is not None:
                return await self._writer.run(op)
            return await self._postgres(op, write=True)
        finally:
            if timed:
                self.write_seconds.add(time.perf_counter() - started)

    async def _query(self, op: Callable[[Connection], T]) -> T:
        if self._readers is not None:
            return await self._readers.run(op)
        return await self._postgres(op, write=False)

    async def _postgres(self, op: Callable[[Connection], T], *, write: bool) -> T:
        """Run `op` on a pooled connection: a write in one transaction, a read as it comes (autocommit).

        SQLAlchemy's connection is put in autocommit, so it sends no BEGIN of its own, and asyncpg's
        transaction wraps a write: one BEGIN and one COMMIT around everything the operation runs, through
        SQLAlchemy or on the driver directly. A read is one round trip per statement (under READ COMMITTED a
        transaction around it would see no more consistent a picture).

        No connection is tested before use (that cost a round trip each time). When the server dropped the
        pool's connections (a restart), the first statement on one fails: the pool is then emptied, and a
        read, or a write whose BEGIN failed, is tried once more on a fresh connection, since nothing of it
        happened yet. A write that failed later is reported failed: the member is not told it was saved.
        """
        if self._closed:
            raise RuntimeError("the database is closed")
        for attempt in (1, 2):
            pool = self.engine.pool
            async with self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                driver = _driver(conn.sync_connection)
                try:
                    if not write:
                        return await conn.run_sync(op)
                    transaction = driver.transaction()
                    await transaction.start()
                except self._connection_errors as exc:
                    if not await self._dropped(conn, pool, exc) or attempt == 2:
                        raise
                    continue
                try:
                    result = await conn.run_sync(op)
                    await transaction.commit()
                except BaseException as exc:
                    if not await self._dropped(conn, pool, exc):
                        try:
                            await transaction.rollback()
                        except Exception:  # a COMMIT that failed ended the transaction already
                            log.warning(
                                "rolling back failed too; the connection is thrown away", exc_info=True
                            )
                            await conn.invalidate()
                    raise
                return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _dropped(self, conn: AsyncConnection, pool: Pool, exc: BaseException) -> bool:
        """Whether `exc` says the server dropped the connection; if so, empty the pool it came from."""
        if isinstance(exc, DBAPIError):
            dropped = exc.connection_invalidated  # SQLAlchemy saw it and threw the pool's connections away
        else:
            dropped = isinstance(exc, self._disconnected)
            if dropped:
                await conn.invalidate()
                if self.engine.pool is pool:  # not yet replaced by another command that saw the same
                    await self.engine.dispose()
        if dropped:
            log.warning("the database connection was dropped (%s); reconnecting", type(exc).__name__)
        return dropped

    async def _on_driver(self, use: Callable[[asyncpg.Connection], Awaitable[T]], *, retry: bool = True) -> T:
        """PostgreSQL: run `use` on a connection of asyncpg's own pool, as one statement (autocommit).

        As on SQLAlchemy's pool, nothing is tested before use: when the server dropped the pool's connections
        (a restart), the pool's connections are replaced as they are next taken, and a read (`retry`) is
        tried once more on a fresh one. A write is not: it may have been committed before the connection
        went, which only its caller can find out.
        """
        for attempt in (1, 2):
            pool = await self._open_driver_pool()
            try:
                # No timeout for a connection: each is held for one statement, and a timer per acquire
                # cost 6% of the answers a burst gets through.
                async with pool.acquire() as conn:
                    return await use(conn)
            except self._disconnected as exc:
                if self._closed:
                    raise RuntimeError("the database is closed") from exc
                await pool.expire_connections()
                if not retry or attempt == 2:
                    raise
                log.warning("the database connection was dropped (%s); reconnecting", type(exc).__name__)
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _open_driver_pool(self) -> asyncpg.Pool:
        if self._closed:
            raise RuntimeError("the database is closed")
        if self._driver_pool is None:
            import asyncpg

            _, params = self.engine.dialect.create_connect_args(self.engine.url)
            # SQLAlchemy's own URL options, in asyncpg's words (a pgbouncer's ?prepared_statement_cache_size=0
            # turns asyncpg's statement cache off), or dropped.
            if "prepared_statement_cache_size" in params:
                params["statement_cache_size"] = int(params.pop("prepared_statement_cache_size"))
            for own in ("prepared_statement_name_func", "async_creator_fn"):
                params.pop(own, None)
            params.update(self._connect_args)
            # No connection is opened until a statement needs one (min_size=0), as with SQLAlchemy's pool.
            # Nothing run here changes the session (single statements, no SET, LISTEN, cursor or advisory
            # lock), so a connection goes back without asyncpg's reset query, a round trip each time; an
            # open transaction would still be rolled back.
            opening = asyncpg.create_pool(min_size=0, max_size=self._pool_size, reset=_no_reset, **params)
            self._driver_pool = asyncio.ensure_future(cast(Awaitable["asyncpg.Pool"], opening))
        return await asyncio.shield(self._driver_pool)

    async def _close_driver_pool(self) -> None:
        """Close the driver pool for good: statements still running get CLOSE_WITHIN seconds, then their
        connections are cut; later statements are refused (no new pool is opened behind the closed one)."""
        self._closed = True
        opening, self._driver_pool = self._driver_pool, None
        if opening is None:
            return
        pool = await opening
        try:
            await asyncio.wait_for(pool.close(), CLOSE_WITHIN)
        except TimeoutError:
            log.warning("statements still running after %s s; their connections are cut", CLOSE_WITHIN)
            pool.terminate()

    def _insert(self, table: Table) -> Any:
        return dialect_insert(self._dialect.name)(table)

    async def _insert_new(self, table: Table, **values: object) -> bool:
        """Insert a row unless it would break a unique constraint; True when it was new."""
        stmt = self._insert(table).values(**values).on_conflict_do_nothing()
        return await self._tx(lambda conn: bool(conn.execute(stmt).rowcount))

    async def _delete_where(self, table: Table, **match: object) -> bool:
        """Delete the rows matching every column given; True when there were any."""
        stmt = delete(table).where(*(table.c[k] == v for k, v in match.items()))
        return await self._tx(lambda conn: bool(conn.execute(stmt).rowcount))

    async def _change(self, stmt: Any) -> None:
        """Execute one write statement."""
        await self._tx(lambda conn: conn.execute(stmt))

    async def _change_and_read(self, stmt: Any, query: Any) -> Any:
        """Execute one write statement and return the first row of `query` in the same transaction."""

        def op(conn: Connection) -> Any:
            conn.execute(stmt)
            return conn.execute(query).one()

        return await self._tx(op)

    def _prepared(self, stmt: Any) -> Plain:
        plain = self._plain.get(id(stmt))
        if plain is None:
            plain = self._plain[id(stmt)] = Plain(stmt, self._dialect)
        return plain

    def _first(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> Any:
        """Inside an operation: the first row of a prepared statement, or None."""
        plain = self._prepared(stmt)
        if self._sqlite:
            return plain.first(_raw(conn), params)
        record = await_only(_driver(conn).fetchrow(plain.sql, *plain.params(params)))
        return None if record is None else plain.convert(record)

    def _all_of(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> list[Any]:
        """Inside an operation: every row of a prepared statement."""
        plain = self._prepared(stmt)
        if self._sqlite:
            return plain.all(_raw(conn), params)
        return [plain.convert(r) for r in await_only(_driver(conn).fetch(plain.sql, *plain.params(params)))]

    def _execute(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> int:
        """Inside an operation: execute a prepared write statement; its row count."""
        plain = self._prepared(stmt)
        if self._sqlite:
            return plain.execute(_raw(conn), params).rowcount
        status: str = await_only(_driver(conn).execute(plain.sql, *plain.params(params)))
        count = status.rsplit(" ", 1)[-1]  # "INSERT 0 1", "UPDATE 3"
        return int(count) if count.isdigit() else -1

    async def _rows(self, stmt: Any, **params: Any) -> list[Any]:
        """The rows of a prepared statement (one built with P)."""
        if self._sqlite:
            return await self._query(lambda conn: self._all_of(conn, stmt, params))
        plain = self._prepared(stmt)
        records = await self._on_driver(lambda conn: conn.fetch(plain.sql, *plain.params(params)))
        return [plain.convert(r) for r in records]

    async def _row(self, stmt: Any, **params: Any) -> Any:
        """The first row of a prepared statement (one built with P), or None."""
        if self._sqlite:
            return await self._query(lambda conn: self._first(conn, stmt, params))
        plain = self._prepared(stmt)
        record = await self._on_driver(lambda conn: conn.fetchrow(plain.sql, *plain.params(params)))
        return None if record is None else plain.convert(record)

    async def _one(self, stmt: Any) -> Any:
        return await self._query(lambda conn: conn.execute(stmt).first())

    async def _all(self, stmt: Any) -> Sequence[Any]:
        return await self._query(lambda conn: conn.execute(stmt).all())

    # ---- used by more than one area ----

    async def _update_member(self, member_id: int, **values: object) -> Member:
        write = update(member_t).where(member_t.c.id == member_id).values(**values)
        return _member(await self._change_and_read(write, select(member_t).where(member_t.c.id == member_id)))

    def _change_card(
        self, conn: Connection, member_id: int, review: CardChange, now: dt.datetime
    ) -> ReviewCard:
        """Inside an operation: read a member's review card (locked on PostgreSQL), change it, store it."""
        key = {"member_id": member_id, "challenge_id": review.challenge_id}
        row = self._first(conn, REVIEW_CARD, key)
        card = review.change(_review_card(row) if row else None)
        memory = {"stability": card.stability, "difficulty": card.difficulty, "last_review": card.last_review}
        values = {**key, **memory, "reviews": card.reviews, "due": card.due, "now": now}
        self._execute(conn, SAVE_REVIEW_CARD[conn.dialect.name], values)
        return card
