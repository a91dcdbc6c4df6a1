"""The Protocols the core needs from outside: a clock, chat platforms, storage by area, leader locks, and the
posting job's two faces (DailyPoster for `cohort post`, PostingJob for the console's sweep)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable, Collection, Sequence
from collections.abc import Set as AbstractSet
from typing import Protocol, runtime_checkable

from bot.kernel.types import (
    Activity,
    CardChange,
    Cohort,
    ConversationRef,
    DaySpan,
    Evidence,
    Excusal,
    Member,
    Milestone,
    PeerReview,
    PeerReviewState,
    Post,
    Recorded,
    Reply,
    ReviewCard,
    ReviewPool,
    ReviewVerdict,
    ScoreRow,
    Settled,
    Standing,
    Submission,
    SubmissionState,
    Sweep,
    Tally,
    Verification,
)


class Clock(Protocol):
    """Where the core gets the time; always an aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class ChatPlatform(Protocol):
    """A platform the core can post to on its own (daily challenges)."""

    name: str

    async def start(self) -> None: ...

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        """Send `reply` and return the platform's message id; `key` is an idempotency key where supported."""
        ...

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        """Replace a message the bot sent earlier."""
        ...

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        """Send a direct message to one person; return its message id."""
        ...

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        """Give a member a role of the workspace (a milestone's reward); False where the platform has no
        roles to give. Raise Undeliverable when the platform refuses (a missing permission)."""
        ...

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        """Send one private message to a few people together (a buddy pod): in a private conversation of
        theirs where the platform has one (a private thread of `conversation` on Discord, a group DM on
        Slack), else the same direct message to each; the message ids."""
        ...

    async def close(self) -> None: ...


class Telemetry(Protocol):
    """Where the core reports what it did, for an operator's metrics (adapters/ops); nothing by default."""

    def command(self, name: str, outcome: str, seconds: float) -> None:
        """A command ran: its registry name ("unknown" for none), how it ended (ok, refused, limited,
        failed) and how long the core took."""
        ...

    def post(self, result: str) -> None:
        """A daily post was sent on time, caught up (late, within its window), skipped, re-sent or failed."""
        ...

    def reminders(self, sent: int) -> None:
        """Streak reminders sent by one sweep."""
        ...

    def rate_limited(self, platform: str, seconds: float) -> None:
        """A platform refused a request for its rate limit (429) and it was sent again after `seconds`."""
        ...


@runtime_checkable
class Connected(Protocol):
    """A platform that can say whether it is connected now (Discord's gateway, Slack's socket): /readyz."""

    async def connected(self) -> bool: ...


class DailyPoster(Protocol):
    """Posts a cohort's challenge of today at a moderator's word (`cohort post`), as the scheduler would."""

    async def post_now(self, cohort: Cohort) -> Reply:
        """Post today's challenge now unless it went out already; say what happened."""
        ...


class PostingJob(Protocol):
    """The daily posts' sweep: what is due goes out, stale claims are sent again (the console runs it on its
    own clock; the scheduler every minute)."""

    async def sweep(self) -> Sweep: ...


class Undeliverable(Exception):
    """The platform will not take this message now or later (a deleted channel, a missing permission)."""


class LeaderLock(Protocol):
    """Held by the one process that runs scheduled jobs."""

    # True when a second process must be refused (SQLite) rather than kept waiting to take over.
    exclusive: bool

    async def try_acquire(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def release(self) -> None: ...


class PlatformRefused(Exception):
    """A chat platform refused studybot's credentials at start; the message names the setting to check."""


class Conflict(Exception):
    """A unique constraint said no: the thing already exists (a second answer, a taken name)."""


class Superseded(Exception):
    """The work under review changed (a new round) since the reviewer opened its form."""


class MemberStore(Protocol):
    """Members and moderators: who someone is on a platform, their timezone and breaks, who moderates."""

    async def upsert_member(self, platform: str, user_id: str, name: str) -> Member: ...

    async def set_member_timezone(self, member_id: int, timezone: str) -> Member: ...

    async def set_breaks(self, member_id: int, breaks: tuple[DaySpan, ...]) -> Member:
        """Replace the member's breaks (oldest first)."""
        ...

    async def get_member(self, member_id: int) -> Member | None: ...

    async def is_moderator(self, platform: str, workspace_id: str, user_id: str) -> bool: ...

    async def grant_moderator(
        self, platform: str, workspace_id: str, user_id: str, by: str, now: dt.datetime
    ) -> bool: ...

    async def revoke_moderator(self, platform: str, workspace_id: str, user_id: str) -> bool: ...

    async def granted_moderators(self, platform: str, workspace_id: str) -> list[str]:
        """The platform user ids of the members a moderator granted rights in a workspace."""
        ...

    async def find_members(
        self, platform: str, workspace_id: str, key: str, cohort_id: int | None = None
    ) -> list[Member]:
        """Members of the workspace's cohorts (of one cohort, given its id) whose user id or display name is
        `key`, ignoring case; a few at most, by name."""
        ...


class CohortStore(Protocol):
    """Cohorts and enrolment: a cohort's settings and calendar, and who is in it."""

    async def create_cohort(
        self,
        *,
        conversation: ConversationRef,
        name: str,
        post_time: dt.time,
        timezone: str,
        weekdays: frozenset[int],
        start_date: dt.date,
        created_by: str,
        now: dt.datetime,
    ) -> Cohort:
        """Create a cohort; raise Conflict when the name is taken in this workspace."""
        ...

    async def update_cohort(self, cohort_id: int, **changes: object) -> Cohort: ...

    async def change_cohort(self, cohort_id: int, change: Callable[[Cohort], dict[str, object]]) -> Cohort:
        """Apply the changes `change` decides from the cohort as it is now, in one transaction; an exception
        from `change` changes nothing and propagates."""
        ...

    async def get_cohort(self, cohort_id: int) -> Cohort | None: ...

    async def find_cohort(self, platform: str, workspace_id: str, name: str) -> Cohort | None: ...

    async def list_cohorts(
        self, platform: str | None = None, workspace_id: str | None = None
    ) -> list[Cohort]: ...

    async def enrol(self, cohort_id: int, member_id: int, now: dt.datetime) -> bool:
        """Enrol a member; False when they already were."""
        ...

    async def unenrol(self, cohort_id: int, member_id: int) -> bool: ...

    async def joined_at(self, cohort_id: int, member_id: int) -> dt.datetime | None:
        """When the member last joined the cohort (UTC), or None when they are not in it."""
        ...

    async def member_cohorts(self, member_id: int) -> list[Cohort]:
        """The member's cohorts, most recently joined first."""
        ...

    async def cohort_members(self, cohort_id: int) -> list[Member]: ...

    async def cohorts_of_members(self, member_ids: Collection[int]) -> dict[int, list[Cohort]]:
        """Each member's cohorts, most recently joined first, in one query; members in none are absent."""
        ...

    async def stop_health_notes(self, platform: str, workspace_id: str, user_id: str) -> None:
        """A moderator's rights were revoked: the health notes they turned on no longer go to them."""
        ...

    async def joined_dates(self, cohort_id: int) -> dict[int, dt.datetime]:
        """When each member enrolled now last joined the cohort (UTC), by member id."""
        ...

    async def member_counts(self, platform: str, workspace_id: str) -> dict[int, int]:
        """How many members each cohort of a workspace has, by cohort id (cohorts without any left out)."""
        ...


class PostStore(Protocol):
    """Daily posts and their claims: one post per cohort and local date, its message id, stale claims."""

    async def claim_post(
        self, cohort_id: int, local_date: dt.date, challenge_id: str, now: dt.datetime
    ) -> Post | None:
        """Claim the day for posting; None when another caller already claimed it."""
        ...

    async def set_post_message(self, post_id: int, message_id: str) -> None: ...

    async def stale_claims(self, claimed_before: dt.datetime) -> list[Post]:
        """Posts claimed before that instant that never got a message id (a crash between claim and send)."""
        ...

    async def reclaim_post(self, post_id: int, now: dt.datetime, claimed_before: dt.datetime) -> bool:
        """Take over a stale claim; False when another process took it first or it was sent meanwhile."""
        ...

    async def posts_since(self, day: dt.date, cohort_id: int | None = None) -> list[Post]:
        """Posts on or after a local date: every cohort's, or one cohort's."""
        ...

    async def post_before(self, cohort_id: int, day: dt.date) -> Post | None:
        """A cohort's latest post before a local date."""
        ...

    def scheduler_lock(self) -> LeaderLock:
        """The lock that decides which process runs the scheduler."""
        ...

    async def get_post(self, post_id: int) -> Post | None: ...

    async def post_for_answer(self, post_id: int, member_id: int) -> tuple[Post, Cohort, bool] | None:
        """A post, its cohort and whether the member is enrolled there (one read); None without the post."""
        ...

    async def post_for_day(self, cohort_id: int, local_date: dt.date) -> Post | None: ...

    async def latest_post(self, cohort_id: int) -> Post | None: ...

    async def used_challenges(self, cohort_id: int) -> list[str]: ...

    async def first_post_of(self, cohort_id: int, challenge_id: str) -> tuple[Post, dt.datetime] | None:
        """The first post of a challenge in a cohort, and when it was claimed; None if never posted."""
        ...

    async def post_claimed_at(self, post_id: int) -> dt.datetime | None:
        """When a post was last claimed: when it was sent, or re-sent after a crash; None without it."""
        ...


class ActivityStore(Protocol):
    """The activity ledger and points: answers, check-ins, excusals, tallies, standings."""

    async def record_activity(self, activity: Activity, review: CardChange | None = None) -> Recorded:
        """Append to the ledger and return the member's days in the cohort, this one among them.

        With `review`, the member's card for that question changes in the same transaction: both are stored
        or neither. Raise Conflict, storing nothing, when the same kind was already recorded.
        """
        ...

    async def activities(
        self, cohort_id: int, member_id: int | None = None, since: dt.date | None = None
    ) -> list[Activity]: ...

    async def answer_for_post(self, post_id: int, member_id: int) -> Activity | None: ...

    async def post_tally(self, post_id: int) -> tuple[int, int, int]:
        """How many answered the post, how many of them were right, and how many checked in."""
        ...

    async def quiz_tallies(self) -> dict[str, tuple[int, int]]:
        """For each challenge id posted as a daily quiz in any cohort: how many answered it and how many of
        them were right (first answers only, as on the closing card)."""
        ...

    async def member_days(self, cohort_id: int, member_id: int) -> tuple[set[dt.date], set[dt.date]]:
        """A member's active and excused local dates in a cohort."""
        ...

    async def add_excusal(self, excusal: Excusal) -> None:
        """Record a moderator's fix; raise Conflict when that day is already excused."""
        ...

    async def cohort_days(
        self, cohort_id: int
    ) -> dict[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]]:
        """Every member's active and excused local dates in a cohort, in one query; members with neither are
        absent."""
        ...

    def ledger_pages(
        self, cohort_id: int, size: int
    ) -> AsyncGenerator[Sequence[tuple[Activity, str | None, str | None]], None]:
        """A cohort's ledger by local date, then as recorded, with each member's name and user id (None when
        the member is gone), in pages of at most `size` entries, read from one query as they are taken."""
        ...

    async def excusals(self, cohort_id: int, member_id: int | None = None) -> list[Excusal]: ...

    async def standing(self, cohort_id: int, period: str, day: dt.date, member_id: int, top: int) -> Standing:
        """The `top` members by points in the bucket of `period` (week, month, all) holding the local date
        `day`, most points first (equal points: the later member id first), and where `member_id` stands."""
        ...

    async def scores(self, cohort_id: int, since: dt.date | None = None) -> Sequence[ScoreRow]:
        """Points per enrolled member since a local date, highest first, ties by name."""
        ...


class LearningStore(Protocol):
    """Learning: topics a member marked learned and their spaced-review cards."""

    async def learn_topic(self, member_id: int, stage_id: str, topic_id: str, now: dt.datetime) -> bool:
        """Mark a topic learned; False when it already was."""
        ...

    async def unlearn_topic(self, member_id: int, stage_id: str, topic_id: str) -> bool: ...

    async def learned_topics(self, member_id: int) -> set[tuple[str, str]]:
        """(stage id, topic id) of every topic the member learned."""
        ...

    async def update_review_card(self, member_id: int, review: CardChange, now: dt.datetime) -> ReviewCard:
        """Read the member's card for that challenge (None when new), store `review.change(card)`, return it.

        One transaction: concurrent answers see each other's result. An exception from the change stores
        nothing and reaches the caller.
        """
        ...

    async def review_cards(self, member_id: int) -> list[ReviewCard]:
        """The member's review cards, soonest due first."""
        ...


class NoticeStore(Protocol):
    """Notices: streak reminders (who wants one, which were decided) and weekly recaps."""

    async def set_reminder(self, member_id: int, remind_at: dt.time | None) -> Member:
        """Turn the daily streak reminder on at a local time, or off with None."""
        ...

    async def members_with_reminders(self) -> list[Member]: ...

    async def reminders_decided(self, since: dt.date) -> set[tuple[int, dt.date]]:
        """(member id, local date) of each day whose reminder was already sent or ruled out."""
        ...

    async def decide_reminders(
        self, decisions: Sequence[tuple[int, dt.date, bool]], now: dt.datetime
    ) -> set[tuple[int, dt.date]]:
        """Claim members' reminder decisions, (member id, local date, sent) each, in one transaction; return
        those this call made (a decision already made by anyone is left as it was)."""
        ...

    async def record_milestones(
        self,
        cohort_id: int,
        member_id: int,
        kinds: Sequence[str],
        day: dt.date,
        now: dt.datetime,
        quiet: Sequence[str] = (),
    ) -> list[str]:
        """Record the milestones a member reached in a cohort; the kinds that were new (each is once). The
        `quiet` ones are recorded as already announced."""
        ...

    async def claim_milestones(
        self, now: dt.datetime, limit: int, platforms: Sequence[str]
    ) -> list[Milestone]:
        """Milestones not announced yet in cohorts on these platforms, claimed for announcing (each once)."""
        ...

    async def member_milestones(self, member_id: int) -> list[Milestone]:
        """A member's milestones in every cohort, oldest first."""
        ...

    async def set_milestone_role(self, cohort_id: int, kind: str, role_id: str | None, by: str) -> None:
        """Give `role_id` for a milestone of the cohort from now on (None: no role); `by` set it."""
        ...

    async def milestone_role(self, cohort_id: int, kind: str) -> tuple[str, str] | None:
        """The role given for a milestone of the cohort and who set it, if any."""
        ...

    async def claim_role_warning(self, cohort_id: int, kind: str, now: dt.datetime) -> bool:
        """Claim telling the moderator that a milestone's role could not be given; False when told already."""
        ...

    async def claim_health_note(self, cohort_id: int, week_start: dt.date, now: dt.datetime) -> bool:
        """Claim a cohort's weekly health note to its moderators; False when already claimed."""
        ...

    async def claim_recap(self, cohort_id: int, week_start: dt.date, now: dt.datetime) -> int | None:
        """Claim a cohort's weekly recap; its id, or None when already claimed."""
        ...

    async def set_recap_message(self, recap_id: int, message_id: str) -> None: ...


class SubmissionStore(Protocol):
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
        """Store a member's link for a task, or replace the one they submitted before; (the submission,
        whether it replaced one). Raise Conflict, changing nothing, when review has already started."""
        ...

    async def set_verification(self, submission_id: int, verification: Verification) -> None: ...

    async def submission(self, cohort_id: int, member_id: int, challenge_id: str) -> Submission | None: ...

    async def member_submissions(self, cohort_id: int, member_id: int) -> list[Submission]:
        """A member's submissions in a cohort, newest first."""
        ...

    async def cohort_submissions(self, cohort_id: int) -> list[Submission]:
        """Every submission in a cohort, oldest first."""
        ...


class PeerReviewStore(Protocol):
    """Peer review: reviewers of a submission's round, their reviews, decisions, and the points for them.

    Every method that decides holds the submission for its transaction: a round never gets more than two
    live reviewers, a review is given once, a submission is decided once, points are given once.
    """

    async def assign_reviewers(
        self,
        submission_id: int,
        now: dt.datetime,
        due: dt.datetime,
        choose: Callable[[ReviewPool], list[int]],
    ) -> list[PeerReview]:
        """Top the submission's current round up to two reviewers with whom `choose` picks from the pool (read
        in the same transaction); the reviews added (none when it is decided or has enough)."""
        ...

    async def new_round(self, submission_id: int, now: dt.datetime) -> None:
        """The author resubmitted: close what is still open of earlier rounds."""
        ...

    async def understaffed(self, cohort_id: int | None, limit: int) -> list[int]:
        """Submissions under review whose round has fewer than two reviewers, oldest first."""
        ...

    async def start_review(self, submission_id: int, reviewer_id: int) -> PeerReview | None:
        """The reviewer's review of the current round (None if they have none); an open one fixes the link."""
        ...

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
        """Record the reviewer's review of the current round, their points, and the decision it makes.
        Settled.review is None when they hold no review of it; Conflict when it was given or ended already;
        Superseded when `seen_round` (the round the reviewer's form showed) is no longer the current one."""
        ...

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
        """End an open review (timed out, excused, reassigned), with a replacement `choose` picks when given,
        a moderator's (who, why) recorded when given, and the decision that leaves; None when not open."""
        ...

    async def decide_submission(
        self,
        submission_id: int,
        state: SubmissionState,
        now: dt.datetime,
        author_day: dt.date,
        by: tuple[str, str],
    ) -> Settled:
        """A moderator's verdict (accepted or needs work), recorded with who and why."""
        ...

    async def orphaned_reviews(self, limit: int) -> list[PeerReview]:
        """Open reviews held by members no longer enrolled in the submission's cohort."""
        ...

    async def overdue_reviews(self, now: dt.datetime, limit: int) -> list[PeerReview]:
        """Open reviews past their due time, oldest first."""
        ...

    async def claim_review_notices(self, now: dt.datetime, limit: int) -> list[PeerReview]:
        """Open reviews whose reviewer was not told yet, claimed for telling (each claimed once)."""
        ...

    async def claim_decision_notices(self, now: dt.datetime, limit: int) -> list[Submission]:
        """Decided submissions whose author was not told yet, claimed for telling (each claimed once)."""
        ...

    async def get_submission(self, submission_id: int) -> Submission | None: ...

    async def peer_reviews(self, submission_id: int) -> list[PeerReview]:
        """Every review of a submission, by round, oldest first."""
        ...

    async def reviews_by(self, reviewer_id: int, cohort_id: int) -> list[tuple[PeerReview, Submission]]:
        """A member's reviews in a cohort with the submissions they are of, newest first."""
        ...

    async def cohort_reviews(self, cohort_id: int) -> list[PeerReview]:
        """Every review of a cohort's submissions, in the order they were assigned."""
        ...

    async def awards_since(self, cohort_id: int, since: dt.date) -> list[tuple[int, dt.date, int]]:
        """Peer review's points in a cohort from a local date on: (member, local date, points) each."""
        ...

    async def accepted_since(self, cohort_id: int, since: dt.datetime) -> list[Submission]:
        """Submissions of a cohort accepted at or after an instant, in the order they were."""
        ...

    async def review_actions(
        self, cohort_id: int
    ) -> list[tuple[int, str, int | None, str, str, dt.datetime]]:
        """Moderators' actions on a cohort's submissions: (submission, action, reviewer, moderator, reason,
        when), oldest first."""
        ...


class PodStore(Protocol):
    """Buddy pods: who opted in per cohort, and each week's pods, made once."""

    async def set_pod_optin(self, cohort_id: int, member_id: int, on: bool, now: dt.datetime) -> bool:
        """Opt a member in or out; False when they already were as asked."""
        ...

    async def pod_optins(self, cohort_id: int) -> list[int]: ...

    async def claim_pods(
        self, cohort_id: int, week_start: dt.date, pods: Sequence[tuple[int, ...]], now: dt.datetime
    ) -> bool:
        """Store a week's pods unless that week's pods were made already (by anyone); True when stored."""
        ...

    async def pods_of_weeks(self, cohort_id: int, since: dt.date) -> dict[dt.date, list[tuple[int, ...]]]:
        """The cohort's pods of each week from `since` on, by the week's Monday."""
        ...


class LinkRefused(Exception):
    """A link code that links nothing: `reason` says why (see LinkStore.redeem_link_code). When two accounts
    on one platform are the reason, `clash` is the one on the code's side and `ours` the redeemer's."""

    def __init__(self, reason: str, clash: Member | None = None, ours: Member | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.clash = clash
        self.ours = ours


class LinkStore(Protocol):
    """Linked accounts: one learner on several platforms, their one-time codes and shared days."""

    async def issue_link_code(
        self, member_id: int, code_hash: str, expires_at: dt.datetime, now: dt.datetime
    ) -> None:
        """Keep a new code for the member (its SHA-256) until `expires_at`, replacing any earlier one."""
        ...

    async def redeem_link_code(self, member_id: int, code_hash: str, now: dt.datetime) -> list[Member]:
        """Link the member's account (and any it is linked with) with the code's, in one transaction: the
        code is used up, roadmap progress and review cards become the learner's (the card answered last
        wins where both have one), and each account's active days count for the others' streaks (the days
        copied from history are undone by an unlink, days shared as they happen are kept). The learner's
        accounts, oldest first. Raise LinkRefused, changing nothing, with reason "unknown" (no such code, or
        expired), "own" (the member's own code), "already" (linked already) or "platform" (the two sides
        have an account on one platform each)."""
        ...

    async def unlink(self, member_id: int) -> list[Member]:
        """Take the member's account out of its learner: it keeps a copy of the progress and review cards;
        the days copied from each other's history at the link no longer count, days shared while linked
        still do, and from now on nothing is shared. The accounts it was
        linked with; empty when it was on its own (nothing changes)."""
        ...

    async def linked_accounts(self, member_id: int) -> list[tuple[Member, int]]:
        """The accounts of the member's learner (only the member, when on its own), oldest first, each with
        its points of all time across its cohorts."""
        ...


class EvidenceVerifier(Protocol):
    """Checks a submitted link with the platform it points at (GitHub), where that platform allows it."""

    async def verify(self, evidence: Evidence, since: dt.datetime) -> Verification:
        """Whether `evidence` is public and changed after `since`. Never raises: a platform that cannot be
        reached, refuses or is slow gives Verified.UNCHECKED with the reason."""
        ...

    async def close(self) -> None:
        """Release what the verifier holds open (its HTTP session)."""
        ...


class Store(
    MemberStore,
    CohortStore,
    PostStore,
    ActivityStore,
    LearningStore,
    NoticeStore,
    SubmissionStore,
    PeerReviewStore,
    PodStore,
    LinkStore,
    Protocol,
):
    """Every area's port in one object (what storage implements); each method is one committed transaction.

    A feature or job asks only for the areas it uses: `core.members`, `core.cohorts`, `core.posts`,
    `core.activity`, `core.learning`, `core.notices`.
    """

    async def migrate(self) -> None: ...

    async def ping(self) -> None:
        """Reach the database once (a readiness check); raise when it cannot be reached."""
        ...

    def write_stats(self) -> tuple[int, int, int] | None:
        """SQLite's group writer so far: batches committed, writes in them, writes waiting; None on
        PostgreSQL (each write is its own transaction)."""
        ...

    def write_latency(self) -> Tally:
        """How long the writes so far took, from the call to the commit (on SQLite, the wait for the writer
        included)."""
        ...

    async def close(self) -> None: ...
