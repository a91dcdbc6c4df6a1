"""Benchmark: resident memory of the app started as production starts it, over a large database.

Stores 1,000 cohorts with 100 members each (100,000 members, each in one cohort), spread over six timezones
and post times, with the posts of their last 5 days and answers to them from 30% of the members (about
160,000 activity rows). Then, in a fresh Python process, starts the app as `studybot run` does: imports what
it imports (the core, discord.py and slack-bolt included), build_core(Settings(database_url=...))
(content, migrations, the core), bot.jobs.scheduler.StudyScheduler(core, platforms) started with a do-nothing
platform, and settle_memory(). It reports VmRSS from /proc/self/status at each step, then again after a few
hundred commands through core.dispatch by members of random cohorts (today, answer, streak with its heatmap,
leaderboard, roadmap, resources, next, review, done). Target: under 150 MB.

    python bench/memory.py                       # temporary SQLite file
    python bench/memory.py --commands 1000 --postgres postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.null_platform import NullPlatform  # noqa: E402 - needs the repository root on sys.path

TARGET_MB = 150.0
# (command, args) a member sends; "answer" goes to their cohort's post of today where it has one yet.
WORKLOAD: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("today", ()),
    ("answer", ("A",)),
    ("streak", ()),
    ("leaderboard", ("all",)),
    ("leaderboard", ("week",)),
    ("roadmap", ()),
    ("resources", ("pytorch",)),
    ("next", ()),
    ("review", ()),
    ("done", ("read the numpy docs",)),
)


def rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hwm() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- the child: a fresh process that starts the app ----


async def child(url: str, cohorts: int, per_cohort: int, commands: int) -> None:
    steps: list[tuple[str, float]] = [("bare python (+ asyncio, argparse, json, subprocess)", rss())]
    import bot.composition.app
    from bot.composition.settings import Settings
    from bot.jobs.scheduler import StudyScheduler
    from bot.kernel.types import ConversationRef, Invocation, UserRef

    steps.append(
        ("+ the core's imports (bot.composition.app: SQLAlchemy, Alembic, Pillow, APScheduler)", rss())
    )
    import discord  # noqa: F401 - `studybot run` imports both platforms' libraries whatever is configured

    import adapters.discord.client
    import adapters.slack.app  # noqa: F401

    steps.append(("+ the platforms' imports (discord.py, slack-bolt, slack-sdk)", rss()))
    # build_core's first step loads the content; wrap it to see memory right after.
    name = "load_content" if hasattr(bot.composition.app, "load_content") else "load_catalog"
    load = getattr(bot.composition.app, name)

    def load_and_note(*args: Any, **kwargs: Any) -> Any:
        catalog = load(*args, **kwargs)
        steps.append(("+ content loaded (build_core, step 1)", rss()))
        return catalog

    setattr(bot.composition.app, name, load_and_note)
    core = await bot.composition.app.build_core(Settings(database_url=url))
    steps.append(("+ database opened and migrated, Core built (search indexes)", rss()))
    scheduler = StudyScheduler(core, {"bench": NullPlatform()})
    await scheduler.start()
    jobs = len(scheduler._aps.get_jobs())
    bot.composition.app.settle_memory()
    steps.append((f"+ scheduler started ({jobs:,} jobs), settle_memory()", rss()))
    rng = random.Random(5)
    errors = 0
    start = time.perf_counter()
    for i in range(commands):
        c = rng.randrange(1, cohorts + 1)
        m = (c - 1) * per_cohort + rng.randrange(1, per_cohort + 1)
        command, args = WORKLOAD[i % len(WORKLOAD)]
        where = ConversationRef("bench", f"ws{c % 50}", f"room{c}")
        reply = await core.dispatch(
            Invocation(command, args, UserRef("bench", f"u{m}", f"member {m}"), where)
        )
        errors += bool(reply.error)
    elapsed = time.perf_counter() - start
    steps.append((f"+ {commands:,} commands ({errors} answered with a user error) in {elapsed:.1f} s", rss()))
    await scheduler.stop()
    await core.store.close()
    print(json.dumps({"steps": steps, "peak": hwm()}))


# ---- the parent: seed, then start the child ----


async def seed(url: str, args: argparse.Namespace) -> str:
    import datetime as dt

    from bench.common import seed_world
    from bot.catalog.content import load_catalog
    from storage.sql_store import SqlStore

    store = SqlStore.from_url(url)
    await store.migrate()
    began = time.perf_counter()
    world = await seed_world(
        store,
        load_catalog(),
        dt.datetime.now(dt.UTC),
        cohorts=args.cohorts,
        members_per_cohort=args.per_cohort,
        days=args.days,
        active=args.active,
        remind_share=args.reminders,
    )
    await store.close()
    counts = ", ".join(f"{n:,} {table}" for table, n in world.rows.items())
    return f"seeded {counts} in {time.perf_counter() - began:.1f} s"


async def run(args: argparse.Namespace, postgres: str | None) -> None:
    from bench.common import database_url

    label = "postgres" if postgres else "sqlite"
    async with database_url(postgres) as url:
        print(f"{label}: {await seed(url, args)}")
        out = subprocess.run(  # noqa: ASYNC221, S603 - our own script; the parent has nothing else to do
            [
                sys.executable,
                __file__,
                "--child",
                url,
                "--cohorts",
                str(args.cohorts),
                "--per-cohort",
                str(args.per_cohort),
                "--commands",
                str(args.commands),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if out.returncode:
            raise RuntimeError(f"the app process failed:\n{out.stderr}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    previous = 0.0
    for step, mb in result["steps"]:
        print(f"{label}:   {mb:6.1f} MB RSS ({mb - previous:+6.1f})  {step}")
        previous = mb
    final = result["steps"][-1][1]
    started = result["steps"][-2][1]
    met = "MET" if final < TARGET_MB else "MISSED"
    print(
        f"{label}: RSS after start {started:.1f} MB, after the commands {final:.1f} MB, peak (VmHWM) "
        f"{result['peak']:.1f} MB; target < {TARGET_MB:g} MB: {met}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cohorts", type=int, default=1000)
    parser.add_argument("--per-cohort", type=int, default=100, help="members per cohort (each in one)")
    parser.add_argument("--days", type=int, default=5, help="days of posts and answers")
    parser.add_argument("--active", type=float, default=0.3, help="share of members answering each post")
    parser.add_argument(
        "--reminders",
        type=float,
        default=0.0,
        help="share of members with a daily reminder (the first sweep then decides the due ones)",
    )
    parser.add_argument("--commands", type=int, default=300, help="commands dispatched after start")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+asyncpg://...)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.cohorts, args.per_cohort, args.commands))
        return
    asyncio.run(run(args, None))
    if args.postgres:
        asyncio.run(run(args, args.postgres))


if __name__ == "__main__":
    main()
