"""The scheduler: one APScheduler job per active cohort at its local post time, plus a sweep every minute.

The only module that imports apscheduler. APScheduler alone does not give exactly-once posting (it skips a
job that is later than its grace time and would run jobs twice if processes shared a job store), so here it
only says *when* to look: each job and each sweep goes through the claim in bot.jobs.posting, and only the
process holding the leader lock runs jobs at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.dispatch.core import Core
from bot.jobs.posting import RESEND_AFTER, Poster
from bot.kernel.ports import ChatPlatform, LeaderLock
from bot.kernel.types import Cohort, Sweep
from bot.rules.schedule import next_post

log = logging.getLogger(__name__)

SWEEP_EVERY = dt.timedelta(minutes=1)
# When thousands of cohorts fall due in the same minute, their jobs queue here instead of all starting at
# once: the database takes one write at a time anyway, and thousands of ready tasks would stall the loop.
CONCURRENT_JOBS = 32
# How often a standby process tries to become the leader, and the leader checks it still is.
LEADER_CHECK_EVERY = dt.timedelta(seconds=15)


class SchedulerRefused(RuntimeError):
    """Another process already runs the scheduler on this SQLite database."""


class StudyScheduler:
    """Runs the daily posts of every cohort while this process holds the leader lock."""

    def __init__(
        self,
        core: Core,
        platforms: Mapping[str, ChatPlatform],
        *,
        sweep_every: dt.timedelta = SWEEP_EVERY,
        leader_check_every: dt.timedelta = LEADER_CHECK_EVERY,
        resend_after: dt.timedelta = RESEND_AFTER,
    ) -> None:
        self.core = core
        self.poster = Poster(core, platforms, resend_after)
        self.sweep_every = sweep_every
        self.leader_check_every = leader_check_every
        self.leading = False
        self._lock: LeaderLock = core.posts.scheduler_lock()
        self._aps = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},
            # No grace limit and no pile-up: lateness is judged by each cohort's catch-up window instead.
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=dt.UTC,
        )
        self._standby: asyncio.Task[None] | None = None
        self._limit = asyncio.Semaphore(CONCURRENT_JOBS)
        # Jobs handed to the executor and not finished yet, counted from APScheduler's own events.
        self._outstanding = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._aps.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        self._aps.add_listener(self._finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        core.cohort_listeners.append(self.cohort_changed)

    def _submitted(self, _: JobEvent) -> None:
        self._outstanding += 1
        self._quiet.clear()

    def _finished(self, _: JobEvent) -> None:
        self._outstanding -= 1
        if self._outstanding <= 0:
            self._quiet.set()

    async def start(self) -> None:
        """Lead now if the lock is free; on PostgreSQL otherwise wait to take over, on SQLite refuse."""
        if await self._lock.try_acquire():
            await self._lead()
            return
        if self._lock.exclusive:
            raise SchedulerRefused(
                "another studybot process is already running the scheduler on this SQLite database. "
                "SQLite is for one process: stop the other one, or use PostgreSQL "
                "(STUDYBOT_DATABASE_URL) to run several."
            )
        log.info("another process leads the scheduler; standing by to take over")
        self._standby = asyncio.create_task(self._wait_to_lead())

    async def stop(self) -> None:
        if self._standby is not None:
            self._standby.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._standby
        self._step_down()
        await self.idle()
        await self._lock.release()

    async def _wait_to_lead(self) -> None:
        while True:
            await asyncio.sleep(self.leader_check_every.total_seconds())
            try:
                if await self._lock.try_acquire():
                    log.info("took over as the scheduler's leader")
                    await self._lead()
                    return
            except Exception:
                # The database may be restarting; keep trying, a standby that gives up is no standby.
                log.exception("could not try for the scheduler lock; trying again")

    async def _lead(self) -> None:
        for cohort in await self.core.cohorts.list_cohorts():
            self._schedule(cohort)
        now = self.core.clock.now()
        for name, every in (("sweep", self.sweep_every), ("leader", self.leader_check_every)):
            trigger = IntervalTrigger(seconds=every.total_seconds(), start_date=now + every)
            self._aps.add_job(self._track, trigger, args=[name], id=name, replace_existing=True)
        if not self._aps.running:
            self._aps.start()
        elif self._aps.state == STATE_PAUSED:
            self._aps.resume()
        self.leading = True  # only now: jobs may run, and wakeups have a running scheduler to wake
        await self._track("sweep")  # catch up on what was missed while no process led

    def _step_down(self) -> None:
        self.leading = False
        if self._aps.running:
            self._aps.remove_all_jobs()
            self._aps.pause()

    def _schedule(self, cohort: Cohort) -> None:
        """Put the cohort's job at its next post time (computed by bot.rules.schedule, which gets DST right).

        A date trigger re-armed after every run, rather than a cron trigger: APScheduler 3's CronTrigger
        skipped the Monday after the US spring change for a cohort posting at 00:00 in New York.
        """
        job_id = f"cohort-{cohort.id}"
        try:
            at = next_post(cohort, self.core.clock.now())
            if at is None:
                with contextlib.suppress(JobLookupError):
                    self._aps.remove_job(job_id)
                return
            # replace_existing rather than looking the job up first: before the scheduler starts, a lookup
            # walks every job added so far, which made arming 1,000 cohorts quadratic.
            self._aps.add_job(
                self._track,
                DateTrigger(run_date=at),
                args=["post", cohort.id],
                id=job_id,
                replace_existing=True,
            )
        except Exception:
            # Each cohort is armed alone: one bad row is logged and skipped, every other cohort still posts
            # (and the process still starts; the sweep keeps trying this one every minute).
            log.exception("could not schedule cohort %s (id %s); skipping it", cohort.name, cohort.id)

    async def cohort_changed(self, cohort: Cohort) -> None:
        """A moderator created, changed, paused or resumed a cohort: move its job."""
        if self.leading:
            self._schedule(cohort)

    async def _track(self, what: str, cohort_id: int | None = None) -> None:
        """Every job runs through here, so none dies silently and only so many post at once."""
        try:
            async with self._limit:
                await self._job(what, cohort_id)
        except Exception:
            log.exception("scheduled %s job failed", what)

    async def _job(self, what: str, cohort_id: int | None) -> None:
        if what == "sweep":
            await self.sweep()
        elif what == "leader":
            if not await self._lock.still_held():
                log.warning("lost the scheduler lock; standing by")
                self._step_down()
                self._standby = asyncio.create_task(self._wait_to_lead())
        elif what == "post" and cohort_id is not None:
            cohort = await self.core.cohorts.get_cohort(cohort_id)
            if cohort is not None and self.leading:
                await self.poster.post_if_due(cohort)
                self._schedule(cohort)

    async def sweep(self) -> Sweep:
        if not self.leading:
            return Sweep()
        return await self.poster.sweep()

    def next_wakeup(self) -> dt.datetime | None:
        """The earliest instant any job is due (for tests and the fan-out benchmark)."""
        times = [job.next_run_time for job in self._aps.get_jobs() if job.next_run_time]
        return min(times).astimezone(dt.UTC) if times else None

    def wakeup(self) -> None:
        """Run whatever is due now (APScheduler also does this on its own timer)."""
        if self.leading:
            self._aps.wakeup()

    async def idle(self) -> None:
        """Wait until every job handed out so far has finished (wakeups run on the next loop turn)."""
        await asyncio.sleep(0)
        await self._quiet.wait()
