"""The composition root: settings -> store -> catalog -> core. The one place in bot/ that imports storage."""

from __future__ import annotations

import logging

from bot.clock import SystemClock
from bot.content import load_catalog
from bot.core import Core
from bot.ports import Clock
from storage.store import SqlStore

log = logging.getLogger(__name__)


async def build_core(database_url: str, clock: Clock | None = None) -> Core:
    """Open the database (migrating it to the latest schema), load the content, and build the core."""
    store = SqlStore.from_url(database_url)
    await store.migrate()
    return Core(store, load_catalog(), clock or SystemClock())
