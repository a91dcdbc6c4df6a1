"""Members and moderators: who someone is on a platform, their timezone and breaks, who moderates."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update

from bot.kernel.ports import MemberStore
from bot.kernel.types import DaySpan, Member
from storage.base import P, SqlBase, _member, cohort_t, enrolment_t, member_t, moderator_t
from storage.calendars import breaks_text

# The member.name column's size; platforms allow shorter display names (Discord 32, Slack 80).
MAX_NAME = 100

# Members one name may match: enough to say it is ambiguous, without reading a whole workspace.
MATCHES_MAX = 10

# Run prepared (SqlBase._prepared): built once with bind parameters, compiled once per dialect.
MEMBER_BY_USER = select(member_t).where(
    member_t.c.platform == P("platform"), member_t.c.user_id == P("user_id")
)
MEMBER_BY_ID = select(member_t).where(member_t.c.id == P("id"))


class SqlMembers(SqlBase):
    """kernel.ports.MemberStore on SQLite or PostgreSQL."""

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

    async def granted_moderators(self, platform: str, workspace_id: str) -> list[str]:
        rows = await self._all(
            select(moderator_t.c.user_id)
            .where(moderator_t.c.platform == platform, moderator_t.c.workspace_id == workspace_id)
            .order_by(moderator_t.c.user_id)
        )
        return [r[0] for r in rows]

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


if TYPE_CHECKING:

    def _implements_its_port(store: SqlMembers) -> MemberStore:
        """Where mypy checks that SqlMembers has every method of MemberStore, with the same signatures."""
        return store
