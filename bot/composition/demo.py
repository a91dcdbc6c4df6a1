"""Demo data for a new database: a cohort `demo` with a few weeks of history from three members."""

from __future__ import annotations

import datetime as dt
import random

from bot.catalog.daily import pick_challenge
from bot.dispatch.core import Core
from bot.dispatch.reviewing import REVIEW_WINDOW
from bot.kernel.clock import local_date
from bot.kernel.registry import parse_days
from bot.kernel.types import (
    Activity,
    ActivityKind,
    Cohort,
    ConversationRef,
    Evidence,
    EvidenceKind,
    Member,
    ReviewVerdict,
    UserRef,
    Verification,
    Verified,
)
from bot.rules.points import POINTS_CHECKIN, POINTS_CORRECT, POINTS_WRONG

DEMO_COHORT = "demo"
# Three weeks of history: enough for streaks, a freeze and a lively leaderboard.
HISTORY_DAYS = 21
DEMO_CATCHUP_MINUTES = 24 * 60
DEMO_PEOPLE = (("ada", "Ada", 0.95), ("grace", "Grace", 0.8), ("alan", "Alan", 0.55))


async def seed_demo(core: Core, conversation: ConversationRef, user: UserRef) -> Cohort | None:
    """Create the demo cohort with history and enrol `user`; None when the workspace already has cohorts."""
    store = core.store
    if await store.list_cohorts(conversation.platform, conversation.workspace_id):
        return None
    now = core.clock.now()
    today = local_date(now, "UTC")
    start = today - dt.timedelta(days=HISTORY_DAYS)
    cohort = await store.create_cohort(
        conversation=conversation,
        name=DEMO_COHORT,
        post_time=dt.time(0, 0),
        timezone="UTC",
        weekdays=parse_days("daily"),
        start_date=start,
        created_by="studybot-demo",
        now=now,
    )
    # The demo posts at midnight; a whole day's catch-up window lets a console started any time show it.
    cohort = await store.update_cohort(cohort.id, catchup_minutes=DEMO_CATCHUP_MINUTES)
    rng = random.Random(42)  # noqa: S311 - demo data, not security
    people = []
    for user_id, name, diligence in DEMO_PEOPLE:
        member = await store.upsert_member(conversation.platform, user_id, name)
        await store.enrol(cohort.id, member.id, now)
        people.append((member, diligence))
    for offset in range(HISTORY_DAYS):
        day = start + dt.timedelta(days=offset)
        challenge = pick_challenge(core.catalog, cohort, day, await store.used_challenges(cohort.id))
        at = dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)
        post = await store.claim_post(cohort.id, day, challenge.id, at)
        if post is None:  # a second console raced us to the same new database: its demo stands
            return None
        await store.set_post_message(post.id, f"demo-{day:%Y%m%d}")
        for member, diligence in people:
            # Two draws a member a day, whatever the day's challenge: who was active does not depend on
            # the content pack's order of quizzes and tasks.
            present, luck = rng.random(), rng.random()
            if present > diligence:
                continue
            if challenge.is_quiz:
                right = luck < 0.7
                choice = challenge.answer if right else next(c for c in "ABCD" if c != challenge.answer)
                kind, points = ActivityKind.ANSWER, POINTS_CORRECT if right else POINTS_WRONG
                activity = Activity(member.id, cohort.id, day, kind, points, post.id, choice, right, at=at)
            else:
                activity = Activity(
                    member.id,
                    cohort.id,
                    day,
                    ActivityKind.CHECKIN,
                    POINTS_CHECKIN,
                    post.id,
                    note="did the task",
                    at=at,
                )
            await store.record_activity(activity)
    demo = {m.user_id: m for m, _ in people}
    me = demo.get(user.id)  # `--user ada` is the demo's Ada, unrenamed
    if me is None:
        me = await store.upsert_member(user.platform, user.id, user.name)
        await store.enrol(cohort.id, me.id, now)
    await _seed_peer_review(core, cohort, [m for m, _ in people], me, start, now)
    return cohort


async def _seed_peer_review(
    core: Core, cohort: Cohort, people: list[Member], me: Member, start: dt.date, now: dt.datetime
) -> None:
    """Work submitted for the demo's latest task: Ada's (#1), which Grace accepted and you are asked to
    review, and Grace's (#2), with Ada and Alan reviewing. `/study reviews` has something to show at once."""
    store = core.store
    used = await store.used_challenges(cohort.id)
    task = next((c for c in reversed(used) if not core.catalog.challenges[c].is_quiz), None)
    if task is None:
        return
    ada, grace, alan = people
    unchecked = Verification(Verified.UNCHECKED, "demo data, not checked")
    subs = {}
    for member, repo, note in (
        (ada, "ml-job-notes", "My notes and a summary table"),
        (grace, "first-steps", ""),
    ):
        evidence = Evidence(f"https://github.com/{member.user_id}-demo/{repo}", EvidenceKind.GITHUB_REPO)
        subs[member.id], _ = await store.save_submission(
            cohort.id, member.id, task, evidence, note, unchecked, now
        )
    due = now + REVIEW_WINDOW
    # You review Ada's work beside Grace (Alan does, when you are one of them).
    yours = [grace.id, me.id if me.id not in (ada.id, grace.id) else alan.id]
    await store.assign_reviewers(subs[ada.id].id, now, due, lambda _: yours)
    await store.assign_reviewers(subs[grace.id].id, now, due, lambda _: [ada.id, alan.id])
    day = local_date(now, cohort.timezone)
    comment = "Clear notes; the table makes the comparison easy to follow."
    await store.give_review(subs[ada.id].id, grace.id, ReviewVerdict.ACCEPT, (1, 2), comment, now, day, day)
