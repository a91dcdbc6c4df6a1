"""The daily challenge: picking it for a cohort and date, showing it, answering it and checking in."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from enum import Enum
from typing import Any

from bot.catalog.content import LETTERS, Catalog, Challenge
from bot.catalog.pace import current_stage
from bot.dispatch.context import Context
from bot.features.review import REF_PREFIX, answer_review, file_daily_answer
from bot.kernel.clock import format_duration, local_date, local_now
from bot.kernel.ports import Conflict
from bot.kernel.registry import REGISTRY, Arg, ArgKind, UserError
from bot.kernel.replies import plural
from bot.kernel.types import (
    Activity,
    ActivityKind,
    Button,
    Card,
    Cohort,
    Field,
    Post,
    Recorded,
    Reply,
    Style,
)
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.schedule import describe_schedule, due_instant, is_scheduled, next_post
from bot.rules.streaks import DayStatus, summarize

# Points per activity; at most one answer and one check-in count per member per day.
POINTS_CORRECT = 10
POINTS_WRONG = 2
POINTS_CHECKIN = 5
# A check-in note is a sentence or a link, not an essay.
MAX_NOTE_CHARS = 500


def pick_challenge(catalog: Catalog, cohort: Cohort, day: dt.date, used_before: list[str]) -> Challenge:
    """The challenge a cohort gets on `day`, given the ids it was posted before.

    It comes from the cohort's current stage, easier ones first (in an order shuffled per cohort within
    each difficulty), and none repeats until every challenge of that stage has been posted as often.
    Deterministic for a cohort and its history, so for a cohort and date.
    """
    stage = current_stage(catalog, cohort, day)
    pool = [c for c in catalog.challenges.values() if c.stage == stage.id] or list(
        catalog.challenges.values()
    )
    times = Counter(used_before)
    rounds = min(times[c.id] for c in pool)
    fresh = sorted((c for c in pool if times[c.id] == rounds), key=lambda c: c.id)
    random.Random(f"{cohort.id}:{stage.id}:{rounds}").shuffle(fresh)  # noqa: S311 - variety, not security
    return min(fresh, key=lambda c: c.difficulty)  # min keeps the shuffled order among equals


def challenge_card(catalog: Catalog, cohort: Cohort, post: Post) -> tuple[Card, tuple[Button, ...]]:
    """The card and buttons of a daily post."""
    ch = catalog.challenges.get(post.challenge_id)
    if ch is None:
        raise UserError("That challenge is no longer in the content pack.")
    stage = catalog.stage(ch.stage)
    title = next((t.title for t in stage.topics if t.id == ch.topic), ch.topic) if stage else ch.topic
    topic = verbatim(title)
    fields = [
        Field("Stage", verbatim(stage.title if stage else ch.stage), inline=True),
        Field("Topic", topic, inline=True),
    ]
    fields.append(Field("Difficulty", "★" * ch.difficulty + "☆" * (3 - ch.difficulty), inline=True))
    links = [f"{verbatim(r.title)}: {r.url}" for rid in ch.resources if (r := catalog.resources.get(rid))]
    if links:
        fields.append(Field("Read up", "\n".join(links)))
    when = f"{post.local_date:%a %d %b %Y}"
    if ch.is_quiz:
        body = verbatim(ch.quiz_text())
        footer = f"Cohort {cohort.name} · {when} · answer with a button or /study answer A-D"
        buttons = tuple(Button(L, "answer", (L, str(post.id)), Style.PRIMARY) for L in LETTERS)
    else:
        body = f"{verbatim(ch.instructions)}\n\nDone when: {verbatim(ch.done_when)}"
        footer = f"Cohort {cohort.name} · {when} · check in with /study done [note or link]"
        buttons = (Button("Done ✅", "done", (), Style.SUCCESS),)
    kind = "quiz" if ch.is_quiz else "task"
    return Card(f"📚 Daily {kind}: {topic}", body, tuple(fields), footer, style=Style.PRIMARY), buttons


def closing_card(challenge: Challenge, post: Post, answered: int, correct: int, checked_in: int = 0) -> Card:
    """What a closed challenge shows: a quiz its answer, why, and how many answered; a task who did it."""
    if challenge.is_quiz:
        body = verbatim(f"{challenge.question}\n\nAnswer: {challenge.answer_text()}\n{challenge.explanation}")
        tally = Field("Answers", f"{plural(answered, 'member')} answered, {correct} correctly")
    else:
        body = f"{verbatim(challenge.instructions)}\n\nDone when: {verbatim(challenge.done_when)}"
        tally = Field("Check-ins", f"{plural(checked_in, 'member')} checked in")
    return Card(f"Closed: {post.local_date:%a %d %b}", body, (tally,), style=Style.NEUTRAL)


# A post id is a database integer; a longer string of digits is no post (and would overflow the column).
MAX_REF_DIGITS = 18


def _is_ref(ref: str) -> bool:
    return ref.isascii() and ref.isdigit() and len(ref) <= MAX_REF_DIGITS


async def _open_post(ctx: Context, cohort: Cohort) -> Post | None:
    return await ctx.core.store.post_for_day(cohort.id, local_date(ctx.now, cohort.timezone))


class Pending(Enum):
    """Where a cohort's challenge of its local today stands while it has no post."""

    PAUSED = "paused"
    REST_DAY = "rest day"  # not a posting day (or one whose post time no clock can show)
    NOT_YET_DUE = "not yet due"
    DUE = "due"  # within the catch-up window: the scheduler's next run (within a minute) posts it
    SKIPPED = "skipped"  # past the catch-up window: only a moderator's `cohort post` sends it now


def catchup_window(cohort: Cohort) -> dt.timedelta:
    """How late a missed post may still go out on its own."""
    return dt.timedelta(minutes=cohort.catchup_minutes)


def pending(cohort: Cohort, now: dt.datetime) -> tuple[Pending, dt.datetime | None]:
    """Where the cohort's challenge of its local today stands, if it has no post, and when it falls due."""
    if cohort.paused:
        return Pending.PAUSED, None
    today = local_date(now, cohort.timezone)
    due = due_instant(cohort, today) if is_scheduled(cohort, today) else None
    if due is None:
        return Pending.REST_DAY, None
    if now < due:
        return Pending.NOT_YET_DUE, due
    if now - due > catchup_window(cohort):
        return Pending.SKIPPED, due
    return Pending.DUE, due


def post_time(cohort: Cohort, due: dt.datetime) -> str:
    """A post's due instant as the cohort's members read it: "09:00 (Europe/Berlin)"."""
    return f"{local_now(due, cohort.timezone):%H:%M} ({cohort.timezone})"


def rest_day_message(cohort: Cohort, now: dt.datetime) -> str:
    """Today is no posting day: what the cohort posts, and when next."""
    upcoming = next_post(cohort, now)
    when = f" The next one is on {upcoming:%a %d %b at %H:%M} ({cohort.timezone})." if upcoming else ""
    why = Calendar.of(cohort).rest_reason(local_date(now, cohort.timezone))
    rest = f" ({why}): a rest day, so no streak breaks today" if why else ""
    return f"No challenge today{rest}. `{cohort.name}` posts {describe_schedule(cohort)}.{when}"


def no_post_message(cohort: Cohort, now: dt.datetime) -> str:
    """Why the cohort has no challenge post today, and what a member (or a moderator) can do about it."""
    state, due = pending(cohort, now)
    name = cohort.name
    if state is Pending.PAUSED:
        return f"Cohort `{name}` is paused, so there is no challenge today."
    if state is Pending.REST_DAY or due is None:
        return rest_day_message(cohort, now)
    at = post_time(cohort, due)
    if state is Pending.NOT_YET_DUE:
        return f"Today's challenge for `{name}` goes out at {at}, in {format_duration(due - now)}."
    if state is Pending.DUE:
        return f"Today's challenge for `{name}` was due at {at} and is on its way; try again in a minute."
    return (
        f"Today's challenge for `{name}` was not posted: it was due at {at} and did not go out within the "
        f"cohort's {format_duration(catchup_window(cohort))} catch-up window (studybot was not running then, "
        "or the cohort was created, resumed or rescheduled after that time). "
        f"A moderator can post it now with `/study cohort post {name}`. "
        "Meanwhile a check-in still counts for today: `/study done [note or link]`."
    )


@REGISTRY.command(
    "today", "Show today's challenge of your cohort, with its answer buttons.", example="/study today"
)
async def today(ctx: Context, _: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    post = await _open_post(ctx, cohort)
    if post is None:
        return Reply(text=no_post_message(cohort, ctx.now), ephemeral=True)
    card, buttons = challenge_card(ctx.core.catalog, cohort, post)
    mine = await ctx.core.store.answer_for_post(post.id, ctx.member.id)
    text = ""
    if mine is not None:
        text = (
            f"You answered {mine.choice}: {'right' if mine.correct else 'not right'} ({mine.points} points)."
        )
        buttons = ()
    return Reply(text=text, cards=(card,), buttons=buttons, ephemeral=True)


@REGISTRY.command(
    "answer",
    "Answer today's quiz (your first answer counts) or the question of your review.",
    Arg("choice", ArgKind.CHOICE, choices=LETTERS, help="your answer, A to D"),
    Arg("ref", required=False, hidden=True, help="the daily post or review question a button belongs to"),
    example="/study answer B",
)
async def answer(ctx: Context, args: dict[str, Any]) -> Reply:
    store, catalog = ctx.core.store, ctx.core.catalog
    choice: str = args["choice"]
    ref = str(args.get("ref", ""))
    if ref.startswith(REF_PREFIX):
        return await answer_review(ctx, await ctx.my_cohort(), choice, ref.removeprefix(REF_PREFIX))
    if ref:
        found_post = await store.post_for_answer(int(ref), ctx.member.id) if _is_ref(ref) else None
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
            answered, right, _ = await store.post_tally(post.id)
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
    )
    try:
        recorded = await store.record_activity(activity, file_daily_answer(ctx.member.id, ch, correct, day))
    except Conflict:
        earlier = await store.answer_for_post(post.id, ctx.member.id)
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
    footer = f"+{points} points · {summary} · back in your /study review on {back:%a %d %b}"
    card = Card(title, body, footer=footer, style=Style.SUCCESS if correct else Style.DANGER)
    return Reply(cards=(card,), ephemeral=True)


@REGISTRY.command(
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
    activity = Activity(
        member_id=ctx.member.id,
        cohort_id=cohort.id,
        local_date=day,
        kind=ActivityKind.CHECKIN,
        points=POINTS_CHECKIN,
        post_id=post.id if post else None,
        note=note,
        at=ctx.now,
    )
    try:
        recorded = await ctx.core.store.record_activity(activity)
    except Conflict:
        raise UserError(f"You already checked in on {day:%a %d %b}. See you tomorrow!") from None
    summary = streak_line(recorded, day, ctx.calendar(cohort))
    noted = f"\nNoted: {verbatim(note)}" if note else ""
    return Reply(
        cards=(
            Card(
                "✅ Checked in",
                f"+{POINTS_CHECKIN} points for {day:%a %d %b}.{noted}",
                footer=summary,
                style=Style.SUCCESS,
            ),
        ),
        ephemeral=True,
    )


def streak_line(recorded: Recorded, today: dt.date, calendar: Calendar) -> str:
    """One line on the member's streak after recording an activity, `today` in their local time."""
    s = summarize(recorded.active, recorded.excused, today, calendar)
    flame = "🔥 " if s.current else ""
    extra = " · today done" if s.today is DayStatus.DONE else ""
    return f"{flame}streak {plural(s.current, 'day')}{extra}"
