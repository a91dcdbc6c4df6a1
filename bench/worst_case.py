"""Benchmark: the slowest input found for every command, and the scheduled jobs, on a real SQLite store.

Seeds one workspace the way a large, old community would leave it:

* cohort `big`: daily for two years, 1,000 members (--quick: 200) each active on ~80% of the last year, a
  post every day (today's included), points totals rebuilt; member u1 active on ~98% of the two years, with
  a review card for every quiz and every topic learned;
* cohort `legacy`: 50 members with a month of activity each and an excusal dated 0001-01-01, stored
  directly as a database from before date validation would hold them (every streak fold then starts at
  year 1 unless the fold is bounded);
* 300 more cohorts in the workspace (`cohort list`, cohort autocomplete), and scratch cohorts to change.

Then for every command in the registry it sends each input class through `core.dispatch` (the
longest arguments up to the 2,000-character input cap, many words, long single words, old and far dates,
the biggest histories) and also times autocomplete, the weekly recap, the daily post and the streak
reminders. Per class: a warm-up run, then timed runs (median and max), then one run under tracemalloc for
the peak of Python allocations (SQLite's and Pillow's own C allocations are not traced). A class over
50 ms (max) or +20 MB (peak) is flagged OVER. Commands that change things get a fresh input each run (a
new member answering, a new cohort name), so every run does the full work.

    python bench/worst_case.py            # about a minute and a half
    python bench/worst_case.py --quick    # smaller history, fewer runs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Table, text

from bench.common import (
    ACTIVITY,
    COHORT,
    ENROLMENT,
    MEMBER,
    POST,
    activity_row,
    analyze,
    bulk_insert,
    cohort_row,
    cpu_sample,
    make_core,
    member_rows,
    open_store,
    quiz_ids,
    rebuild_totals,
    steal_since,
)
from bench.null_platform import NullPlatform
from bot.catalog.content import load_catalog
from bot.composition.app import settle_memory
from bot.composition.commands import command_registry
from bot.dispatch.core import Core
from bot.jobs.posting import post_day
from bot.jobs.recap import build_recap
from bot.jobs.reminders import send_reminders
from bot.kernel.clock import FakeClock
from bot.kernel.ports import ChatPlatform
from bot.kernel.registry import MAX_INPUT_CHARS
from bot.kernel.types import Cohort, ConversationRef, Invocation, UserRef
from storage.sql_store import SqlStore
from storage.tables import ExcusalRow, LearnedTopicRow, ReviewCardRow

PLATFORM = "bench"
WHERE = ConversationRef(PLATFORM, "ws", "general")
# A Tuesday evening, after the members' 20:00 reminders are due and the cohorts' 09:00 posts went out.
NOW = dt.datetime(2026, 11, 24, 20, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
# The budget for any one command on the event loop: milliseconds, megabytes.
LIMIT_MS = 50.0
LIMIT_MB = 20.0
# The ticker's sleep: short enough that a stall of a few milliseconds shows, long enough to cost nothing.
TICK_S = 0.001
# A class whose first run took this long is run once: its figure is already far over the budget.
SLOW_S = 1.0
# ...and its memory is traced (which slows Python down two to three times) only below this.
TOO_SLOW_TO_TRACE_S = 3.0
HISTORY_DAYS = 730  # cohort `big` and its longest-standing member, u1
YEAR = 365  # the other members' history
DENSITY = 0.8  # share of the year each other member was active
LEGACY_MEMBERS = 50  # members of `legacy`, each with an excusal dated year 1
FILLER_COHORTS = 300  # more cohorts in the workspace
SUBJECT = UserRef(PLATFORM, "u1", "member 1")
MODERATOR = UserRef(PLATFORM, "mod", "Moderator", is_admin=True)
EXCUSAL: Table = ExcusalRow.__table__  # type: ignore[attr-defined]
REVIEW: Table = ReviewCardRow.__table__  # type: ignore[attr-defined]
LEARNED: Table = LearnedTopicRow.__table__  # type: ignore[attr-defined]


@dataclass
class World:
    core: Core
    big: Cohort
    legacy: Cohort
    members: int  # in `big`, ids 1..members
    rows: dict[str, int]


@dataclass
class Case:
    """One input class of one command (or job): `run(i)` does the work once, with the i-th fresh input."""

    command: str
    label: str
    run: Callable[[int], Awaitable[Any]]


def fill(word: str, budget: int = MAX_INPUT_CHARS) -> str:
    """`word` repeated, space-separated, to as many characters as `budget` allows."""
    return " ".join([word] * ((budget + 1) // (len(word) + 1)))


def long_word(n: int, seed: int = 1) -> str:
    """A word of n varied letters (a repeated letter would fold a typo expansion's candidates together)."""
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def room(command: str, *fixed: str) -> int:
    """Characters left for one more argument after `command` and `fixed` under the input cap."""
    return MAX_INPUT_CHARS - len(command) - sum(len(a) + 1 for a in fixed) - 1


# ---- seeding ----


async def seed(store: SqlStore, members: int) -> World:
    catalog = load_catalog()
    core = make_core(store, catalog, FakeClock(NOW))
    rng = random.Random(12)
    first = TODAY - dt.timedelta(days=HISTORY_DAYS - 1)
    rows: dict[str, int] = {}

    def cohort(cid: int, name: str, start: dt.date) -> dict[str, Any]:
        return cohort_row(
            cid,
            platform=PLATFORM,
            workspace=WHERE.workspace_id,
            channel=f"room{cid}" if cid > 2 else WHERE.channel_id,
            name=name,
            post_time=dt.time(9),
            timezone="UTC",
            weekdays=range(7),
            start=start,
            now=NOW - dt.timedelta(days=HISTORY_DAYS),
        )

    legacy_start = TODAY - dt.timedelta(days=60)
    cohorts = [cohort(1, "big", first), cohort(2, "legacy", legacy_start)]
    cohorts += [cohort(3 + i, f"scratch{i}", TODAY - dt.timedelta(days=30)) for i in range(20)]
    cohorts += [cohort(23 + i, f"filler{i}", TODAY) for i in range(FILLER_COHORTS)]
    rows["cohort"] = await bulk_insert(store, COHORT, cohorts)
    total = members + LEGACY_MEMBERS
    rows["member"] = await bulk_insert(
        store, MEMBER, member_rows(range(1, total + 1), PLATFORM, remind_share=1.0)
    )
    rows["enrolment"] = await bulk_insert(
        store,
        ENROLMENT,
        (
            {"cohort_id": 1 if m <= members else 2, "member_id": m, "joined_at": NOW - dt.timedelta(days=800)}
            for m in range(1, total + 1)
        ),
    )
    quizzes = quiz_ids(catalog)
    days = [first + dt.timedelta(days=d) for d in range(HISTORY_DAYS)]
    legacy_days = [legacy_start + dt.timedelta(days=d) for d in range(61)]
    posts = [(1, day) for day in days] + [(2, day) for day in legacy_days]
    post_id = {key: i + 1 for i, key in enumerate(posts)}
    rows["daily_post"] = await bulk_insert(
        store,
        POST,
        (
            {
                "id": i + 1,
                "cohort_id": cid,
                "local_date": day,
                "challenge_id": quizzes[i % len(quizzes)],
                "message_id": f"m{i + 1}",
                "claimed_at": dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            }
            for i, (cid, day) in enumerate(posts)
        ),
    )

    def history() -> Iterator[dict[str, Any]]:
        for day in days[:-1]:  # u1: nearly every day of two years; today is still open
            if rng.random() < 0.98:
                yield activity_row(1, 1, day, post_id[(1, day)], rng)
        for m in range(2, members + 1):
            for day in days[-YEAR:-1]:
                if rng.random() < DENSITY:
                    yield activity_row(m, 1, day, post_id[(1, day)], rng)
        for m in range(members + 1, total + 1):
            for day in legacy_days[-31:-1]:
                if rng.random() < DENSITY:
                    yield activity_row(m, 2, day, post_id[(2, day)], rng)

    rows["activity"] = await bulk_insert(store, ACTIVITY, history())
    rows["excusal"] = await bulk_insert(
        store,
        EXCUSAL,
        (
            {
                "cohort_id": 2,
                "member_id": m,
                "local_date": dt.date(1, 1, 1),
                "reason": "typo of 2026, stored before dates were checked",
                "granted_by": "mod",
                "created_at": NOW - dt.timedelta(days=20),
            }
            for m in range(members + 1, total + 1)
        ),
    )
    rows["review_card"] = await bulk_insert(
        store,
        REVIEW,
        (
            {"member_id": 1, "challenge_id": q, "box": 1, "due_date": TODAY, "updated_at": NOW}
            for q in quizzes
        ),
    )
    rows["learned_topic"] = await bulk_insert(
        store,
        LEARNED,
        (
            {"member_id": 1, "stage_id": s.id, "topic_id": t.id, "learned_at": NOW}
            for s in catalog.stages
            for t in s.topics
        ),
    )
    rows["points"] = await rebuild_totals(store)
    await analyze(store)
    big = await store.find_cohort(PLATFORM, WHERE.workspace_id, "big")
    legacy = await store.find_cohort(PLATFORM, WHERE.workspace_id, "legacy")
    assert big is not None and legacy is not None
    return World(core, big, legacy, members, rows)


# ---- the input classes ----


def cases(world: World, store: SqlStore) -> list[Case]:
    core = world.core
    platform: ChatPlatform = NullPlatform()
    others = iter(range(2, world.members + 1))  # members of `big` who have not acted yet this run
    fresh: dict[tuple[str, int], int] = {}

    def member_of_big(key: str, i: int) -> UserRef:
        """A member of `big` for run i of case `key`, never the same one twice in the whole benchmark."""
        if (key, i) not in fresh:
            fresh[(key, i)] = next(others)
        m = fresh[(key, i)]
        return UserRef(PLATFORM, f"u{m}", f"member {m}")

    def stranger(i: int) -> UserRef:
        return UserRef(PLATFORM, f"new{i}", f"newcomer {i}")

    def new_room(i: int) -> ConversationRef:
        return ConversationRef(PLATFORM, WHERE.workspace_id, f"new-room{i}")

    def say(
        command: str,
        label: str,
        line: Callable[[int], str] | str,
        user: Callable[[int], UserRef] | UserRef = SUBJECT,
        where: Callable[[int], ConversationRef] | ConversationRef = WHERE,
    ) -> Case:
        async def run(i: int) -> Any:
            who = user(i) if callable(user) else user
            typed = line(i) if callable(line) else line
            there = where(i) if callable(where) else where
            return await core.dispatch(core.invocation(typed, who, there))

        return Case(command, label, run)

    def job(command: str, label: str, work: Callable[[int], Awaitable[Any]]) -> Case:
        return Case(command, label, work)

    async def reset_reminders(i: int) -> Any:
        async with store.engine.begin() as conn:
            await conn.execute(text("DELETE FROM reminder"))
        return await send_reminders(core, {PLATFORM: platform})

    async def answer_by_button(i: int) -> Any:
        who = member_of_big("answer-button", i)
        shown = await core.dispatch(Invocation("today", (), who, WHERE))
        button = next(b for b in shown.buttons if b.label == "A")
        return await core.dispatch(Invocation(button.command, button.args, who, WHERE))

    big, legacy = world.big, world.legacy
    mid = world.members // 2
    return [
        say("help", "all commands", "help"),
        say("help", "one 1,990-character word", f"help {long_word(room('help'))}"),
        say("help", "2,000 characters of short words", f"help {fill('cohort', room('help'))}"),
        say("today", "u1, two years of posts", "today"),
        Case("answer", "today's quiz by button, member with a year", answer_by_button),
        say("answer", "typed, member with a year", "answer B", lambda i: member_of_big("answer", i)),
        say("answer", "typed ref of 1,980 digits", f"answer A {'9' * room('answer', 'A')}"),
        say("done", "member with a year", "done", lambda i: member_of_big("done", i)),
        say(
            "done",
            "note of 1,990 characters",
            f"done {fill('notes', room('done'))}",
            lambda i: member_of_big("done-note", i),
        ),
        say(
            "done",
            "note of 499 characters",
            f"done {fill('notes', 499)}",
            lambda i: member_of_big("done-499", i),
        ),
        say("roadmap", "u1, every topic learned", "roadmap"),
        say("roadmap", "one 1,990-character stage", f"roadmap {long_word(room('roadmap'))}"),
        say("roadmap", "near-miss stage name", "roadmap deep-learnin"),
        say("learned", "one 1,990-character topic", f"learned {long_word(room('learned'))}"),
        say("learned", "2,000 characters of words", f"learned {fill('linear', room('learned'))}"),
        say("learned", "near-miss topic title", "learned linear algebre"),
        say("unlearn", "near-miss topic title", "unlearn gradient descnt"),
        say("next", "u1, every topic learned", "next"),
        say("review", f"u1, {len(quiz_ids(core.catalog))} cards due", "review"),
        say("streak", "u1, two years, heatmap", "streak"),
        say("streak", f"another member of {world.members:,}", f"streak u{mid}"),
        say("streak", "one 1,990-character member", f"streak {long_word(room('streak'))}"),
        say(
            "streak",
            "legacy member, excusal in year 1",
            "streak",
            UserRef(PLATFORM, f"u{world.members + 1}", "x"),
        ),
        say("leaderboard", f"week, cohort of {world.members:,}", "leaderboard week"),
        say("leaderboard", "month", "leaderboard month"),
        say("leaderboard", "all time", "leaderboard all"),
        say("resources", "2,000 characters (refused)", f"resources {fill('pandas', room('resources'))}"),
        say("resources", "one 1,990-character word", f"resources {long_word(room('resources'))}"),
        say("resources", "one 199-character word", f"resources {long_word(199)}"),
        say(
            "resources",
            "40 nonsense words, 199 chars",
            "resources " + " ".join(long_word(4, s) for s in range(40)),
        ),
        say(
            "resources",
            "20 real words",
            "resources " + " ".join(["pandas", "numpy", "torch", "linear", "algebra"] * 4),
        ),
        say("join", f"cohort of {world.members:,}", "join big", stranger),
        say("join", "one 1,990-character cohort", f"join {long_word(room('join'))}", stranger),
        say("leave", f"cohort of {world.members:,}", "leave big", lambda i: member_of_big("leave", i)),
        say("timezone", "one 1,990-character zone", f"timezone {long_word(room('timezone'))}", stranger),
        say("timezone", "near-miss zone name", "timezone America/Argentina/Buenos_Airez", stranger),
        say("timezone", "valid zone", "timezone Pacific/Kiritimati", stranger),
        say("remind", "on at 23:59", "remind on 23:59", stranger),
        say(
            "cohort create",
            "start=0001-01-01",
            lambda i: f"cohort create old{i} start=0001-01-01",
            MODERATOR,
            new_room,
        ),
        say(
            "cohort create",
            "start=9999-12-31",
            lambda i: f"cohort create far{i} start=9999-12-31 days=sat",
            MODERATOR,
            new_room,
        ),
        say(
            "cohort create",
            "every option, far zone",
            lambda i: f"cohort create every{i} time=23:59 tz=Pacific/Kiritimati days=daily start={TODAY}",
            MODERATOR,
            new_room,
        ),
        say(
            "cohort create",
            "one 1,990-character name",
            f"cohort create {long_word(room('cohort create'))}",
            MODERATOR,
            new_room,
        ),
        say(
            "cohort set",
            "start 0001-01-01",
            lambda i: f"cohort set scratch{i % 20} start 0001-01-01",
            MODERATOR,
        ),
        say(
            "cohort set",
            "start 9999-12-31",
            lambda i: f"cohort set scratch{i % 20} start 9999-12-31",
            MODERATOR,
        ),
        say(
            "cohort set",
            "days of a 2-year cohort",
            lambda i: f"cohort set big days {'daily' if i % 2 else 'mon-sun'}",
            MODERATOR,
        ),
        say(
            "cohort set",
            "1,990-character value",
            f"cohort set scratch19 name {long_word(room('cohort set', 'scratch19', 'name'))}",
            MODERATOR,
        ),
        say("cohort pause", "scratch cohort", lambda i: f"cohort pause scratch{i % 20}", MODERATOR),
        say("cohort resume", "scratch cohort", lambda i: f"cohort resume scratch{i % 20}", MODERATOR),
        say("cohort list", f"{FILLER_COHORTS + 22} cohorts in the workspace", "cohort list", MODERATOR),
        say(
            "cohort fix",
            "0001-01-01, 490-character reason",
            lambda i: f"cohort fix legacy u{world.members + 2 + i % 40} 0001-01-01 {fill('why', 490)}",
            MODERATOR,
        ),
        say(
            "cohort fix",
            "yesterday, member with two years",
            f"cohort fix big u1 {TODAY - dt.timedelta(days=1)} bot down",
            MODERATOR,
        ),
        say("cohort export", f"{world.members:,} members x a year", "cohort export big", MODERATOR),
        say("cohort export", f"{LEGACY_MEMBERS} members, year-1 excusals", "cohort export legacy", MODERATOR),
        say("cohort grant", "member of the big cohort", lambda i: f"cohort grant u{3 + i % 100}", MODERATOR),
        say(
            "cohort grant",
            "one 1,990-character member",
            f"cohort grant {long_word(room('cohort grant'))}",
            MODERATOR,
        ),
        say(
            "cohort revoke", "member of the big cohort", lambda i: f"cohort revoke u{3 + i % 100}", MODERATOR
        ),
        job(
            "autocomplete",
            f"cohort, {FILLER_COHORTS + 22} cohorts",
            lambda i: core.suggest("cohort", "", WHERE),
        ),
        job(
            "autocomplete",
            "resource, 6,000-character prefix",
            lambda i: core.suggest("resource", long_word(6000)),
        ),
        job("autocomplete", "topic, one letter", lambda i: core.suggest("topic", "a")),
        job("job: weekly recap", f"cohort of {world.members:,}", lambda i: build_recap(core, big, TODAY)),
        job(
            "job: weekly recap",
            f"{LEGACY_MEMBERS} members, year-1 excusals",
            lambda i: build_recap(core, legacy, TODAY),
        ),
        job(
            "job: daily post",
            "cohort with two years of posts",
            lambda i: post_day(core, big, TODAY + dt.timedelta(days=1 + i), platform),
        ),
        job("job: reminders", f"{world.members + LEGACY_MEMBERS:,} members due at once", reset_reminders),
    ]


# ---- measuring ----


@dataclass
class Figure:
    case: Case
    median_ms: float
    max_ms: float
    peak_mb: float
    error: str = ""
    stall_ms: float = float("nan")

    @property
    def over(self) -> bool:
        # The budget is the event loop's: the longest stall, not the end-to-end time (work on a thread or in
        # the database does not hold other servers' commands up). NaN compares False: flagged by what was
        # measured.
        return self.stall_ms > LIMIT_MS or self.peak_mb > LIMIT_MB


class Ticker:
    """A coroutine sleeping 1 ms at a time beside the command: the longest gap between its wake-ups is the
    longest the event loop was held (by the command, or by anything else on the loop)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # let it take its first time
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def measure(case: Case, runs: int, start: int) -> Figure:
    """Time a first run; if it was quick, `runs` more (median and max of those) and one under tracemalloc.

    A class whose first run took seconds is not run again (the benchmark must finish in about two
    minutes): its one run is its figure, and its memory is traced in a second run only when that is
    affordable. Run i gets the i-th fresh input, from `start` on.
    """
    gc.collect()
    ticker = Ticker()
    async with ticker:
        t0 = time.perf_counter()
        result = await case.run(start)
        first = time.perf_counter() - t0
    times, stalls = [first], [ticker.longest]
    if first < SLOW_S:
        times, stalls = [], []
        for i in range(runs):
            gc.collect()
            ticker = Ticker()
            async with ticker:
                t0 = time.perf_counter()
                result = await case.run(start + 1 + i)
                times.append(time.perf_counter() - t0)
            stalls.append(ticker.longest)
    peak = float("nan")
    if first < TOO_SLOW_TO_TRACE_S:
        gc.collect()
        tracemalloc.start()
        try:
            await case.run(start + 1 + runs)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    error = ""
    if getattr(result, "error", False):
        error = " ".join(str(result.text).split())[:70]
    return Figure(case, statistics.median(times) * 1000, max(times) * 1000, peak, error, max(stalls) * 1000)


def line(f: Figure) -> str:
    flag = "ok"
    if f.over:
        flag = "OVER"
    elif f.max_ms > LIMIT_MS:
        flag = "ok (loop free; slow end to end)"
    said = f"  [{f.error}]" if f.error else ""
    return (
        f"{f.case.command:<18} {f.case.label:<42} {f.median_ms:9.1f} {f.max_ms:9.1f} {f.stall_ms:9.1f} "
        f"{f.peak_mb:8.2f}  {flag}{said}"
    )


async def main(quick: bool, only: list[str]) -> None:
    started, cpu = time.perf_counter(), cpu_sample()
    members = 200 if quick else 1000
    runs = 3 if quick else 5
    async with open_store(None) as store:
        world = await seed(store, members)
        settle_memory()  # as `studybot run` does once started: the collector skips what exists now
        seeded = time.perf_counter() - started
        shown = ", ".join(f"{n:,} {t}" for t, n in world.rows.items())
        print(f"seeded in {seeded:.1f} s: {shown}")
        print(
            f"budget per command: {LIMIT_MS:g} ms of event-loop stall (longest gap between "
            f"{TICK_S * 1000:g} ms ticks, over the timed runs), +{LIMIT_MB:g} MB (tracemalloc peak); "
            "median and max are end to end"
        )
        print(
            f"{'command':<18} {'input class':<42} {'median ms':>9} {'max ms':>9} {'stall ms':>9} "
            f"{'peak MB':>8}  verdict"
        )
        all_cases = [c for c in cases(world, store) if not only or any(o in c.command for o in only)]
        covered = {c.command for c in all_cases}
        figures = []
        for n, case in enumerate(all_cases):
            try:
                figure = await measure(case, runs, n * 100)
            except Exception as exc:  # a crash is a figure too: the class is reported, the rest still run
                figure = Figure(case, float("nan"), float("nan"), float("nan"), f"raised {exc!r}"[:70])
            figures.append(figure)
            print(line(figure), flush=True)
        missing = [spec.name for spec in command_registry() if spec.name not in covered and not only]
        over = [f for f in figures if f.over or f.max_ms != f.max_ms]
        slow = [f for f in figures if not f.over and f.max_ms > LIMIT_MS]
        print()
        print(
            f"{len(figures)} input classes over {len(covered)} commands and jobs "
            f"in {time.perf_counter() - started:.0f} s"
        )
        if missing:
            print(f"commands with no input class here (add one): {', '.join(missing)}")
        if over:
            print(f"over budget: {len(over)}")
            for f in over:
                print(
                    f"  {f.case.command}: {f.case.label}: stall {f.stall_ms:.1f} ms, peak {f.peak_mb:.2f} MB "
                    f"(end to end max {f.max_ms:.1f} ms)"
                )
        else:
            print("every class within budget")
        if slow:
            print(f"within the loop budget, over {LIMIT_MS:g} ms end to end (work on threads): {len(slow)}")
            for f in slow:
                print(f"  {f.case.command}: {f.case.label}: max {f.max_ms:.1f} ms, stall {f.stall_ms:.1f} ms")
        untraced = [f for f in figures if f.peak_mb != f.peak_mb and f.max_ms == f.max_ms]
        if untraced:
            print(f"memory not traced (a run took over {TOO_SLOW_TO_TRACE_S:g} s): {len(untraced)}")
        print(f"{steal_since(cpu)}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 members in `big` and 3 timed runs")
    parser.add_argument(
        "--only", action="append", default=[], help="only commands containing this text (repeatable)"
    )
    parsed = parser.parse_args()
    asyncio.run(main(parsed.quick, parsed.only))
