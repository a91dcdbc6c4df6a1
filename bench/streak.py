"""Benchmark: `/study streak` for a member with two years of daily history, through core.dispatch.

Seeds one cohort with 730 daily posts, a member active on about 98% of those days (answers, some check-ins,
three excused days), and 1,000 other members as noise, each active on half of the 730 days (about 365,000
rows; --noise-density 1 gives the full 730,000). Then, by the member themself:

* the whole `streak` command, heatmap PNG included;
* the same with features.progress.render_heatmap replaced, in this process only, by a stub returning no bytes:
  the streak without the image (the reply then carries an empty image; nothing else changes). This is the
  figure the target is about: p99 under 5 ms;
* render_heatmap alone, on the same member's days, so the image's own cost is seen too;
* `streak <member>` by another member, image stubbed as well: it also loads the cohort's member list.

On a miss it prints the store calls of one command with their times and a cProfile of 50 commands.

    python bench/streak.py                       # temporary SQLite file
    python bench/streak.py --calls 1000 --postgres postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ACTIVITY,
    ENROLMENT,
    MEMBER,
    POST,
    StoreTimer,
    activity_row,
    analyze,
    bulk_insert,
    fix_sequences,
    latency_line,
    make_core,
    member_rows,
    open_store,
    pct,
    profile_top,
    quiz_ids,
    verdict,
)
from bot.catalog.content import load_catalog
from bot.composition.app import settle_memory
from bot.dispatch.core import Core
from bot.features import progress
from bot.images.heatmap import render_heatmap
from bot.kernel.clock import FakeClock
from bot.kernel.types import ConversationRef, Invocation, UserRef
from bot.rules.streaks import summarize
from storage.sql_store import SqlStore
from storage.tables import ExcusalRow

WHERE = ConversationRef("bench", "ws", "general")
NOW = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)
DAYS = 730
TARGET_MS = 5.0
SUBJECT = UserRef("bench", "u1", "member 1")
OTHER = UserRef("bench", "u2", "member 2")


async def seed(store: SqlStore, noise: int, density: float) -> tuple[Core, dict[str, int]]:
    catalog = load_catalog()
    core = make_core(store, catalog, FakeClock(NOW))
    first = NOW.date() - dt.timedelta(days=DAYS - 1)
    cohort = await store.create_cohort(
        conversation=WHERE,
        name="twoyears",
        post_time=dt.time(9),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=first,
        created_by="bench",
        now=NOW,
    )
    days = [first + dt.timedelta(days=d) for d in range(DAYS)]
    quizzes = quiz_ids(catalog)
    rows = {}
    rows["daily_post"] = await bulk_insert(
        store,
        POST,
        (
            {
                "id": i + 1,
                "cohort_id": cohort.id,
                "local_date": day,
                "challenge_id": quizzes[i % len(quizzes)],
                "message_id": f"m{i + 1}",
                "claimed_at": dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            }
            for i, day in enumerate(days)
        ),
    )
    members = noise + 1
    rows["member"] = await bulk_insert(store, MEMBER, member_rows(range(1, members + 1)))
    rows["enrolment"] = await bulk_insert(
        store,
        ENROLMENT,
        ({"cohort_id": cohort.id, "member_id": m, "joined_at": NOW} for m in range(1, members + 1)),
    )
    rng = random.Random(730)
    missed = set(rng.sample(range(DAYS - 1), DAYS // 50))
    excused = sorted(missed)[:3]

    def history() -> Iterator[dict[str, Any]]:
        for i, day in enumerate(days):  # the member: nearly every day, today included
            if i not in missed:
                yield activity_row(1, cohort.id, day, i + 1, rng)
                if rng.random() < 0.2:
                    yield activity_row(1, cohort.id, day, i + 1, rng, kind="checkin")
        for m in range(2, members + 1):
            for i, day in enumerate(days):
                if rng.random() < density:
                    yield activity_row(m, cohort.id, day, i + 1, rng)

    rows["activity"] = await bulk_insert(store, ACTIVITY, history())
    rows["excusal"] = await bulk_insert(
        store,
        ExcusalRow.__table__,  # type: ignore[attr-defined]
        (
            {
                "cohort_id": cohort.id,
                "member_id": 1,
                "local_date": days[i],
                "reason": "bench",
                "granted_by": "bench",
                "created_at": NOW,
            }
            for i in excused
        ),
    )
    await fix_sequences(store, POST, MEMBER, ENROLMENT, ACTIVITY)
    await analyze(store)
    return core, rows


async def time_dispatch(core: Core, inv: Invocation, calls: int) -> list[float]:
    await core.dispatch(inv)  # warm: compiled statements, pages in cache
    latencies = []
    for _ in range(calls):
        start = time.perf_counter()
        reply = await core.dispatch(inv)
        latencies.append(time.perf_counter() - start)
        if reply.error:
            raise RuntimeError(reply.text)
    return latencies


def no_image(*args: Any, **kwargs: Any) -> bytes:
    return b""


MEMBER_DAYS_SQL = (
    "SELECT local_date, 1 FROM activity WHERE cohort_id = ? AND member_id = ? "
    "UNION ALL SELECT local_date, 0 FROM excusal WHERE cohort_id = ? AND member_id = ?"
)


async def timed(fn: Callable[[], Awaitable[Any]], calls: int = 200) -> list[float]:
    await fn()
    latencies = []
    for _ in range(calls):
        start = time.perf_counter()
        await fn()
        latencies.append(time.perf_counter() - start)
    return latencies


async def profile(core: Core, store: SqlStore, inv: Invocation, label: str) -> None:
    timer = StoreTimer(store)
    start = time.perf_counter()
    await core.dispatch(inv)
    total = time.perf_counter() - start
    timer.close()
    print(
        f"{label}: profile of one `streak` (image stubbed): {total * 1000:.2f} ms; "
        f"{timer.total() * 1000:.2f} ms of it in store calls:"
    )
    print(timer.report())
    print(f"{label}:   the parts, each timed alone (200 calls):")
    floor = await timed(lambda: store.get_member(1))
    print(f"{label}:     store.get_member (one-row read, the floor of a store call): {latency_line(floor)}")
    days = await timed(lambda: store.member_days(1, 1))
    print(f"{label}:     store.member_days (the member's {DAYS} days):       {latency_line(days)}")
    if store.engine.dialect.name == "sqlite":
        path = store.engine.url.database or ""

        with contextlib.closing(sqlite3.connect(path)) as db:
            bare = []
            for _ in range(200):
                begin = time.perf_counter()
                rows = db.execute(MEMBER_DAYS_SQL, (1, 1, 1, 1)).fetchall()
                bare.append(time.perf_counter() - begin)
        print(f"{label}:     its SQL on a bare sqlite3 connection ({len(rows)} rows):   {latency_line(bare)}")
        with contextlib.closing(sqlite3.connect(path)) as db:
            lean = []
            for _ in range(200):
                begin = time.perf_counter()
                rows = db.execute(MEMBER_DAYS_SQL, (1, 1, 1, 1)).fetchall()
                (
                    {dt.date.fromisoformat(r[0]) for r in rows if r[1]},
                    {dt.date.fromisoformat(r[0]) for r in rows if not r[1]},
                )
                lean.append(time.perf_counter() - begin)
        print(f"{label}:     the same + date.fromisoformat into the two sets:    {latency_line(lean)}")
    active, excused = await store.member_days(1, 1)
    folds = []
    for _ in range(200):
        begin = time.perf_counter()
        summarize(active, excused, NOW.date())
        folds.append(time.perf_counter() - begin)
    print(f"{label}:     streaks.summarize over them (pure Python):          {latency_line(folds)}")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(50):
        await core.dispatch(inv)
    prof.disable()
    print(f"{label}:   cProfile of 50 commands, by own time; waits on reader threads show as epoll:")
    print(profile_top(prof, 10))


def profile_image(
    active: set[dt.date], frozen: frozenset[dt.date], excused: set[dt.date], label: str
) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        render_heatmap(NOW.date(), active, frozen, excused)
    prof.disable()
    print(f"{label}:   cProfile of 20 renders, by own time:")
    print(profile_top(prof, 6))


async def run(args: argparse.Namespace, postgres: str | None) -> None:
    label = "postgres" if postgres else "sqlite"
    async with open_store(postgres) as store:
        began = time.perf_counter()
        core, rows = await seed(store, args.noise, args.noise_density)
        settle_memory()  # as production does once started
        counts = ", ".join(f"{n:,} {table}" for table, n in rows.items())
        print(f"{label}: seeded {counts} in {time.perf_counter() - began:.1f} s")
        mine = Invocation("streak", (), SUBJECT, WHERE)
        reply = await core.dispatch(mine)
        card = reply.cards[0]
        fields = " · ".join(f"{f.name} {f.value}" for f in card.fields)
        print(f"{label}:   the reply: {card.title} | {fields}")
        full = await time_dispatch(core, mine, args.calls)
        print(f"{label}: streak, heatmap included:      {latency_line(full)}")
        real: Callable[..., bytes] = progress.render_heatmap
        progress.render_heatmap = no_image
        try:
            bare = await time_dispatch(core, mine, args.calls)
            print(
                f"{label}: streak, heatmap stubbed:       {latency_line(bare)}; "
                f"{verdict(pct(bare, 99) * 1000, TARGET_MS)}"
            )
            theirs = await time_dispatch(core, Invocation("streak", ("member 1",), OTHER, WHERE), args.calls)
            print(f"{label}: `streak <member>`, stubbed:    {latency_line(theirs)}")
            if pct(bare, 99) * 1000 >= TARGET_MS and args.profile:
                await profile(core, store, mine, label)
        finally:
            progress.render_heatmap = real
        member = await store.get_member(1)
        assert member is not None
        [cohort] = await store.member_cohorts(1)
        active, excused = await store.member_days(cohort.id, member.id)
        summary = summarize(active, excused, NOW.date())
        image = []
        for _ in range(args.calls):
            start = time.perf_counter()
            render_heatmap(NOW.date(), active, summary.frozen, excused)
            image.append(time.perf_counter() - start)
        print(f"{label}: render_heatmap alone:          {latency_line(image)}")
        if args.profile:
            profile_image(active, summary.frozen, excused, label)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300, help="timed calls of each kind")
    parser.add_argument("--noise", type=int, default=1000, help="other members in the cohort")
    parser.add_argument(
        "--noise-density", type=float, default=0.5, help="share of the 730 days each other member is active"
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the profile")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+asyncpg://...)")
    args = parser.parse_args()
    asyncio.run(run(args, None))
    if args.postgres:
        asyncio.run(run(args, args.postgres))


if __name__ == "__main__":
    main()
