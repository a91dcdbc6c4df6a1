"""Spaced review: questions a member met come back on a Leitner schedule, as a personal quiz.

Every daily quiz a member answers enters their review: a wrong answer in box 1 (due the next day), a right
one in box 2. A right review answer moves the question up a box, a wrong one back to box 1; box k is due
again INTERVALS[k - 1] days later. A review answer counts as activity for the streak and earns review
points, once a day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.catalog.content import LETTERS, Challenge
from bot.dispatch.context import Context
from bot.kernel.ports import Conflict
from bot.kernel.registry import REGISTRY, UserError
from bot.kernel.replies import plural
from bot.kernel.types import (
    Activity,
    ActivityKind,
    Button,
    Card,
    CardChange,
    Cohort,
    Reply,
    ReviewCard,
    Style,
)
from bot.kernel.untrusted import verbatim

# Leitner boxes 1-5 come back after 1, 3, 7, 14 and 30 days.
INTERVALS = (1, 3, 7, 14, 30)
POINTS_REVIEW = 3
# A button's reference to a review question, as opposed to a daily post id.
REF_PREFIX = "review:"
NOT_IN_REVIEW = "That question is not in your review. Start one with `/study review`."


def reschedule(box: int, correct: bool, today: dt.date) -> tuple[int, dt.date]:
    """The box and due date after an answer given in `box` on `today`."""
    new_box = min(box + 1, len(INTERVALS)) if correct else 1
    return new_box, today + dt.timedelta(days=INTERVALS[new_box - 1])


def file_daily_answer(member_id: int, quiz: Challenge, correct: bool, today: dt.date) -> CardChange:
    """How a daily quiz the member just answered goes into their review (stored with the answer)."""

    def filed(card: ReviewCard | None) -> ReviewCard:
        return ReviewCard(member_id, quiz.id, *reschedule(card.box if card else 1, correct, today))

    return CardChange(quiz.id, filed)


def _due(ctx: Context, cards: list[ReviewCard], today: dt.date) -> list[ReviewCard]:
    catalog = ctx.core.catalog
    due = [c for c in cards if c.due <= today and (q := catalog.challenges.get(c.challenge_id)) and q.is_quiz]
    return sorted(due, key=lambda c: (c.box, c.due, c.challenge_id))


@REGISTRY.command(
    "review",
    "A personal quiz from the questions you missed or that are due again (spaced repetition).",
    example="/study review",
)
async def review(ctx: Context, _: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    today = ctx.member_today(cohort)
    cards = await ctx.core.store.review_cards(ctx.member.id)
    due = _due(ctx, cards, today)
    if not due:
        if not cards:
            return Reply(
                text="Nothing to review yet: every daily quiz you answer joins your review, and the ones you "
                "miss come back first.",
                ephemeral=True,
            )
        upcoming = min(c.due for c in cards)
        return Reply(
            text=f"🎉 Nothing due. Your next review is on {upcoming:%a %d %b} "
            f"({plural(len(cards), 'question')} in your review).",
            ephemeral=True,
        )
    card = due[0]
    quiz = ctx.core.catalog.challenges[card.challenge_id]
    buttons = tuple(
        Button(letter, "answer", (letter, REF_PREFIX + quiz.id), Style.PRIMARY) for letter in LETTERS
    )
    shown = Card(
        f"🔁 Review · box {card.box} of {len(INTERVALS)}",
        verbatim(quiz.quiz_text()),
        footer=f"{plural(len(due), 'question')} due · answer with a button or /study answer A-D",
        style=Style.PRIMARY,
    )
    return Reply(cards=(shown,), buttons=buttons, ephemeral=True)


async def answer_review(ctx: Context, cohort: Cohort, choice: str, challenge_id: str) -> Reply:
    """Grade a review answer, move the question between boxes and credit the day once."""
    today = await ctx.activity_day(cohort)
    quiz = ctx.core.catalog.challenges.get(challenge_id)
    if quiz is None or not quiz.is_quiz:
        raise UserError(NOT_IN_REVIEW)
    correct = choice == quiz.answer

    def answered(card: ReviewCard | None) -> ReviewCard:
        # Decided inside the store's transaction, so two quick answers cannot both move the card.
        if card is None:
            raise UserError(NOT_IN_REVIEW)
        if card.due > today:
            raise UserError(f"You have already reviewed that one; it comes back on {card.due:%a %d %b}.")
        return ReviewCard(ctx.member.id, quiz.id, *reschedule(card.box, correct, today))

    moved = await ctx.core.store.update_review_card(ctx.member.id, CardChange(quiz.id, answered), ctx.now)
    box, due = moved.box, moved.due
    activity = Activity(
        ctx.member.id,
        cohort.id,
        today,
        ActivityKind.REVIEW,
        POINTS_REVIEW,
        choice=choice,
        correct=correct,
        note=f"review {quiz.id}",
        at=ctx.now,
    )
    try:
        await ctx.core.store.record_activity(activity)
        points = f"+{POINTS_REVIEW} review points"
    except Conflict:
        points = "review points count once a day"
    title = "✅ Right!" if correct else f"❌ Not quite: the answer is {quiz.answer}"
    footer = f"Box {box} of {len(INTERVALS)}: back on {due:%a %d %b} · {points}"
    reply_card = Card(
        title,
        verbatim(f"{quiz.answer_text()}\n\n{quiz.explanation}"),
        footer=footer,
        style=Style.SUCCESS if correct else Style.DANGER,
    )
    more = _due(ctx, await ctx.core.store.review_cards(ctx.member.id), today)
    buttons = (Button("Next review ➡️", "review"),) if more else ()
    return Reply(cards=(reply_card,), buttons=buttons, ephemeral=True)
