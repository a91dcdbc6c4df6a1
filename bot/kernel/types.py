"""Value types shared by the core, the adapters and storage (frozen, except a sweep's running report)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class UserRef:
    """A person on a platform; `is_admin` is the platform's own word on server/workspace admins."""

    platform: str
    id: str
    name: str
    is_admin: bool = False


@dataclass(frozen=True)
class ConversationRef:
    """Where a message lives: a channel in a workspace (Discord guild, Slack team, console)."""

    platform: str
    workspace_id: str
    channel_id: str


@dataclass(frozen=True)
class Invocation:
    """One command a user ran: `command` is its registered name ("streak", "cohort create").

    `typed` says the arguments came from text a person typed, not from a button: hidden arguments (the
    post a quiz button belongs to) are then never filled in, so they cannot be forged.
    """

    command: str
    args: tuple[str, ...]
    user: UserRef
    conversation: ConversationRef
    typed: bool = False
    # A filled-in Form's answers, (field name, value) each: they fill the command's arguments of those
    # names whole, never split into words or read as key=value.
    fields: tuple[tuple[str, str], ...] = ()


class Style(StrEnum):
    """How prominent a button or card is; adapters map it to their own palette."""

    NEUTRAL = "neutral"
    PRIMARY = "primary"
    SUCCESS = "success"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    """A button whose click comes back as Invocation(command, args) through the same dispatch."""

    label: str
    command: str
    args: tuple[str, ...] = ()
    style: Style = Style.NEUTRAL


@dataclass(frozen=True)
class Field:
    """A name/value pair shown inside a card."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Card:
    """A rich block: title, body text, fields and a footer; plain text is its fallback."""

    title: str
    body: str = ""
    fields: tuple[Field, ...] = ()
    footer: str = ""
    url: str | None = None
    style: Style = Style.NEUTRAL


@dataclass(frozen=True)
class Image:
    """A PNG the adapter sends as an attachment (Discord, Slack) or writes to a file (console)."""

    filename: str
    data: bytes
    alt: str


@dataclass(frozen=True)
class Attachment:
    """A non-image file, such as a CSV export."""

    filename: str
    data: bytes
    mime: str


class FieldKind(StrEnum):
    """What a form field asks for."""

    ONE = "one"  # exactly one of its options (radio buttons)
    MANY = "many"  # any of its options, none included (checkboxes); the answer joins their values by ","
    TEXT = "text"  # free text of up to `max_chars`


@dataclass(frozen=True)
class Option:
    """One choice of a ONE or MANY field: the value that comes back, and the label shown."""

    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One question of a Form; its answer fills the command's argument called `name`."""

    name: str
    label: str
    kind: FieldKind
    options: tuple[Option, ...] = ()
    required: bool = True
    max_chars: int = 0  # TEXT: the most a member may type (the command checks again)
    hint: str = ""  # a line under the label, or a placeholder


@dataclass(frozen=True)
class Form:
    """A dialog a member fills in (a Discord modal, a Slack modal). Submitting it comes back as
    Invocation(command, args, fields=answers) through the same dispatch, like a button click.

    An adapter opens it only in answer to a member's own click or command. The Reply carrying it also has
    text or cards that say the same in words (the intro and how to type the answer instead): what an
    adapter that cannot open the form, like the console, shows.
    """

    title: str
    command: str
    args: tuple[str, ...]
    fields: tuple[FormField, ...]
    intro: str = ""  # shown above the fields: what is being filled in (member and pack text verbatim)


@dataclass(frozen=True)
class Reply:
    """What a command answers: text, cards, buttons and files; `ephemeral` means only the caller sees it.

    `silent` means send nothing: the core dropped the command without doing anything (a member over the
    spam limit, already told to slow down). An adapter shows nothing and does only what its platform
    demands to close the request (Discord must answer every interaction within 3 seconds).
    """

    text: str = ""
    cards: tuple[Card, ...] = ()
    buttons: tuple[Button, ...] = ()
    images: tuple[Image, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    ephemeral: bool = False
    error: bool = False
    silent: bool = False
    form: Form | None = None
    # An error on studybot's side (a bug, an outage), not the member's: counted as failed in the metrics.
    internal: bool = False


# ---- domain records the Store returns (never ORM rows) ----


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SpanKind(StrEnum):
    PAUSE = "pause"  # a moderator paused the cohort
    HOLIDAY = "holiday"  # a moderator declared holidays
    BREAK = "break"  # a member took a break
    END = "end"  # the cohort's end date passed


@dataclass(frozen=True)
class DaySpan:
    """A run of local dates that are rest days: `last` is inclusive, None while a pause is not resumed."""

    first: dt.date
    last: dt.date | None
    kind: SpanKind
    label: str = ""

    def covers(self, day: dt.date) -> bool:
        return self.first <= day and (self.last is None or day <= self.last)


@dataclass(frozen=True)
class CalendarHistory:
    """What a cohort's calendar was on past days: each change of posting weekdays from the date it took
    effect (none recorded: the cohort's weekdays always held), and its pauses and holidays."""

    eras: tuple[tuple[dt.date, frozenset[int]], ...] = ()
    spans: tuple[DaySpan, ...] = ()


@dataclass(frozen=True)
class Cohort:
    """A study group living in one channel, posting a challenge on its weekdays at its local time."""

    id: int
    platform: str
    workspace_id: str
    channel_id: str
    name: str
    post_time: dt.time
    timezone: str
    weekdays: frozenset[int]  # 0 = Monday, as datetime.date.weekday()
    start_date: dt.date
    paused: bool
    created_by: str
    # A stage a moderator set by hand, and the local date from which the pace counts on from it.
    stage_id: str | None = None
    stage_since: dt.date | None = None
    # How late a missed post may still go out (after a restart); later ones are skipped.
    catchup_minutes: int = 360
    # Whether its moderators get the weekly health note (off unless a moderator turns it on).
    health: bool = False
    health_by: str | None = None  # the moderator who turned it on (a platform user id)
    # Past weekday changes, pauses and holidays: the calendar each past day is judged by.
    history: CalendarHistory = CalendarHistory()
    # Its last day, when a moderator set one (`cohort set <name> end`): no posts after it, and members active
    # in its last week graduate; `graduated_on` is the local date that was done.
    end_date: dt.date | None = None
    graduated_on: dt.date | None = None

    @property
    def conversation(self) -> ConversationRef:
        return ConversationRef(self.platform, self.workspace_id, self.channel_id)


@dataclass(frozen=True)
class Member:
    """A person known to studybot on one platform."""

    id: int
    platform: str
    user_id: str
    name: str
    timezone: str | None
    remind_at: dt.time | None = None
    # The member's own breaks (rest days for their streaks), oldest first.
    breaks: tuple[DaySpan, ...] = ()
    # Accounts on other platforms linked with this one (`/study link`) share this id, the member whose rows
    # hold the learner's roadmap progress and review cards; None while the account is on its own.
    learner_id: int | None = None

    @property
    def learner(self) -> int:
        """Whose progress and review cards this account reads and writes: the learner's, or its own."""
        return self.learner_id if self.learner_id is not None else self.id


class ActivityKind(StrEnum):
    ANSWER = "answer"
    CHECKIN = "checkin"
    REVIEW = "review"


@dataclass(frozen=True)
class Activity:
    """One entry of the activity ledger; `local_date` was fixed when it happened."""

    member_id: int
    cohort_id: int
    local_date: dt.date
    kind: ActivityKind
    points: int
    post_id: int | None = None
    choice: str | None = None
    correct: bool | None = None
    note: str = ""
    at: dt.datetime | None = None
    # The member's learner (Member.learner_id) when the account is linked: the day then counts for the
    # linked accounts' streaks too, and a review card the activity files is the learner's.
    learner_id: int | None = None


@dataclass(frozen=True)
class Excusal:
    """A missed day a moderator excused, with who did it and why."""

    member_id: int
    cohort_id: int
    local_date: dt.date
    reason: str
    granted_by: str
    at: dt.datetime


@dataclass(frozen=True)
class Post:
    """The daily challenge of one cohort on one local date; `message_id` is set once it was sent."""

    id: int
    cohort_id: int
    local_date: dt.date
    challenge_id: str
    message_id: str | None = None


@dataclass(frozen=True)
class ScoreRow:
    """A member's points in a period, for leaderboards and exports."""

    member_id: int
    name: str
    points: int
    answers: int = 0
    correct: int = 0
    checkins: int = 0


@dataclass(frozen=True)
class Standing:
    """A leaderboard: the top members of a period, and where one member stands in it."""

    top: tuple[ScoreRow, ...]
    rank: int | None  # 1 is first; members with equal points share a rank; None without points
    points: int
    ranked: int  # members with points in the period


@dataclass(frozen=True)
class ReviewCard:
    """A question in a member's spaced review: when it is next due, and the FSRS memory that set that day."""

    member_id: int
    challenge_id: str
    due: dt.date
    stability: float  # days until the chance of recalling it falls to 90%
    difficulty: float  # FSRS difficulty, 1 (easy) to 10 (hard)
    last_review: dt.date | None  # the member's local date of the last answer
    reviews: int  # answers that moved it (the daily quiz's included)


@dataclass(frozen=True)
class CardChange:
    """A change to one of a member's review cards, decided inside the store's transaction.

    `change` gets the card as stored (None when the question is not in the review yet) and returns the card
    to store; an exception from it stores nothing and reaches the caller.
    """

    challenge_id: str
    change: Callable[[ReviewCard | None], ReviewCard]


@dataclass(frozen=True)
class Recorded:
    """What recording an activity left behind: the member's active and excused local dates in the cohort,
    the new activity's among them, and the review card as filed when a CardChange came with it."""

    active: frozenset[dt.date]
    excused: frozenset[dt.date]
    card: ReviewCard | None = None


# Write latency buckets, in seconds: a commit on a quiet disk takes a millisecond or two; a burst queues.
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Tally:
    """Durations counted into buckets (upper bounds in seconds, the last bucket for longer ones) with their
    sum: a histogram for an operator's metrics, kept without the metrics library."""

    bounds: tuple[float, ...] = WRITE_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds


@dataclass
class Sweep:
    """What one sweep of the daily posts did (jobs/posting.py): posted, re-sent, skipped, failed."""

    posted: list[Post] = field(default_factory=list)
    resent: list[Post] = field(default_factory=list)
    skipped: list[tuple[str, dt.date]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    reminded: int = 0
    reviews: int = 0  # peer review notices sent, reviews timed out and reviewers assigned
    milestones: int = 0  # milestones announced
    graduated: int = 0  # members graduated as their cohort ended


@dataclass(frozen=True)
class Milestone:
    """A member's milestone in a cohort: `kind` is streak-7, streak-30, streak-100, first-accepted or
    stage:<stage id>; `local_date` the member's date it was reached."""

    cohort_id: int
    member_id: int
    kind: str
    local_date: dt.date


class EvidenceKind(StrEnum):
    """What a submitted link points at, recognised from its shape."""

    GITHUB_REPO = "github-repo"
    GITHUB_COMMIT = "github-commit"
    GITHUB_PULL = "github-pull"
    GIST = "gist"
    KAGGLE = "kaggle"
    HF_MODEL = "hf-model"
    HF_DATASET = "hf-dataset"
    HF_SPACE = "hf-space"
    COLAB = "colab"
    OTHER = "other"


@dataclass(frozen=True)
class Evidence:
    """A link a member submitted for a task. For GitHub links, `owner` and `repo` (the gist id for a gist)
    and `ref` (a commit sha or a pull request number) name what the verifier looks up."""

    url: str
    kind: EvidenceKind
    owner: str = ""
    repo: str = ""
    ref: str = ""


class Verified(StrEnum):
    YES = "verified"  # the platform confirmed it: public, and changed after the task was posted
    NO = "failed"  # the platform answered, and it does not hold (private, missing, nothing new)
    UNCHECKED = "unverified"  # not checked: no network, a rate limit, a kind no platform lets us check


@dataclass(frozen=True)
class Verification:
    status: Verified
    detail: str  # one line a member reads: what was confirmed, or what could not be checked and why


class SubmissionState(StrEnum):
    SUBMITTED = "submitted"  # waiting for review; the author may still replace the link
    IN_REVIEW = "in-review"  # a reviewer started: the link is fixed
    ACCEPTED = "accepted"
    NEEDS_WORK = "needs-work"  # the author may resubmit


@dataclass(frozen=True)
class Submission:
    """A member's evidence for one task in a cohort: one a member and task, replaced until review starts."""

    id: int
    cohort_id: int
    member_id: int
    challenge_id: str
    url: str
    kind: EvidenceKind
    note: str
    state: SubmissionState
    verification: Verification
    submitted_at: dt.datetime
    updated_at: dt.datetime
    round: int = 1  # 1, then one more each time the author resubmits after "needs work"
    accepted_at: dt.datetime | None = None


# Points for peer review, once each: "accepted" to a submission's author, "reviewed" to a reviewer per
# submission. Here rather than in rules/points.py because the store gives them inside its transaction.
PEER_REVIEW_POINTS = {"accepted": 10, "reviewed": 3}


class ReviewVerdict(StrEnum):
    ACCEPT = "accept"
    NEEDS_WORK = "needs-work"


class PeerReviewState(StrEnum):
    OPEN = "open"  # assigned, not given yet
    DONE = "done"  # given: a verdict, the checklist ticked, a comment
    TIMED_OUT = "timed-out"  # silent past its due time (replaced once, unless it was a replacement)
    EXCUSED = "excused"  # a moderator let the reviewer off, with no replacement
    REASSIGNED = "reassigned"  # a moderator gave it to someone else
    CLOSED = "closed"  # no longer needed: the submission was decided, or resubmitted for a new round


@dataclass(frozen=True)
class PeerReview:
    """One reviewer's review of one round of a submission."""

    id: int
    submission_id: int
    reviewer_id: int
    round: int
    state: PeerReviewState
    assigned_at: dt.datetime
    due_at: dt.datetime
    verdict: ReviewVerdict | None = None
    checks: tuple[int, ...] = ()  # the checklist items ticked, numbered from 1
    comment: str = ""
    done_at: dt.datetime | None = None
    replaces: int | None = None  # the silent or reassigned review this one took over


@dataclass(frozen=True)
class ReviewPool:
    """What deciding a submission's reviewers needs to know, read in the transaction that assigns them."""

    submission: Submission
    needed: int  # reviewers to add now
    enrolled: frozenset[int]
    tasks: dict[int, frozenset[str]]  # member -> the task ids they submitted in the cohort
    open_reviews: dict[int, int]  # member -> reviews they hold open, in any cohort
    all_reviews: dict[int, int]  # member -> reviews ever assigned to them
    taken: frozenset[int]  # members who hold or held a review of this submission in this round
    last_reviewers: frozenset[int]  # who reviewed the author's previous submission
    earlier_round: tuple[int, ...]  # who gave a review in the round before (they know the work)


@dataclass(frozen=True)
class Settled:
    """What giving a review, a moderator's word or a timeout left: the submission as it is now, and whether
    this call decided it (accepted or needs work) and gave points."""

    submission: Submission
    decided: bool = False
    review: PeerReview | None = None
    reviewer_points: bool = False  # the reviewer's points were new
    added: tuple[PeerReview, ...] = ()  # reviewers assigned by this call
