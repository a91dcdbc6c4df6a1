"""SqlStore: kernel.ports.Store over SQLAlchemy's async engine; returns kernel types, never ORM rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncGenerator, Callable, Collection, Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.util import await_only

from bot.kernel.ports import Conflict
from bot.kernel.types import (
    Activity,
    ActivityKind,
    CalendarHistory,
    CardChange,
    Cohort,
    ConversationRef,
    DaySpan,
    Excusal,
    Member,
    Post,
    Recorded,
    ReviewCard,
    ScoreRow,
    Standing,
)
from storage.calendars import breaks_from, breaks_text, history_from, history_text
from storage.engine import POOL_SIZE, is_sqlite, make_engine, upgrade
from storage.leader import PostgresLeaderLock, SqliteFileLock
from storage.points import PERIODS, bucket_start, points_t, rebuild_points
from storage.sqlite_io import GroupWriter, Plain, Readers, sync_engine
from storage.tables import (
    ActivityRow,
    CohortRow,
    EnrolmentRow,
    ExcusalRow,
    LearnedTopicRow,
    MemberRow,
    ModeratorRow,
    PostRow,
    RecapRow,
    ReminderRow,
    ReviewCardRow,
)

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

T = TypeVar("T")

# The member.name column's size; platforms allow shorter display names (Discord 32, Slack 80).
MAX_NAME = 100


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


# The statements of the busiest paths (a member's command, an answer), built once with bind parameters and
# compiled once per dialect (storage.sqlite_io.Plain), then run on the driver's own connection: sqlite3's,
# or asyncpg's on PostgreSQL.
P = bindparam
MEMBER_BY_USER = select(member_t).where(
    member_t.c.platform == P("platform"), member_t.c.user_id == P("user_id")
)
MEMBER_BY_ID = select(member_t).where(member_t.c.id == P("id"))
COHORT_BY_ID = select(cohort_t).where(cohort_t.c.id == P("id"))
COHORTS_OF_MEMBER = (
    select(cohort_t)
    .join(enrolment_t, enrolment_t.c.cohort_id == cohort_t.c.id)
    .where(enrolment_t.c.member_id == P("member_id"))
    .order_by(enrolment_t.c.joined_at.desc(), enrolment_t.c.id.desc())
)
COHORTS_IN_WORKSPACE = (
    select(cohort_t)
    .where(cohort_t.c.platform == P("platform"), cohort_t.c.workspace_id == P("workspace_id"))
    .order_by(cohort_t.c.name, cohort_t.c.id)
)
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
ANSWER_FOR_POST = select(activity_t).where(
    activity_t.c.post_id == P("post_id"),
    activity_t.c.member_id == P("member_id"),
    activity_t.c.kind == ActivityKind.ANSWER.value,
)
MEMBER_DAYS = union_all(
    select(activity_t.c.local_date, literal(True).label("active"))
    .where(activity_t.c.cohort_id == P("cohort_id"), activity_t.c.member_id == P("member_id"))
    .distinct(),
    select(excusal_t.c.local_date, literal(False).label("active")).where(
        excusal_t.c.cohort_id == P("cohort_id"), excusal_t.c.member_id == P("member_id")
    ),
)
# FOR UPDATE on PostgreSQL; SQLite has no such clause and needs none (its writer runs one write at a time).
REVIEW_CARD = (
    select(review_t)
    .where(review_t.c.member_id == P("member_id"), review_t.c.challenge_id == P("challenge_id"))
    .with_for_update()
)


def _upsert_review_card(insert: Any) -> Any:
    values: dict[str, Any] = {"box": P("box"), "due_date": P("due"), "updated_at": P("now")}
    return (
        insert(review_t)
        .values(member_id=P("member_id"), challenge_id=P("challenge_id"), **values)
        .on_conflict_do_update(index_elements=["member_id", "challenge_id"], set_=values)
    )


SAVE_REVIEW_CARD = ByDialect(_upsert_review_card)
REVIEW_CARDS = (
    select(review_t)
    .where(review_t.c.member_id == P("member_id"))
    .order_by(review_t.c.due_date, review_t.c.box, review_t.c.challenge_id)
)
_ACTIVITY_COLUMNS = (
    "member_id",
    "cohort_id",
    "local_date",
    "kind",
    "points",
    "post_id",
    "choice",
    "correct",
    "note",
    "created_at",
)
INSERT_ACTIVITY = activity_t.insert().values({c: P(c) for c in _ACTIVITY_COLUMNS})


def _add_points(insert: Any) -> Any:
    """Add an activity's points to its three buckets (all time, week, month) in one statement; only while the
    member is enrolled in the cohort (no enrolment row: nothing is added)."""
    enrolled = and_(enrolment_t.c.cohort_id == P("cohort_id"), enrolment_t.c.member_id == P("member_id"))
    buckets = union_all(
        *(
            select(
                enrolment_t.c.cohort_id,
                enrolment_t.c.member_id,
                literal(period, String).label("period"),
                P(f"{period}_start", type_=Date).label("period_start"),
                P("points", type_=Integer).label("points"),
            ).where(enrolled)
            for period in PERIODS
        )
    ).subquery()
    # SQLite reads "ON CONFLICT" after a bare INSERT ... SELECT as a join; a WHERE clause settles it.
    rows = select(buckets).where(true())
    stmt = insert(points_t).from_select(["cohort_id", "member_id", "period", "period_start", "points"], rows)
    return stmt.on_conflict_do_update(
        index_elements=["cohort_id", "period", "period_start", "member_id"],
        set_={"points": points_t.c.points + stmt.excluded.points},
    )


ADD_POINTS = ByDialect(_add_points)
MEMBER_HAS_ACTIVITY = (
    select(activity_t.c.id)
    .where(activity_t.c.cohort_id == P("cohort_id"), activity_t.c.member_id == P("member_id"))
    .limit(1)
)
_BUCKET = and_(
    points_t.c.cohort_id == P("cohort_id"),
    points_t.c.period == P("period"),
    points_t.c.period_start == P("start"),
)
# The leaderboard: the top of the bucket's index, one member's total, and counts along the index.
TOP_POINTS = (
    select(points_t.c.member_id, member_t.c.name, points_t.c.points)
    .join(member_t, member_t.c.id == points_t.c.member_id)
    .where(_BUCKET, points_t.c.points > 0)
    .order_by(points_t.c.points.desc(), points_t.c.member_id.desc())  # the index, read backwards
    .limit(P("top"))
)
MY_POINTS = select(points_t.c.points).where(_BUCKET, points_t.c.member_id == P("member_id"))
# One pass along the index: members with points, and how many of them have more than the caller.
POINTS_COUNTS = (
    select(func.count(), func.coalesce(func.sum(case((points_t.c.points > P("mine"), 1), else_=0)), 0))
    .select_from(points_t)
    .where(_BUCKET, points_t.c.points > 0)
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
        history=history_from(row.calendar),
    )


def _cohort_values(changes: dict[str, object]) -> dict[str, object]:
    """A cohort's changes as column values: weekdays and the calendar history as their stored text."""
    values = dict(changes)
    if "history" in values:
        history = values.pop("history")
        if not isinstance(history, CalendarHistory):
            raise TypeError("history must be a CalendarHistory")
        values["calendar"] = history_text(history)
    if "weekdays" in values:
        days = values["weekdays"]
        if not isinstance(days, frozenset):
            raise TypeError("weekdays must be a frozenset of weekday numbers")
        values["weekdays"] = ",".join(str(d) for d in sorted(days))
    return values


class _Prefixed:
    """A row's columns whose labels start with `prefix`, by their names without it."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


def _member(row: Any) -> Member:
    return Member(
        row.id, row.platform, row.user_id, row.name, row.timezone, row.remind_at, breaks_from(row.breaks)
    )


def _score_row(row: Any) -> ScoreRow:
    return ScoreRow(row.id, row.name, row.points, row.answers, row.correct, row.checkins)


def _post(row: Any) -> Post:
    return Post(row.id, row.cohort_id, row.local_date, row.challenge_id, row.message_id)


def _activity(row: Any) -> Activity:
    return Activity(
        member_id=row.member_id,
        cohort_id=row.cohort_id,
        local_date=row.local_date,
        kind=ActivityKind(row.kind),
        points=row.points,
        post_id=row.post_id,
        choice=row.choice,
        correct=row.correct,
        note=row.note,
        at=_aware(row.created_at),
    )


# Every member's days in a cohort (cohort_days): member, date, and whether active (else excused). No DISTINCT:
# the sets they go into drop an answer and a check-in on the same day without a sort of the whole ledger.
COHORT_DAYS = union_all(
    select(activity_t.c.member_id, activity_t.c.local_date, literal(True).label("active")).where(
        activity_t.c.cohort_id == P("cohort_id")
    ),
    select(excusal_t.c.member_id, excusal_t.c.local_date, literal(False).label("active")).where(
        excusal_t.c.cohort_id == P("cohort_id")
    ),
)
# A cohort's ledger for an export, with the member's name and user id; no instants (an export shows none).
LEDGER = (
    select(
        activity_t.c.member_id,
        activity_t.c.cohort_id,
        activity_t.c.local_date,
        activity_t.c.kind,
        activity_t.c.points,
        activity_t.c.post_id,
        activity_t.c.choice,
        activity_t.c.correct,
        activity_t.c.note,
        member_t.c.name,
        member_t.c.user_id,
    )
    .outerjoin(member_t, member_t.c.id == activity_t.c.member_id)
    .where(activity_t.c.cohort_id == P("cohort_id"))
    .order_by(activity_t.c.local_date, activity_t.c.id)
)
_NO_DAYS: frozenset[dt.date] = frozenset()


def _group_days(
    rows: Iterable[Sequence[Any]], parse: Callable[[Any], dt.date] | None
) -> dict[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]]:
    """(member id, date, active) rows by member; `parse` reads a stored date (None: it is a date already)."""
    # One date object per distinct day: a thousand members' year names a few hundred days, not 300,000.
    dates: dict[Any, dt.date] = {}
    active: dict[int, set[dt.date]] = {}
    excused: dict[int, set[dt.date]] = {}
    for member_id, raw, is_active in rows:
        day = dates.get(raw)
        if day is None:
            day = dates[raw] = parse(raw) if parse is not None else raw
        (active if is_active else excused).setdefault(member_id, set()).add(day)
    return {m: (active.get(m, _NO_DAYS), excused.get(m, _NO_DAYS)) for m in active.keys() | excused.keys()}


def _ledger_page(
    rows: Iterable[Sequence[Any]], dates: dict[Any, dt.date] | None
) -> list[tuple[Activity, str | None, str | None]]:
    """LEDGER rows as activities with the member's name and user id; `dates` caches SQLite's parsed dates
    (None: the driver gives dates)."""
    page = []
    for member_id, cohort_id, raw, kind, points, post_id, choice, correct, note, name, user_id in rows:
        day = raw
        if dates is not None:
            day = dates.get(raw)
            if day is None:
                day = dates[raw] = dt.date.fromisoformat(raw)
        activity = Activity(
            member_id=member_id,
            cohort_id=cohort_id,
            local_date=day,
            kind=ActivityKind(kind),
            points=points,
            post_id=post_id,
            choice=choice,
            correct=None if correct is None else bool(correct),
            note=note,
        )
        page.append((activity, name, user_id))
    return page


# Rows converted to bot types on the event loop; more are converted on a worker thread. A thousand rows
# take about 5 ms, the most a single read may hold the loop for.
ROWS_ON_THE_LOOP = 1000


async def _converted(rows: Sequence[Any], convert: Callable[[Any], T]) -> list[T]:
    """`rows` as bot types: on the event loop when few, else on a worker thread (tens of milliseconds)."""
    if len(rows) <= ROWS_ON_THE_LOOP:
        return [convert(r) for r in rows]
    return await asyncio.to_thread(lambda: [convert(r) for r in rows])


# Members one name may match: enough to say it is ambiguous, without reading a whole workspace.
MATCHES_MAX = 10


class SqlStore:
    """The Store on SQLite or PostgreSQL; every public method is one committed transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
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

    @property
    def group_writer(self) -> GroupWriter | None:
        """SQLite's writer thread (its batch counts show how writes were grouped); None on PostgreSQL."""
        return self._writer

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = POOL_SIZE, **connect_args: Any) -> SqlStore:
        """A store on the database at `url`; `pool_size` connections on PostgreSQL (SQLite ignores it)."""
        return cls(make_engine(url, pool_size=pool_size, **connect_args))

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(str(self.engine.url))

    async def migrate(self) -> None:
        await upgrade(self.engine)

    async def close(self) -> None:
        if self._writer is not None and self._readers is not None:
            await asyncio.to_thread(self._writer.close)
            await asyncio.to_thread(self._readers.close)
            self._sync.dispose()
        await self.engine.dispose()

    async def _tx(self, op: Callable[[Connection], T]) -> T:
        """Run `op` as a write: committed (on SQLite, together with concurrent writes) before it returns."""
        if self._writer is not None:
            return await self._writer.run(op)
        return await self._postgres(op, write=True)

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
        """The rows of one of the prepared statements above."""
        return await self._query(lambda conn: self._all_of(conn, stmt, params))

    async def _row(self, stmt: Any, **params: Any) -> Any:
        """The first row of one of the prepared statements above, or None."""
        return await self._query(lambda conn: self._first(conn, stmt, params))

    async def _one(self, stmt: Any) -> Any:
        return await self._query(lambda conn: conn.execute(stmt).first())

    async def _all(self, stmt: Any) -> Sequence[Any]:
        return await self._query(lambda conn: conn.execute(stmt).all())

    # ---- members and moderators ----

    async def upsert_member(self, platform: str, user_id: str, name: str) -> Member:
        name = name[:MAX_NAME]
        row = await self._row(MEMBER_BY_USER, platform=platform, user_id=user_id)
        if row is not None and row.name == name:
            return _member(row)
        if row is None:
            write: Any = (
                self._insert(member_t)
                .values(platform=platform, user_id=user_id, name=name)
                .on_conflict_do_nothing()
            )
        else:
            write = update(member_t).where(member_t.c.id == row.id).values(name=name)
        query = select(member_t).where(member_t.c.platform == platform, member_t.c.user_id == user_id)
        return _member(await self._change_and_read(write, query))

    async def set_member_timezone(self, member_id: int, timezone: str) -> Member:
        return await self._update_member(member_id, timezone=timezone)

    async def _update_member(self, member_id: int, **values: object) -> Member:
        write = update(member_t).where(member_t.c.id == member_id).values(**values)
        return _member(await self._change_and_read(write, select(member_t).where(member_t.c.id == member_id)))

    async def set_breaks(self, member_id: int, breaks: tuple[DaySpan, ...]) -> Member:
        return await self._update_member(member_id, breaks=breaks_text(breaks))

    async def get_member(self, member_id: int) -> Member | None:
        row = await self._row(MEMBER_BY_ID, id=member_id)
        return _member(row) if row else None

    async def is_moderator(self, platform: str, workspace_id: str, user_id: str) -> bool:
        row = await self._one(
            select(moderator_t.c.id).where(
                moderator_t.c.platform == platform,
                moderator_t.c.workspace_id == workspace_id,
                moderator_t.c.user_id == user_id,
            )
        )
        return row is not None

    async def grant_moderator(
        self, platform: str, workspace_id: str, user_id: str, by: str, now: dt.datetime
    ) -> bool:
        return await self._insert_new(
            moderator_t,
            platform=platform,
            workspace_id=workspace_id,
            user_id=user_id,
            granted_by=by,
            granted_at=now,
        )

    async def revoke_moderator(self, platform: str, workspace_id: str, user_id: str) -> bool:
        return await self._delete_where(
            moderator_t, platform=platform, workspace_id=workspace_id, user_id=user_id
        )

    async def create_cohort(
        self,
        *,
        conversation: ConversationRef,
        name: str,
        post_time: dt.time,
        timezone: str,
        weekdays: frozenset[int],
        start_date: dt.date,
        created_by: str,
        now: dt.datetime,
    ) -> Cohort:
        stmt = (
            cohort_t.insert()
            .values(
                platform=conversation.platform,
                workspace_id=conversation.workspace_id,
                channel_id=conversation.channel_id,
                name=name,
                post_time=post_time,
                timezone=timezone,
                weekdays=",".join(str(d) for d in sorted(weekdays)),
                start_date=start_date,
                paused=False,
                created_by=created_by,
                created_at=now,
            )
            .returning(cohort_t)
        )
        try:
            return _cohort(await self._tx(lambda conn: conn.execute(stmt).one()))
        except IntegrityError:
            raise Conflict(name) from None

    async def update_cohort(self, cohort_id: int, **changes: object) -> Cohort:
        changes = _cohort_values(changes)
        write = update(cohort_t).where(cohort_t.c.id == cohort_id).values(**changes)
        try:
            return _cohort(
                await self._change_and_read(write, select(cohort_t).where(cohort_t.c.id == cohort_id))
            )
        except IntegrityError:
            raise Conflict(str(changes)) from None

    async def change_cohort(self, cohort_id: int, change: Callable[[Cohort], dict[str, object]]) -> Cohort:
        """Read the cohort, apply the changes `change` decides from it, and return the result, in one
        transaction (the row locked on PostgreSQL), so two moderators' changes never undo each other.

        An exception from `change` changes nothing and propagates.
        """
        read = select(cohort_t).where(cohort_t.c.id == cohort_id)

        def op(conn: Connection) -> Cohort:
            row = conn.execute(read if self._sqlite else read.with_for_update()).one()
            changes = _cohort_values(change(_cohort(row)))
            conn.execute(update(cohort_t).where(cohort_t.c.id == cohort_id).values(**changes))
            return _cohort(conn.execute(read).one())

        try:
            return await self._tx(op)
        except IntegrityError:
            raise Conflict("cohort change") from None

    async def get_cohort(self, cohort_id: int) -> Cohort | None:
        row = await self._row(COHORT_BY_ID, id=cohort_id)
        return _cohort(row) if row else None

    async def find_cohort(self, platform: str, workspace_id: str, name: str) -> Cohort | None:
        row = await self._one(
            select(cohort_t).where(
                cohort_t.c.platform == platform,
                cohort_t.c.workspace_id == workspace_id,
                func.lower(cohort_t.c.name) == name.lower(),
            )
        )
        return _cohort(row) if row else None

    async def list_cohorts(
        self, platform: str | None = None, workspace_id: str | None = None
    ) -> list[Cohort]:
        if platform is not None and workspace_id is not None:
            rows = await self._rows(COHORTS_IN_WORKSPACE, platform=platform, workspace_id=workspace_id)
            return [_cohort(r) for r in rows]
        query = select(cohort_t).order_by(cohort_t.c.name, cohort_t.c.id)
        if platform is not None:
            query = query.where(cohort_t.c.platform == platform)
        if workspace_id is not None:
            query = query.where(cohort_t.c.workspace_id == workspace_id)
        return [_cohort(r) for r in await self._all(query)]

    async def enrol(self, cohort_id: int, member_id: int, now: dt.datetime) -> bool:
        stmt = (
            self._insert(enrolment_t)
            .values(cohort_id=cohort_id, member_id=member_id, joined_at=now)
            .on_conflict_do_nothing()
        )

        def op(conn: Connection) -> bool:
            if not conn.execute(stmt).rowcount:
                return False
            if self._first(conn, MEMBER_HAS_ACTIVITY, {"cohort_id": cohort_id, "member_id": member_id}):
                rebuild_points(conn, cohort_id, member_id)  # back on the board with what they earned before
            return True

        return await self._tx(op)

    async def joined_at(self, cohort_id: int, member_id: int) -> dt.datetime | None:
        row = await self._one(
            select(enrolment_t.c.joined_at).where(
                enrolment_t.c.cohort_id == cohort_id, enrolment_t.c.member_id == member_id
            )
        )
        return _aware(row[0]) if row else None

    async def unenrol(self, cohort_id: int, member_id: int) -> bool:
        def op(conn: Connection) -> bool:
            match = {"cohort_id": cohort_id, "member_id": member_id}
            conn.execute(delete(points_t).filter_by(**match))  # off the board; the ledger keeps their history
            return bool(conn.execute(delete(enrolment_t).filter_by(**match)).rowcount)

        return await self._tx(op)

    async def standing(self, cohort_id: int, period: str, day: dt.date, member_id: int, top: int) -> Standing:
        bucket = {"cohort_id": cohort_id, "period": period, "start": bucket_start(period, day)}

        def op(conn: Connection) -> Standing:
            leaders = self._all_of(conn, TOP_POINTS, {**bucket, "top": top})
            row = self._first(conn, MY_POINTS, {**bucket, "member_id": member_id})
            mine = row.points if row is not None else 0
            ranked, ahead = self._first(conn, POINTS_COUNTS, {**bucket, "mine": mine})
            return Standing(
                tuple(ScoreRow(r.member_id, r.name, r.points) for r in leaders),
                1 + int(ahead) if mine > 0 else None,
                mine,
                int(ranked),
            )

        return await self._query(op)

    async def member_cohorts(self, member_id: int) -> list[Cohort]:
        return [_cohort(r) for r in await self._rows(COHORTS_OF_MEMBER, member_id=member_id)]

    async def member_counts(self, platform: str, workspace_id: str) -> dict[int, int]:
        in_workspace = (cohort_t.c.platform == platform, cohort_t.c.workspace_id == workspace_id)
        rows = await self._all(
            select(enrolment_t.c.cohort_id, func.count())
            .join(cohort_t, cohort_t.c.id == enrolment_t.c.cohort_id)
            .where(*in_workspace)
            .group_by(enrolment_t.c.cohort_id)
        )
        return {row[0]: row[1] for row in rows}

    async def find_members(
        self, platform: str, workspace_id: str, key: str, cohort_id: int | None = None
    ) -> list[Member]:
        enrolled = (
            select(enrolment_t.c.member_id)
            .join(cohort_t, cohort_t.c.id == enrolment_t.c.cohort_id)
            .where(cohort_t.c.platform == platform, cohort_t.c.workspace_id == workspace_id)
        )
        if cohort_id is not None:
            enrolled = enrolled.where(enrolment_t.c.cohort_id == cohort_id)
        # lower() on both sides, so both databases fold alike (SQLite's lower() folds ASCII letters only).
        folded = func.lower(key)
        named = or_(func.lower(member_t.c.user_id) == folded, func.lower(member_t.c.name) == folded)
        query = select(member_t).where(member_t.c.id.in_(enrolled), named).order_by(member_t.c.name)
        return [_member(r) for r in await self._all(query.limit(MATCHES_MAX))]

    async def cohorts_of_members(self, member_ids: Collection[int]) -> dict[int, list[Cohort]]:
        if not member_ids:
            return {}
        rows = await self._all(
            select(enrolment_t.c.member_id.label("enrolled_member_id"), cohort_t)
            .join(enrolment_t, enrolment_t.c.cohort_id == cohort_t.c.id)
            .where(enrolment_t.c.member_id.in_(sorted(set(member_ids))))
            .order_by(enrolment_t.c.member_id, enrolment_t.c.joined_at.desc(), enrolment_t.c.id.desc())
        )
        found: dict[int, list[Cohort]] = {}
        for r in rows:
            found.setdefault(r.enrolled_member_id, []).append(_cohort(r))
        return found

    async def cohort_members(self, cohort_id: int) -> list[Member]:
        rows = await self._all(
            select(member_t)
            .join(enrolment_t, enrolment_t.c.member_id == member_t.c.id)
            .where(enrolment_t.c.cohort_id == cohort_id)
            .order_by(member_t.c.name)
        )
        return await _converted(rows, _member)

    # ---- daily posts ----

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

    async def posts_since(self, day: dt.date) -> list[Post]:
        rows = await self._all(select(post_t).where(post_t.c.local_date >= day))
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

    # ---- the ledger ----

    async def record_activity(self, activity: Activity, review: CardChange | None = None) -> Recorded:
        if activity.at is None:
            raise ValueError("an activity needs the instant it happened")
        at, day = activity.at, activity.local_date
        values = {
            "member_id": activity.member_id,
            "cohort_id": activity.cohort_id,
            "local_date": day,
            "kind": activity.kind.value,
            "points": activity.points,
            "post_id": activity.post_id,
            "choice": activity.choice,
            "correct": activity.correct,
            "note": activity.note,
            "created_at": at,
        }
        key = {"cohort_id": activity.cohort_id, "member_id": activity.member_id}
        # The running totals move with the ledger, in the same statement for the three periods.
        points = {**key, "points": activity.points, **{f"{p}_start": bucket_start(p, day) for p in PERIODS}}

        def op(conn: Connection) -> Recorded:
            self._execute(conn, INSERT_ACTIVITY, values)
            self._execute(conn, ADD_POINTS[conn.dialect.name], points)
            card = self._change_card(conn, activity.member_id, review, at) if review is not None else None
            active, excused = self._days(conn, key)
            return Recorded(frozenset(active), frozenset(excused), card)

        try:
            return await self._tx(op)
        except self._conflict:
            raise Conflict(f"{activity.kind} on {activity.local_date}") from None

    async def activities(
        self, cohort_id: int, member_id: int | None = None, since: dt.date | None = None
    ) -> list[Activity]:
        query = select(activity_t).where(activity_t.c.cohort_id == cohort_id)
        if member_id is not None:
            query = query.where(activity_t.c.member_id == member_id)
        if since is not None:
            query = query.where(activity_t.c.local_date >= since)
        query = query.order_by(activity_t.c.local_date, activity_t.c.id)
        return await _converted(await self._all(query), _activity)

    async def answer_for_post(self, post_id: int, member_id: int) -> Activity | None:
        row = await self._row(ANSWER_FOR_POST, post_id=post_id, member_id=member_id)
        return _activity(row) if row else None

    async def post_tally(self, post_id: int) -> tuple[int, int, int]:
        is_answer = activity_t.c.kind == ActivityKind.ANSWER.value
        row = await self._one(
            select(
                func.count(case((is_answer, 1))),
                func.count(case((and_(is_answer, activity_t.c.correct.is_(True)), 1))),
                func.count(case((activity_t.c.kind == ActivityKind.CHECKIN.value, 1))),
            ).where(activity_t.c.post_id == post_id)
        )
        return (row[0], row[1], row[2]) if row else (0, 0, 0)

    async def member_days(self, cohort_id: int, member_id: int) -> tuple[set[dt.date], set[dt.date]]:
        return await self._query(
            lambda conn: self._days(conn, {"cohort_id": cohort_id, "member_id": member_id})
        )

    def _days(self, conn: Connection, key: dict[str, Any]) -> tuple[set[dt.date], set[dt.date]]:
        """Inside an operation: a member's active and excused days in a cohort."""
        plain = self._prepared(MEMBER_DAYS)
        if self._sqlite:
            # Years of rows: parsed here directly (SQLite keeps a DATE as YYYY-MM-DD), not column by column
            # through the generic converters, which cost several times the query.
            rows = _raw(conn).execute(plain.sql, plain.params(key)).fetchall()
            days = [(dt.date.fromisoformat(day), active) for day, active in rows]
        else:
            days = [tuple(r) for r in await_only(_driver(conn).fetch(plain.sql, *plain.params(key)))]
        return {day for day, active in days if active}, {day for day, active in days if not active}

    async def cohort_days(
        self, cohort_id: int
    ) -> dict[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]]:
        plain = self._prepared(COHORT_DAYS)
        params = plain.params({"cohort_id": cohort_id})
        if self._sqlite:
            # Grouped on the reader thread as the rows come, each date parsed once (SQLite keeps YYYY-MM-DD).
            return await self._query(
                lambda conn: _group_days(_raw(conn).execute(plain.sql, params), dt.date.fromisoformat)
            )
        records = await self._query(lambda conn: await_only(_driver(conn).fetch(plain.sql, *params)))
        # A year of a thousand members is 300,000 rows: grouping them would hold the event loop for a while.
        return await asyncio.to_thread(_group_days, records, None)

    async def ledger_pages(
        self, cohort_id: int, size: int
    ) -> AsyncGenerator[Sequence[tuple[Activity, str | None, str | None]], None]:
        plain = self._prepared(LEDGER)
        params = plain.params({"cohort_id": cohort_id})
        if self._sqlite:
            # A connection of its own, not a reader thread's: the query stays open while the caller works.
            conn = await asyncio.to_thread(self._sync.raw_connection)
            try:
                raw = cast(sqlite3.Connection, conn.driver_connection)
                cursor = await asyncio.to_thread(raw.execute, plain.sql, params)
                dates: dict[Any, dt.date] = {}
                while page := await asyncio.to_thread(lambda: _ledger_page(cursor.fetchmany(size), dates)):
                    yield page
            finally:
                await asyncio.to_thread(conn.close)
            return
        async with self.engine.connect() as pooled:
            await pooled.execution_options(isolation_level="AUTOCOMMIT")
            driver = _driver(pooled.sync_connection)
            async with driver.transaction(readonly=True):  # asyncpg's cursors live in a transaction
                pages = await driver.cursor(plain.sql, *params)
                while records := await pages.fetch(size):
                    yield _ledger_page(records, None)

    async def add_excusal(self, excusal: Excusal) -> None:
        stmt = excusal_t.insert().values(
            cohort_id=excusal.cohort_id,
            member_id=excusal.member_id,
            local_date=excusal.local_date,
            reason=excusal.reason,
            granted_by=excusal.granted_by,
            created_at=excusal.at,
        )
        try:
            await self._change(stmt)
        except IntegrityError:
            raise Conflict(str(excusal.local_date)) from None

    async def excusals(self, cohort_id: int, member_id: int | None = None) -> list[Excusal]:
        query = select(excusal_t).where(excusal_t.c.cohort_id == cohort_id)
        if member_id is not None:
            query = query.where(excusal_t.c.member_id == member_id)
        rows = await self._all(query.order_by(excusal_t.c.local_date))
        return [
            Excusal(r.member_id, r.cohort_id, r.local_date, r.reason, r.granted_by, _aware(r.created_at))
            for r in rows
        ]

    async def scores(self, cohort_id: int, since: dt.date | None = None) -> Sequence[ScoreRow]:
        on = and_(activity_t.c.member_id == member_t.c.id, activity_t.c.cohort_id == cohort_id)
        if since is not None:
            on = and_(on, activity_t.c.local_date >= since)
        is_answer = activity_t.c.kind == ActivityKind.ANSWER.value
        points = func.coalesce(func.sum(activity_t.c.points), 0).label("points")
        query = (
            select(
                member_t.c.id,
                member_t.c.name,
                points,
                func.count(case((is_answer, 1))).label("answers"),
                func.count(case((and_(is_answer, activity_t.c.correct.is_(True)), 1))).label("correct"),
                func.count(case((activity_t.c.kind == ActivityKind.CHECKIN.value, 1))).label("checkins"),
            )
            .select_from(
                enrolment_t.join(member_t, member_t.c.id == enrolment_t.c.member_id).outerjoin(activity_t, on)
            )
            .where(enrolment_t.c.cohort_id == cohort_id)
            .group_by(member_t.c.id, member_t.c.name)
            .order_by(points.desc(), member_t.c.name)
        )
        return await _converted(await self._all(query), _score_row)

    # ---- roadmap progress ----

    async def learn_topic(self, member_id: int, stage_id: str, topic_id: str, now: dt.datetime) -> bool:
        return await self._insert_new(
            learned_t, member_id=member_id, stage_id=stage_id, topic_id=topic_id, learned_at=now
        )

    async def unlearn_topic(self, member_id: int, stage_id: str, topic_id: str) -> bool:
        return await self._delete_where(learned_t, member_id=member_id, stage_id=stage_id, topic_id=topic_id)

    async def learned_topics(self, member_id: int) -> set[tuple[str, str]]:
        rows = await self._all(
            select(learned_t.c.stage_id, learned_t.c.topic_id).where(learned_t.c.member_id == member_id)
        )
        return {(r.stage_id, r.topic_id) for r in rows}

    # ---- spaced review ----

    async def update_review_card(self, member_id: int, review: CardChange, now: dt.datetime) -> ReviewCard:
        return await self._tx(lambda conn: self._change_card(conn, member_id, review, now))

    def _change_card(
        self, conn: Connection, member_id: int, review: CardChange, now: dt.datetime
    ) -> ReviewCard:
        """Inside an operation: read a member's review card (locked on PostgreSQL), change it, store it."""
        key = {"member_id": member_id, "challenge_id": review.challenge_id}
        row = self._first(conn, REVIEW_CARD, key)
        card = review.change(
            ReviewCard(row.member_id, row.challenge_id, row.box, row.due_date) if row else None
        )
        self._execute(
            conn, SAVE_REVIEW_CARD[conn.dialect.name], {**key, "box": card.box, "due": card.due, "now": now}
        )
        return card

    async def review_cards(self, member_id: int) -> list[ReviewCard]:
        rows = await self._rows(REVIEW_CARDS, member_id=member_id)
        return [ReviewCard(r.member_id, r.challenge_id, r.box, r.due_date) for r in rows]

    # ---- reminders and recaps ----

    async def set_reminder(self, member_id: int, remind_at: dt.time | None) -> Member:
        return await self._update_member(member_id, remind_at=remind_at)

    async def members_with_reminders(self) -> list[Member]:
        rows = await self._all(select(member_t).where(member_t.c.remind_at.is_not(None)))
        return [_member(r) for r in rows]

    async def reminders_decided(self, since: dt.date) -> set[tuple[int, dt.date]]:
        rows = await self._all(
            select(reminder_t.c.member_id, reminder_t.c.local_date).where(reminder_t.c.local_date >= since)
        )
        return {(r.member_id, r.local_date) for r in rows}

    async def decide_reminders(
        self, decisions: Sequence[tuple[int, dt.date, bool]], now: dt.datetime
    ) -> set[tuple[int, dt.date]]:
        stmt = self._insert(reminder_t).values(decided_at=now).on_conflict_do_nothing()

        def op(conn: Connection) -> set[tuple[int, dt.date]]:
            made = set()
            for member_id, day, sent in decisions:
                if conn.execute(stmt, {"member_id": member_id, "local_date": day, "sent": sent}).rowcount:
                    made.add((member_id, day))
            return made

        return await self._tx(op) if decisions else set()

    async def claim_recap(self, cohort_id: int, week_start: dt.date, now: dt.datetime) -> int | None:
        stmt = (
            self._insert(recap_t)
            .values(cohort_id=cohort_id, week_start=week_start, claimed_at=now)
            .on_conflict_do_nothing()
            .returning(recap_t.c.id)
        )
        row = await self._tx(lambda conn: conn.execute(stmt).first())
        return int(row.id) if row else None

    async def set_recap_message(self, recap_id: int, message_id: str) -> None:
        await self._change(update(recap_t).where(recap_t.c.id == recap_id).values(message_id=message_id))

    async def post_claimed_at(self, post_id: int) -> dt.datetime | None:
        row = await self._one(select(post_t.c.claimed_at).where(post_t.c.id == post_id))
        return _aware(row.claimed_at) if row else None
