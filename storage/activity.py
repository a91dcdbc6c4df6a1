"""The activity ledger and points: answers, check-ins, excusals, tallies, standings, exports."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Integer,
    String,
    and_,
    case,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.util import await_only

from bot.kernel.ports import ActivityStore, Conflict
from bot.kernel.types import Activity, ActivityKind, CardChange, Excusal, Recorded, ScoreRow, Standing
from storage.base import (
    ByDialect,
    P,
    SqlBase,
    _aware,
    _converted,
    _driver,
    _raw,
    activity_t,
    award_t,
    enrolment_t,
    excusal_t,
    member_t,
    post_t,
    shared_day_t,
)
from storage.points import PERIODS, bucket_start, points_t

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

# Run prepared (SqlBase._prepared): built once with bind parameters, compiled once per dialect.
ANSWER_FOR_POST = select(activity_t).where(
    activity_t.c.post_id == P("post_id"),
    activity_t.c.member_id == P("member_id"),
    activity_t.c.kind == ActivityKind.ANSWER.value,
)
RECENT_ACTIVITIES = (
    select(activity_t)
    .where(
        activity_t.c.cohort_id == P("cohort_id"),
        activity_t.c.member_id == P("member_id"),
        activity_t.c.local_date >= P("since"),
    )
    .order_by(activity_t.c.local_date, activity_t.c.id)
)
# A member's days in a cohort: active there, active on a linked account (shared_day), or excused there.
MEMBER_DAYS = union_all(
    select(activity_t.c.local_date, literal(True).label("active"))
    .where(activity_t.c.cohort_id == P("cohort_id"), activity_t.c.member_id == P("member_id"))
    .distinct(),
    select(shared_day_t.c.local_date, literal(True).label("active")).where(
        shared_day_t.c.member_id == P("member_id")
    ),
    select(excusal_t.c.local_date, literal(False).label("active")).where(
        excusal_t.c.cohort_id == P("cohort_id"), excusal_t.c.member_id == P("member_id")
    ),
)


def _share_day(insert: Any) -> Any:
    """A linked account's activity: the day counts for every other account of the learner, once, and stays
    theirs if the accounts are unlinked later (a day copied at the link becomes one shared as it happened)."""
    others = select(
        member_t.c.id, P("member_id", type_=Integer), P("local_date", type_=Date), literal(False)
    ).where(member_t.c.learner_id == P("learner_id"), member_t.c.id != P("member_id"))
    return (
        insert(shared_day_t)
        .from_select(["member_id", "source_id", "local_date", "merged"], others)
        .on_conflict_do_update(
            index_elements=["member_id", "source_id", "local_date"], set_={"merged": False}
        )
    )


SHARE_DAY = ByDialect(_share_day)
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
# PostgreSQL: the whole of record_activity in one call (migration 0017), for an activity whose review card,
# if any, is new. When the card exists it changes nothing and returns one row of NULLs; when another command
# files the card while it runs, it raises CARD_EXISTS, changing nothing.
RECORD_AT_ONCE = (
    "SELECT day, active FROM studybot_record_activity("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
)
CARD_EXISTS = "SBCRD"
# One activity as it was recorded: for telling a retried write that was committed the first time.
STORED = select(activity_t.c.id).where(
    activity_t.c.member_id == P("member_id"),
    activity_t.c.cohort_id == P("cohort_id"),
    activity_t.c.local_date == P("local_date"),
    activity_t.c.kind == P("kind"),
    activity_t.c.created_at == P("created_at"),
    activity_t.c.points == P("points"),
    activity_t.c.post_id.is_not_distinct_from(P("post_id", type_=Integer)),
    activity_t.c.choice.is_not_distinct_from(P("choice", type_=String)),
    activity_t.c.correct.is_not_distinct_from(P("correct", type_=Boolean)),
    activity_t.c.note == P("note"),
)


class _CardExists(Exception):
    """The function found the member's review card for the question filed already and changed nothing."""


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


def _score_row(row: Any) -> ScoreRow:
    return ScoreRow(row.id, row.name, row.points, row.answers, row.correct, row.checkins)


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
    select(shared_day_t.c.member_id, shared_day_t.c.local_date, literal(True).label("active")).join(
        enrolment_t,
        and_(enrolment_t.c.member_id == shared_day_t.c.member_id, enrolment_t.c.cohort_id == P("cohort_id")),
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


def _ledger_values(activity: Activity) -> dict[str, Any]:
    """An activity's ledger row, by column (_ACTIVITY_COLUMNS)."""
    return {
        "member_id": activity.member_id,
        "cohort_id": activity.cohort_id,
        "local_date": activity.local_date,
        "kind": activity.kind.value,
        "points": activity.points,
        "post_id": activity.post_id,
        "choice": activity.choice,
        "correct": activity.correct,
        "note": activity.note,
        "created_at": activity.at,
    }


class SqlActivity(SqlBase):
    """kernel.ports.ActivityStore on SQLite or PostgreSQL."""

    async def record_activity(self, activity: Activity, review: CardChange | None = None) -> Recorded:
        if activity.at is None:
            raise ValueError("an activity needs the instant it happened")
        at, day = activity.at, activity.local_date
        values = _ledger_values(activity)
        key = {"cohort_id": activity.cohort_id, "member_id": activity.member_id}
        # The running totals move with the ledger, in the same statement for the three periods.
        points = {**key, "points": activity.points, **{f"{p}_start": bucket_start(p, day) for p in PERIODS}}

        def op(conn: Connection) -> Recorded:
            self._execute(conn, INSERT_ACTIVITY, values)
            self._execute(conn, ADD_POINTS[conn.dialect.name], points)
            learner = activity.learner_id
            if learner is not None:
                shared = {"learner_id": learner, "member_id": activity.member_id, "local_date": day}
                self._execute(conn, SHARE_DAY[conn.dialect.name], shared)
            owner = learner if learner is not None else activity.member_id
            card = self._change_card(conn, owner, review, at) if review is not None else None
            active, excused = self._days(conn, key)
            return Recorded(frozenset(active), frozenset(excused), card)

        started = time.perf_counter()  # one write for the metrics, however it was made
        try:
            if not self._sqlite:
                recorded = await self._record_at_once(activity, review)
                if recorded is not None:
                    return recorded
            return await self._tx(op, timed=False)
        except self._conflict:
            raise Conflict(f"{activity.kind} on {activity.local_date}") from None
        finally:
            self.write_seconds.add(time.perf_counter() - started)

    async def _record_at_once(self, activity: Activity, review: CardChange | None) -> Recorded | None:
        """PostgreSQL: record the activity in one round trip, by the function of migration 0017, which is its
        own transaction. The review card is filed there only when the member has none for the question yet
        (the card is `review.change(None)`); when one exists nothing is changed and None is returned, for the
        long way, which reads and changes the stored card under a lock."""
        at, day = activity.at, activity.local_date
        owner = activity.learner_id if activity.learner_id is not None else activity.member_id
        card = review.change(None) if review is not None else None
        args = (
            activity.member_id,
            activity.cohort_id,
            day,
            activity.kind.value,
            activity.points,
            activity.post_id,
            activity.choice,
            activity.correct,
            activity.note,
            at,
            list(PERIODS),
            [bucket_start(p, day) for p in PERIODS],
            activity.learner_id,
            owner,
            None if card is None else card.challenge_id,
            None if card is None else card.reviews,
            None if card is None else card.due,
            None if card is None else card.stability,
            None if card is None else card.difficulty,
            None if card is None else card.last_review,
        )

        async def call(conn: asyncpg.Connection) -> list[Any]:
            try:
                return cast(list[Any], await conn.fetch(RECORD_AT_ONCE, *args))
            except Exception as exc:
                if getattr(exc, "sqlstate", None) == CARD_EXISTS:  # filed meanwhile by another command
                    raise _CardExists from None
                raise

        try:
            # One statement, its own transaction: no BEGIN or COMMIT around it.
            rows = await self._on_driver(call, retry=False)
        except self._disconnected as exc:
            # The server dropped the connection: the call may or may not have been committed. Tried once
            # more on a fresh connection; if that meets the activity stored already, at this very instant,
            # it was this one's, and the member is told it was saved (not that they answered before).
            log.warning("the database connection was dropped (%s); recording again", type(exc).__name__)
            try:
                rows = await self._on_driver(call, retry=False)
            except _CardExists:
                rows = []
            except self._conflict:
                if not await self._stored(activity):
                    raise  # a repeat after all: the member answered before
                rows = []
            # Refused as a repeat, or the card found filed: by the first try, if the activity is stored.
            if not rows or any(r[0] is None for r in rows):
                if await self._stored(activity):
                    active, excused = await self.member_days(activity.cohort_id, activity.member_id)
                    return Recorded(frozenset(active), frozenset(excused), card)
                return None
        except _CardExists:
            return None
        if any(r[0] is None for r in rows):  # the card is not new: nothing was changed
            return None
        active = {r[0] for r in rows if r[1]}
        excused = {r[0] for r in rows if not r[1]}
        return Recorded(frozenset(active), frozenset(excused), card)

    async def _stored(self, activity: Activity) -> bool:
        """Whether this very activity (every value of it, its instant included) is in the ledger."""
        return await self._row(STORED, **_ledger_values(activity)) is not None

    async def activities(
        self, cohort_id: int, member_id: int | None = None, since: dt.date | None = None
    ) -> list[Activity]:
        if member_id is not None and since is not None:  # a member's last days, before every activity
            rows = await self._rows(RECENT_ACTIVITIES, cohort_id=cohort_id, member_id=member_id, since=since)
            return [_activity(r) for r in rows]
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

    async def quiz_tallies(self) -> dict[str, tuple[int, int]]:
        rows = await self._all(
            select(
                post_t.c.challenge_id,
                func.count(),
                func.count(case((activity_t.c.correct.is_(True), 1))),
            )
            .select_from(activity_t.join(post_t, activity_t.c.post_id == post_t.c.id))
            .where(activity_t.c.kind == ActivityKind.ANSWER.value)
            .group_by(post_t.c.challenge_id)
        )
        return {r[0]: (r[1], r[2]) for r in rows}

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
        # Points for peer review (acceptance, reviews) are not a day's activity: they come from `award`.
        awarded = select(func.coalesce(func.sum(award_t.c.points), 0)).where(
            award_t.c.member_id == member_t.c.id, award_t.c.cohort_id == cohort_id
        )
        if since is not None:
            awarded = awarded.where(award_t.c.local_date >= since)
        points = (func.coalesce(func.sum(activity_t.c.points), 0) + awarded.scalar_subquery()).label("points")
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


if TYPE_CHECKING:

    def _implements_its_port(store: SqlActivity) -> ActivityStore:
        """Where mypy checks that SqlActivity has every method of ActivityStore, with the same signatures."""
        return store
