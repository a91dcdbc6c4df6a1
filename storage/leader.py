"""Who runs the scheduler: a PostgreSQL advisory lock elects one leader among many processes; on SQLite a
lock file next to the database refuses a second scheduler outright, since SQLite is for one process."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# The advisory lock's key: any fixed 64-bit number that no other application on the server uses.
ADVISORY_KEY = 0x5354_5544_5942_4F54  # "STUDYBOT"


class PostgresLeaderLock:
    """A session-level advisory lock held on a dedicated connection: it goes when the process does."""

    exclusive = False  # others wait and take over

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        conn = await self.engine.connect()
        try:
            got = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            ).scalar()
            await conn.commit()  # the lock is the session's, so it outlives the transaction
        except BaseException:
            await conn.close()
            raise
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    async def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except (DBAPIError, OSError):
            log.warning("lost the connection that holds the scheduler lock")
            await self._drop()
            return False

    async def release(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(DBAPIError, OSError):
            await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            await self._conn.commit()
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(DBAPIError, OSError):
                await conn.close()


class SqliteFileLock:
    """An exclusive lock on `<database>.scheduler.lock`; the OS frees it when the process dies."""

    exclusive = True  # a second scheduler is refused, not queued

    def __init__(self, database: str) -> None:
        self.path = Path(f"{database}.scheduler.lock")
        self._file: IO[str] | None = None

    async def try_acquire(self) -> bool:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    async def still_held(self) -> bool:
        return self._file is not None

    async def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
