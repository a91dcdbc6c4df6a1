"""Notices: streak reminders (who wants one, which were decided) and weekly recaps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select, update

from bot.kernel.ports import NoticeStore
from bot.kernel.types import Member
from storage.base import SqlBase, _member, health_note_t, member_t, recap_t, reminder_t


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
