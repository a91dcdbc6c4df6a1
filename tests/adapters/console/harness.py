"""A console session in the test process: demo data on a SQLite file, the real time from a fake clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from adapters.console.clock import ConsoleClock
from adapters.console.session import CONVERSATION, ConsoleSession
from bot.catalog.model import Catalog
from bot.composition.app import console_jobs, make_core
from bot.composition.demo import seed_demo
from bot.kernel.clock import FakeClock
from storage.sql_store import SqlStore

# A Wednesday morning; the demo's history is the three weeks before it.
START = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
# Real seconds between the ticker's looks at the clock: short, so a test waits milliseconds, not seconds.
FAST_TICK = 0.01


@dataclass
class Console:
    session: ConsoleSession
    real: FakeClock  # the real time the console clock runs on: advance it to let time pass
    out: io.StringIO

    async def type(self, line: str) -> str:
        """Handle one typed line; return what it printed."""
        start = len(self.out.getvalue())
        await self.session.handle(line)
        return self.out.getvalue()[start:]


@contextlib.asynccontextmanager
async def demo_console(
    tmp_path: Path, catalog: Catalog, user: str = "sam", start: dt.datetime = START
) -> AsyncIterator[Console]:
    """A started console on a new database with the demo data, as `studybot console` starts."""
    real = FakeClock(start)
    clock = ConsoleClock(real.now)
    store = SqlStore.from_url(f"sqlite+aiosqlite:///{tmp_path}/console.db")
    await store.migrate()
    try:
        core = make_core(store, catalog, clock)
        out = io.StringIO()
        session = ConsoleSession(
            core,
            clock,
            user,
            out,
            interactive=False,
            files_dir=tmp_path / "files",
            tick_every=FAST_TICK,
            jobs=console_jobs(core),
        )
        await seed_demo(core, CONVERSATION, session.user)
        await session.start()
        yield Console(session, real, out)
    finally:
        await store.close()
