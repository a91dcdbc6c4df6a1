"""The composition root: settings -> store -> catalog -> core. The one place in bot/ that imports storage."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bot.catalog.content import ContentError, builtin_content_dir, load_catalog_keeping_good, problem_report
from bot.catalog.model import Catalog
from bot.composition.commands import command_registry
from bot.composition.settings import SettingError, Settings
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.jobs.scheduler import StudyScheduler
from bot.kernel.clock import SystemClock
from bot.kernel.ports import ChatPlatform, Clock, Store
from storage.engine import POOL_SIZE, database_problem, url_problem
from storage.sql_store import SqlStore

log = logging.getLogger(__name__)


class PlatformUnreachable(Exception):
    """A chat platform could not be reached at start (no network, a wrong API URL, a port in use)."""

    def __init__(self, platform: str, error: OSError) -> None:
        super().__init__(f"{platform}: {error}")
        self.platform = platform
        self.error = error


def load_content(packs: Sequence[Path]) -> Catalog:
    """The built-in pack plus every valid community pack; each pack with problems is refused and logged.

    Raises ContentError when the built-in pack itself has problems.
    """
    catalog, refused = load_catalog_keeping_good(packs)
    for pack, problems in refused.items():
        log.error("content pack %s refused; serving the other packs. %s", pack, _reasons(problems))
    return catalog


def _reasons(problems: Sequence[str]) -> str:
    return f"{len(problems)} problem(s):\n" + problem_report(problems, "  ")


class ContentReloader:
    """Re-reads the content packs while the bot runs (SIGHUP, the console's `:reload`), one at a time.

    All or nothing: when any pack has problems the reasons are logged and the core keeps the content it
    serves (the last good content); otherwise the core switches to the new content in one step.
    """

    def __init__(self, core: Core, packs: Sequence[Path]) -> None:
        self.core = core
        self.packs = list(packs)
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[dict[Path, list[str]]]] = set()

    async def reload(self) -> dict[Path, list[str]]:
        """Reload; return the problems of each pack that stopped it (empty: the new content is served)."""
        async with self._lock:
            try:
                # Reading YAML and building the indexes takes about a second: not on the event loop.
                catalog, refused = await asyncio.to_thread(self._load)
            except ContentError as exc:
                refused = {builtin_content_dir(): exc.problems}
            except Exception:
                log.exception("content reload failed; still serving the content loaded before")
                raise
            if refused:
                for pack, problems in refused.items():
                    log.error(
                        "content reload refused: pack %s has problems; still serving the content loaded "
                        "before. %s",
                        pack,
                        _reasons(problems),
                    )
                return refused
            self.core.use_catalog(catalog)
            if gc.get_freeze_count():
                # The old catalog and its indexes (a reference cycle) were frozen at start-up, where the
                # collector never looks: unfreeze so it can free them, then settle the new content.
                gc.unfreeze()
                settle_memory()
            log.info(
                "content reloaded: %d stages, %d resources, %d challenges",
                len(catalog.stages),
                len(catalog.resources),
                len(catalog.challenges),
            )
            return {}

    def reload_soon(self) -> None:
        """Start a reload in the background (from a signal handler)."""
        task = asyncio.get_running_loop().create_task(self.reload())
        self._tasks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[dict[Path, list[str]]]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # already logged by reload(); retrieving it keeps asyncio from logging it again

    def _load(self) -> tuple[Catalog, dict[Path, list[str]]]:
        catalog, refused = load_catalog_keeping_good(self.packs)
        if not refused:
            Core.build_indexes(catalog)  # here, in the worker thread: the catalog is not shared yet
        return catalog, refused


# Warnings libraries log that no one running studybot can act on, by logger: discord.py's about voice
# (studybot never joins a voice channel), and slack-bolt's about SLACK_BOT_TOKEN, which it reads from the
# environment by itself while studybot hands it a client made with that very token.
UNACTIONABLE_WARNINGS = {
    "discord.client": ("voice will NOT be supported",),
    "slack_bolt.AsyncApp": ("`token` will be unused",),
}


class _DropUnactionable(logging.Filter):
    def __init__(self, fragments: Sequence[str]) -> None:
        super().__init__()
        self.fragments = tuple(fragments)

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(fragment in str(record.msg) for fragment in self.fragments)


def quiet_unactionable_warnings() -> None:
    """Keep the warnings in UNACTIONABLE_WARNINGS out of the log (once per process)."""
    for name, fragments in UNACTIONABLE_WARNINGS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropUnactionable) for f in logger.filters):
            logger.addFilter(_DropUnactionable(fragments))


async def open_store(
    url: str, *, setting: str = "STUDYBOT_DATABASE_URL", pool_size: int = POOL_SIZE
) -> SqlStore:
    """Open the database at `url` and migrate it to the latest schema.

    A URL studybot cannot use, or a database it cannot reach, raises SettingError naming `setting` (the
    variable or option the URL came from) and saying what to do; the error it met is its cause.
    """
    problem = url_problem(url)
    if problem:
        raise SettingError(f"{setting} {problem}.")
    store = SqlStore.from_url(url, pool_size=pool_size)
    try:
        await store.migrate()
    except Exception as exc:
        await store.close()
        problem = database_problem(exc, url)
        if problem:
            raise SettingError(f"{setting} {problem}.") from exc
        raise
    return store


async def build_core(settings: Settings, database_url: str | None = None, clock: Clock | None = None) -> Core:
    """Load the content, open the database (migrating it to the latest schema), and build the core.

    `database_url` (the console's --db) overrides STUDYBOT_DATABASE_URL.
    """
    catalog = load_content(settings.community_packs())
    store = await open_store(
        database_url or settings.database_url,
        setting="--db" if database_url else "STUDYBOT_DATABASE_URL",
        pool_size=settings.db_pool_size,
    )
    core = make_core(store, catalog, clock or SystemClock())
    if settings.github_checks:
        from adapters.github.verifier import GitHubVerifier

        token = settings.github_token.get_secret_value() or None
        core.verifier = GitHubVerifier(token=token, base_url=settings.github_api_url)
    return core


async def close_core(core: Core) -> None:
    """Close what the core holds open: the link checker's HTTP session, then the database."""
    if core.verifier is not None:
        try:
            await core.verifier.close()
        except Exception:
            log.exception("closing the link checker failed")
    await core.store.close()


def make_core(store: Store, catalog: Catalog, clock: Clock, *, rate_limit: bool = True) -> Core:
    """A core that serves every feature's commands (tests and benchmarks build theirs here too)."""
    core = Core(store, catalog, clock, command_registry(), rate_limit=rate_limit)
    core.stopwatch = time.perf_counter  # how long commands take, for the metrics
    return core


def settle_memory() -> None:
    """Move everything built at start-up out of the garbage collector's way.

    A full collection walks every live object; with the catalog, indexes and ORM metadata that took over
    100 ms in the fan-out benchmark, stalling the event loop. Objects frozen after start-up are skipped.
    `studybot run` starts with the collector off (start-up makes few cycles, and collecting while imports
    and the catalog grow cost half a second); it is switched back on here.
    """
    gc.collect()
    gc.freeze()
    gc.enable()


async def serve(
    core: Core,
    platforms: Mapping[str, ChatPlatform],
    stop: asyncio.Event,
    scheduler: StudyScheduler | None = None,
) -> None:
    """Run the platforms and the scheduler until `stop` is set, then shut down in order.

    When something fails to start (a refused token, another process holding SQLite's scheduler lock), what
    had started is shut down, the failing platform included (its connections), and the error goes on; a
    platform that cannot be reached at all (no network, a wrong API URL) raises PlatformUnreachable.
    """
    started: list[ChatPlatform] = []
    scheduler = scheduler or StudyScheduler(core, platforms)
    scheduler_started = False
    try:
        for name, platform in platforms.items():
            started.append(platform)
            try:
                await platform.start()
            except OSError as exc:  # aiohttp's connection errors and timeouts are OSErrors
                raise PlatformUnreachable(name, exc) from exc
        await scheduler.start()
        scheduler_started = True
        settle_memory()
        await stop.wait()
    finally:
        if scheduler_started:
            await scheduler.stop()
        for platform in reversed(started):
            try:
                await platform.close()
            except Exception:
                log.exception("closing %s failed", type(platform).__name__)
        await close_core(core)


def console_jobs(core: Core) -> Callable[[ChatPlatform], Poster]:
    """What a console session sweeps on its own clock: the daily posts to its terminal."""
    from adapters.console.session import PLATFORM  # the console's modules load with the console only

    # The Poster also becomes the core's DailyPoster, so a moderator's `cohort post` prints here too.
    return lambda platform: Poster(core, {PLATFORM: platform})
