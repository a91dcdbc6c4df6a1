"""Spaced review with FSRS (the `fsrs` package): each answer updates a card's memory, which sets its next day.

A member's review works in whole local days. An answer on day `today` is given to FSRS at noon UTC of that
date, with no intra-day learning steps and no random fuzz, so the next due day is `today` plus FSRS's
interval in days, the same for every process and every run. A right first answer rates Good, a wrong one
Again: the only two grades a multiple-choice answer can honestly give. A miss comes back the next day.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable

from fsrs import Card, Rating, Scheduler, State

from bot.kernel.types import CardChange, ReviewCard

# A button's reference to a review question, as opposed to a daily post id.
REF_PREFIX = "review:"
NOT_IN_REVIEW = "That question is not in your review. Start one with `/study review`."
# The longest gap between two reviews: a cohort runs for months, a year is plenty.
MAX_INTERVAL_DAYS = 365
# Daily reviews: no minute-long learning steps, and no fuzz, so a card's next day is reproducible.
SCHEDULER = Scheduler(
    learning_steps=(), relearning_steps=(), maximum_interval=MAX_INTERVAL_DAYS, enable_fuzzing=False
)
# The instant an answer on a local date is given to FSRS: whole days apart, whatever the member's timezone.
REVIEW_TIME = dt.time(12, tzinfo=dt.UTC)


def _instant(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, REVIEW_TIME)


def _review(memory: Card, correct: bool, day: dt.date) -> tuple[float, float, int]:
    """FSRS's stability and difficulty after an answer on `day`, and its interval in days."""
    after, _ = SCHEDULER.review_card(memory, Rating.Good if correct else Rating.Again, _instant(day))
    # FSRS sets both on every review; the fallbacks only keep the types honest.
    return after.stability or 0.0, after.difficulty or 0.0, (after.due.date() - day).days


@functools.cache
def _first_memory(correct: bool) -> tuple[float, float, int]:
    """A new card's memory after its first answer: it depends on the answer alone."""
    day = dt.date(2026, 1, 1)
    return _review(Card(card_id=0, state=State.Learning, due=_instant(day)), correct, day)


def reschedule(
    card: ReviewCard | None, member_id: int, quiz_id: str, correct: bool, today: dt.date
) -> ReviewCard:
    """The card after an answer on `today` (None: the question enters the review with this answer)."""
    if card is None or card.last_review is None or card.stability <= 0:  # new, or no memory stored
        # Worked out once for each answer, not in every daily answer's write (FSRS takes about 20 us a call).
        stability, difficulty, days = _first_memory(correct)
    else:
        memory = Card(
            card_id=0,
            state=State.Review,
            stability=card.stability,
            difficulty=card.difficulty,
            due=_instant(card.due),
            last_review=_instant(card.last_review),
        )
        stability, difficulty, days = _review(memory, correct, today)
    # A miss comes back the next day, whatever FSRS would wait (its lowered stability spaces the later ones);
    # a right answer waits FSRS's interval, at least a day.
    due = today + dt.timedelta(days=max(days, 1) if correct else 1)
    reviews = (card.reviews if card else 0) + 1
    return ReviewCard(member_id, quiz_id, due, stability, difficulty, today, reviews)


def file_daily_answer(member_id: int, quiz_id: str, correct: bool, today: dt.date) -> CardChange:
    """How a daily quiz the member just answered goes into their review (stored with the answer)."""

    def filed(card: ReviewCard | None) -> ReviewCard:
        return reschedule(card, member_id, quiz_id, correct, today)

    return CardChange(quiz_id, filed)


def due_cards(
    cards: Iterable[ReviewCard], today: dt.date, is_quiz: Callable[[str], bool]
) -> list[ReviewCard]:
    """The member's cards due on `today` whose question is still a quiz (a pack may drop one): the longest
    overdue first, then the least stable memory."""
    due = [c for c in cards if c.due <= today and is_quiz(c.challenge_id)]
    return sorted(due, key=lambda c: (c.due, c.stability, c.challenge_id))
