"""Spaced review on a Leitner schedule: box k comes back INTERVALS[k - 1] days after an answer in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from bot.kernel.types import CardChange, ReviewCard

# Leitner boxes 1-5 come back after 1, 3, 7, 14 and 30 days.
INTERVALS = (1, 3, 7, 14, 30)
# A button's reference to a review question, as opposed to a daily post id.
REF_PREFIX = "review:"
NOT_IN_REVIEW = "That question is not in your review. Start one with `/study review`."


def reschedule(box: int, correct: bool, today: dt.date) -> tuple[int, dt.date]:
    """The box and due date after an answer given in `box` on `today`."""
    new_box = min(box + 1, len(INTERVALS)) if correct else 1
    return new_box, today + dt.timedelta(days=INTERVALS[new_box - 1])


def file_daily_answer(member_id: int, quiz_id: str, correct: bool, today: dt.date) -> CardChange:
    """How a daily quiz the member just answered goes into their review (stored with the answer)."""

    def filed(card: ReviewCard | None) -> ReviewCard:
        return ReviewCard(member_id, quiz_id, *reschedule(card.box if card else 1, correct, today))

    return CardChange(quiz_id, filed)


def due_cards(
    cards: Iterable[ReviewCard], today: dt.date, is_quiz: Callable[[str], bool]
) -> list[ReviewCard]:
    """The member's cards due on `today` whose question is still a quiz (a pack may drop one), lowest box
    first."""
    due = [c for c in cards if c.due <= today and is_quiz(c.challenge_id)]
    return sorted(due, key=lambda c: (c.box, c.due, c.challenge_id))
