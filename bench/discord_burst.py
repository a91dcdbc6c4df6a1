"""Benchmark: N Discord members (default 10,000) run `/study answer A` at once; Discord waits 3 s for each.

A real `studybot run` process (discord.py, the SQLite file seeded here with a cohort, today's quiz post and
the N members enrolled) connects to the fake Discord of tests/fakes/discord, which runs in this process with
no deadline of its own, so that every late answer is still measured. The fake sends the N interactions over
the gateway as fast as it can, noting when each went out and when the bot's first response (its answer, or
a defer: "studybot is thinking…") arrived: Discord drops an interaction that has had neither within 3 s.
Then it waits for every member's answer (the defer's followup) and prints:

* first response: from the interaction going out to the bot's answer or defer (target: all within 3 s);
* answered: until the member saw the verdict;
* how many were deferred, and whether every answer was the verdict (none an error).

Both processes share the machine's cores, as the benchmark client shares them in bench/slack_http.py.

    python bench/discord_burst.py              # 10,000 at once
    python bench/discord_burst.py -n 2000
    python bench/discord_burst.py --profile    # where the bot process spends its time
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_sample, profile_top, steal_since
from bot.catalog.content import load_catalog
from bot.catalog.daily import pick_challenge
from bot.kernel.types import ConversationRef
from storage.sql_store import SqlStore
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.server import CHANNEL_ID, DEFAULT_TOKEN, GUILD_ID, FakeInteraction

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 3.0
FIRST_USER = 1_150_000_000_000_100_000


async def seed(database_url: str, members: int) -> None:
    """A daily cohort in the fake's #general with today's quiz claimed, and `members` members enrolled."""
    store = SqlStore.from_url(database_url)
    await store.migrate()
    now = dt.datetime.now(dt.UTC)
    cohort = await store.create_cohort(
        conversation=ConversationRef("discord", str(GUILD_ID), str(CHANNEL_ID)),
        name="burst",
        post_time=dt.time(0, 0),
        timezone="UTC",
        weekdays=frozenset(range(7)),
        start_date=now.date() - dt.timedelta(days=1),
        created_by="bench",
        now=now,
    )
    catalog, used = load_catalog(), []
    while not (challenge := pick_challenge(catalog, cohort, now.date(), used)).is_quiz:
        used.append(challenge.id)
    post = await store.claim_post(cohort.id, now.date(), challenge.id, now)
    assert post is not None
    await store.set_post_message(post.id, "1")  # sent already: the scheduler leaves it alone

    async def one(i: int) -> None:
        member = await store.upsert_member("discord", str(FIRST_USER + i), f"m{i}")
        await store.enrol(cohort.id, member.id, now)

    for start in range(0, members, 1000):
        await asyncio.gather(*(one(i) for i in range(start, min(members, start + 1000))))
    await store.close()


def figures(values: list[float]) -> str:
    if len(values) < 2:
        return f"{len(values)} measured"
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


def answered(fake: FakeDiscord, interaction: FakeInteraction) -> str | None:
    """The member's answer as they see it: the callback's message, or the followup after a defer."""
    callback = interaction.callback
    if callback is None:
        return None
    if callback.get("type") == 4:
        data = callback.get("data") or {}
        return " ".join([data.get("content") or ""] + [e.get("title", "") for e in data.get("embeds", [])])
    followups = fake.followups(interaction)
    if not followups:
        return None
    message = followups[0]
    return " ".join([message.get("content") or ""] + [e.get("title", "") for e in message.get("embeds", [])])


def launcher(folder: str, gateway_url: str) -> Path:
    """A script that runs `studybot run` with discord.py's gateway URL, a constant (DISCORD_API_BASE moves
    only REST), pointed at the fake."""
    script = Path(folder, "launch.py")
    script.write_text(
        "import sys, yarl; from discord.gateway import DiscordWebSocket; "
        f"DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL({gateway_url!r}); "
        "from bot.composition.cli import main; sys.exit(main(['run']))"
    )
    return script


def open_log(folder: str) -> IO[bytes]:
    return Path(folder, "studybot.log").open("wb")


def read_log(folder: str) -> str:
    return Path(folder, "studybot.log").read_text(errors="replace").strip()


async def run(members: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/burst.db"
        began = time.perf_counter()
        await seed(database_url, members)
        print(f"discord: seeded {members:,} members in {time.perf_counter() - began:.1f} s")
        async with FakeDiscord(interaction_deadline=None) as fake:
            users = [fake.add_user(f"m{i}", user_id=FIRST_USER + i) for i in range(members)]
            clean = {
                k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "STUDYBOT_"))
            }
            env = {
                **clean,
                "DISCORD_TOKEN": DEFAULT_TOKEN,
                "DISCORD_API_BASE": fake.api_base,
                "DISCORD_GUILD_ID": str(GUILD_ID),
                "STUDYBOT_DATABASE_URL": database_url,
                "STUDYBOT_FILES_DIR": f"{tmp}/files",
                "STUDYBOT_LOG_LEVEL": "ERROR",
                "PYTHONPATH": str(ROOT),
            }
            log = open_log(tmp)
            script = launcher(tmp, fake.gateway_url)
            profiled = ["-m", "cProfile", "-o", f"{tmp}/bot.prof"] if profile else []
            bot = await asyncio.create_subprocess_exec(
                sys.executable, *profiled, str(script), env=env, cwd=tmp, stdout=log, stderr=log
            )
            try:
                await fake.wait_for_gateway_op(2, timeout=60)  # IDENTIFY: logged in, commands synced
                await asyncio.sleep(1.0)  # READY and the guild handled
                await burst(fake, users, bot.pid)
            finally:
                if bot.returncode is None:
                    bot.terminate()
                await bot.wait()
                log.close()
                errors = read_log(tmp)
                if errors:
                    print(f"discord: the bot's log (errors):\n{errors[-2000:]}")
            if profile:
                print("discord: cProfile of the bot process, by own time:")
                print(profile_top(f"{tmp}/bot.prof", 25))


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def burst(fake: FakeDiscord, users: list[int], bot_pid: int) -> None:
    cpu = cpu_sample()
    bot_cpu = cpu_seconds(bot_pid)
    interactions = [await fake.slash("study", "answer", {"choice": "A"}, user_id=uid) for uid in users]
    loop = asyncio.get_running_loop()
    sending = interactions[-1].sent_at - interactions[0].sent_at
    for _ in range(3000):  # up to 5 minutes
        if all(answered(fake, i) is not None for i in interactions):
            break
        await asyncio.sleep(0.1)
    done = loop.time()
    bot_cpu = cpu_seconds(bot_pid) - bot_cpu
    first = [i.callback_at - i.sent_at for i in interactions if i.callback_at is not None]
    late = sum(t > DEADLINE for t in first) + len(interactions) - len(first)
    deferred = sum(1 for i in interactions if (i.callback or {}).get("type") == 5)
    texts = [answered(fake, i) for i in interactions]
    verdicts = sum(1 for t in texts if t and ("Correct" in t or "Not quite" in t))
    n = len(interactions)
    print(f"discord: {n:,} `/study answer A` sent over the gateway in {sending:.2f} s ({steal_since(cpu)})")
    print(
        f"discord:   first response (answer or defer): {figures(first)}; every one within {DEADLINE:.0f} s: "
        f"{'MET' if late == 0 else f'MISSED ({late:,} later or never)'}"
    )
    print(f"discord:   deferred: {deferred:,}; answered directly: {len(first) - deferred:,}")
    print(
        f"discord:   every member had their verdict {done - interactions[0].sent_at:.1f} s after the first "
        f"was sent; {verdicts:,} of {n:,} answers are the verdict"
    )
    per = bot_cpu / n
    print(
        f"discord:   the bot process used {bot_cpu:.1f} s of CPU meanwhile: {per * 1000:.2f} ms per "
        f"interaction, so one process can take about {DEADLINE / per:,.0f} at once within {DEADLINE:.0f} s"
    )
    if verdicts < n:
        odd = next(t for t in texts if not t or ("Correct" not in t and "Not quite" not in t))
        print(f"discord:   e.g. {odd!r}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--members", type=int, default=10_000, help="members answering at once")
    parser.add_argument("--profile", action="store_true", help="run the bot under cProfile (slower)")
    args = parser.parse_args()
    asyncio.run(run(args.members, args.profile))


if __name__ == "__main__":
    main()
