"""What a handler gets: the caller, where they are, and the core's services (storage by area, the catalog,
the clock, the registry)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from bot.catalog.model import Catalog
from bot.catalog.search import ResourceSearch
from bot.catalog.suggest import Suggester
from bot.dispatch.ratelimit import LINK_CHECK_WINDOW, LINK_CHECKS, RateLimiter
from bot.dispatch.workload import WorkspaceGate
from bot.kernel.clock import local_date
from bot.kernel.ports import (
    ActivityStore,
    Clock,
    CohortStore,
    DailyPoster,
    EvidenceVerifier,
    LearningStore,
    LinkStore,
    MemberStore,
    NoticeStore,
    PeerReviewStore,
    PodStore,
    PostStore,
    Store,
    SubmissionStore,
    Telemetry,
)
from bot.kernel.registry import Registry, UserError
from bot.kernel.types import Activity, ActivityKind, Cohort, ConversationRef, Member, Post, Tally, UserRef
from bot.rules.calendar import Calendar
from bot.rules.dayguard import hop_problem
from bot.rules.points import POINTS_CHECKIN


class NoTelemetry:
    """Telemetry that keeps nothing: the core's until an operator's metrics are switched on."""

    def command(self, name: str, outcome: str, seconds: float) -> None:
        pass

    def post(self, result: str) -> None:
        pass

    def reminders(self, sent: int) -> None:
        pass

    def rate_limited(self, platform: str, seconds: float) -> None:
        pass


class Services:
    """The core's services a handler may use: storage by area, the catalog and its indexes, the clock."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        clock: Clock,
        registry: Registry,
        *,
        rate_limit: bool = True,
    ) -> None:
        # The whole store, for the composition root and tests; the core's own code, the features and the jobs
        # use the area they need (the properties below), each typed by its port.
        self.store = store
        self.catalog = catalog
        self.clock = clock
        self.registry = registry
        # The spam limit per member; rate_limit=False leaves it off, for tests that flood the core on purpose.
        self.limiter: RateLimiter | None = RateLimiter() if rate_limit else None
        # Called after a moderator creates or changes a cohort (the scheduler moves its job).
        self.cohort_listeners: list[Callable[[Cohort], Awaitable[None]]] = []
        # What sends a moderator's `cohort post`: the jobs' Poster, once the composition root made one.
        self.poster: DailyPoster | None = None
        self.search, self._suggester = self.build_indexes(catalog)
        # What checks a submitted link with GitHub; None leaves every submission unverified.
        self.verifier: EvidenceVerifier | None = None
        # GitHub answers 60 unauthenticated requests an hour per address: one member may not spend them all.
        self.link_checks = RateLimiter(LINK_CHECKS, LINK_CHECK_WINDOW)
        # Heavy commands (search, images, exports) one workspace may have running at once.
        self.heavy = WorkspaceGate()
        # Where commands, posts and reminders are counted (adapters/ops, with STUDYBOT_HTTP_PORT).
        self.telemetry: Telemetry = NoTelemetry()
        # Seconds on a monotonic counter, to time commands for the telemetry: the composition root gives
        # time.perf_counter (the core reads no time of its own).
        self.stopwatch: Callable[[], float] = lambda: 0.0
        # Commands the core is working on now, and those an adapter took in that wait for their turn (each
        # adapter works on a bounded number at once): under a burst, the queue an operator watches.
        self.in_flight = 0
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def turn(self, places: asyncio.Semaphore) -> AsyncIterator[None]:
        """Hold one of an adapter's `places` (its bound on commands at once), counted in `waiting` until it
        is had."""
        self.waiting += 1
        try:
            await places.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            places.release()

    @property
    def members(self) -> MemberStore:
        return self.store

    @property
    def cohorts(self) -> CohortStore:
        return self.store

    @property
    def posts(self) -> PostStore:
        return self.store

    @property
    def activity(self) -> ActivityStore:
        return self.store

    @property
    def learning(self) -> LearningStore:
        return self.store

    @property
    def notices(self) -> NoticeStore:
        return self.store

    @property
    def submissions(self) -> SubmissionStore:
        return self.store

    @property
    def peer_reviews(self) -> PeerReviewStore:
        return self.store

    @property
    def pods(self) -> PodStore:
        return self.store

    @property
    def links(self) -> LinkStore:
        return self.store

    async def ping_database(self) -> None:
        """Reach the database once, for /readyz; raise when it cannot be reached."""
        await self.store.ping()

    def write_stats(self) -> tuple[int, int, int] | None:
        """SQLite's writes so far (batches, writes, waiting), for /metrics; None on PostgreSQL."""
        return self.store.write_stats()

    def write_latency(self) -> Tally:
        """How long the database's writes took so far, for /metrics."""
        return self.store.write_latency()

    async def cohort_changed(self, cohort: Cohort) -> None:
        for listener in self.cohort_listeners:
            await listener(cohort)

    def use_catalog(self, catalog: Catalog) -> None:
        """Serve `catalog` from now on: the content and the indexes built from it change together.

        The indexes are built first (cached on the catalog: a caller may call `build_indexes` beforehand in
        a worker thread), then the three attributes are set with no await in between: no command can run
        while some are old and some new.
        """
        search, suggester = self.build_indexes(catalog)
        self.catalog, self.search, self._suggester = catalog, search, suggester

    @staticmethod
    def build_indexes(catalog: Catalog) -> tuple[ResourceSearch, Suggester]:
        """The indexes the core serves from `catalog`, built the first time (they are cached on it)."""
        return catalog.index("search", ResourceSearch), catalog.index("suggest", Suggester)


@dataclass
class Context:
    core: Services
    user: UserRef
    conversation: ConversationRef
    member: Member

    @property
    def now(self) -> dt.datetime:
        return self.core.clock.now()

    def member_timezone(self, cohort: Cohort, member: Member | None = None) -> str:
        """The timezone that decides a member's day: their own, else the cohort's."""
        who = member or self.member
        return who.timezone or cohort.timezone

    def member_today(self, cohort: Cohort, member: Member | None = None) -> dt.date:
        return local_date(self.now, self.member_timezone(cohort, member))

    def calendar(self, cohort: Cohort, member: Member | None = None) -> Calendar:
        """The posting days that decide a member's streak in the cohort: its calendar less their breaks."""
        return Calendar.of(cohort, (member or self.member).breaks)

    def check_in(self, cohort: Cohort, day: dt.date, post: Post | None, note: str) -> Activity:
        """The caller's check-in for `day` (on the day's post, when there is one), to record."""
        return Activity(
            member_id=self.member.id,
            cohort_id=cohort.id,
            local_date=day,
            kind=ActivityKind.CHECKIN,
            points=POINTS_CHECKIN,
            post_id=post.id if post else None,
            note=note,
            at=self.now,
            learner_id=self.member.learner_id,
        )

    def in_this_workspace(self, cohort: Cohort) -> bool:
        """Whether `cohort` belongs to the caller's platform and workspace (ids from outside may not)."""
        conv = self.conversation
        return (cohort.platform, cohort.workspace_id) == (conv.platform, conv.workspace_id)

    async def activity_day(self, cohort: Cohort) -> dt.date:
        """The caller's local date for an activity now; refuse a new day bought by changing timezone.

        The cohort's timezone changes too (a moderator's `cohort set tz`), so every member is checked.
        """
        day = self.member_today(cohort)
        recent = await self.core.activity.activities(
            cohort.id, self.member.id, since=day - dt.timedelta(days=2)
        )
        problem = hop_problem(recent, day, self.now, self.member_timezone(cohort))
        if problem:
            raise UserError(problem)
        return day

    async def cohort_here(self) -> Cohort | None:
        """The cohort that lives in this channel, if any."""
        conv = self.conversation
        for cohort in await self.core.cohorts.list_cohorts(conv.platform, conv.workspace_id):
            if cohort.channel_id == conv.channel_id:
                return cohort
        return None

    async def named_cohort(self, name: str) -> Cohort:
        """The cohort of this workspace called `name` (a moderator's command names it)."""
        conv = self.conversation
        cohort = await self.core.cohorts.find_cohort(conv.platform, conv.workspace_id, name)
        if cohort is None:
            raise UserError(f"There is no cohort called `{name}` here. See them with `/study cohort list`.")
        return cohort

    async def my_cohort(self, name: str | None = None) -> Cohort:
        """The caller's cohort: the one named, else the one of this channel, else the latest joined."""
        # A member is one per platform, not per server: only this workspace's cohorts are theirs here.
        mine = [
            c for c in await self.core.cohorts.member_cohorts(self.member.id) if self.in_this_workspace(c)
        ]
        if name:
            for cohort in mine:
                if cohort.name.lower() == name.lower():
                    return cohort
            raise UserError(f"You are not in a cohort called `{name}`. {await self.join_hint(mine)}")
        if not mine:
            raise UserError(f"You have not joined a cohort yet. {await self.join_hint(mine)}")
        if len(mine) == 1:
            return mine[0]
        here = await self.cohort_here()
        if here and any(c.id == here.id for c in mine):
            return here
        return mine[0]

    async def join_hint(self, mine: list[Cohort]) -> str:
        if mine:
            return "Your cohorts: " + ", ".join(f"`{c.name}`" for c in mine) + "."
        conv = self.conversation
        names = [c.name for c in await self.core.cohorts.list_cohorts(conv.platform, conv.workspace_id)]
        if names:
            return "Join one with `/study join <cohort>`: " + ", ".join(f"`{n}`" for n in names) + "."
        return "There are no cohorts here yet; a moderator can start one with `/study cohort create <name>`."


async def is_moderator(members: MemberStore, user: UserRef, conversation: ConversationRef) -> bool:
    """Platform admins are moderators; so are members a moderator granted in this workspace."""
    if user.is_admin:
        return True
    return await members.is_moderator(conversation.platform, conversation.workspace_id, user.id)
