"""Cohorts and enrolment: a cohort's settings and calendar, and who is in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from bot.kernel.ports import CohortStore, Conflict
from bot.kernel.types import CalendarHistory, Cohort, ConversationRef, Member
from storage.base import (
    P,
    SqlBase,
    _aware,
    _cohort,
    _converted,
    _member,
    activity_t,
    cohort_t,
    enrolment_t,
    member_t,
)
from storage.calendars import history_text
from storage.points import points_t, rebuild_points

# Run prepared (SqlBase._prepared): built once with bind parameters, compiled once per dialect.
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
MEMBER_HAS_ACTIVITY = (
    select(activity_t.c.id)
    .where(activity_t.c.cohort_id == P("cohort_id"), activity_t.c.member_id == P("member_id"))
    .limit(1)
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


class SqlCohorts(SqlBase):
    """kernel.ports.CohortStore on SQLite or PostgreSQL."""

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

    async def member_cohorts(self, member_id: int) -> list[Cohort]:
        return [_cohort(r) for r in await self._rows(COHORTS_OF_MEMBER, member_id=member_id)]

    async def stop_health_notes(self, platform: str, workspace_id: str, user_id: str) -> None:
        await self._change(
            update(cohort_t)
            .where(
                cohort_t.c.platform == platform,
                cohort_t.c.workspace_id == workspace_id,
                cohort_t.c.health_by == user_id,
            )
            .values(health_by=None)
        )

    async def joined_dates(self, cohort_id: int) -> dict[int, dt.datetime]:
        rows = await self._all(
            select(enrolment_t.c.member_id, enrolment_t.c.joined_at).where(
                enrolment_t.c.cohort_id == cohort_id
            )
        )
        return {r[0]: _aware(r[1]) for r in rows}

    async def member_counts(self, platform: str, workspace_id: str) -> dict[int, int]:
        in_workspace = (cohort_t.c.platform == platform, cohort_t.c.workspace_id == workspace_id)
        rows = await self._all(
            select(enrolment_t.c.cohort_id, func.count())
            .join(cohort_t, cohort_t.c.id == enrolment_t.c.cohort_id)
            .where(*in_workspace)
            .group_by(enrolment_t.c.cohort_id)
        )
        return {row[0]: row[1] for row in rows}

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


if TYPE_CHECKING:

    def _implements_its_port(store: SqlCohorts) -> CohortStore:
        """Where mypy checks that SqlCohorts has every method of CohortStore, with the same signatures."""
        return store
