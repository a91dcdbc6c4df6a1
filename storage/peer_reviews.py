"""Peer review: reviewers assigned to a submission's round, reviews given, timed out or ended by a moderator,
the submission decided by them, and the points for that work (the `award` table), each exactly once.

Everything that decides is one transaction holding the submission's row (locked on PostgreSQL; SQLite's one
writer runs one transaction at a time), so two processes, or two reviewers at the same instant, see each
other's result: a round never gets a third reviewer, and a submission is decided once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, and_, case, delete, func, insert, or_, select, update

from bot.kernel.ports import Conflict, PeerReviewStore, Superseded
from bot.kernel.types import (
    PEER_REVIEW_POINTS,
    PeerReview,
    PeerReviewState,
    ReviewPool,
    ReviewVerdict,
    Settled,
    Submission,
    SubmissionState,
)
from storage.activity import ADD_POINTS
from storage.base import (
    SqlBase,
    _aware,
    award_t,
    cohort_t,
    enrolment_t,
    peer_review_t,
    review_action_t,
    submission_t,
)
from storage.points import PERIODS, bucket_start
from storage.submissions import _submission

# A round has two places. An open or given review fills one. Once someone has given a review, a place also
# counts as settled when its reviewer was excused, or when the replacement of a silent reviewer was silent
# too: the given review then decides alone. Until then such places are empty, so the sweep keeps looking
# for reviewers rather than leave the work undecided. A silent reviewer's own place passes to the
# replacement; a reassigned reviewer's is empty until someone takes it.
_HELD = (PeerReviewState.OPEN.value, PeerReviewState.DONE.value)


def _settled_place(state: Any, replaces: Any) -> Any:
    """SQL: a place settled by an excused reviewer or a silent replacement (counted once a review is in)."""
    silent_again = and_(state == PeerReviewState.TIMED_OUT.value, replaces.isnot(None))
    return or_(state == PeerReviewState.EXCUSED.value, silent_again)


def _filled(reviews: list[PeerReview]) -> int:
    """How many of a round's places its reviews fill (see above)."""
    given = any(r.state is PeerReviewState.DONE for r in reviews)
    held = sum(1 for r in reviews if r.state.value in _HELD)
    settled = sum(
        1
        for r in reviews
        if r.state is PeerReviewState.EXCUSED
        or (r.state is PeerReviewState.TIMED_OUT and r.replaces is not None)
    )
    return held + (settled if given else 0)


# States a submission is still being reviewed in.
_UNDER_REVIEW = (SubmissionState.SUBMITTED.value, SubmissionState.IN_REVIEW.value)
REVIEWERS = 2  # a round's reviewers


def _review(row: Any) -> PeerReview:
    return PeerReview(
        id=row.id,
        submission_id=row.submission_id,
        reviewer_id=row.reviewer_id,
        round=row.round,
        state=PeerReviewState(row.state),
        assigned_at=_aware(row.assigned_at),
        due_at=_aware(row.due_at),
        verdict=ReviewVerdict(row.verdict) if row.verdict else None,
        checks=tuple(int(c) for c in row.checks.split(",") if c),
        comment=row.comment,
        done_at=_aware(row.done_at) if row.done_at else None,
        replaces=row.replaces,
    )


class SqlPeerReviews(SqlBase):
    """kernel.ports.PeerReviewStore on SQLite or PostgreSQL."""

    # ---- inside a transaction ----

    def _locked(self, conn: Connection, submission_id: int) -> Submission | None:
        row = conn.execute(
            select(submission_t).where(submission_t.c.id == submission_id).with_for_update()
        ).first()
        return _submission(row) if row else None

    def _round(self, conn: Connection, sub: Submission) -> list[PeerReview]:
        rows = conn.execute(
            select(peer_review_t)
            .where(peer_review_t.c.submission_id == sub.id, peer_review_t.c.round == sub.round)
            .order_by(peer_review_t.c.id)
        ).all()
        return [_review(r) for r in rows]

    def _pool(self, conn: Connection, sub: Submission, needed: int) -> ReviewPool:
        enrolled = frozenset(
            conn.execute(select(enrolment_t.c.member_id).where(enrolment_t.c.cohort_id == sub.cohort_id))
            .scalars()
            .all()
        )
        tasks: dict[int, set[str]] = {}
        for member_id, challenge_id in conn.execute(
            select(submission_t.c.member_id, submission_t.c.challenge_id).where(
                submission_t.c.cohort_id == sub.cohort_id
            )
        ):
            tasks.setdefault(member_id, set()).add(challenge_id)
        is_open = peer_review_t.c.state == PeerReviewState.OPEN.value
        counts = conn.execute(
            select(
                peer_review_t.c.reviewer_id,
                func.count(),
                func.sum(case((is_open, 1), else_=0)),
            )
            .where(peer_review_t.c.reviewer_id.in_(enrolled))
            .group_by(peer_review_t.c.reviewer_id)
        ).all()
        mine = conn.execute(
            select(peer_review_t.c.reviewer_id, peer_review_t.c.round, peer_review_t.c.state).where(
                peer_review_t.c.submission_id == sub.id
            )
        ).all()
        taken = frozenset(r.reviewer_id for r in mine if r.round == sub.round)
        earlier = tuple(
            r.reviewer_id for r in mine if r.round == sub.round - 1 and r.state == PeerReviewState.DONE.value
        )
        previous = conn.execute(
            select(submission_t.c.id)
            .where(
                submission_t.c.cohort_id == sub.cohort_id,
                submission_t.c.member_id == sub.member_id,
                submission_t.c.id != sub.id,
                submission_t.c.submitted_at <= sub.submitted_at,
            )
            .order_by(submission_t.c.submitted_at.desc(), submission_t.c.id.desc())
            .limit(1)
        ).scalar()
        last = frozenset(
            conn.execute(select(peer_review_t.c.reviewer_id).where(peer_review_t.c.submission_id == previous))
            .scalars()
            .all()
            if previous is not None
            else ()
        )
        return ReviewPool(
            submission=sub,
            needed=needed,
            enrolled=enrolled,
            tasks={m: frozenset(t) for m, t in tasks.items()},
            open_reviews={r[0]: int(r[2] or 0) for r in counts},
            all_reviews={r[0]: int(r[1]) for r in counts},
            taken=taken,
            last_reviewers=last,
            earlier_round=earlier,
        )

    def _assign(
        self,
        conn: Connection,
        sub: Submission,
        now: dt.datetime,
        due: dt.datetime,
        choose: Callable[[ReviewPool], list[int]],
        replaces: int | None = None,
    ) -> list[PeerReview]:
        """Fill the round's empty places (of REVIEWERS) with whom `choose` picks; a replacement fills one."""
        if sub.state.value not in _UNDER_REVIEW:
            return []
        needed = 1 if replaces is not None else REVIEWERS - _filled(self._round(conn, sub))
        if needed <= 0:
            return []
        # One cohort's assignments one at a time: each sees the open reviews the one before gave out.
        conn.execute(select(cohort_t.c.id).where(cohort_t.c.id == sub.cohort_id).with_for_update())
        pool = self._pool(conn, sub, needed)
        picked = dict.fromkeys(choose(pool))
        chosen = [m for m in picked if m not in pool.taken and m != sub.member_id][:needed]
        added = []
        for reviewer_id in chosen:
            row = conn.execute(
                insert(peer_review_t)
                .values(
                    submission_id=sub.id,
                    reviewer_id=reviewer_id,
                    round=sub.round,
                    state=PeerReviewState.OPEN.value,
                    checks="",
                    comment="",
                    assigned_at=now,
                    due_at=due,
                    replaces=replaces,
                )
                .returning(*peer_review_t.c)
            ).one()
            added.append(_review(row))
        return added

    def _award(
        self,
        conn: Connection,
        sub: Submission,
        member_id: int,
        kind: str,
        day: dt.date,
        now: dt.datetime,
    ) -> bool:
        """Give points for work on a submission once; True when they were new."""
        points = PEER_REVIEW_POINTS[kind]
        stmt = (
            self._insert(award_t)
            .values(
                cohort_id=sub.cohort_id,
                member_id=member_id,
                submission_id=sub.id,
                kind=kind,
                points=points,
                local_date=day,
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        if not conn.execute(stmt).rowcount:
            return False
        buckets = {f"{p}_start": bucket_start(p, day) for p in PERIODS}
        params = {"cohort_id": sub.cohort_id, "member_id": member_id, "points": points, **buckets}
        self._execute(conn, ADD_POINTS[conn.dialect.name], params)
        return True

    def _set_state(
        self, conn: Connection, sub: Submission, state: SubmissionState, now: dt.datetime, author_day: dt.date
    ) -> Submission:
        """Decide the submission: its state, the author still to be told, open reviews closed, points."""
        accepted = state is SubmissionState.ACCEPTED
        conn.execute(
            update(submission_t)
            .where(submission_t.c.id == sub.id)
            .values(state=state.value, author_told_at=None, accepted_at=now if accepted else None)
        )
        # Decided: the round's open reviews are no longer needed (a later one would reach nobody).
        conn.execute(
            update(peer_review_t)
            .where(
                peer_review_t.c.submission_id == sub.id,
                peer_review_t.c.state == PeerReviewState.OPEN.value,
            )
            .values(state=PeerReviewState.CLOSED.value, done_at=now)
        )
        if accepted:
            self._award(conn, sub, sub.member_id, "accepted", author_day, now)
        elif sub.state is SubmissionState.ACCEPTED:
            self._take_back(conn, sub, sub.member_id, "accepted")
        return self._locked(conn, sub.id) or sub

    def _take_back(self, conn: Connection, sub: Submission, member_id: int, kind: str) -> None:
        """Undo an award (a moderator sent accepted work back): its points leave the board too."""
        mine = and_(
            award_t.c.member_id == member_id, award_t.c.submission_id == sub.id, award_t.c.kind == kind
        )
        row = conn.execute(select(award_t.c.points, award_t.c.local_date).where(mine)).first()
        if row is None:
            return
        conn.execute(delete(award_t).where(mine))
        day = row.local_date if isinstance(row.local_date, dt.date) else dt.date.fromisoformat(row.local_date)
        buckets = {f"{p}_start": bucket_start(p, day) for p in PERIODS}
        params = {"cohort_id": sub.cohort_id, "member_id": member_id, "points": -row.points, **buckets}
        self._execute(conn, ADD_POINTS[conn.dialect.name], params)

    def _settle(self, conn: Connection, sub: Submission, now: dt.datetime, author_day: dt.date) -> Settled:
        """Decide the round by its reviews: any "needs work" decides it; else, once no review is open, one
        accept or more accepts it (a silent reviewer replaced once, or excused, does not hold it up)."""
        if sub.state.value not in _UNDER_REVIEW:
            return Settled(sub)
        reviews = self._round(conn, sub)
        given = [r for r in reviews if r.state is PeerReviewState.DONE]
        if any(r.verdict is ReviewVerdict.NEEDS_WORK for r in given):
            return Settled(
                self._set_state(conn, sub, SubmissionState.NEEDS_WORK, now, author_day), decided=True
            )
        if given and not any(r.state is PeerReviewState.OPEN for r in reviews):
            return Settled(
                self._set_state(conn, sub, SubmissionState.ACCEPTED, now, author_day), decided=True
            )
        return Settled(sub)

    def _act(
        self,
        conn: Connection,
        sub: Submission,
        action: str,
        by: tuple[str, str],
        now: dt.datetime,
        member_id: int | None,
    ) -> None:
        moderator, reason = by
        conn.execute(
            insert(review_action_t).values(
                submission_id=sub.id,
                action=action,
                member_id=member_id,
                moderator=moderator,
                reason=reason,
                created_at=now,
            )
        )

    # ---- the port ----

    async def assign_reviewers(
        self,
        submission_id: int,
        now: dt.datetime,
        due: dt.datetime,
        choose: Callable[[ReviewPool], list[int]],
    ) -> list[PeerReview]:
        def op(conn: Connection) -> list[PeerReview]:
            sub = self._locked(conn, submission_id)
            return [] if sub is None else self._assign(conn, sub, now, due, choose)

        return await self._tx(op)

    async def new_round(self, submission_id: int, now: dt.datetime) -> None:
        def op(conn: Connection) -> None:
            sub = self._locked(conn, submission_id)
            if sub is None:
                return
            conn.execute(
                update(peer_review_t)
                .where(
                    peer_review_t.c.submission_id == sub.id,
                    peer_review_t.c.round < sub.round,
                    peer_review_t.c.state == PeerReviewState.OPEN.value,
                )
                .values(state=PeerReviewState.CLOSED.value, done_at=now)
            )

        await self._tx(op)

    async def understaffed(self, cohort_id: int | None, limit: int) -> list[int]:
        review = peer_review_t
        this_round = and_(review.c.submission_id == submission_t.c.id, review.c.round == submission_t.c.round)
        other = review.alias("given")
        given = (
            select(other.c.id)
            .where(
                other.c.submission_id == submission_t.c.id,
                other.c.round == submission_t.c.round,
                other.c.state == PeerReviewState.DONE.value,
            )
            .exists()
        )
        counted = case(
            (review.c.state.in_(_HELD), 1),
            (and_(given, _settled_place(review.c.state, review.c.replaces)), 1),
            else_=0,
        )
        filled = select(func.coalesce(func.sum(counted), 0)).where(this_round).scalar_subquery()
        query = select(submission_t.c.id).where(submission_t.c.state.in_(_UNDER_REVIEW), filled < REVIEWERS)
        if cohort_id is not None:
            query = query.where(submission_t.c.cohort_id == cohort_id)
        # In no fixed order: work nobody can review yet (a lone member's) must not keep the rest waiting.
        rows = await self._all(query.order_by(func.random()).limit(limit))
        return [r[0] for r in rows]

    async def orphaned_reviews(self, limit: int) -> list[PeerReview]:
        enrolled = (
            select(enrolment_t.c.member_id)
            .where(
                enrolment_t.c.member_id == peer_review_t.c.reviewer_id,
                enrolment_t.c.cohort_id == submission_t.c.cohort_id,
            )
            .exists()
        )
        rows = await self._all(
            select(peer_review_t)
            .join(submission_t, submission_t.c.id == peer_review_t.c.submission_id)
            .where(peer_review_t.c.state == PeerReviewState.OPEN.value, ~enrolled)
            .order_by(peer_review_t.c.id)
            .limit(limit)
        )
        return [_review(r) for r in rows]

    async def start_review(self, submission_id: int, reviewer_id: int) -> PeerReview | None:
        def op(conn: Connection) -> PeerReview | None:
            sub = self._locked(conn, submission_id)
            if sub is None:
                return None
            mine = [r for r in self._round(conn, sub) if r.reviewer_id == reviewer_id]
            if mine and mine[0].state is PeerReviewState.OPEN and sub.state is SubmissionState.SUBMITTED:
                conn.execute(
                    update(submission_t)
                    .where(submission_t.c.id == sub.id)
                    .values(state=SubmissionState.IN_REVIEW.value)
                )
            return mine[0] if mine else None

        return await self._tx(op)

    async def give_review(
        self,
        submission_id: int,
        reviewer_id: int,
        verdict: ReviewVerdict,
        checks: tuple[int, ...],
        comment: str,
        now: dt.datetime,
        reviewer_day: dt.date,
        author_day: dt.date,
        *,
        seen_round: int | None = None,
    ) -> Settled:
        def op(conn: Connection) -> Settled:
            sub = self._locked(conn, submission_id)
            if sub is None:
                raise LookupError(f"no submission {submission_id}")
            if seen_round is not None and seen_round != sub.round:
                raise Superseded(f"submission {sub.id} is in round {sub.round}, not {seen_round}")
            mine = [r for r in self._round(conn, sub) if r.reviewer_id == reviewer_id]
            if not mine:
                return Settled(sub)
            if mine[0].state is not PeerReviewState.OPEN:
                raise Conflict(f"review {mine[0].id} is {mine[0].state}")
            conn.execute(
                update(peer_review_t)
                .where(peer_review_t.c.id == mine[0].id)
                .values(
                    state=PeerReviewState.DONE.value,
                    verdict=verdict.value,
                    checks=",".join(str(c) for c in checks),
                    comment=comment,
                    done_at=now,
                )
            )
            if sub.state is SubmissionState.SUBMITTED:
                conn.execute(
                    update(submission_t)
                    .where(submission_t.c.id == sub.id)
                    .values(state=SubmissionState.IN_REVIEW.value)
                )
                sub = self._locked(conn, sub.id) or sub
            points = self._award(conn, sub, reviewer_id, "reviewed", reviewer_day, now)
            review = _review(
                conn.execute(select(peer_review_t).where(peer_review_t.c.id == mine[0].id)).one()
            )
            settled = self._settle(conn, sub, now, author_day)
            return Settled(settled.submission, settled.decided, review, points)

        return await self._tx(op)

    async def end_review(
        self,
        review_id: int,
        state: PeerReviewState,
        now: dt.datetime,
        author_day: dt.date,
        *,
        due: dt.datetime | None = None,
        choose: Callable[[ReviewPool], list[int]] | None = None,
        by: tuple[str, str] | None = None,
    ) -> Settled | None:
        def op(conn: Connection) -> Settled | None:
            row = conn.execute(
                select(peer_review_t.c.submission_id).where(peer_review_t.c.id == review_id)
            ).first()
            sub = self._locked(conn, row.submission_id) if row else None
            if sub is None:
                return None
            ended = conn.execute(
                update(peer_review_t)
                .where(peer_review_t.c.id == review_id, peer_review_t.c.state == PeerReviewState.OPEN.value)
                .values(state=state.value, done_at=now)
            ).rowcount
            if not ended:
                return None
            review = _review(conn.execute(select(peer_review_t).where(peer_review_t.c.id == review_id)).one())
            if by is not None:
                self._act(conn, sub, state.value, by, now, review.reviewer_id)
            added: list[PeerReview] = []
            if choose is not None and due is not None:
                added = self._assign(conn, sub, now, due, choose, replaces=review_id)
            if state is PeerReviewState.REASSIGNED and not added:
                # The place waits for the sweep to fill it: a reassignment never decides the work.
                return Settled(sub, review=review)
            settled = self._settle(conn, sub, now, author_day)
            return Settled(settled.submission, settled.decided, review, added=tuple(added))

        return await self._tx(op)

    async def decide_submission(
        self,
        submission_id: int,
        state: SubmissionState,
        now: dt.datetime,
        author_day: dt.date,
        by: tuple[str, str],
    ) -> Settled:
        def op(conn: Connection) -> Settled:
            sub = self._locked(conn, submission_id)
            if sub is None:
                raise LookupError(f"no submission {submission_id}")
            if sub.state is state:
                raise Conflict(f"submission {sub.id} is already {state}")
            self._act(conn, sub, state.value, by, now, None)
            if state is SubmissionState.NEEDS_WORK:
                conn.execute(
                    update(peer_review_t)
                    .where(
                        peer_review_t.c.submission_id == sub.id,
                        peer_review_t.c.state == PeerReviewState.OPEN.value,
                    )
                    .values(state=PeerReviewState.CLOSED.value, done_at=now)
                )
            return Settled(self._set_state(conn, sub, state, now, author_day), decided=sub.state is not state)

        return await self._tx(op)

    async def overdue_reviews(self, now: dt.datetime, limit: int) -> list[PeerReview]:
        rows = await self._all(
            select(peer_review_t)
            .where(peer_review_t.c.state == PeerReviewState.OPEN.value, peer_review_t.c.due_at <= now)
            .order_by(peer_review_t.c.due_at, peer_review_t.c.id)
            .limit(limit)
        )
        return [_review(r) for r in rows]

    def _claim(
        self, table: Table, told: str, now: dt.datetime, limit: int, *where: Any
    ) -> Callable[[Connection], list[Any]]:
        """An operation claiming up to `limit` rows of `table` matching `where` whose `told` column is unset:
        each claimed once (its column set to `now`), however many sweeps race for it."""
        column = table.c[told]

        def op(conn: Connection) -> list[Any]:
            rows = conn.execute(
                select(table).where(*where, column.is_(None)).order_by(table.c.id).limit(limit)
            ).all()
            mark = update(table).where(column.is_(None)).values({told: now})
            return [row for row in rows if conn.execute(mark.where(table.c.id == row.id)).rowcount]

        return op

    async def claim_review_notices(self, now: dt.datetime, limit: int) -> list[PeerReview]:
        is_open = peer_review_t.c.state == PeerReviewState.OPEN.value
        rows = await self._tx(self._claim(peer_review_t, "notified_at", now, limit, is_open))
        return [_review(r) for r in rows]

    async def claim_decision_notices(self, now: dt.datetime, limit: int) -> list[Submission]:
        decided = submission_t.c.state.in_((SubmissionState.ACCEPTED.value, SubmissionState.NEEDS_WORK.value))
        rows = await self._tx(self._claim(submission_t, "author_told_at", now, limit, decided))
        return [_submission(r) for r in rows]

    async def get_submission(self, submission_id: int) -> Submission | None:
        row = await self._one(select(submission_t).where(submission_t.c.id == submission_id))
        return _submission(row) if row else None

    async def peer_reviews(self, submission_id: int) -> list[PeerReview]:
        rows = await self._all(
            select(peer_review_t)
            .where(peer_review_t.c.submission_id == submission_id)
            .order_by(peer_review_t.c.round, peer_review_t.c.id)
        )
        return [_review(r) for r in rows]

    async def reviews_by(self, reviewer_id: int, cohort_id: int) -> list[tuple[PeerReview, Submission]]:
        in_cohort = select(submission_t.c.id).where(submission_t.c.cohort_id == cohort_id)

        def op(conn: Connection) -> list[tuple[PeerReview, Submission]]:
            reviews = [
                _review(r)
                for r in conn.execute(
                    select(peer_review_t)
                    .where(
                        peer_review_t.c.reviewer_id == reviewer_id,
                        peer_review_t.c.submission_id.in_(in_cohort),
                    )
                    .order_by(peer_review_t.c.assigned_at.desc(), peer_review_t.c.id.desc())
                )
            ]
            ids = {r.submission_id for r in reviews}
            subs = {
                r.id: _submission(r)
                for r in conn.execute(select(submission_t).where(submission_t.c.id.in_(ids)))
            }
            return [(r, subs[r.submission_id]) for r in reviews]

        return await self._query(op)

    async def cohort_reviews(self, cohort_id: int) -> list[PeerReview]:
        in_cohort = select(submission_t.c.id).where(submission_t.c.cohort_id == cohort_id)
        rows = await self._all(
            select(peer_review_t)
            .where(peer_review_t.c.submission_id.in_(in_cohort))
            .order_by(peer_review_t.c.assigned_at, peer_review_t.c.id)
        )
        return [_review(r) for r in rows]

    async def awards_since(self, cohort_id: int, since: dt.date) -> list[tuple[int, dt.date, int]]:
        rows = await self._all(
            select(award_t.c.member_id, award_t.c.local_date, award_t.c.points)
            .where(award_t.c.cohort_id == cohort_id, award_t.c.local_date >= since)
            .order_by(award_t.c.id)
        )
        return [
            (r[0], r[1] if isinstance(r[1], dt.date) else dt.date.fromisoformat(r[1]), r[2]) for r in rows
        ]

    async def accepted_since(self, cohort_id: int, since: dt.datetime) -> list[Submission]:
        rows = await self._all(
            select(submission_t)
            .where(
                submission_t.c.cohort_id == cohort_id,
                submission_t.c.state == SubmissionState.ACCEPTED.value,
                submission_t.c.accepted_at >= since,
            )
            .order_by(submission_t.c.accepted_at, submission_t.c.id)
        )
        return [_submission(r) for r in rows]

    async def review_actions(
        self, cohort_id: int
    ) -> list[tuple[int, str, int | None, str, str, dt.datetime]]:
        rows = await self._all(
            select(review_action_t)
            .join(submission_t, submission_t.c.id == review_action_t.c.submission_id)
            .where(submission_t.c.cohort_id == cohort_id)
            .order_by(review_action_t.c.created_at, review_action_t.c.id)
        )
        return [
            (r.submission_id, r.action, r.member_id, r.moderator, r.reason, _aware(r.created_at))
            for r in rows
        ]


if TYPE_CHECKING:

    def _implements_its_port(store: SqlPeerReviews) -> PeerReviewStore:
        """Where mypy checks that SqlPeerReviews has every method of PeerReviewStore and its signatures."""
        return store
