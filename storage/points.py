"""Running point totals (the `points` table): the buckets an activity counts in, and rebuilding totals
from the ledger (at migration, and when a member joins a cohort again)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, insert, select

from storage.tables import ActivityRow, AwardRow, EnrolmentRow, PointsRow

points_t: Table = PointsRow.__table__  # type: ignore[attr-defined]
_activity: Table = ActivityRow.__table__  # type: ignore[attr-defined]
_enrolment: Table = EnrolmentRow.__table__  # type: ignore[attr-defined]
_award: Table = AwardRow.__table__  # type: ignore[attr-defined]

# The period_start of the all-time bucket: any fixed date before studybot existed.
ALL_TIME = dt.date(2000, 1, 1)
PERIODS = ("all", "week", "month")


def bucket_start(period: str, day: dt.date) -> dt.date:
    """The first local date of the bucket of `period` that `day` falls in."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "all":
        return ALL_TIME
    raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def rebuild_points(
    conn: Connection, cohort_id: int | None = None, member_id: int | None = None, *, awards: bool = True
) -> int:
    """Recompute the totals of enrolled members from the ledger (all, one cohort, or one member of one).

    Returns how many totals were written. Members not enrolled have no totals: they are off the board.
    `awards=False` leaves out peer review's points: for a migration older than the table that holds them.
    """
    scope = []
    if cohort_id is not None:
        scope.append(points_t.c.cohort_id == cohort_id)
    if member_id is not None:
        scope.append(points_t.c.member_id == member_id)
    conn.execute(delete(points_t).where(*scope))
    enrolled = and_(
        _enrolment.c.cohort_id == _activity.c.cohort_id, _enrolment.c.member_id == _activity.c.member_id
    )
    query = (
        select(
            _activity.c.cohort_id, _activity.c.member_id, _activity.c.local_date, func.sum(_activity.c.points)
        )
        .join(_enrolment, enrolled)
        .group_by(_activity.c.cohort_id, _activity.c.member_id, _activity.c.local_date)
    )
    if cohort_id is not None:
        query = query.where(_activity.c.cohort_id == cohort_id)
    if member_id is not None:
        query = query.where(_activity.c.member_id == member_id)
    # Points for peer review (an accepted submission, a review given) count on the board like the ledger's.
    awarded = and_(_enrolment.c.cohort_id == _award.c.cohort_id, _enrolment.c.member_id == _award.c.member_id)
    from_awards = (
        select(_award.c.cohort_id, _award.c.member_id, _award.c.local_date, func.sum(_award.c.points))
        .join(_enrolment, awarded)
        .group_by(_award.c.cohort_id, _award.c.member_id, _award.c.local_date)
    )
    if cohort_id is not None:
        from_awards = from_awards.where(_award.c.cohort_id == cohort_id)
    if member_id is not None:
        from_awards = from_awards.where(_award.c.member_id == member_id)
    totals: Counter[tuple[int, int, str, dt.date]] = Counter()
    earned = [*conn.execute(query), *(conn.execute(from_awards) if awards else ())]
    for cohort, member, day, points in earned:
        for period in PERIODS:
            totals[cohort, member, period, bucket_start(period, day)] += int(points)
    rows: list[dict[str, Any]] = [
        {"cohort_id": c, "member_id": m, "period": p, "period_start": s, "points": n}
        for (c, m, p, s), n in totals.items()
    ]
    for i in range(0, len(rows), 10_000):
        conn.execute(insert(points_t), rows[i : i + 10_000])
    return len(rows)
