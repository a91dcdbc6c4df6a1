"""The day's challenge: which one a cohort gets on a date, and the cards of its post, open and closed."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from bot.catalog.model import LETTERS, Catalog, Challenge
from bot.catalog.names import topic_title
from bot.catalog.pace import current_stage
from bot.kernel.registry import UserError
from bot.kernel.replies import plural
from bot.kernel.types import Button, Card, Cohort, Field, Post, Style
from bot.kernel.untrusted import verbatim


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
    topic = verbatim(topic_title(catalog, ch.stage, ch.topic))
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
        if ch.checklist:
            fields.append(Field("A reviewer looks for", checklist_text(ch)))
        footer = f"Cohort {cohort.name} · {when} · check in with /study done [note or link]"
        buttons = (Button("Done ✅", "done", (), Style.SUCCESS),)
    kind = "quiz" if ch.is_quiz else "task"
    return Card(f"📚 Daily {kind}: {topic}", body, tuple(fields), footer, style=Style.PRIMARY), buttons


def checklist_text(task: Challenge) -> str:
    """A task's reviewer checklist, one bullet a line."""
    return "\n".join(f"• {verbatim(point)}" for point in task.checklist)


def closing_card(challenge: Challenge, post: Post, answered: int, correct: int, checked_in: int = 0) -> Card:
    """What a closed challenge shows: a quiz its answer, why, and how many answered; a task who did it."""
    if challenge.is_quiz:
        body = verbatim(f"{challenge.question}\n\nAnswer: {challenge.answer_text()}\n{challenge.explanation}")
        tally = Field("Answers", f"{plural(answered, 'member')} answered, {correct} correctly")
    else:
        body = f"{verbatim(challenge.instructions)}\n\nDone when: {verbatim(challenge.done_when)}"
        if challenge.expected:
            body += f"\nExpected result: {verbatim(challenge.expected)}"
        tally = Field("Check-ins", f"{plural(checked_in, 'member')} checked in")
    return Card(f"Closed: {post.local_date:%a %d %b}", body, (tally,), style=Style.NEUTRAL)
