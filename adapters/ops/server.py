"""What an operator watches: /healthz, /readyz and /metrics (Prometheus) on STUDYBOT_HTTP_PORT.

The metrics are the core's Telemetry (commands, posts, reminders, platforms' rate limits) plus what this
module reads at each scrape: the event loop's lag, the database's write latency, SQLite's write batches and
the writes waiting for one, and whether this process leads the scheduler. Each Ops has a registry of its
own, so several in one process (tests) do not collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from bot.dispatch.core import Core
from bot.kernel.ports import ChatPlatform, Connected

log = logging.getLogger(__name__)

# Command latency buckets, in seconds: Discord and Slack want an answer within 3 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
# How often the event loop's lag is measured: a sleep this long that wakes late was held up by that much.
LAG_EVERY = 0.5
# The longest lag is reported over this many seconds (a scrape interval or two).
LAG_WINDOW = 60.0
# How long /readyz waits for the database or a platform to answer, and how long a database answer is reused.
CHECK_WITHIN = 2.0
DB_STATE_FOR = 1.0


class _StoreCollector(Collector):
    """SQLite's group-commit writer, read at each scrape: its batches, their writes, and those queued."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def collect(self) -> Iterator[Any]:
        stats = self.core.write_stats()
        if stats is None:  # PostgreSQL: each write is its own transaction
            return
        batches, writes, queued = stats
        yield CounterMetricFamily(
            "studybot_db_write_batches", "SQLite commits by the group writer", value=batches
        )
        yield CounterMetricFamily(
            "studybot_db_writes", "Writes committed by SQLite's group writer", value=writes
        )
        yield GaugeMetricFamily("studybot_db_write_queue", "Writes waiting for SQLite's writer", value=queued)


class _WriteLatency(Collector):
    """How long the database's writes took, from the call to the commit, read at each scrape."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def collect(self) -> Iterator[Any]:
        tally = self.core.write_latency()
        buckets, below = [], 0
        for bound, count in zip((*map(str, tally.bounds), "+Inf"), tally.counts, strict=True):
            below += count
            buckets.append((bound, below))
        yield HistogramMetricFamily(
            "studybot_db_write_seconds",
            "Time a database write took from the call to its commit (SQLite: the wait for the writer too)",
            buckets=buckets,
            sum_value=tally.total,
        )


class Ops:
    """The telemetry (kernel.ports.Telemetry) and the HTTP server that serves it."""

    def __init__(
        self,
        core: Core,
        platforms: Mapping[str, ChatPlatform],
        leading: Callable[[], bool] = lambda: False,
        *,
        recheck_after: float = DB_STATE_FOR,
    ) -> None:
        self.core, self.platforms, self.leading = core, platforms, leading
        self.recheck_after = recheck_after  # seconds a database answer is reused by /readyz
        self.registry = CollectorRegistry()
        r = self.registry
        self._commands = Counter(
            "studybot_commands", "Commands run, by name and outcome", ["command", "outcome"], registry=r
        )
        self._latency = Histogram(
            "studybot_command_seconds",
            "Time the core took for a command",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._posts = Counter(
            "studybot_posts",
            "Daily posts: sent, caught_up (late, within the window), skipped, resent, failed",
            ["result"],
            registry=r,
        )
        self._reminders = Counter("studybot_reminders", "Streak reminders sent", registry=r)
        self._lag = Gauge("studybot_event_loop_lag_seconds", "How late the event loop last woke", registry=r)
        self._max_lag = Gauge(
            "studybot_event_loop_lag_max_seconds",
            f"The longest event loop lag in the last {LAG_WINDOW:g} seconds",
            registry=r,
        )
        self._max_lag.set_function(self._worst_lag)
        queue = Gauge("studybot_commands_in_flight", "Commands the core is working on now", registry=r)
        queue.set_function(lambda: float(self.core.in_flight))
        waiting = Gauge(
            "studybot_commands_waiting",
            "Commands taken in (acked on Slack) that wait for their turn: each platform works on 64 at once",
            registry=r,
        )
        waiting.set_function(lambda: float(self.core.waiting))
        leader = Gauge("studybot_scheduler_leader", "1 when this process runs the scheduled jobs", registry=r)
        leader.set_function(lambda: 1.0 if self.leading() else 0.0)
        r.register(_StoreCollector(core))
        r.register(_WriteLatency(core))
        self._limited = Counter(
            "studybot_platform_rate_limits",
            "Requests a platform refused for its rate limit (429), sent again after the wait unless too long",
            ["platform"],
            registry=r,
        )
        self._limited_for = Counter(
            "studybot_platform_rate_limit_wait_seconds",
            "Time spent waiting out platforms' rate limits before sending again",
            ["platform"],
            registry=r,
        )
        self._lags: deque[tuple[float, float]] = deque()  # (when, lag) of the last LAG_WINDOW seconds
        self._db_state: tuple[float, str] | None = None  # when the database was last asked, and its state
        self._db_check: asyncio.Future[str] | None = None
        self._runner: web.AppRunner | None = None
        self._watcher: asyncio.Task[None] | None = None

    # ---- kernel.ports.Telemetry ----

    def command(self, name: str, outcome: str, seconds: float) -> None:
        self._commands.labels(name, outcome).inc()
        self._latency.labels(name).observe(seconds)

    def post(self, result: str) -> None:
        self._posts.labels(result).inc()

    def reminders(self, sent: int) -> None:
        if sent:
            self._reminders.inc(sent)

    def rate_limited(self, platform: str, seconds: float) -> None:
        self._limited.labels(platform).inc()
        if math.isfinite(seconds) and seconds > 0:  # a counter that became +Inf would stay so
            self._limited_for.labels(platform).inc(seconds)

    # ---- the server ----

    def routes(self) -> list[web.RouteDef]:
        """The three endpoints, for a server of this module's own or another (Slack's, in HTTP mode)."""
        return [
            web.get("/healthz", self._healthz),
            web.get("/readyz", self._readyz),
            web.get("/metrics", self._metrics),
        ]

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(self.routes())
        return app

    async def start(self, port: int, host: str = "0.0.0.0") -> int:  # noqa: S104 - a container's port
        """Serve on `port` (0: any free one) and watch the event loop; the port it listens on."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.watch()
        return int(self._runner.addresses[0][1])

    def watch(self) -> None:
        """Measure the event loop's lag (start() does; call it alone when another server has the routes)."""
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_loop())

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._runner is not None:
            await self._runner.cleanup()

    async def _watch_loop(self) -> None:
        while True:
            asleep = time.perf_counter()
            await asyncio.sleep(LAG_EVERY)
            now = time.perf_counter()
            lag = max(0.0, now - asleep - LAG_EVERY)
            self._lag.set(lag)
            self._lags.append((now, lag))
            while self._lags and self._lags[0][0] < now - LAG_WINDOW:
                self._lags.popleft()

    def _worst_lag(self) -> float:
        """The longest lag measured in the last LAG_WINDOW seconds: a window, not "since the last scrape", so
        that a request to /metrics from anyone (on Slack's public port, say) cannot hide a stall."""
        return max((lag for _, lag in self._lags), default=0.0)

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        """Ready when the database answers and every configured platform is connected."""
        checks: dict[str, Any] = {"database": await self._database()}
        platforms = {}
        for name, platform in self.platforms.items():
            try:
                up = (
                    await asyncio.wait_for(platform.connected(), CHECK_WITHIN)
                    if isinstance(platform, Connected)
                    else True
                )
                platforms[name] = "connected" if up else "not connected"
            except Exception as exc:  # a check that fails or hangs: that platform is not ready
                platforms[name] = f"not connected ({type(exc).__name__})"
        checks["platforms"] = platforms
        checks["scheduler"] = "leader" if self.leading() else "standby"
        ready = checks["database"] == "ok" and all(v == "connected" for v in platforms.values())
        body = {"status": "ready" if ready else "not ready", **checks}
        return web.Response(
            status=200 if ready else 503, text=json.dumps(body), content_type="application/json"
        )

    async def _database(self) -> str:
        """The database's state, asked at most once a second however many ask (an open port's readiness
        must not become a load on the database): "ok" or why not."""
        now = time.monotonic()
        if self._db_state is not None and now - self._db_state[0] < self.recheck_after:
            return self._db_state[1]
        check = self._db_check
        if check is None:  # the first to ask starts the check; the others wait for the same one
            check = self._db_check = asyncio.ensure_future(self._ping())
            check.add_done_callback(self._checked)
        return await asyncio.shield(check)

    def _checked(self, check: asyncio.Future[str]) -> None:
        self._db_check = None

    async def _ping(self) -> str:
        try:
            await asyncio.wait_for(self.core.ping_database(), CHECK_WITHIN)
            state = "ok"
        except Exception as exc:  # any failure means not ready; say which
            log.warning("readiness: the database did not answer: %r", exc)
            state = f"unreachable ({type(exc).__name__})"
        self._db_state = (time.monotonic(), state)
        return state

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
