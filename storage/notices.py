"""Notices: streak reminders (who wants one, which were decided), weekly recaps and health notes, and
milestones (each recorded once, announced once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from bot.kernel.ports import NoticeStore
from bot.kernel.types import Member, Milestone
from storage.base import (
    SqlBase,
    _member,
    cohort_t,
    health_note_t,
    member_t,
    milestone_role_t,
    milestone_t,
    recap_t,
    reminder_t,
)


def _milestone(row: Any) -> Milestone:
    day = row.local_date if isinstance(row.local_date, dt.date) else dt.date.fromisoformat(row.local_date)
    return Milestone(row.cohort_id, row.member_id, row.kind, day)


class SqlNotices(SqlBase):
    """kernel.ports.NoticeStore on SQLite or PostgreSQL."""

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

    async def record_milestones(
        self,
        cohort_id: int,
        member_id: int,
        kinds: Sequence[str],
        day: dt.date,
        now: dt.datetime,
        quiet: Sequence[str] = (),
    ) -> list[str]:
        def op(conn: Connection) -> list[str]:
            new = []
            for kind in kinds:
                told = now if kind in quiet else None  # recorded as announced: nothing is posted for it
                stmt = (
                    self._insert(milestone_t)
                    .values(
                        cohort_id=cohort_id,
                        member_id=member_id,
                        kind=kind,
                        local_date=day,
                        created_at=now,
                        announced_at=told,
                    )
                    .on_conflict_do_nothing()
                )
                if conn.execute(stmt).rowcount:
                    new.append(kind)
            return new

        return await self._tx(op) if kinds else []

    async def claim_milestones(
        self, now: dt.datetime, limit: int, platforms: Sequence[str]
    ) -> list[Milestone]:
        on_ours = select(cohort_t.c.id).where(cohort_t.c.platform.in_(platforms))

        def op(conn: Connection) -> list[Milestone]:
            rows = conn.execute(
                select(milestone_t)
                .where(milestone_t.c.announced_at.is_(None), milestone_t.c.cohort_id.in_(on_ours))
                .order_by(milestone_t.c.id)
                .limit(limit)
            ).all()
            mark = update(milestone_t).where(milestone_t.c.announced_at.is_(None)).values(announced_at=now)
            return [
                _milestone(r) for r in rows if conn.execute(mark.where(milestone_t.c.id == r.id)).rowcount
            ]

        return await self._tx(op)

    async def member_milestones(self, member_id: int) -> list[Milestone]:
        rows = await self._all(
            select(milestone_t)
            .where(milestone_t.c.member_id == member_id)
            .order_by(milestone_t.c.local_date, milestone_t.c.id)
        )
        return [_milestone(r) for r in rows]

    async def set_milestone_role(self, cohort_id: int, kind: str, role_id: str | None, by: str) -> None:
        key = {"cohort_id": cohort_id, "kind": kind}
        if role_id is None:
            await self._delete_where(milestone_role_t, **key)
            return
        values = {"role_id": role_id, "set_by": by, "warned_at": None}
        stmt = (
            self._insert(milestone_role_t)
            .values(**key, **values)
            .on_conflict_do_update(index_elements=list(key), set_=values)
        )
        await self._change(stmt)

    async def milestone_role(self, cohort_id: int, kind: str) -> tuple[str, str] | None:
        row = await self._one(
            select(milestone_role_t.c.role_id, milestone_role_t.c.set_by).where(
                milestone_role_t.c.cohort_id == cohort_id, milestone_role_t.c.kind == kind
            )
        )
        return (row[0], row[1]) if row else None

    async def claim_role_warning(self, cohort_id: int, kind: str, now: dt.datetime) -> bool:
        stmt = (
            update(milestone_role_t)
            .where(
                milestone_role_t.c.cohort_id == cohort_id,
                milestone_role_t.c.kind == kind,
                milestone_role_t.c.warned_at.is_(None),
            )
            .values(warned_at=now)
        )
        return await self._tx(lambda conn: bool(conn.execute(stmt).rowcount))

    async def claim_health_note(self, cohort_id: int, week_start: dt.date, now: dt.datetime) -> bool:
        return await self._insert_new(
            health_note_t, cohort_id=cohort_id, week_start=week_start, claimed_at=now
        )

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


if TYPE_CHECKING:

    def _implements_its_port(store: SqlNotices) -> NoticeStore:
        """Where mypy checks that SqlNotices has every method of NoticeStore, with the same signatures."""
        return store
