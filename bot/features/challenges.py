"""The daily challenge: `today`, `answer` (the daily quiz, and a review question's buttons) and `done`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.catalog.daily import challenge_card, checklist_text, closing_card
from bot.catalog.model import LETTERS, Challenge
from bot.dispatch.context import Context
from bot.dispatch.milestones import after_activity
from bot.kernel.clock import local_date
from bot.kernel.ports import Conflict
from bot.kernel.registry import Arg, ArgKind, Registry, UserError
from bot.kernel.replies import plural
from bot.kernel.types import (
    Activity,
    ActivityKind,
    Button,
    Card,
    CardChange,
    Cohort,
    Field,
    Post,
    Recorded,
    Reply,
    ReviewCard,
    Style,
)
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.pending import no_post_message
from bot.rules.points import POINTS_CHECKIN, POINTS_CORRECT, POINTS_REVIEW, POINTS_WRONG
from bot.rules.review import (
    NOT_IN_REVIEW,
    REF_PREFIX,
    due_cards,
    file_daily_answer,
    reschedule,
)
from bot.rules.streaks import DayStatus, summarize

# A check-in note is a sentence or a link, not an essay.
MAX_NOTE_CHARS = 500


# A post id is a database integer; a longer string of digits is no post (and would overflow the column).
MAX_REF_DIGITS = 18


def _is_ref(ref: str) -> bool:
    return ref.isascii() and ref.isdigit() and len(ref) <= MAX_REF_DIGITS


async def _open_post(ctx: Context, cohort: Cohort) -> Post | None:
    return await ctx.core.posts.post_for_day(cohort.id, local_date(ctx.now, cohort.timezone))


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "today", "Show today's challenge of your cohort, with its answer buttons.", example="/study today"
)
async def today(ctx: Context, _: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    post = await _open_post(ctx, cohort)
    if post is None:
        return Reply(text=no_post_message(cohort, ctx.now), ephemeral=True)
    card, buttons = challenge_card(ctx.core.catalog, cohort, post)
    mine = await ctx.core.activity.answer_for_post(post.id, ctx.member.id)
    text = ""
    if mine is not None:
        text = (
            f"You answered {mine.choice}: {'right' if mine.correct else 'not right'} ({mine.points} points)."
        )
        buttons = ()
    return Reply(text=text, cards=(card,), buttons=buttons, ephemeral=True)


@COMMANDS.command(
    "answer",
    "Answer today's quiz (your first answer counts) or the question of your review.",
    Arg("choice", ArgKind.CHOICE, choices=LETTERS, help="your answer, A to D"),
    Arg("ref", required=False, hidden=True, help="the daily post or review question a button belongs to"),
    example="/study answer B",
)
async def answer(ctx: Context, args: dict[str, Any]) -> Reply:
    catalog = ctx.core.catalog
    choice: str = args["choice"]
    ref = str(args.get("ref", ""))
    if ref.startswith(REF_PREFIX):
        return await answer_review(ctx, await ctx.my_cohort(), choice, ref.removeprefix(REF_PREFIX))
    if ref:
        found_post = await ctx.core.posts.post_for_answer(int(ref), ctx.member.id) if _is_ref(ref) else None
        # A post of another workspace is answered exactly as one that does not exist: ids are sequential,
        # and a typed ref must not reveal a foreign cohort's name, question or tally.
        if found_post is None or not ctx.in_this_workspace(found_post[1]):
            raise UserError("That challenge no longer exists.")
        post, cohort, enrolled = found_post
        quiz = catalog.challenges.get(post.challenge_id)
        if post.local_date != local_date(ctx.now, cohort.timezone):
            closed = (
                f"That challenge ({post.local_date:%a %d %b}) is closed. See today's with `/study today`."
            )
            if quiz is None or not quiz.is_quiz:
                raise UserError(closed)
            answered, right, _ = await ctx.core.activity.post_tally(post.id)
            return Reply(text=closed, cards=(closing_card(quiz, post, answered, right),), ephemeral=True)
        if not enrolled:
            raise UserError(f"Join `{cohort.name}` first: `/study join {cohort.name}`.")
    else:
        cohort = await ctx.my_cohort()
        found = await _open_post(ctx, cohort)
        if found is None:
            raise UserError(no_post_message(cohort, ctx.now))
        post = found
    ch = catalog.challenges.get(post.challenge_id)
    if ch is None or not ch.is_quiz:
        raise UserError(
            "Today's challenge is a task, not a quiz: check in with `/study done [note or link]`."
        )
    correct = choice == ch.answer
    points = POINTS_CORRECT if correct else POINTS_WRONG
    day = await ctx.activity_day(cohort)
    activity = Activity(
        member_id=ctx.member.id,
        cohort_id=cohort.id,
        local_date=day,
        kind=ActivityKind.ANSWER,
        points=points,
        post_id=post.id,
        choice=choice,
        correct=correct,
        at=ctx.now,
        learner_id=ctx.member.learner_id,
    )
    try:
        recorded = await ctx.core.activity.record_activity(
            activity, file_daily_answer(ctx.member.learner, ch.id, correct, day)
        )
    except Conflict:
        earlier = await ctx.core.activity.answer_for_post(post.id, ctx.member.id)
        if earlier is not None:
            verdict = "right" if earlier.correct else "not right"
            raise UserError(
                f"You already answered {earlier.choice} ({verdict}); the first answer counts."
            ) from None
        raise UserError(
            f"You already answered a quiz on {day:%a %d %b}; one answer counts per day."
        ) from None
    if recorded.card is None:
        raise RuntimeError("the store recorded the answer without filing its review card")
    back = recorded.card.due
    title = "✅ Correct!" if correct else f"❌ Not quite: the answer is {ch.answer}"
    body = verbatim(f"{ch.answer_text()}\n\n{ch.explanation}")
    summary = streak_line(recorded, day, ctx.calendar(cohort))
    await after_activity(ctx.core, cohort, ctx.member.id, recorded, day, ctx.calendar(cohort))
    footer = f"+{points} points · {summary} · back in your /study review on {back:%a %d %b}"
    card = Card(title, body, footer=footer, style=Style.SUCCESS if correct else Style.DANGER)
    return Reply(cards=(card,), ephemeral=True)


@COMMANDS.command(
    "done",
    "Check in for today: a practical task or your own study; add a note or a link if you like.",
    Arg("note", ArgKind.REST, required=False, help="what you did, or a link to it"),
    example="/study done finished the pandas groupby exercise",
)
async def done(ctx: Context, args: dict[str, Any]) -> Reply:
    note: str = args.get("note", "")
    if len(note) > MAX_NOTE_CHARS:
        raise UserError(f"Keep the note under {MAX_NOTE_CHARS} characters (yours has {len(note)}).")
    cohort = await ctx.my_cohort()
    day = await ctx.activity_day(cohort)
    post = await _open_post(ctx, cohort)
    activity = ctx.check_in(cohort, day, post, note)
    try:
        recorded = await ctx.core.activity.record_activity(activity)
    except Conflict:
        raise UserError(f"You already checked in on {day:%a %d %b}. See you tomorrow!") from None
    summary = streak_line(recorded, day, ctx.calendar(cohort))
    await after_activity(ctx.core, cohort, ctx.member.id, recorded, day, ctx.calendar(cohort))
    noted = f"\nNoted: {verbatim(note)}" if note else ""
    task = ctx.core.catalog.challenges.get(post.challenge_id) if post else None
    fields = task_fields(task) if task and not task.is_quiz else ()
    return Reply(
        cards=(
            Card(
                "✅ Checked in",
                f"+{POINTS_CHECKIN} points for {day:%a %d %b}.{noted}",
                fields,
                footer=summary,
                style=Style.SUCCESS,
            ),
        ),
        ephemeral=True,
    )


def task_fields(task: Challenge) -> tuple[Field, ...]:
    """What a member compares their work with after checking in on a task: its result and checklist."""
    fields = [Field("Expected result", verbatim(task.expected))] if task.expected else []
    if task.checklist:
        fields.append(Field("Check your work", checklist_text(task)))
    return tuple(fields)


def streak_line(recorded: Recorded, today: dt.date, calendar: Calendar) -> str:
    """One line on the member's streak after recording an activity, `today` in their local time."""
    s = summarize(recorded.active, recorded.excused, today, calendar)
    flame = "🔥 " if s.current else ""
    extra = " · today done" if s.today is DayStatus.DONE else ""
    return f"{flame}streak {plural(s.current, 'day')}{extra}"


async def answer_review(ctx: Context, cohort: Cohort, choice: str, challenge_id: str) -> Reply:
    """Grade a review answer, schedule the question's next day (FSRS) and credit the day once."""
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
        return reschedule(card, ctx.member.learner, quiz.id, correct, today)

    learner = ctx.member.learner
    moved = await ctx.core.learning.update_review_card(learner, CardChange(quiz.id, answered), ctx.now)
    due = moved.due
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
        learner_id=ctx.member.learner_id,
    )
    try:
        recorded = await ctx.core.activity.record_activity(activity)
        points = f"+{POINTS_REVIEW} review points"
        await after_activity(ctx.core, cohort, ctx.member.id, recorded, today, ctx.calendar(cohort))
    except Conflict:
        points = "review points count once a day"
    title = "✅ Right!" if correct else f"❌ Not quite: the answer is {quiz.answer}"
    more = due_cards(await ctx.core.learning.review_cards(learner), today, ctx.core.catalog.is_quiz)
    left = f"{plural(len(more), 'question')} still due today" if more else "nothing else due today"
    footer = f"Back on {due:%a %d %b} (in {plural((due - today).days, 'day')}) · {points} · {left}"
    reply_card = Card(
        title,
        verbatim(f"{quiz.answer_text()}\n\n{quiz.explanation}"),
        footer=footer,
        style=Style.SUCCESS if correct else Style.DANGER,
    )
    buttons = (Button("Next review ➡️", "review"),) if more else ()
    return Reply(cards=(reply_card,), buttons=buttons, ephemeral=True)
