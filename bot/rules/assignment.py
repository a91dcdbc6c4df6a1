"""Who reviews a submission: two members who did the same task or are further along, never its author, nobody
holding more than three open reviews, not the author's previous reviewer again, the load spread evenly.

Pure and deterministic: the same cohort state gives the same reviewers, so two processes deciding the same
submission agree, and a test can replay a cohort.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

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
