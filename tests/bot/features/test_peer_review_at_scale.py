"""Peer review over a simulated cohort through the real store and the real assignment: 200 members, 8 weeks,
a task a week, members who submit or not, reviewers who review within 6 to 60 hours or (one in ten) stay
silent, the minute sweep run daily. What must hold for everyone: never one's own work, at most 3 open reviews,
two places a round each replaced at most once, nobody asked twice in a round, points once, and (nearly)
every submission reviewed and decided."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sqlalchemy import func, select

from bot.composition.app import make_core
from bot.dispatch.reviewing import after_submit, member_day
from bot.jobs.peer_review import review_sweep
from bot.kernel.clock import FakeClock
from bot.kernel.types import (
    Evidence,
    EvidenceKind,
    PeerReviewState,
    ReviewVerdict,
    SubmissionState,
    Verification,
    Verified,
)
from bot.rules.assignment import OPEN_MAX
from storage.base import award_t, peer_review_t
from storage.sql_store import SqlStore
from tests.conftest import CHANNEL, START
from tests.fakes.platform import RecordingPlatform

MEMBERS = 200
WEEKS = 8


async def test_a_cohort_of_200_over_8_weeks_is_reviewed_fairly(sqlite_store: SqlStore, catalog) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(START)
    core = make_core(sqlite_store, catalog, clock)
    store = core.store
    cohort = await store.create_cohort(
        conversation=CHANNEL,
        name="sim",
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=START.date(),
        created_by="mia",
        now=START,
    )
    rng = random.Random(2026)
    members = []
    for i in range(MEMBERS):
        member = await store.upsert_member("console", f"m{i}", f"Member {i}")
        await store.enrol(cohort.id, member.id, START)
        members.append((member, rng.uniform(0.3, 0.95)))
    tasks = [c.id for c in catalog.challenges.values() if not c.is_quiz][:WEEKS]
    unchecked = Verification(Verified.UNCHECKED, "simulated")
    platform = RecordingPlatform()
    due: list[tuple[dt.datetime, int, int]] = []  # (when, reviewer, submission)
    scheduled: set[int] = set()  # review ids already given a fate
    open_peak = 0

    async def schedule() -> None:
        """Each new review's fate: given within the 72 hours, or (one in ten) never."""
        for review in await _open_reviews(store):
            if review.id in scheduled:
                continue
            scheduled.add(review.id)
            if rng.random() < 0.1:
                continue  # silent: the sweep times it out after 72 hours
            when = clock.now() + dt.timedelta(hours=rng.randint(6, 60))
            due.append((when, review.reviewer_id, review.submission_id))

    for day in range(WEEKS * 7):
        clock.set(START + dt.timedelta(days=day, hours=10))
        if day % 7 == 1:
            task = tasks[day // 7]
            for member, diligence in members:
                if rng.random() < diligence:
                    evidence = Evidence(f"https://github.com/m{member.id}/t{day}", EvidenceKind.GITHUB_REPO)
                    saved, _ = await store.save_submission(
                        cohort.id, member.id, task, evidence, "", unchecked, clock.now()
                    )
                    await after_submit(core, saved, None)
        await review_sweep(core, {"console": platform})
        await schedule()
        for when, reviewer, submission in [d for d in due if d[0] <= clock.now()]:
            due.remove((when, reviewer, submission))
            sub = await store.get_submission(submission)
            assert sub is not None
            verdict = ReviewVerdict.ACCEPT if rng.random() < 0.9 else ReviewVerdict.NEEDS_WORK
            day_of = await member_day(core, reviewer, cohort)
            try:
                await store.give_review(
                    submission, reviewer, verdict, (1,), "Simulated comment.", clock.now(), day_of, day_of
                )
            except Exception as exc:  # closed meanwhile (the other reviewer's needs-work, a timeout)
                assert type(exc).__name__ == "Conflict"
        counts = Counter(r.reviewer_id for r in await _open_reviews(store))
        open_peak = max(open_peak, max(counts.values(), default=0))
    # Let the last week's reviews finish and time out.
    for extra in range(10):
        clock.set(START + dt.timedelta(days=WEEKS * 7 + extra, hours=10))
        await review_sweep(core, {"console": platform})
        await schedule()
        for when, reviewer, submission in [d for d in due if d[0] <= clock.now()]:
            due.remove((when, reviewer, submission))
            day_of = await member_day(core, reviewer, cohort)
            try:
                await store.give_review(
                    submission,
                    reviewer,
                    ReviewVerdict.ACCEPT,
                    (1,),
                    "Simulated.",
                    clock.now(),
                    day_of,
                    day_of,
                )
            except Exception as exc:
                assert type(exc).__name__ == "Conflict"

    subs = await store.cohort_submissions(cohort.id)
    assert len(subs) > 700  # a busy cohort: some 8 x 200 x 0.6
    assert open_peak <= OPEN_MAX
    reviewed = 0
    for sub in subs:
        reviews = await store.peer_reviews(sub.id)
        assert all(r.reviewer_id != sub.member_id for r in reviews)
        for round_ in {r.round for r in reviews}:
            in_round = [r for r in reviews if r.round == round_]
            reviewers = [r.reviewer_id for r in in_round]
            assert len(reviewers) == len(set(reviewers))  # nobody twice in a round
            assert len([r for r in in_round if r.replaces is None]) <= 2  # two places a round
            by_id = {r.id: r for r in in_round}
            for r in in_round:  # a silent reviewer is replaced once: never a replacement's replacement
                assert r.replaces is None or by_id[r.replaces].replaces is None
            live = [r for r in in_round if r.state in (PeerReviewState.OPEN, PeerReviewState.DONE)]
            assert len(live) <= 2
        if any(r.state is PeerReviewState.DONE for r in reviews):
            reviewed += 1
    decided = [s for s in subs if s.state in (SubmissionState.ACCEPTED, SubmissionState.NEEDS_WORK)]
    assert reviewed / len(subs) > 0.99, (reviewed, len(subs))
    assert len(decided) / len(subs) > 0.99, (len(decided), len(subs))
    async with store.engine.connect() as conn:
        done = (
            await conn.execute(
                select(
                    func.count(
                        func.distinct(peer_review_t.c.reviewer_id * 1_000_000 + peer_review_t.c.submission_id)
                    )
                ).where(peer_review_t.c.state == PeerReviewState.DONE.value)
            )
        ).scalar()
        awards = (await conn.execute(select(func.count()).where(award_t.c.kind == "reviewed"))).scalar()
        accepted = (await conn.execute(select(func.count()).where(award_t.c.kind == "accepted"))).scalar()
    assert awards == done  # 3 points per reviewer and submission, once
    assert accepted == sum(1 for s in subs if s.state is SubmissionState.ACCEPTED)
    print(f"{len(subs)} submissions, {reviewed} reviewed, {len(decided)} decided, open peak {open_peak}")


async def _open_reviews(store: SqlStore) -> list:  # type: ignore[type-arg]
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(peer_review_t).where(peer_review_t.c.state == "open"))).all()
    from storage.peer_reviews import _review

    return [_review(r) for r in rows]
