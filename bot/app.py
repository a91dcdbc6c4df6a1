"""The composition root: settings -> store -> catalog -> core. The one place in bot/ that imports storage."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Mapping

from bot.clock import SystemClock
from bot.content import load_catalog
from bot.core import Core
from bot.ports import ChatPlatform, Clock
from bot.scheduler import StudyScheduler
from bot.settings import Settings
from storage.store import SqlStore

log = logging.getLogger(__name__)


async def build_core(settings: Settings, database_url: str | None = None, clock: Clock | None = None) -> Core:
    """Load the content, open the database (migrating it to the latest schema), and build the core."""
    catalog = load_catalog(community=settings.community_packs())
    store = SqlStore.from_url(database_url or settings.database_url)
    await store.migrate()
    return Core(store, catalog, clock or SystemClock())


def settle_memory() -> None:
    """Move everything built at start-up out of the garbage collector's way.

    A full collection walks every live object; with the catalog, indexes and ORM metadata that took over
    100 ms in the fan-out benchmark, stalling the event loop. Objects frozen after start-up are skipped.
    """
    gc.collect()
    gc.freeze()


async def serve(
    core: Core,
    platforms: Mapping[str, ChatPlatform],
    stop: asyncio.Event,
    scheduler: StudyScheduler | None = None,
) -> None:
    """Run the platforms and the scheduler until `stop` is set, then shut down in order."""
    for platform in platforms.values():
        await platform.start()
    scheduler = scheduler or StudyScheduler(core, platforms)
    await scheduler.start()
    settle_memory()
    try:
        await stop.wait()
    finally:
        await scheduler.stop()
        for platform in platforms.values():
            await platform.close()
        await core.store.close()
