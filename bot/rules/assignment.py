"""Who reviews a submission: two members who did the same task or are further along, never its author, nobody
holding more than three open reviews, not the author's previous reviewer again, the load spread evenly.

Pure and deterministic: the same cohort state gives the same reviewers, so two processes deciding the same
submission agree, and a test can replay a cohort.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.kernel.types import ReviewPool

REVIEWERS = 2  # per submission
OPEN_MAX = 3  # open reviews one member may hold


@dataclass(frozen=True)
class Candidate:
    """A cohort member as a possible reviewer of one submission."""

    member_id: int
    did_the_task: bool  # submitted the same task
    further_along: bool  # submitted a task later in the roadmap than this one
    open_reviews: int  # reviews assigned to them and not yet done
    reviews_done: int  # reviews assigned to them in all, done or not: who has given least so far


def choose_reviewers(
    submission_id: int,
    author_id: int,
    candidates: Iterable[Candidate],
    last_reviewers: frozenset[int] = frozenset(),
    count: int = REVIEWERS,
) -> list[int]:
    """Up to `count` reviewers for a submission, best first.

    Eligible: not the author, under OPEN_MAX open reviews, and either did the task or is further along.
    Among them, whoever reviewed the author's previous submission comes last (used only when nobody else
    can), then fewest open reviews, then fewest reviews in all, then members who did the same task, then
    an order that is fixed per submission, so ties do not always fall on the same member.
    """

    def rank(c: Candidate) -> tuple[bool, int, int, bool, str]:
        spread = hashlib.blake2b(f"{submission_id}:{c.member_id}".encode(), digest_size=8).hexdigest()
        return (c.member_id in last_reviewers, c.open_reviews, c.reviews_done, not c.did_the_task, spread)

    eligible = [
        c
        for c in candidates
        if c.member_id != author_id and c.open_reviews < OPEN_MAX and (c.did_the_task or c.further_along)
    ]
    return [c.member_id for c in sorted(eligible, key=rank)[:count]]


def reviewers_for(pool: ReviewPool, order: Mapping[str, int]) -> list[int]:
    """Whom to add to a submission's round: first who reviewed its round before (they know the work, for a
    resubmission), then choose_reviewers over the enrolled members. `order` ranks task ids along the roadmap:
    a member who submitted a later task is further along."""
    sub = pool.submission
    here = order.get(sub.challenge_id, -1)

    def free(member_id: int) -> bool:
        return (
            member_id in pool.enrolled
            and member_id != sub.member_id
            and member_id not in pool.taken
            and pool.open_reviews.get(member_id, 0) < OPEN_MAX
        )

    again = [m for m in dict.fromkeys(pool.earlier_round) if free(m)][: pool.needed]
    candidates = [
        Candidate(
            member_id=m,
            did_the_task=sub.challenge_id in pool.tasks.get(m, frozenset()),
            further_along=any(order.get(t, -1) > here for t in pool.tasks.get(m, frozenset())),
            open_reviews=pool.open_reviews.get(m, 0),
            reviews_done=pool.all_reviews.get(m, 0),
        )
        for m in sorted(pool.enrolled)
        if free(m) and m not in again
    ]
    more = choose_reviewers(sub.id, sub.member_id, candidates, pool.last_reviewers, pool.needed - len(again))
    return again + more
