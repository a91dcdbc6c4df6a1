"""Streaks shown by the core equal a full recomputation from independently computed local dates,
across the 2026 DST changes and members changing timezone."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kernel.types import ConversationRef
from bot.rules.streaks import summarize
from tests.conftest import CHANNEL, Bot, text_of

# Days around the 2026 changes: US 03-08 and 11-01, EU 03-29 and 10-25.
DST_DAYS = [dt.date(2026, 3, 8), dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 11, 1)]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "Pacific/Honolulu", "Australia/Lord_Howe", None]
_names = itertools.count()

steps = st.lists(
    st.tuples(st.integers(1, 40), st.sampled_from(ZONES), st.booleans()),  # hours on, new zone, act?
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(DST_DAYS), st.integers(-72, 24), steps)
async def test_streak_shown_equals_recomputation_from_local_dates_at_action_time(
    bot: Bot, dst_day: dt.date, offset_h: int, plan: list[tuple[int, str | None, bool]]
) -> None:
    if not await bot.core.store.list_cohorts():
        # Started before every DST day, posting daily: every day of this test is a posting day.
        bot.clock.set(dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC))
        await bot.say("Mia", "cohort create dst tz=Europe/Berlin days=daily start=2026-01-01")
    name = f"m{next(_names)}"
    await bot.say(name, "join dst")
    bot.clock.set(dt.datetime.combine(dst_day, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(hours=offset_h))
    zone = "Europe/Berlin"  # the cohort's, until the member sets their own
    expected: set[dt.date] = set()
    for hours, new_zone, act in plan:
        bot.clock.advance(dt.timedelta(hours=hours))
        if new_zone is not None:
            await bot.say(name, f"timezone {new_zone}")
            zone = new_zone
        if act:
            reply = await bot.say(name, "done")
            day = bot.clock.now().astimezone(ZoneInfo(zone)).date()
            if reply.error:
                # Only a repeat, or a new day bought by a timezone change, is refused.
                assert day in expected or "Nothing was recorded" in reply.text, reply.text
            else:
                expected.add(day)
    today = bot.clock.now().astimezone(ZoneInfo(zone)).date()
    want = summarize(expected, set(), today)
    shown = text_of(await bot.say(name, "streak"))
    assert f"Current: {want.current} day" in shown
    assert f"Longest: {want.longest} day" in shown
    assert f"Freezes: {want.freezes}/2" in shown
    cohort = (await bot.core.store.list_cohorts())[0]
    member = await bot.core.store.upsert_member("console", name, name)
    stored = {a.local_date for a in await bot.core.store.activities(cohort.id, member.id)}
    assert stored == expected  # dates fixed when it happened, never reinterpreted


# ---- the cohort's calendar: weekday changes, pauses, holidays and breaks over simulated weeks ----

DAY_SETS = ["mon-fri", "daily", "mon,wed,fri", "sat,sun", "tue-sat"]
_cohorts = itertools.count()

# One simulated day: what happens on it, in order, before the member maybe acts.
event = st.one_of(
    st.tuples(st.just("days"), st.sampled_from(DAY_SETS)),
    st.tuples(st.just("pause"), st.none()),
    st.tuples(st.just("resume"), st.none()),
    st.tuples(st.just("holiday"), st.tuples(st.integers(-6, 6), st.integers(0, 3))),  # from today+a, b more
    st.tuples(st.just("unholiday"), st.integers(-6, 6)),
    st.tuples(st.just("break"), st.integers(1, 5)),
    st.tuples(st.just("break off"), st.none()),
    st.tuples(st.just("fix"), st.integers(1, 6)),  # excuse the day that many days ago
    st.tuples(st.just("quiet"), st.none()),
)
# Members who are mostly active build runs long enough for every rule to matter (freezes, long rests).
mostly = st.integers(0, 5).map(lambda k: k > 0)
days_plan = st.lists(st.tuples(st.lists(event, max_size=1), mostly), min_size=10, max_size=45)


def _weekdays(spec: str) -> set[int]:
    from bot.kernel.registry import parse_days

    return set(parse_days(spec))


class Oracle:
    """The rules of the README, walked one day at a time with nothing shared with bot/rules/calendar.py."""

    def __init__(self, start: dt.date, days: set[int]) -> None:
        self.start = start
        self.eras: list[tuple[dt.date, set[int]]] = [(dt.date.min, days)]
        self.off: list[tuple[dt.date, dt.date]] = []  # pauses, holidays and breaks, inclusive
        self.holidays: list[tuple[dt.date, dt.date]] = []
        self.pause_from: dt.date | None = None

    def posting(self, day: dt.date) -> bool:
        days = [d for since, d in self.eras if since <= day][-1]
        spans = [*self.off, *self.holidays]
        if self.pause_from is not None:
            spans.append((self.pause_from, dt.date.max))
        return day >= self.start and day.weekday() in days and not any(a <= day <= b for a, b in spans)

    def streak(self, active: set[dt.date], excused: set[dt.date], today: dt.date) -> tuple[int, int, int]:
        current = longest = freezes = run = 0
        if not active | excused:
            return 0, 0, 0
        day = min(active | excused)
        while day <= today:
            if day in active:
                current += 1
                longest = max(longest, current)
                if self.posting(day):
                    run += 1
                    if run % 7 == 0:
                        freezes = min(2, freezes + 1)
            elif day in excused or not self.posting(day) or day == today:
                pass
            elif current:
                if freezes:
                    freezes -= 1
                else:
                    current = run = 0
            day += dt.timedelta(days=1)
        return current, longest, freezes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(DAY_SETS), st.integers(0, 6), days_plan)
async def test_streak_shown_follows_the_calendar_of_each_day(
    bot: Bot, first_days: str, start_in: int, plan: list[tuple[list[tuple[str, object]], bool]]
) -> None:
    """Rest days (other weekdays, pauses, holidays, breaks, before the start) never break a streak; weekday
    changes keep past days judged by the weekdays of their time; the shown figures equal the oracle's."""
    n = next(_cohorts)
    where = ConversationRef(CHANNEL.platform, CHANNEL.workspace_id, f"cal{n}")
    name, cohort = f"c{n}", f"cal{n}"
    # Each example later than the last: the clock never goes back between them.
    today = dt.date(2027, 1, 4) + dt.timedelta(days=50 * n + n % 7)
    bot.clock.set(dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC))
    start = today + dt.timedelta(days=start_in)
    created = await bot.say("Mia", f"cohort create {cohort} tz=UTC days={first_days} start={start}", where)
    assert not created.error, text_of(created)
    assert not (await bot.say(name, f"join {cohort}", where)).error
    oracle = Oracle(start, _weekdays(first_days))
    active: set[dt.date] = set()
    excused: set[dt.date] = set()
    breaks: list[tuple[dt.date, dt.date]] = []
    for events, act in plan:
        for kind, value in events:
            if kind == "days":
                if not (await bot.say("Mia", f"cohort set {cohort} days {value}", where)).error:
                    oracle.eras = [(s, d) for s, d in oracle.eras if s < today] + [
                        (today, _weekdays(str(value)))
                    ]
            elif kind == "pause":
                if (
                    not (await bot.say("Mia", f"cohort pause {cohort}", where)).error
                    and not oracle.pause_from
                ):
                    oracle.pause_from = today  # pausing a paused cohort says so and changes nothing
            elif kind == "resume":
                resumed = not (await bot.say("Mia", f"cohort resume {cohort}", where)).error
                if resumed and oracle.pause_from is not None:
                    if oracle.pause_from < today:
                        oracle.off.append((oracle.pause_from, today - dt.timedelta(days=1)))
                    oracle.pause_from = None
            elif kind == "holiday":
                a, b = value  # type: ignore[misc]
                first = today + dt.timedelta(days=a)
                last = first + dt.timedelta(days=b)
                reply = await bot.say("Mia", f"cohort holiday {cohort} {first}..{last} spring", where)
                overlaps = any(h0 <= last and first <= h1 for h0, h1 in oracle.holidays)
                assert reply.error == overlaps, text_of(reply)
                if not reply.error:
                    oracle.holidays.append((first, last))
            elif kind == "unholiday":
                day = today + dt.timedelta(days=value)  # type: ignore[operator]
                reply = await bot.say("Mia", f"cohort unholiday {cohort} {day}", where)
                found = [h for h in oracle.holidays if h[0] <= day <= h[1]]
                assert reply.error == (not found or found[0][1] < today), text_of(reply)
                if not reply.error:
                    oracle.holidays.remove(found[0])
                    if found[0][0] < today:
                        oracle.holidays.append((found[0][0], today - dt.timedelta(days=1)))
            elif kind == "break":
                if not (await bot.say(name, f"break {value}", where)).error:
                    breaks.append((today, today + dt.timedelta(days=value - 1)))  # type: ignore[operator]
            elif kind == "break off":
                if not (await bot.say(name, "break off", where)).error:
                    first, _ = breaks.pop()
                    if first < today:
                        breaks.append((first, today - dt.timedelta(days=1)))
            elif kind == "fix":
                day = today - dt.timedelta(days=value)  # type: ignore[operator]
                if not (await bot.say("Mia", f"cohort fix {cohort} {name} {day} was ill", where)).error:
                    excused.add(day)
        if act:
            reply = await bot.say(name, "done", where)
            assert not reply.error, text_of(reply)
            active.add(today)
        today += dt.timedelta(days=1)
        bot.clock.set(dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC))
    oracle.off += breaks
    current, longest, freezes = oracle.streak(active, excused, today)
    shown = text_of(await bot.say(name, "streak", where))
    assert f"Current: {current} day" in shown, (shown, sorted(active))
    assert f"Longest: {longest} day" in shown, shown
    assert f"Freezes: {freezes}/2" in shown, shown
    rest = not oracle.posting(today)
    assert ("rest day" in shown) == (rest and today not in active | excused), shown
