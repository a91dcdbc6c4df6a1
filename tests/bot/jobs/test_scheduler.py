"""The real scheduler driven by a fake clock: one post per cohort and scheduled day, never two, never none."""

from __future__ import annotations

import datetime as dt
import logging
import random
from zoneinfo import ZoneInfo

import pytest

from bot.composition.app import make_core
from bot.jobs.posting import UNDELIVERED, Poster
from bot.jobs.scheduler import SchedulerRefused, StudyScheduler
from bot.kernel.clock import FakeClock
from bot.kernel.ports import Undeliverable
from bot.kernel.registry import format_days
from bot.kernel.types import ConversationRef, Reply
from storage.sql_store import SqlStore
from tests.conftest import Bot
from tests.fakes.clock import drive_apscheduler
from tests.fakes.platform import RecordingPlatform

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    "Pacific/Auckland",
]
TIMES = ["01:30", "02:30", "02:10", "09:00", "07:45", "23:59", "00:00", "12:30"]
DAYS = ["daily", "mon-fri", "mon,wed,fri", "sat,sun", "tue-sat"]


class TimedPlatform(RecordingPlatform):
    """Records when each post was sent, by the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.at: list[dt.datetime] = []

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        self.at.append(self.clock.now())
        return await super().send(conversation, reply, key=key)


async def run_until(sched: StudyScheduler, clock: FakeClock, end: dt.datetime) -> None:
    """Jump the clock from one due job to the next, running each, until `end`."""
    while (nxt := sched.next_wakeup()) is not None and nxt <= end:
        clock.set(max(nxt, clock.now()))
        sched.wakeup()
        await sched.idle()
    clock.set(end)
    sched.wakeup()
    await sched.idle()


async def test_fifty_cohorts_sixty_days_one_post_per_scheduled_day(
    sqlite_store: SqlStore,
    catalog,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    start = dt.datetime(2026, 2, 20, 0, 0, tzinfo=dt.UTC)  # spans US, EU and Lord Howe/Auckland changes
    end = start + dt.timedelta(days=60)
    clock = FakeClock(start)
    drive_apscheduler(monkeypatch, clock.now)
    core = make_core(sqlite_store, catalog, clock, rate_limit=False)  # Mia creates 50 cohorts in one instant
    bot = Bot(core, clock, admins={"Mia"})
    rng = random.Random(60)
    for i in range(50):
        where = ConversationRef("console", "ws", f"room{i}")
        days, tz, at = rng.choice(DAYS), ZONES[i % len(ZONES)], rng.choice(TIMES)
        reply = await bot.say(
            "Mia", f"cohort create c{i} time={at} tz={tz} days={days} start=2026-02-20", where
        )
        assert not reply.error, reply.text
    platform = TimedPlatform(clock)
    every = dt.timedelta(hours=6)  # backstops only: each post comes from its own job
    sched = StudyScheduler(core, {"console": platform}, sweep_every=every, leader_check_every=every)
    await sched.start()
    pause_from, pause_to = start + dt.timedelta(days=20), start + dt.timedelta(days=25)
    await run_until(sched, clock, pause_from)
    await bot.say("Mia", "cohort pause c0", ConversationRef("console", "ws", "room0"))
    await run_until(sched, clock, pause_to)
    await bot.say("Mia", "cohort resume c0", ConversationRef("console", "ws", "room0"))
    moved_at = clock.now()
    await bot.say("Mia", "cohort set c1 time 06:15", ConversationRef("console", "ws", "room1"))
    await run_until(sched, clock, end)
    await sched.stop()

    cohorts = {c.name: c for c in await core.store.list_cohorts()}
    posts = {(p.cohort_id, p.local_date): p for p in await core.store.posts_since(dt.date(2026, 1, 1))}
    assert len(platform.sent) == len(posts)  # never two sends for one post
    assert all(p.message_id for p in posts.values())
    sent_at = {int(k.rsplit("-", 1)[1]): t for k, t in zip(platform.keys, platform.at, strict=True)}  # type: ignore[union-attr]
    for name, c in cohorts.items():
        tz = ZoneInfo(c.timezone)
        first = start.astimezone(tz).date()
        last = (end - dt.timedelta(minutes=1)).astimezone(tz).date()
        day = first
        while day <= last:
            scheduled = day.weekday() in c.weekdays and day >= c.start_date
            due = dt.datetime.combine(day, c.post_time, tzinfo=tz).astimezone(dt.UTC)
            # c0 was paused in between; a day that fell due just before the resume may be caught up, or not.
            paused = name == "c0" and pause_from <= due < pause_to - dt.timedelta(hours=7)
            unsure = name == "c0" and pause_to - dt.timedelta(hours=7) <= due < pause_to
            post = posts.get((c.id, day))
            if scheduled and not paused and not unsure and start < due < end:
                assert post is not None, (
                    f"{name} ({c.timezone} {c.post_time} {format_days(c.weekdays)}) missed {day}"
                )
                local = sent_at[post.id].astimezone(tz)
                if name == "c1":  # its time moved midway; checked below
                    day += dt.timedelta(days=1)
                    continue
                # On time: at the post time, or at the first valid time after a skipped one.
                assert local.date() == day and local.time() >= c.post_time, (name, day, local)
                assert local - due.astimezone(tz) < dt.timedelta(hours=1), (name, day, local)
            elif paused or not scheduled:
                assert post is None, f"{name} posted on {day} ({'paused' if paused else 'not a posting day'})"
            day += dt.timedelta(days=1)
    c1 = cohorts["c1"]
    moved = [
        sent_at[p.id].astimezone(ZoneInfo(c1.timezone))
        for (cid, d), p in posts.items()
        if cid == c1.id and sent_at[p.id] > moved_at + dt.timedelta(days=1)
    ]
    assert moved and all(t.time().replace(second=0, microsecond=0) == dt.time(6, 15) for t in moved)


async def test_after_three_hours_down_the_missed_post_goes_out_at_start_after_eight_it_is_skipped(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    drive_apscheduler(monkeypatch, bot.clock.now)
    await bot.say("Mia", "cohort create early time=09:00 tz=Europe/Berlin days=daily start=2026-11-01")
    platform = RecordingPlatform()
    bot.clock.set(dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC))  # 12:00 in Berlin: 3 hours late
    sched = StudyScheduler(bot.core, {"console": platform})
    await sched.start()
    await sched.idle()
    assert len(platform.sent) == 1
    await sched.stop()
    bot.clock.set(dt.datetime(2026, 11, 25, 16, 0, tzinfo=dt.UTC))  # 17:00 the next day: 8 hours late
    with caplog.at_level(logging.WARNING, logger="bot.jobs.posting"):
        again = StudyScheduler(bot.core, {"console": platform})
        await again.start()
        await again.idle()
        await again.stop()
    assert len(platform.sent) == 1
    assert "skipped the 2026-11-25 post of cohort early" in caplog.text and "catch-up window" in caplog.text


async def test_a_claim_that_never_got_sent_is_resent_once_with_the_same_key(bot: Bot) -> None:
    await bot.say("Mia", "cohort create crashy time=09:00 tz=UTC days=daily start=2026-11-01")
    cohort = (await bot.core.store.list_cohorts())[0]
    bot.clock.set(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    claim = await bot.core.store.claim_post(
        cohort.id, dt.date(2026, 11, 24), "role-what-mles-do-1", bot.clock.now()
    )
    assert claim is not None  # a process claimed the day and died before sending
    assert await bot.post() == []  # too fresh to tell from a slow send
    bot.clock.advance(dt.timedelta(minutes=3))
    assert len(await bot.post()) == 1
    assert bot.platform.keys == [f"studybot-post-{claim.id}"]
    assert (await bot.core.store.get_post(claim.id)).message_id == "msg-1"  # type: ignore[union-attr]
    assert await bot.post() == []


async def test_a_second_scheduler_on_the_same_sqlite_file_is_refused(
    sqlite_store: SqlStore,
    catalog,  # type: ignore[no-untyped-def]
) -> None:
    clock = FakeClock(dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    first = StudyScheduler(make_core(sqlite_store, catalog, clock), {"console": RecordingPlatform()})
    await first.start()
    other = SqlStore.from_url(str(sqlite_store.engine.url))  # another process's connection to the same file
    second = StudyScheduler(make_core(other, catalog, clock), {"console": RecordingPlatform()})
    with pytest.raises(SchedulerRefused, match="SQLite is for one process"):
        await second.start()
    await first.stop()
    await second.start()  # free again once the first one stopped
    assert second.leading
    await second.stop()
    await other.close()


async def test_a_new_post_closes_yesterdays(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml time=09:00 tz=UTC days=daily start=2026-11-01")
    await bot.say("Ada", "join ml")
    bot.clock.set(dt.datetime(2026, 11, 24, 9, 5, tzinfo=dt.UTC))
    [first] = await bot.post()
    if first.buttons[0].command == "answer":
        await bot.click("Ada", first, first.buttons[0].label)
    else:
        await bot.say("Ada", "done")
    bot.clock.advance(dt.timedelta(days=1))
    await bot.post()
    [(message_id, edited)] = bot.platform.edits
    assert message_id == "msg-1" and edited.cards[0].title == "Closed: Tue 24 Nov"
    assert (
        "1 member answered" in edited.cards[0].fields[0].value
        or "1 member checked in" in edited.cards[0].fields[0].value
    )


class RefusingPlatform(RecordingPlatform):
    """A platform whose channel is gone: every post is refused for good."""

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        raise Undeliverable("channel 42 is gone")


async def test_an_undeliverable_post_is_reported_to_the_creator_once_and_not_retried(bot: Bot) -> None:
    await bot.say("Mia", "cohort create lost time=09:00 tz=UTC days=daily start=2026-11-01")
    platform = RefusingPlatform()
    poster = Poster(bot.core, {"console": platform})
    bot.clock.set(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    await poster.sweep()
    [(user, reply)] = platform.direct
    assert (
        user == "mia"
        and "could not post today's challenge of cohort `lost`: channel 42 is gone" in reply.text
    )
    post = await bot.core.store.post_for_day(
        (await bot.core.store.list_cohorts())[0].id, dt.date(2026, 11, 24)
    )
    assert post is not None and post.message_id == UNDELIVERED
    bot.clock.advance(dt.timedelta(minutes=10))
    await poster.sweep()
    assert len(platform.direct) == 1  # no retry loop
