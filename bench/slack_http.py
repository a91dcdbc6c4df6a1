"""Benchmark: Slack HTTP mode under a burst of 200 slash commands at once.

Seeds a Slack cohort with 200 members, 30 days of their history and today's quiz post. Then starts the app
in its own process as `studybot run --slack-mode http` would: build_core, the real slack-bolt app
of adapters/slack/app.py in a SlackService on a local port (aiohttp), signature verification on, and its
Web API client pointed at the fake Slack of tests/fakes/slack. That fake runs in this process: it answers
the app's Web API calls (users.info, files uploads, views.publish for the App Home) and receives the
response_url posts. From here, 200 signed `/study answer A` requests go out at once, one per member, then
200 `/study streak` (the reply with the heatmap, uploaded to the member's DMs). For each request it notes:

* ack: until the HTTP 200 came back. Slack gives up after 3 s: every ack must be within 3 s, and the
  target for p99 is under 300 ms;
* reply: until the reply reached the request's response_url (what the member waits for);

plus how long until every App Home refresh (after an answer) was published, and the worst stalls of the
app's event loop during each burst (measured inside the app process with 5 ms sleeps). With --profile the
app process runs under cProfile and prints its top functions at the end (this slows it down). With
--one-heatmap the app renders one heatmap PNG at start and sends it for every streak instead of drawing
each (a what-if: how fast the same burst is when the image costs nothing). The adapter itself works on at
most CONCURRENT_COMMANDS (64) commands at once after their ack; with --dispatch-limit N at most N of them
run in the core at once (a what-if for a tighter bound).

    python bench/slack_http.py                       # temporary SQLite file
    python bench/slack_http.py --profile             # where the app process spends its time
    python bench/slack_http.py -n 10000 --floor      # the same burst to a server that only answers 200
    python bench/slack_http.py -n 500 --postgres postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import json
import random
import socket
import sys
import time
import urllib.parse
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

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
    database_url,
    fix_sequences,
    latency_line,
    pct,
    profile_top,
    quiz_ids,
)
from bot.catalog.content import load_catalog
from storage.sql_store import SqlStore
from tests.fakes.slack.server import CHANNEL_ID, TEAM_ID, FakeSlack, sign, slash_command_body

ROOT = Path(__file__).resolve().parent.parent
ACK_MAX_S = 3.0
# The commands after which the Slack adapter refreshes the member's App Home.
PROGRESS = ("answer", "done", "learned", "unlearn")
ACK_P99_MS = 300.0
DAYS = 30


def user_id(i: int) -> str:
    return f"U{i:05d}"


# ---- the app process ----


async def watch_loop(stalls: list[float], tick: float = 0.005) -> None:
    """Sleep in short ticks and note how much later than asked each wakes: the loop's stalls."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(tick)
        stalls.append(time.perf_counter() - asked - tick)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def serve(
    url: str, api_url: str, secret: str, profile: bool, one_heatmap: bool, dispatch_limit: int
) -> None:
    """Run the app until "STOP" on stdin; "MARK name" starts a new segment of the loop-stall figures."""
    from adapters.slack.app import SlackService, make_client
    from bot.composition.app import build_core, settle_memory
    from bot.composition.settings import Settings
    from bot.features import progress

    if one_heatmap:  # what-if: a heatmap costs nothing (one PNG, rendered here once, serves every reply)
        png = progress.render_heatmap(dt.datetime.now(dt.UTC).date(), set(), set(), set())
        progress.render_heatmap = lambda *args, **kwargs: png

    core = await build_core(Settings(database_url=url))
    if dispatch_limit:  # what-if: at most this many commands run at once; the rest wait, acks do not
        limit = asyncio.Semaphore(dispatch_limit)
        dispatch = core.dispatch

        async def limited(*args: Any, **kwargs: Any) -> Any:
            async with limit:
                return await dispatch(*args, **kwargs)

        core.dispatch = limited  # type: ignore[method-assign]
    port = free_port()
    service = SlackService(core, make_client("xoxb-bench", api_url), signing_secret=secret, http_port=port)
    await service.start()
    settle_memory()
    profiler = cProfile.Profile() if profile else None
    segments: dict[str, list[float]] = {"start": []}
    current = segments["start"]
    watcher = asyncio.create_task(watch_loop(current))
    print(json.dumps({"port": port}), flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if not line or line == "STOP":
            break
        if line.startswith("MARK "):
            watcher.cancel()
            current = segments.setdefault(line.removeprefix("MARK "), [])
            watcher = asyncio.create_task(watch_loop(current))
            if profiler is not None:
                profiler.enable()
    watcher.cancel()
    if profiler is not None:
        profiler.disable()
    report: dict[str, Any] = {
        "stalls": {
            name: [max(s, default=0.0), pct(s, 99) if s else 0.0, len(s)] for name, s in segments.items()
        }
    }
    if profiler is not None:
        report["profile"] = profile_top(profiler, 16)
    await service.close()
    await core.store.close()
    print(json.dumps(report), flush=True)


async def serve_floor() -> None:
    """What-if (--floor): a server on the app's port settings that answers every request 200 at once and does
    nothing else; the acks it gets are what the client, the kernel and aiohttp alone cost."""
    from adapters.slack.app import LISTEN_BACKLOG

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slack/events", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=LISTEN_BACKLOG).start()
    print(json.dumps({"port": port}), flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() not in ("", "STOP"):
        pass
    await runner.cleanup()
    print(json.dumps({"stalls": {}}), flush=True)


async def floor(members: int) -> None:
    """The same burst of signed `/study answer A`, sent by the same client to serve_floor()."""
    app = await Child.start("--floor-serve")
    try:
        app_url = f"http://127.0.0.1:{(await app.read())['port']}/slack/events"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            burst = Burst("answer A", members, "http://127.0.0.1:9", 0)
            await burst.fire(session, app_url, "floor-secret")
        late = sum(a > ACK_MAX_S for a in burst.acks)
        print(
            f"floor: {members:,} at once to a server that only answers 200: ack {latency_line(burst.acks)}; "
            f"{late:,} later than 3 s"
        )
    finally:
        await app.stop()


# ---- the fake Slack process ----


def shown(reply: Any) -> str:
    if not isinstance(reply, dict):
        return str(reply)
    parts = [str(reply.get("text", ""))]
    for block in reply.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(block["text"].get("text", ""))
    return "\n".join(parts)


class TimedSlack(FakeSlack):
    """FakeSlack noting when each response_url post arrived, and what it said."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, tuple[float, str]] = {}

    async def _response(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        answer = await super()._response(request)
        rid = request.match_info["rid"]
        if rid not in self.arrived:
            self.arrived[rid] = (at, shown(self.responses[rid][0])[:200])
        return answer


async def fake_slack(members: int) -> None:
    """Serve the fake Slack until "STOP" on stdin. Answers, one JSON line each: "ARRIVED" (response_url
    posts so far: rid -> [perf_counter instant, text]; the clock is the system's monotonic one, shared
    between processes) and "CALLS <method>" (how many calls of a Web API method)."""
    async with TimedSlack() as fake:
        for i in range(members + 1):
            fake.set_user(user_id(i), name=f"member {i}")
        print(json.dumps({"base": fake.base_url, "secret": fake.signing_secret}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "STOP":
                return
            if line == "ARRIVED":
                print(json.dumps(fake.arrived), flush=True)
            elif line.startswith("CALLS "):
                print(json.dumps(len(fake.calls_to(line.removeprefix("CALLS ")))), flush=True)


# ---- the load, from this process ----


class Child:
    """A process of this script spoken to in lines: a command on stdin, a JSON answer on stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, *args: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, *args, stdin=PIPE, stdout=PIPE, cwd=ROOT, limit=1 << 24
        )
        return cls(process)

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()

    async def read(self, give_up: float = 60) -> Any:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), give_up)
        if not line:
            raise RuntimeError(f"{self.process.pid} exited with {await self.process.wait()}")
        return json.loads(line)

    async def ask(self, line: str) -> Any:
        await self.send(line)
        return await self.read()

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self.send("STOP")
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.terminate()
                await self.process.wait()


async def seed(url: str, members: int) -> str:
    store = SqlStore.from_url(url)
    await store.migrate()
    began = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    first = today - dt.timedelta(days=DAYS - 1)
    quizzes = quiz_ids(load_catalog())
    rows = {}
    rows["cohort"] = await bulk_insert(
        store,
        COHORT,
        [
            cohort_row(
                1,
                platform="slack",
                workspace=TEAM_ID,
                channel=CHANNEL_ID,
                name="burst",
                post_time=dt.time(0, 0),
                timezone="UTC",
                weekdays=range(7),
                start=first,
                now=now,
            )
        ],
    )
    days = [first + dt.timedelta(days=d) for d in range(DAYS)]
    rows["daily_post"] = await bulk_insert(
        store,
        POST,
        (
            {
                "id": i + 1,
                "cohort_id": 1,
                "local_date": day,
                "challenge_id": quizzes[i % len(quizzes)],
                "message_id": f"1700000000.{i:06d}",
                "claimed_at": dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC),
            }
            for i, day in enumerate(days)
        ),
    )
    ids = range(members + 1)  # member 0 warms the app up
    rows["member"] = await bulk_insert(
        store,
        MEMBER,
        (
            {"id": i + 1, "platform": "slack", "user_id": user_id(i), "name": f"member {i}", "timezone": None}
            for i in ids
        ),
    )
    rows["enrolment"] = await bulk_insert(
        store, ENROLMENT, ({"cohort_id": 1, "member_id": i + 1, "joined_at": now} for i in ids)
    )
    rng = random.Random(3)
    rows["activity"] = await bulk_insert(
        store,
        ACTIVITY,
        (
            activity_row(i + 1, 1, day, d + 1, rng)
            for i in ids
            for d, day in enumerate(days[:-1])  # not today: today's answer is what the burst sends
            if rng.random() < 0.8
        ),
    )
    await fix_sequences(store, COHORT, POST, MEMBER, ENROLMENT, ACTIVITY)
    await analyze(store)
    await store.close()
    counts = ", ".join(f"{n:,} {table}" for table, n in rows.items())
    return f"seeded {counts} in {time.perf_counter() - began:.1f} s"


async def post(session: aiohttp.ClientSession, app_url: str, secret: str, body: str) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret)}
    async with session.post(app_url, data=body.encode(), headers=headers) as resp:
        await resp.read()
        return resp.status


async def replies_for(fake: Child, rids: list[str], give_up: float = 120) -> dict[str, Any]:
    """Wait until every response_url in rids got its post; their [instant, text] by rid."""
    start = time.perf_counter()
    while True:
        arrived = await fake.ask("ARRIVED")
        if all(r in arrived for r in rids):
            return {r: arrived[r] for r in rids}
        if time.perf_counter() - start > give_up:
            raise TimeoutError(f"{sum(r in arrived for r in rids)} of {len(rids)} replies arrived")
        await asyncio.sleep(0.1)


class Burst:
    """Every member sends `/study <text>` at once: when each was sent and acked, with what status."""

    def __init__(self, text: str, members: int, base: str, round_: int) -> None:
        self.text = text
        self.rids = [f"B{round_}M{i}" for i in range(1, members + 1)]
        self.bodies = [
            urllib.parse.urlencode(
                slash_command_body(
                    "/study",
                    text,
                    response_url=f"{base}/response/{rid}",
                    user_id=user_id(i),
                    user_name=f"member {i}",
                )
            )
            for i, rid in zip(range(1, members + 1), self.rids, strict=True)
        ]
        self.sent: list[float] = [0.0] * members
        self.acks: list[float] = [0.0] * members
        self.statuses: list[int] = [0] * members

    async def fire(self, session: aiohttp.ClientSession, app_url: str, secret: str) -> None:
        go = asyncio.Event()

        async def one(i: int) -> None:
            await go.wait()
            self.sent[i] = time.perf_counter()
            self.statuses[i] = await post(session, app_url, secret, self.bodies[i])
            self.acks[i] = time.perf_counter() - self.sent[i]

        tasks = [asyncio.create_task(one(i)) for i in range(len(self.bodies))]
        await asyncio.sleep(0.05)  # every task is waiting at the start line
        go.set()
        await asyncio.gather(*tasks)


async def published(fake: Child, count: int, give_up: float = 120) -> None:
    """Wait until the app published the App Home `count` times in all."""
    start = time.perf_counter()
    while await fake.ask("CALLS views.publish") < count:
        if time.perf_counter() - start > give_up:
            raise TimeoutError(f"fewer than {count} App Home publishes")
        await asyncio.sleep(0.1)


def report(label: str, burst: Burst, arrived: dict[str, Any]) -> None:
    replies = [arrived[r][0] - t for r, t in zip(burst.rids, burst.sent, strict=True)]
    texts = [arrived[r][1] for r in burst.rids]
    acks = burst.acks
    bad = sum(s != 200 for s in burst.statuses)
    late = sum(a > ACK_MAX_S for a in acks)
    print(f"{label}: /study {burst.text}: {len(acks)} at once, all replied within {max(replies):.2f} s")
    verdict_max = "MET" if max(acks) <= ACK_MAX_S else f"MISSED ({late} later than 3 s)"
    verdict_p99 = "MET" if pct(acks, 99) * 1000 < ACK_P99_MS else "MISSED"
    print(
        f"{label}:   ack:   {latency_line(acks)}; every ack within 3 s: {verdict_max}; "
        f"p99 < {ACK_P99_MS:g} ms: {verdict_p99}; {bad} not HTTP 200"
    )
    print(f"{label}:   reply: {latency_line(replies)}")
    errors = [t for t in texts if "went wrong" in t or "Slow down" in t]
    print(f"{label}:   e.g. {texts[0].splitlines()[0][:90]!r}; {len(errors)} error replies")


async def bursts(
    args: argparse.Namespace, label: str, fake: Child, app: Child, base: str, secret: str
) -> None:
    app_url = f"http://127.0.0.1:{(await app.read())['port']}/slack/events"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        # One command first: bolt calls auth.test on its first request and keeps the answer.
        warm = slash_command_body("/study", "help", response_url=f"{base}/response/warm", user_id=user_id(0))
        assert await post(session, app_url, secret, urllib.parse.urlencode(warm)) == 200
        await replies_for(fake, ["warm"])
        homes = 0
        for round_, text in enumerate(args.texts):
            await app.send(f"MARK {text}")
            burst = Burst(text, args.members, base, round_)
            await burst.fire(session, app_url, secret)
            report(label, burst, await replies_for(fake, burst.rids))
            if text.split()[0] in PROGRESS:
                homes += args.members
                await published(fake, homes)
                done = time.perf_counter() - min(burst.sent)
                print(
                    f"{label}:   App Home: all {args.members} refreshes published {done:.2f} s after it began"
                )
    await app.send("STOP")
    stats = await app.read()
    for name, (worst, p99, ticks) in stats["stalls"].items():
        if name != "start":
            print(
                f"{label}:   app event-loop stall during `{name}` (and after): "
                f"max {worst * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms over {ticks:,} ticks of 5 ms"
            )
    if "profile" in stats:
        print(f"{label}: cProfile of the app process during the bursts, by own time:")
        print(stats["profile"])


async def run(args: argparse.Namespace, postgres: str | None) -> None:
    label = "postgres" if postgres else "sqlite"
    async with database_url(postgres) as url:
        print(f"{label}: {await seed(url, args.members)}")
        fake = await Child.start("--fake", str(args.members))
        app: Child | None = None
        try:
            slack = await fake.read()
            base, secret = slack["base"], slack["secret"]
            flags = ["--profile"] if args.profile else []
            flags += ["--one-heatmap"] if args.one_heatmap else []
            flags += ["--dispatch-limit", str(args.dispatch_limit)]
            app = await Child.start("--serve", url, f"{base}/api/", secret, *flags)
            await bursts(args, label, fake, app, base, secret)
        finally:
            if app is not None:
                await app.stop()
            await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--members", type=int, default=200, help="members sending at once")
    parser.add_argument(
        "--texts", nargs="+", default=["answer A", "streak"], help="what each burst sends after /study"
    )
    parser.add_argument("--profile", action="store_true", help="run the app under cProfile")
    parser.add_argument(
        "--one-heatmap",
        action="store_true",
        help="what-if: the app renders one heatmap PNG at start and sends it for every streak",
    )
    parser.add_argument(
        "--dispatch-limit",
        type=int,
        default=0,
        metavar="N",
        help="what-if: the app runs at most N core.dispatch calls at once (0: no limit, as shipped)",
    )
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+asyncpg://...)")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="what-if: only the same burst, to a server that answers 200 and does nothing else",
    )
    parser.add_argument("--floor-serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=3, metavar=("DB", "API", "SECRET"), help=argparse.SUPPRESS)
    parser.add_argument("--fake", type=int, metavar="MEMBERS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake is not None:
        asyncio.run(fake_slack(args.fake))
        return
    if args.floor_serve:
        asyncio.run(serve_floor())
        return
    if args.floor:
        asyncio.run(floor(args.members))
        return
    if args.serve:
        asyncio.run(
            serve(
                *args.serve,
                profile=args.profile,
                one_heatmap=args.one_heatmap,
                dispatch_limit=args.dispatch_limit,
            )
        )
        return
    asyncio.run(run(args, None))
    if args.postgres:
        asyncio.run(run(args, args.postgres))


if __name__ == "__main__":
    main()
