"""SQLModel tables; unique constraints are what make double answers and double check-ins impossible."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def _utc_column(*, nullable: bool = False) -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class MemberRow(SQLModel, table=True):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("platform", "user_id", name="uq_member_platform_user"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    name: str = Field(max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    remind_at: dt.time | None = None  # local time of the daily streak reminder; None means off
    breaks: str | None = None  # JSON: the member's breaks (storage/calendars.py)
    # The learner this account is linked as (`/study link`, migration 0015): the member id whose rows hold
    # the linked accounts' progress and review cards, the same on every one of them; None on its own.
    learner_id: int | None = Field(default=None, index=True)


class ModeratorRow(SQLModel, table=True):
    __tablename__ = "moderator"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "user_id", name="uq_moderator"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    granted_by: str = Field(max_length=64)
    granted_at: dt.datetime = Field(sa_column=_utc_column())


class CohortRow(SQLModel, table=True):
    __tablename__ = "cohort"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "name", name="uq_cohort_name"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    channel_id: str = Field(max_length=64)
    name: str = Field(max_length=32)
    post_time: dt.time
    timezone: str = Field(max_length=64)
    weekdays: str = Field(max_length=13)  # "0,1,2,3,4": Monday is 0
    start_date: dt.date
    paused: bool = False
    created_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_column=_utc_column())
    stage_id: str | None = Field(default=None, max_length=100)
    stage_since: dt.date | None = None
    catchup_minutes: int = Field(default=360, sa_column_kwargs={"server_default": "360"})
    # Whether its moderators get a weekly private note on the cohort's health (`cohort set <name> health on`).
    health: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # Who turned the note on: they get it with the granted moderators, until their rights are revoked.
    health_by: str | None = Field(default=None, max_length=64)
    calendar: str | None = None  # JSON: past weekday changes, pauses and holidays (storage/calendars.py)
    end_date: dt.date | None = None  # its last day (migration 0016)
    graduated_on: dt.date | None = None  # when its active members graduated, after the end date


class EnrolmentRow(SQLModel, table=True):
    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("cohort_id", "member_id", name="uq_enrolment"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    joined_at: dt.datetime = Field(sa_column=_utc_column())


class PostRow(SQLModel, table=True):
    """One row per (cohort, local date): inserting it is the claim that decides who posts."""

    __tablename__ = "daily_post"
    __table_args__ = (UniqueConstraint("cohort_id", "local_date", name="uq_post_day"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    local_date: dt.date
    challenge_id: str = Field(max_length=100)
    message_id: str | None = Field(default=None, max_length=100)
    claimed_at: dt.datetime = Field(sa_column=_utc_column())


class ActivityRow(SQLModel, table=True):
    """The ledger: one answer and one check-in per member, cohort and local date; one answer per post."""

    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("member_id", "cohort_id", "local_date", "kind", name="uq_activity_day"),
        UniqueConstraint("member_id", "post_id", "kind", name="uq_activity_post"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    local_date: dt.date
    kind: str = Field(max_length=16)
    points: int
    post_id: int | None = Field(default=None, foreign_key="daily_post.id")
    choice: str | None = Field(default=None, max_length=1)
    correct: bool | None = None
    note: str = Field(default="", max_length=500)
    created_at: dt.datetime = Field(sa_column=_utc_column())


class ExcusalRow(SQLModel, table=True):
    """A moderator's fix: who excused which day of whom, and why."""

    __tablename__ = "excusal"
    __table_args__ = (UniqueConstraint("cohort_id", "member_id", "local_date", name="uq_excusal"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    local_date: dt.date
    reason: str = Field(max_length=500)
    granted_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_column=_utc_column())


class LearnedTopicRow(SQLModel, table=True):
    """A roadmap topic a member marked as learned."""

    __tablename__ = "learned_topic"
    __table_args__ = (UniqueConstraint("member_id", "stage_id", "topic_id", name="uq_learned_topic"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    stage_id: str = Field(max_length=100)
    topic_id: str = Field(max_length=100)
    learned_at: dt.datetime = Field(sa_column=_utc_column())


class ReviewCardRow(SQLModel, table=True):
    """A question in a member's spaced review: next due local date and its FSRS memory (migration 0007)."""

    __tablename__ = "review_card"
    __table_args__ = (UniqueConstraint("member_id", "challenge_id", name="uq_review_card"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    challenge_id: str = Field(max_length=100)
    box: int  # the Leitner box before FSRS (migration 0007); now the answers that moved the card
    due_date: dt.date
    stability: float | None = None
    difficulty: float | None = None
    last_review: dt.date | None = None
    updated_at: dt.datetime = Field(sa_column=_utc_column())


class ReminderRow(SQLModel, table=True):
    """One row per member and local date once that day's reminder was decided: at most one a day."""

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("member_id", "local_date", name="uq_reminder_day"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    local_date: dt.date
    sent: bool
    decided_at: dt.datetime = Field(sa_column=_utc_column())


class RecapRow(SQLModel, table=True):
    """The claim of a cohort's weekly recap, like a daily post's."""

    __tablename__ = "recap"
    __table_args__ = (UniqueConstraint("cohort_id", "week_start", name="uq_recap_week"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    week_start: dt.date
    message_id: str | None = Field(default=None, max_length=100)
    claimed_at: dt.datetime = Field(sa_column=_utc_column())


class PointsRow(SQLModel, table=True):
    """Running point totals per enrolled member, cohort and period bucket, kept with the ledger.

    Three buckets per activity: all time (period_start ALL_TIME), its ISO week (the Monday) and its month
    (the 1st), by the activity's local date. The leaderboard reads the top of an index instead of adding
    up a cohort's whole ledger; every total equals the sum of the member's ledger rows in that bucket.
    """

    __tablename__ = "points"
    __table_args__ = (
        UniqueConstraint("cohort_id", "period", "period_start", "member_id", name="uq_points"),
        Index("ix_points_rank", "cohort_id", "period", "period_start", "points", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    period: str = Field(max_length=8)
    period_start: dt.date
    points: int


class SubmissionRow(SQLModel, table=True):
    """A member's evidence for one task in a cohort: one row a member and task, updated on resubmission."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("cohort_id", "member_id", "challenge_id", name="uq_submission_task"),
        Index("ix_submission_cohort", "cohort_id", "submitted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    challenge_id: str = Field(max_length=100)
    url: str = Field(max_length=300)
    kind: str = Field(max_length=16)
    note: str = Field(default="", max_length=500)
    state: str = Field(max_length=16)
    verified: str = Field(max_length=16)
    verify_detail: str = Field(default="", max_length=300)
    submitted_at: dt.datetime = Field(sa_column=_utc_column())
    updated_at: dt.datetime = Field(sa_column=_utc_column())
    # 1, then one more each time the author resubmits after "needs work".
    round: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    accepted_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # When the author was told of the latest decision (accepted, needs work); None: still to tell.
    author_told_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class HealthNoteRow(SQLModel, table=True):
    """The claim of a cohort's weekly health note to its moderators: one a cohort and week."""

    __tablename__ = "health_note"
    __table_args__ = (UniqueConstraint("cohort_id", "week_start", name="uq_health_note_week"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    week_start: dt.date
    claimed_at: dt.datetime = Field(sa_column=_utc_column())


class MilestoneRow(SQLModel, table=True):
    """A member's milestone in a cohort (a 7-day streak, a first accepted submission, a stage completed):
    reached once, announced in the cohort's channel once."""

    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("cohort_id", "member_id", "kind", name="uq_milestone"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(max_length=120)  # streak-7, first-accepted, stage:<id>
    local_date: dt.date
    created_at: dt.datetime = Field(sa_column=_utc_column())
    announced_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class MilestoneRoleRow(SQLModel, table=True):
    """A Discord role a cohort's moderators give for a milestone; whether they were told it failed."""

    __tablename__ = "milestone_role"
    __table_args__ = (UniqueConstraint("cohort_id", "kind", name="uq_milestone_role"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    kind: str = Field(max_length=120)
    role_id: str = Field(max_length=32)
    set_by: str = Field(max_length=64)
    warned_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class PodOptInRow(SQLModel, table=True):
    """A member who wants a buddy pod in a cohort (`/study pods on`)."""

    __tablename__ = "pod_optin"
    __table_args__ = (UniqueConstraint("cohort_id", "member_id", name="uq_pod_optin"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    member_id: int = Field(foreign_key="member.id")
    created_at: dt.datetime = Field(sa_column=_utc_column())


class PodWeekRow(SQLModel, table=True):
    """The claim of a cohort's pods for a week: whoever inserts it makes them, once."""

    __tablename__ = "pod_week"
    __table_args__ = (UniqueConstraint("cohort_id", "week_start", name="uq_pod_week"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    week_start: dt.date
    created_at: dt.datetime = Field(sa_column=_utc_column())


class PodMemberRow(SQLModel, table=True):
    """A member's pod in a week: members with the same week's number are one pod."""

    __tablename__ = "pod_member"
    __table_args__ = (
        UniqueConstraint("week_id", "member_id", name="uq_pod_member"),
        Index("ix_pod_member_week", "week_id", "pod_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    week_id: int = Field(foreign_key="pod_week.id")
    pod_no: int
    member_id: int = Field(foreign_key="member.id")


class PeerReviewRow(SQLModel, table=True):
    """One reviewer's review of one round of a submission: assigned, then given, timed out or ended."""

    __tablename__ = "peer_review"
    __table_args__ = (
        UniqueConstraint("submission_id", "round", "reviewer_id", name="uq_peer_review"),
        Index("ix_peer_review_reviewer", "reviewer_id", "state"),
        Index("ix_peer_review_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    reviewer_id: int = Field(foreign_key="member.id")
    round: int
    state: str = Field(max_length=16)
    verdict: str | None = Field(default=None, max_length=16)
    checks: str = Field(default="", max_length=64)  # ticked checklist items, "1,3"
    comment: str = Field(default="", max_length=1000)
    assigned_at: dt.datetime = Field(sa_column=_utc_column())
    due_at: dt.datetime = Field(sa_column=_utc_column())
    done_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    notified_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    replaces: int | None = Field(default=None)


class ReviewActionRow(SQLModel, table=True):
    """A moderator's word on a submission or one of its reviews: what, on whom, by whom and why."""

    __tablename__ = "review_action"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    action: str = Field(max_length=16)
    member_id: int | None = Field(default=None, foreign_key="member.id")  # the reviewer concerned
    moderator: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    created_at: dt.datetime = Field(sa_column=_utc_column())


class AwardRow(SQLModel, table=True):
    """Points for work on a submission, once each: the author's for its acceptance, a reviewer's for a review.
    They count on leaderboards like the ledger's points, but not as a day's activity for streaks."""

    __tablename__ = "award"
    __table_args__ = (UniqueConstraint("member_id", "submission_id", "kind", name="uq_award"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    submission_id: int = Field(foreign_key="submission.id")
    kind: str = Field(max_length=16)  # accepted, reviewed
    points: int
    local_date: dt.date
    created_at: dt.datetime = Field(sa_column=_utc_column())


class LinkCodeRow(SQLModel, table=True):
    """A one-time code from `/study link`, kept as its SHA-256: typed on another platform before it expires,
    it links that account with this member's (migration 0015)."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(foreign_key="member.id", unique=True)
    expires_at: dt.datetime = Field(sa_column=_utc_column())


class SharedDayRow(SQLModel, table=True):
    """A day a linked account (`source_id`) of this member was active: it counts for this member's streaks in
    every cohort, as the member's own activity would. `merged`: copied from the source's history when the
    accounts were linked (undone if they unlink); else shared as it happened while linked (kept)."""

    __tablename__ = "shared_day"
    __table_args__ = (UniqueConstraint("member_id", "source_id", "local_date", name="uq_shared_day"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    source_id: int = Field(foreign_key="member.id")
    local_date: dt.date
    merged: bool = False
