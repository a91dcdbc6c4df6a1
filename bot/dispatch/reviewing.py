"""Peer review's shared steps: assigning reviewers (after a submission, and topping up rounds short of them),
the local dates points are dated by, and the private notices reviewers and authors get."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.catalog.model import Catalog
from bot.catalog.names import topic_title
from bot.dispatch.context import Services
from bot.kernel.clock import local_date
from bot.kernel.types import (
    Button,
    Card,
    Cohort,
    Field,
    PeerReview,
    Reply,
    ReviewPool,
    Style,
    Submission,
    SubmissionState,
)
from bot.kernel.untrusted import verbatim
from bot.rules.assignment import reviewers_for
from bot.rules.points import POINTS_ACCEPTED, POINTS_PEER_REVIEW

log = logging.getLogger(__name__)

# How long a reviewer has before the review is taken to be silent (and given to someone else, once).
REVIEW_WINDOW = dt.timedelta(hours=72)
# Submissions short of reviewers that one new submission tops up (its author may now review them); the
# sweep tops up the rest every minute.
TOP_UPS = 5
FEEDBACK = "feedback"  # the command a reviewer gives a review with


def chooser(catalog: Catalog) -> Callable[[ReviewPool], list[int]]:
    """The rule that picks reviewers from a pool, with the roadmap's order of tasks."""
    order = {cid: i for i, cid in enumerate(catalog.challenges)}

    def choose(pool: ReviewPool) -> list[int]:
        return reviewers_for(pool, order)

    return choose


async def assign(core: Services, submission_id: int) -> list[PeerReview]:
    now = core.clock.now()
    choose = chooser(core.catalog)
    return await core.peer_reviews.assign_reviewers(submission_id, now, now + REVIEW_WINDOW, choose)


async def after_submit(core: Services, saved: Submission, earlier_round: int | None) -> list[PeerReview]:
    """Reviewers for a new or resubmitted submission, then for others short of reviewers in the cohort (its
    author may review them now). A failure here is logged: the sweep assigns again within a minute."""
    try:
        if earlier_round is not None and saved.round > earlier_round:
            await core.peer_reviews.new_round(saved.id, core.clock.now())
        added = await assign(core, saved.id)
        for other in await core.peer_reviews.understaffed(saved.cohort_id, TOP_UPS + 1):
            if other != saved.id:
                await assign(core, other)
        return added
    except Exception:
        log.exception("could not assign reviewers to submission %s now; the sweep will", saved.id)
        return []


async def top_up(core: Services, limit: int) -> int:
    """Assign reviewers to the submissions short of them (new members, replaced or excused reviewers)."""
    added = 0
    for submission_id in await core.peer_reviews.understaffed(None, limit):
        added += len(await assign(core, submission_id))
    return added


async def member_day(core: Services, member_id: int, cohort: Cohort) -> dt.date:
    """A member's local date now (their timezone, else the cohort's): what points are dated by."""
    member = await core.members.get_member(member_id)
    tz = member.timezone if member and member.timezone else cohort.timezone
    return local_date(core.clock.now(), tz)


def checklist(catalog: Catalog, challenge_id: str) -> tuple[str, ...]:
    challenge = catalog.challenges.get(challenge_id)
    return challenge.checklist if challenge else ()


def task_title(catalog: Catalog, challenge_id: str) -> str:
    challenge = catalog.challenges.get(challenge_id)
    if challenge is None:
        return challenge_id
    return topic_title(catalog, challenge.stage, challenge.topic)


def numbered(items: tuple[str, ...]) -> str:
    return "\n".join(f"{i}. {verbatim(item)}" for i, item in enumerate(items, 1)) or "(no checklist)"


def review_button(submission_id: int, label: str = "📝 Review") -> Button:
    return Button(label, FEEDBACK, (str(submission_id),), Style.PRIMARY)


def review_notice(catalog: Catalog, cohort: Cohort, sub: Submission, review: PeerReview) -> Reply:
    """A reviewer's private notice: the task, the link, the checklist, and the button that opens the form."""
    title = verbatim(task_title(catalog, sub.challenge_id))
    fields = [
        Field("Link", verbatim(sub.url)),
        Field("What to look for", numbered(checklist(catalog, sub.challenge_id))),
    ]
    if sub.note:
        fields.append(Field("The author's note", verbatim(sub.note)))
    body = (
        f"You are one of two reviewers of submission #{sub.id} in cohort {verbatim(cohort.name)}, for task "
        f"`{sub.challenge_id}`. Open the link, go through the checklist, then accept it or say what needs "
        "work. "
        f"Due by {review.due_at:%a %d %b %H:%M} UTC; +{POINTS_PEER_REVIEW} points for your review."
    )
    footer = f"Or type: /study {FEEDBACK} {sub.id} accept|needs-work checks=1,2 <comment>"
    card = Card(f"📝 Review requested: {title}", body, tuple(fields), footer=footer, style=Style.PRIMARY)
    return Reply(cards=(card,), buttons=(review_button(sub.id),))


def decision_notice(catalog: Catalog, cohort: Cohort, sub: Submission, reviews: list[PeerReview]) -> Reply:
    """An author's private notice of a decision, with the comments of the round's reviews."""
    title = verbatim(task_title(catalog, sub.challenge_id))
    given = [r for r in reviews if r.round == sub.round and r.comment]
    fields = tuple(
        Field(f"Reviewer {i} ({r.verdict.value if r.verdict else 'no verdict'})", verbatim(r.comment))
        for i, r in enumerate(given, 1)
    )
    if sub.state is SubmissionState.ACCEPTED:
        body = (
            f"Your work for `{sub.challenge_id}` in cohort {verbatim(cohort.name)} was accepted: "
            f"+{POINTS_ACCEPTED} points. It is in your portfolio (/study portfolio)."
        )
        return Reply(cards=(Card(f"🎉 Accepted: {title}", body, fields, style=Style.SUCCESS),))
    body = (
        f"Your reviewers asked for more work on `{sub.challenge_id}` in cohort {verbatim(cohort.name)}. "
        f"Improve it and send it again with /study submit <link> task={sub.challenge_id}."
    )
    return Reply(cards=(Card(f"🛠 Needs work: {title}", body, fields, style=Style.DANGER),))
