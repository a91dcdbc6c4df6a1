"""SqlStore: kernel.ports.Store on SQLAlchemy's async engine, one class per area; returns kernel types."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from bot.kernel.ports import Store
from bot.kernel.types import Tally
from storage.activity import SqlActivity
from storage.cohorts import SqlCohorts
from storage.engine import POOL_SIZE, is_sqlite, make_engine, upgrade
from storage.learning import SqlLearning
from storage.links import SqlLinks
from storage.members import SqlMembers
from storage.notices import SqlNotices
from storage.peer_reviews import SqlPeerReviews
from storage.pods import SqlPods
from storage.posts import SqlPosts
from storage.sqlite_io import GroupWriter
from storage.submissions import SqlSubmissions


class SqlStore(
    SqlMembers,
    SqlCohorts,
    SqlPosts,
    SqlActivity,
    SqlLearning,
    SqlNotices,
    SqlSubmissions,
    SqlPeerReviews,
    SqlPods,
    SqlLinks,
):
    """The Store on SQLite or PostgreSQL; every public method is one committed transaction."""

    @property
    def group_writer(self) -> GroupWriter | None:
        """SQLite's writer thread (its batch counts show how writes were grouped); None on PostgreSQL."""
        return self._writer

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = POOL_SIZE, **connect_args: Any) -> SqlStore:
        """A store on the database at `url`; `pool_size` connections on PostgreSQL (SQLite ignores it)."""
        engine = make_engine(url, pool_size=pool_size, **connect_args)
        return cls(engine, pool_size=pool_size, connect_args=connect_args)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(str(self.engine.url))

    async def migrate(self) -> None:
        await upgrade(self.engine)

    def write_stats(self) -> tuple[int, int, int] | None:
        w = self._writer
        return None if w is None else (w.batches, w.operations, w.queued())

    def write_latency(self) -> Tally:
        return self.write_seconds

    async def ping(self) -> None:
        await self._query(lambda conn: conn.exec_driver_sql("SELECT 1").all())
        if not self._sqlite:  # the pool members' commands run on, too
            pool = await self._open_driver_pool()
            if pool.get_size() >= pool.get_max_size() and pool.get_idle_size() == 0:
                return  # every connection at work (a burst): busy, not down; waiting would say "down"
            await self._on_driver(lambda conn: conn.fetchval("SELECT 1"))

    async def close(self) -> None:
        if self._writer is not None and self._readers is not None:
            await asyncio.to_thread(self._writer.close)
            await asyncio.to_thread(self._readers.close)
            self._sync.dispose()
        await self._close_driver_pool()
        await self.engine.dispose()


if TYPE_CHECKING:

    def _implements_the_store(store: SqlStore) -> Store:
        """Where mypy checks that SqlStore has every method of Store, with the same signatures."""
        return store
