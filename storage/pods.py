"""Buddy pods: who opted in, and each cohort's pods of a week, made once (the week's claim row decides)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select

from bot.kernel.ports import PodStore
from storage.base import SqlBase, pod_member_t, pod_optin_t, pod_week_t


class SqlPods(SqlBase):
    """kernel.ports.PodStore on SQLite or PostgreSQL."""

    async def set_pod_optin(self, cohort_id: int, member_id: int, on: bool, now: dt.datetime) -> bool:
        if on:
            return await self._insert_new(
                pod_optin_t, cohort_id=cohort_id, member_id=member_id, created_at=now
            )
        return await self._delete_where(pod_optin_t, cohort_id=cohort_id, member_id=member_id)

    async def pod_optins(self, cohort_id: int) -> list[int]:
        rows = await self._all(
            select(pod_optin_t.c.member_id)
            .where(pod_optin_t.c.cohort_id == cohort_id)
            .order_by(pod_optin_t.c.member_id)
        )
        return [r[0] for r in rows]

    async def claim_pods(
        self, cohort_id: int, week_start: dt.date, pods: Sequence[tuple[int, ...]], now: dt.datetime
    ) -> bool:
        claim = (
            self._insert(pod_week_t)
            .values(cohort_id=cohort_id, week_start=week_start, created_at=now)
            .on_conflict_do_nothing()
            .returning(pod_week_t.c.id)
        )

        def op(conn: Connection) -> bool:
            row = conn.execute(claim).first()
            if row is None:
                return False
            rows = [
                {"week_id": row.id, "pod_no": n, "member_id": m} for n, pod in enumerate(pods) for m in pod
            ]
            if rows:
                conn.execute(insert(pod_member_t), rows)
            return True

        return await self._tx(op)

    async def pods_of_weeks(self, cohort_id: int, since: dt.date) -> dict[dt.date, list[tuple[int, ...]]]:
        rows = await self._all(
            select(pod_week_t.c.week_start, pod_member_t.c.pod_no, pod_member_t.c.member_id)
            .join(pod_member_t, pod_member_t.c.week_id == pod_week_t.c.id)
            .where(pod_week_t.c.cohort_id == cohort_id, pod_week_t.c.week_start >= since)
            .order_by(pod_week_t.c.week_start, pod_member_t.c.pod_no, pod_member_t.c.member_id)
        )
        weeks: dict[dt.date, dict[int, list[int]]] = {}
        for week, pod_no, member_id in rows:
            day = week if isinstance(week, dt.date) else dt.date.fromisoformat(week)
            weeks.setdefault(day, {}).setdefault(pod_no, []).append(member_id)
        return {w: [tuple(p) for p in pods.values()] for w, pods in weeks.items()}


if TYPE_CHECKING:

    def _implements_its_port(store: SqlPods) -> PodStore:
        """Where mypy checks that SqlPods has every method of PodStore and its signatures."""
        return store
