"""Peer review's sweep (each minute, with the daily posts'): silent reviews timed out and replaced once,
rounds short of reviewers topped up, and reviewers and authors told privately, each notice claimed once."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.dispatch.context import Services
from bot.dispatch.milestones import reached
from bot.dispatch.reviewing import (
    REVIEW_WINDOW,
    chooser,
    decision_notice,
    member_day,
    review_notice,
    top_up,
)
from bot.kernel.ports import ChatPlatform
from bot.kernel.types import PeerReview, PeerReviewState, Reply, SubmissionState
from bot.rules.milestones import FIRST_ACCEPTED

log = logging.getLogger(__name__)

# Of each kind of work, this much per sweep: a backlog drains over a few minutes instead of one long sweep.
PER_SWEEP = 200


async def review_sweep(core: Services, platforms: Mapping[str, ChatPlatform]) -> int:
    """Do what peer review has due; how many things it did (timeouts, reviewers assigned, notices sent)."""
    done = 0
    now = core.clock.now()
    for review in await core.peer_reviews.overdue_reviews(now, PER_SWEEP):
        # A silent reviewer is replaced once: a replacement who is silent too is not replaced again.
        done += await _hand_on(core, review, PeerReviewState.TIMED_OUT, replace=review.replaces is None)
    for review in await core.peer_reviews.orphaned_reviews(PER_SWEEP):
        # The reviewer left the cohort: their review goes to someone else now rather than in 72 hours.
        done += await _hand_on(core, review, PeerReviewState.REASSIGNED, replace=True)
    done += await top_up(core, PER_SWEEP)
    for review in await core.peer_reviews.claim_review_notices(now, PER_SWEEP):
        sub = await core.peer_reviews.get_submission(review.submission_id)
        cohort = await core.cohorts.get_cohort(sub.cohort_id) if sub else None
        reviewer = await core.members.get_member(review.reviewer_id)
        if sub is None or cohort is None or reviewer is None:
            continue
        done += await _tell(
            platforms, cohort.platform, reviewer.user_id, review_notice(core.catalog, cohort, sub, review)
        )
    for sub in await core.peer_reviews.claim_decision_notices(now, PER_SWEEP):
        cohort = await core.cohorts.get_cohort(sub.cohort_id)
        author = await core.members.get_member(sub.member_id)
        if cohort is None or author is None:
            continue
        if sub.state is SubmissionState.ACCEPTED:
            await reached(
                core, cohort, sub.member_id, FIRST_ACCEPTED, await member_day(core, sub.member_id, cohort)
            )
        reviews = await core.peer_reviews.peer_reviews(sub.id)
        done += await _tell(
            platforms, cohort.platform, author.user_id, decision_notice(core.catalog, cohort, sub, reviews)
        )
    return done


async def _hand_on(core: Services, review: PeerReview, state: PeerReviewState, *, replace: bool) -> int:
    """End an open review (silent, or its reviewer left), with a replacement when `replace`; how many
    changes that made."""
    sub = await core.peer_reviews.get_submission(review.submission_id)
    cohort = await core.cohorts.get_cohort(sub.cohort_id) if sub else None
    if sub is None or cohort is None:
        return 0
    now = core.clock.now()
    settled = await core.peer_reviews.end_review(
        review.id,
        state,
        now,
        await member_day(core, sub.member_id, cohort),
        due=now + REVIEW_WINDOW if replace else None,
        choose=chooser(core.catalog) if replace else None,
    )
    if settled is None:
        return 0
    log.info("review %s of submission %s %s; %d replacement(s)", review.id, sub.id, state, len(settled.added))
    return 1 + len(settled.added)


async def _tell(platforms: Mapping[str, ChatPlatform], name: str, user_id: str, reply: Reply) -> int:
    """Send one private notice; a failure is logged (the member still sees it all in /study reviews)."""
    platform = platforms.get(name)
    if platform is None:
        return 0
    try:
        await platform.send_direct(user_id, reply)
    except Exception:
        log.warning("could not send a peer review notice to %s on %s", user_id, name, exc_info=True)
        return 0
    return 1
