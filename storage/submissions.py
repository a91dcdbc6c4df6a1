"""Submissions: a member's evidence for a task, one row a member and task, replaced until review starts."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, case, select, update

from bot.kernel.ports import Conflict, SubmissionStore
from bot.kernel.types import (
    Evidence,
    EvidenceKind,
    PeerReviewState,
    Submission,
    SubmissionState,
    Verification,
    Verified,
)
from storage.base import SqlBase, _aware, peer_review_t, submission_t

# A link may be replaced while nobody has started reviewing it, or after a review asked for more work.
REPLACEABLE = (SubmissionState.SUBMITTED.value, SubmissionState.NEEDS_WORK.value)


def _submission(row: Any) -> Submission:
    return Submission(
        id=row.id,
        cohort_id=row.cohort_id,
        member_id=row.member_id,
        challenge_id=row.challenge_id,
        url=row.url,
        kind=EvidenceKind(row.kind),
        note=row.note,
        state=SubmissionState(row.state),
        verification=Verification(Verified(row.verified), row.verify_detail),
        submitted_at=_aware(row.submitted_at),
        updated_at=_aware(row.updated_at),
        round=row.round,
        accepted_at=_aware(row.accepted_at) if row.accepted_at else None,
    )


class SqlSubmissions(SqlBase):
    """kernel.ports.SubmissionStore on SQLite or PostgreSQL."""

    async def save_submission(
        self,
        cohort_id: int,
        member_id: int,
        challenge_id: str,
        evidence: Evidence,
        note: str,
        verification: Verification,
        now: dt.datetime,
    ) -> tuple[Submission, bool]:
        key = {"cohort_id": cohort_id, "member_id": member_id, "challenge_id": challenge_id}
        values = {
            "url": evidence.url,
            "kind": evidence.kind.value,
            "note": note,
            "state": SubmissionState.SUBMITTED.value,
            "verified": verification.status.value,
            "verify_detail": verification.detail,
            "updated_at": now,
        }
        find = select(submission_t).where(*(submission_t.c[k] == v for k, v in key.items())).with_for_update()
        # One statement decides: a new row, or the author's own row while it may still be replaced. A row
        # under review is left as it is and nothing comes back.
        # A resubmission after "needs work" starts the next round of review.
        again = submission_t.c.state == SubmissionState.NEEDS_WORK.value
        next_round = case((again, submission_t.c.round + 1), else_=submission_t.c.round)
        upsert = (
            self._insert(submission_t)
            .values(**key, **values, submitted_at=now)
            .on_conflict_do_update(
                index_elements=list(key),
                set_={**values, "round": next_round, "author_told_at": None},
                where=submission_t.c.state.in_(REPLACEABLE),
            )
            .returning(*submission_t.c)
        )

        def op(conn: Connection) -> tuple[Submission, bool]:
            before = conn.execute(find).first()
            row = conn.execute(upsert).first()
            if row is None:
                raise Conflict("review has started")
            saved = _submission(row)
            if before is not None and before.round == saved.round:
                # A new link in the same round: its reviewers are told again, with the link they are to read.
                conn.execute(
                    update(peer_review_t)
                    .where(
                        peer_review_t.c.submission_id == saved.id,
                        peer_review_t.c.round == saved.round,
                        peer_review_t.c.state == PeerReviewState.OPEN.value,
                    )
                    .values(notified_at=None)
                )
            return saved, before is not None

        return await self._tx(op)

    async def set_verification(self, submission_id: int, verification: Verification) -> None:
        await self._change(
            update(submission_t)
            .where(submission_t.c.id == submission_id)
            .values(verified=verification.status.value, verify_detail=verification.detail)
        )

    async def submission(self, cohort_id: int, member_id: int, challenge_id: str) -> Submission | None:
        row = await self._one(
            select(submission_t).where(
                submission_t.c.cohort_id == cohort_id,
                submission_t.c.member_id == member_id,
                submission_t.c.challenge_id == challenge_id,
            )
        )
        return _submission(row) if row else None

    async def member_submissions(self, cohort_id: int, member_id: int) -> list[Submission]:
        rows = await self._all(
            select(submission_t)
            .where(submission_t.c.cohort_id == cohort_id, submission_t.c.member_id == member_id)
            .order_by(submission_t.c.submitted_at.desc(), submission_t.c.id.desc())
        )
        return [_submission(r) for r in rows]

    async def cohort_submissions(self, cohort_id: int) -> list[Submission]:
        rows = await self._all(
            select(submission_t)
            .where(submission_t.c.cohort_id == cohort_id)
            .order_by(submission_t.c.submitted_at, submission_t.c.id)
        )
        return [_submission(r) for r in rows]


if TYPE_CHECKING:

    def _implements_its_port(store: SqlSubmissions) -> SubmissionStore:
        """Where mypy checks that SqlSubmissions has every method of SubmissionStore and its signatures."""
        return store
