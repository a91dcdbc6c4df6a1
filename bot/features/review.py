"""`/study review`: the member's next due question as a personal quiz (spaced review).

Every daily quiz a member answers enters their review (rules/review.py schedules it with FSRS). A review
question's buttons answer through `/study answer`, graded in features/challenges.py.
"""

from __future__ import annotations

from typing import Any

from bot.catalog.model import LETTERS
from bot.dispatch.context import Context
from bot.kernel.registry import Registry
from bot.kernel.replies import plural
from bot.kernel.types import (
    Button,
    Card,
    Reply,
    Style,
)
from bot.kernel.untrusted import verbatim
from bot.rules.review import REF_PREFIX, due_cards

# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "review",
    "A personal quiz from the questions you missed or that are due again (spaced repetition).",
    example="/study review",
)
async def review(ctx: Context, _: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    today = ctx.member_today(cohort)
    cards = await ctx.core.learning.review_cards(ctx.member.learner)
    due = due_cards(cards, today, ctx.core.catalog.is_quiz)
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
    seen = "new to your review" if card.reviews <= 1 else f"answered {card.reviews} times"
    shown = Card(
        f"🔁 Review · {seen}",
        verbatim(quiz.quiz_text()),
        footer=f"{plural(len(due), 'question')} due · answer with a button or /study answer A-D",
        style=Style.PRIMARY,
    )
    return Reply(cards=(shown,), buttons=buttons, ephemeral=True)
