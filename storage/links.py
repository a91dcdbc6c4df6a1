"""Linked accounts: one learner on several platforms (`/study link`), their codes and shared days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, update

from bot.kernel.ports import LinkRefused, LinkStore
from bot.kernel.types import Member
from storage.base import (
    SqlBase,
    _aware,
    _member,
    activity_t,
    learned_t,
    link_code_t,
    member_t,
    review_t,
    shared_day_t,
)
from storage.points import PERIODS, points_t

ALL_PERIOD = PERIODS[0]  # the points bucket of all time


def _later(card: Any, other: Any) -> bool:
    """Whether review card `card` was answered after `other` (more answers break a tie)."""
    never = dt.date.min
    return (card.last_review or never, card.box) > (other.last_review or never, other.box)


class SqlLinks(SqlBase):
    """kernel.ports.LinkStore on SQLite or PostgreSQL."""

    async def issue_link_code(
        self, member_id: int, code_hash: str, expires_at: dt.datetime, now: dt.datetime
    ) -> None:
        def op(conn: Connection) -> None:
            # Codes are short-lived: the expired ones of anyone go when the next code is asked for.
            conn.execute(delete(link_code_t).where(link_code_t.c.expires_at <= now))
            # One code a member: a new one replaces theirs, even when two requests come at once.
            new = {"code_hash": code_hash, "expires_at": expires_at}
            conn.execute(
                self._insert(link_code_t)
                .values(member_id=member_id, **new)
                .on_conflict_do_update(index_elements=["member_id"], set_=new)
            )

        await self._tx(op)

    async def redeem_link_code(self, member_id: int, code_hash: str, now: dt.datetime) -> list[Member]:
        def op(conn: Connection) -> list[Member]:
            code = conn.execute(
                select(link_code_t.c.id, link_code_t.c.member_id, link_code_t.c.expires_at).where(
                    link_code_t.c.code_hash == code_hash
                )
            ).first()
            if code is None or _aware(code.expires_at) <= now:
                raise LinkRefused("unknown")
            if code.member_id == member_id:
                raise LinkRefused("own")
            theirs, mine = self._locked_groups(conn, code.member_id, member_id)
            if {m.id for m in theirs} & {m.id for m in mine}:
                raise LinkRefused("already")
            platforms = {m.platform: m for m in theirs}
            for m in mine:
                if m.platform in platforms:
                    raise LinkRefused("platform", platforms[m.platform], m)
            # The code is used up by whoever deletes it: of two at once, the second finds nothing.
            if not conn.execute(delete(link_code_t).where(link_code_t.c.id == code.id)).rowcount:
                raise LinkRefused("unknown")
            key = theirs[0].learner
            self._move_learning(conn, mine[0].learner, key)
            everyone = [*theirs, *mine]
            self._share_days(conn, everyone)
            ids = [m.id for m in everyone]
            conn.execute(update(member_t).where(member_t.c.id.in_(ids)).values(learner_id=key))
            return self._group(conn, member_id)

        return await self._tx(op)

    async def unlink(self, member_id: int) -> list[Member]:
        def op(conn: Connection) -> list[Member]:
            [group] = self._locked_groups(conn, member_id)
            if len(group) < 2:
                return []
            me = next(m for m in group if m.id == member_id)
            rest = [m for m in group if m.id != member_id]
            key = me.learner
            if key == me.id:
                # The learner's rows are this account's: it keeps them, and the others get a copy.
                new_key = rest[0].id
                self._copy_learning(conn, key, new_key)
            else:
                new_key = key
                self._copy_learning(conn, key, me.id)
            # Days each side copied from the other's history at the link go; those shared while linked stay.
            others = [m.id for m in rest]
            copied = shared_day_t.c.merged.is_(True) & (
                ((shared_day_t.c.member_id == me.id) & shared_day_t.c.source_id.in_(others))
                | (shared_day_t.c.member_id.in_(others) & (shared_day_t.c.source_id == me.id))
            )
            conn.execute(delete(shared_day_t).where(copied))
            conn.execute(update(member_t).where(member_t.c.id == me.id).values(learner_id=None))
            alone = len(rest) == 1
            conn.execute(
                update(member_t)
                .where(member_t.c.id.in_([m.id for m in rest]))
                .values(learner_id=None if alone else new_key)
            )
            return rest

        return await self._tx(op)

    async def linked_accounts(self, member_id: int) -> list[tuple[Member, int]]:
        def op(conn: Connection) -> list[tuple[Member, int]]:
            group = self._group(conn, member_id)
            rows = conn.execute(
                select(points_t.c.member_id, func.sum(points_t.c.points))
                .where(points_t.c.member_id.in_([m.id for m in group]), points_t.c.period == ALL_PERIOD)
                .group_by(points_t.c.member_id)
            ).all()
            points = {r[0]: int(r[1] or 0) for r in rows}
            return [(m, points.get(m.id, 0)) for m in group]

        return await self._query(op)

    # ---- inside a transaction ----

    def _group(self, conn: Connection, member_id: int) -> list[Member]:
        """The accounts of the member's learner, oldest first."""
        row = conn.execute(select(member_t).where(member_t.c.id == member_id)).first()
        if row is None:
            raise LinkRefused("unknown")
        if row.learner_id is None:
            return [_member(row)]
        query = select(member_t).where(member_t.c.learner_id == row.learner_id).order_by(member_t.c.id)
        return [_member(r) for r in conn.execute(query).all()]

    def _locked_groups(self, conn: Connection, *member_ids: int) -> list[list[Member]]:
        """The groups of these members, read again once every account in them is locked (PostgreSQL).

        All rows at once, by id: two links or unlinks starting from opposite ends of the same accounts lock
        them in the same order, so one waits for the other instead of both deadlocking. FOR NO KEY UPDATE, so
        an answer meanwhile (whose shared days only refer to these rows) is not held up."""
        if not self._sqlite:
            ids = sorted({m.id for mid in member_ids for m in self._group(conn, mid)})
            conn.execute(
                select(member_t.c.id)
                .where(member_t.c.id.in_(ids))
                .order_by(member_t.c.id)
                .with_for_update(key_share=True)
            )
        return [self._group(conn, mid) for mid in member_ids]

    def _move_learning(self, conn: Connection, source: int, target: int) -> None:
        """Merge the progress and review cards kept under `source` into `target`'s, and drop `source`'s."""
        self._copy_learning(conn, source, target)
        conn.execute(delete(learned_t).where(learned_t.c.member_id == source))
        conn.execute(delete(review_t).where(review_t.c.member_id == source))

    def _copy_learning(self, conn: Connection, source: int, target: int) -> None:
        """Add `source`'s learned topics and review cards to `target`'s; a card both have keeps the one
        answered last."""
        learned = self._rows_of(conn, learned_t, source)
        have = {(r.stage_id, r.topic_id) for r in self._rows_of(conn, learned_t, target)}
        new_topics = [
            {"member_id": target, "stage_id": r.stage_id, "topic_id": r.topic_id, "learned_at": r.learned_at}
            for r in learned
            if (r.stage_id, r.topic_id) not in have
        ]
        if new_topics:
            conn.execute(insert(learned_t), new_topics)
        cards = {r.challenge_id: r for r in self._rows_of(conn, review_t, target)}
        for card in self._rows_of(conn, review_t, source):
            values = {c: card._mapping[c] for c in review_t.c.keys() if c not in ("id", "member_id")}
            held = cards.get(card.challenge_id)
            if held is None:
                conn.execute(insert(review_t).values(member_id=target, **values))
            elif _later(card, held):
                conn.execute(update(review_t).where(review_t.c.id == held.id).values(**values))

    def _rows_of(self, conn: Connection, table: Any, member_id: int) -> Sequence[Any]:
        return conn.execute(select(table).where(table.c.member_id == member_id)).all()

    def _share_days(self, conn: Connection, accounts: list[Member]) -> None:
        """Each account's active days so far count for every other account's streaks (merged: undone if
        they unlink); from now on record_activity shares each new day as it happens."""
        ids = [m.id for m in accounts]
        rows = conn.execute(
            select(activity_t.c.member_id, activity_t.c.local_date)
            .where(activity_t.c.member_id.in_(ids))
            .group_by(activity_t.c.member_id, activity_t.c.local_date)
        ).all()
        have = {
            tuple(r)
            for r in conn.execute(
                select(shared_day_t.c.member_id, shared_day_t.c.source_id, shared_day_t.c.local_date).where(
                    shared_day_t.c.member_id.in_(ids)
                )
            ).all()
        }
        new = sorted(
            (other, r.member_id, r.local_date)
            for r in rows
            for other in ids
            if other != r.member_id and (other, r.member_id, r.local_date) not in have
        )
        if new:
            values = [{"member_id": m, "source_id": s, "local_date": d, "merged": True} for m, s, d in new]
            conn.execute(insert(shared_day_t), values)


if TYPE_CHECKING:

    def _implements_its_port(store: SqlLinks) -> LinkStore:
        """Where mypy checks that SqlLinks has every method of LinkStore, with the same signatures."""
        return store
