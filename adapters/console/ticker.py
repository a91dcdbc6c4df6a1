"""Scheduled work on the console's clock: the scheduler's sweep, each minute the console clock enters.

`studybot run` arms APScheduler on the real clock; the console's clock is real time moved by `:clock`,
which APScheduler cannot follow (it reads the system clock and sleeps until the next job). So the console
looks at its own clock every second and, whenever that clock has entered a new minute, runs the sweep
the scheduler runs every minute (jobs/posting.py, Poster.sweep): the day's posts that are due (each cohort's
weekly recap before them), re-sends, and streak reminders. Post and reminder times are whole minutes, so
this is what the scheduler's own jobs would have done, at most a second later.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.kernel.ports import Clock
from bot.kernel.types import Sweep

log = logging.getLogger(__name__)

# Real seconds between looks at the console clock: posts and reminders fall due on whole minutes.
TICK_SECONDS = 1.0


class ConsoleTicker:
    """Runs the sweep whenever the console clock has entered a minute not swept yet."""

    def __init__(
        self,
        sweep: Callable[[], Awaitable[Sweep]],
        clock: Clock,
        lock: asyncio.Lock,
        *,
        every: float = TICK_SECONDS,
    ) -> None:
        self._sweep = sweep
        self.clock = clock
        # Shared with the session's commands: a sweep runs between commands, never in the middle of one.
        self.lock = lock
        self.every = every
        self._swept: dt.datetime | None = None

    async def sweep_now(self) -> Sweep:
        """Sweep at once (at start, after a `:clock` jump, for `:post`); the caller holds the lock."""
        self._swept = self._minute()
        return await self._sweep()

    async def tick(self) -> Sweep | None:
        """Sweep if the clock has entered a minute not swept yet (time passed, or `:clock` moved it)."""
        async with self.lock:
            if self._minute() == self._swept:
                return None
            return await self.sweep_now()

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.tick()
            except Exception:
                # The sweep logs its own failures; this is a bug around it, and the next tick tries again.
                log.exception("the console's scheduled sweep failed")

    def _minute(self) -> dt.datetime:
        return self.clock.now().replace(second=0, microsecond=0)
