"""Benchmark: wall time from process start to ready, with 1,000 cohorts stored.

Stores 1,000 cohorts (10 members each, the posts of their last 3 days, answers from half the members), then
starts fresh Python processes that do what `studybot run` does and notes, on the system's monotonic clock
(shared with the parent, which notes the instant just before it spawns the process):

* interpreter start: the process spawned until the first line of this script runs;
* imports: the core (bot.composition.app and what it pulls in) and the configured platforms' libraries, which
  `studybot run` imports only for the platforms configured (--platforms: both by default, the most it
  imports; discord, slack, or none, as the console);
* build_core: content loaded, database opened and migrated, the Core built with its search indexes;
* scheduler start: StudyScheduler(core, platforms).start() with a do-nothing platform, every cohort's job
  armed (checked) and the first sweep done; then settle_memory(), as bot.composition.app.serve does.

Target: ready in under 2 s. Prints each of several runs, their median, and what dominates: the packages
that take the most import time (python -X importtime) and cProfile's view of build_core plus the scheduler
start (in a separate run, so the timed runs are not slowed by it), and the content's YAML parsed with the
pure-Python loader bot.catalog.content uses and with libyaml's.

    python bench/startup.py                       # temporary SQLite file, 3 runs, both platforms
    python bench/startup.py --platforms discord   # only DISCORD_TOKEN set
    python bench/startup.py --runs 5 --postgres postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.null_platform import NullPlatform  # noqa: E402 - needs the repository root on sys.path

TARGET_S = 2.0
# What `studybot run` imports before it serves (bot/composition/cli.py): the core and each platform's adapter.
CORE_IMPORTS = "import bot.composition.app, bot.jobs.scheduler, bot.composition.settings"
PLATFORM_MODULES = {
    "both": ("discord", "adapters.discord.client", "adapters.slack.app"),
    "discord": ("discord", "adapters.discord.client"),
    "slack": ("adapters.slack.app",),
    "none": (),
}


# ---- the child: a fresh process that starts the app ----


async def child(url: str, profile: bool, platforms: str) -> dict[str, Any]:
    marks: dict[str, float] = {"entry": time.monotonic()}
    import bot.composition.app
    from bot.composition.settings import Settings
    from bot.jobs.scheduler import StudyScheduler

    marks["core imports"] = time.monotonic()
    import gc
    import importlib

    gc.disable()  # as `studybot run` does until settle_memory()

    for module in PLATFORM_MODULES[platforms]:  # as `studybot run` imports the configured platforms'
        importlib.import_module(module)
    marks["platform imports"] = time.monotonic()
    name = "load_content" if hasattr(bot.composition.app, "load_content") else "load_catalog"
    load = getattr(bot.composition.app, name)

    def load_and_note(*args: Any, **kwargs: Any) -> Any:
        catalog = load(*args, **kwargs)
        marks["content loaded"] = time.monotonic()
        return catalog

    setattr(bot.composition.app, name, load_and_note)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    core = await bot.composition.app.build_core(Settings(database_url=url))
    marks["build_core"] = time.monotonic()
    scheduler = StudyScheduler(core, {"bench": NullPlatform()})
    await scheduler.start()
    jobs = [job for job in scheduler._aps.get_jobs() if job.id.startswith("cohort-")]
    cohorts = await core.store.list_cohorts()
    marks["scheduler started"] = time.monotonic()
    bot.composition.app.settle_memory()
    marks["settle_memory"] = time.monotonic()
    if profiler is not None:
        profiler.disable()
    await scheduler.stop()
    await core.store.close()
    result: dict[str, Any] = {"marks": marks, "jobs": len(jobs), "cohorts": len(cohorts)}
    if profiler is not None:
        from bench.common import profile_top

        result["profile"] = profile_top(profiler, 14, sort="cumtime")
    return result


# ---- the parent ----


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
        days=3,
        active=0.5,
        remind_share=0.0,
    )
    await store.close()
    counts = ", ".join(f"{n:,} {table}" for table, n in world.rows.items())
    return f"seeded {counts} in {time.perf_counter() - began:.1f} s"


def start_child(url: str, platforms: str, profile: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", url, "--platforms", platforms]
    command += ["--child-profile"] if profile else []
    spawned = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    if out.returncode:
        raise RuntimeError(f"the app process failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["marks"]["spawned"] = spawned
    return result


PHASES = (
    ("interpreter start", "spawned", "entry"),
    ("core imports", "entry", "core imports"),
    ("platform imports", "core imports", "platform imports"),
    ("build_core: content", "platform imports", "content loaded"),
    ("build_core: db + Core", "content loaded", "build_core"),
    ("scheduler start", "build_core", "scheduler started"),
    ("settle_memory", "scheduler started", "settle_memory"),
)


def phases(marks: dict[str, float]) -> dict[str, float]:
    out = {name: marks[end] - marks[begin] for name, begin, end in PHASES}
    out["ready"] = marks["settle_memory"] - marks["spawned"]
    return out


def import_profile(platforms: str, top: int = 10) -> str:
    """Self import time per top-level package, from python -X importtime."""
    modules = PLATFORM_MODULES[platforms]
    imports = CORE_IMPORTS + (f"; import {', '.join(modules)}" if modules else "")
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", imports],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    by_package: dict[str, int] = defaultdict(int)
    total = 0
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        by_package[name.split(".")[0]] += int(self_us)
        total += int(self_us)
    ranked = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:top]
    lines = [f"    {us / 1000:7.1f} ms  {name}" for name, us in ranked]
    return f"    {total / 1000:7.1f} ms  all imports (self times summed, -X importtime)\n" + "\n".join(lines)


def yaml_parse() -> str:
    """The built-in content's YAML parsed as bot.catalog.content does (yaml.safe_load, pure Python) and with
    libyaml's CSafeLoader, which builds the same objects."""
    import yaml

    from bot.catalog.content import builtin_content_dir

    texts = [p.read_text(encoding="utf-8") for p in sorted(builtin_content_dir().rglob("*.y*ml"))]
    lines = []
    loaders = [("yaml.safe_load", yaml.SafeLoader)]
    if yaml.__with_libyaml__:
        loaders.append(("yaml.CSafeLoader", yaml.CSafeLoader))
    parsed = []
    for name, loader in loaders:
        start = time.perf_counter()
        parsed.append([yaml.load(text, Loader=loader) for text in texts])  # noqa: S506 - safe loaders only
        lines.append(f"    {time.perf_counter() - start:7.3f} s  {len(texts)} content files with {name}")
    if len(parsed) == 2:
        lines.append(f"    same result: {parsed[0] == parsed[1]}")
    return "\n".join(lines)


async def run(args: argparse.Namespace, postgres: str | None) -> None:
    from bench.common import database_url

    label = "postgres" if postgres else "sqlite"
    async with database_url(postgres) as url:
        print(f"{label}: {await seed(url, args)}")
        runs = []
        for i in range(args.runs):
            result = start_child(url, args.platforms)
            took = phases(result["marks"])
            runs.append(took)
            parts = ", ".join(f"{name} {took[name]:.2f}" for name, _, _ in PHASES)
            print(
                f"{label}: run {i + 1}: ready in {took['ready']:.2f} s ({parts}); "
                f"{result['jobs']:,} cohort jobs armed for {result['cohorts']:,} cohorts"
            )
        print(f"{label}: median of {args.runs} runs ({args.platforms} platforms imported):")
        for name in [p[0] for p in PHASES] + ["ready"]:
            print(f"{label}:   {statistics.median(r[name] for r in runs):6.2f} s  {name}")
        ready = statistics.median(r["ready"] for r in runs)
        met = "MET" if ready < TARGET_S else "MISSED"
        print(f"{label}: ready in {ready:.2f} s (median); target < {TARGET_S:g} s: {met}")
        if args.profile:
            print(f"{label}: import time by top-level package:")
            print(import_profile(args.platforms))
            print(f"{label}: the content's YAML, parsed alone:")
            print(yaml_parse())
            result = start_child(url, args.platforms, profile=True)
            print(f"{label}: cProfile of build_core + scheduler start + settle_memory, by cumulative time:")
            print(result["profile"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cohorts", type=int, default=1000)
    parser.add_argument("--per-cohort", type=int, default=10, help="members per cohort")
    parser.add_argument("--runs", type=int, default=3, help="timed start-ups")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the profiles")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+asyncpg://...)")
    parser.add_argument(
        "--platforms",
        choices=sorted(PLATFORM_MODULES),
        default="both",
        help="the platforms configured, whose libraries are imported (default: both)",
    )
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.child_profile, args.platforms))))
        return
    asyncio.run(run(args, None))
    if args.postgres:
        asyncio.run(run(args, args.postgres))


if __name__ == "__main__":
    main()
