"""Learning: topics a member marked learned, and their spaced-review cards."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.kernel.ports import LearningStore
from bot.kernel.types import CardChange, ReviewCard
from storage.base import P, SqlBase, _review_card, learned_t, review_t

# Run prepared (SqlBase._prepared): built once with bind parameters, compiled once per dialect.
REVIEW_CARDS = (
    select(review_t)
    .where(review_t.c.member_id == P("member_id"))
    .order_by(review_t.c.due_date, review_t.c.stability, review_t.c.challenge_id)
)


class SqlLearning(SqlBase):
    """kernel.ports.LearningStore on SQLite or PostgreSQL."""

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

    async def review_cards(self, member_id: int) -> list[ReviewCard]:
        rows = await self._rows(REVIEW_CARDS, member_id=member_id)
        return [_review_card(r) for r in rows]


if TYPE_CHECKING:

    def _implements_its_port(store: SqlLearning) -> LearningStore:
        """Where mypy checks that SqlLearning has every method of LearningStore, with the same signatures."""
        return store
