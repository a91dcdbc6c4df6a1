"""When posts are due (by local wall-clock time, across DST) and which challenge a day gets."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot.catalog.daily import pick_challenge
from bot.catalog.model import Catalog
from bot.catalog.pace import current_stage, position
from bot.kernel.types import Cohort
from bot.rules.schedule import due_days, due_instant, is_due, next_post


def cohort(tz: str, at: str, days: frozenset[int] = frozenset(range(7)), paused: bool = False) -> Cohort:
    return Cohort(
        1, "console", "w", "c", "c1", dt.time.fromisoformat(at), tz, days, dt.date(2026, 1, 1), paused, "m"
    )


def due_dates(c: Cohort, start: dt.datetime, hours: int) -> list[tuple[dt.date, dt.datetime]]:
    """Walk a fake clock minute by minute and record the first instant each local date became due."""
    seen: dict[dt.date, dt.datetime] = {}
    t = start
    while t < start + dt.timedelta(hours=hours):
        day = is_due(c, t)
        if day is not None and day not in seen:
            seen[day] = t
        t += dt.timedelta(minutes=1)
    return sorted(seen.items())


@pytest.mark.parametrize(
    ("tz", "spring_day"),
    [("America/New_York", dt.date(2026, 3, 8)), ("Europe/Berlin", dt.date(2026, 3, 29))],
)
def test_a_post_at_a_skipped_time_goes_out_at_the_first_valid_time_after_it(
    tz: str, spring_day: dt.date
) -> None:
    c = cohort(tz, "02:30")
    start = dt.datetime.combine(spring_day, dt.time(0, 0), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
    [(day, instant)] = due_dates(c, start, 20)
    assert day == spring_day and instant.astimezone(ZoneInfo(tz)).time() == dt.time(3, 0)


def test_lord_howe_half_hour_spring_shift() -> None:
    tz = "Australia/Lord_Howe"  # 02:00 jumps to 02:30 on 2026-10-04
    c = cohort(tz, "02:10")
    start = dt.datetime(2026, 10, 4, 0, 0, tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
    [(day, instant)] = due_dates(c, start, 20)
    assert day == dt.date(2026, 10, 4) and instant.astimezone(ZoneInfo(tz)).time() == dt.time(2, 30)


@pytest.mark.parametrize(
    ("tz", "autumn_day"),
    [("America/New_York", dt.date(2026, 11, 1)), ("Europe/Berlin", dt.date(2026, 10, 25))],
)
def test_a_post_at_a_repeated_time_is_due_for_that_date_only_once(tz: str, autumn_day: dt.date) -> None:
    c = cohort(tz, "01:30" if tz.startswith("America") else "02:30")
    start = dt.datetime.combine(autumn_day, dt.time(0, 0), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
    assert [d for d, _ in due_dates(c, start, 48)] == [autumn_day, autumn_day + dt.timedelta(days=1)]


def test_paused_and_off_days_are_never_due_and_next_post_skips_them() -> None:
    weekdays = cohort("UTC", "09:00", frozenset(range(5)))
    saturday = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
    assert is_due(weekdays, saturday) is None
    assert next_post(weekdays, saturday) == dt.datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("UTC"))
    assert is_due(cohort("UTC", "09:00", paused=True), saturday) is None
    assert next_post(cohort("UTC", "09:00", paused=True), saturday) is None


def test_a_stage_pool_is_used_up_easiest_first_before_any_challenge_repeats(catalog: Catalog) -> None:
    c = cohort("UTC", "09:00")
    day = c.start_date  # the first week: the first stage
    stage = catalog.stages[0]
    pool = {ch.id for ch in catalog.challenges.values() if ch.stage == stage.id}
    used: list[str] = []
    for _ in range(len(pool)):
        used.append(pick_challenge(catalog, c, day, used).id)
    assert set(used) == pool  # no repeats
    difficulties = [catalog.challenges[u].difficulty for u in used]
    assert difficulties == sorted(difficulties)  # easier first
    for _ in range(len(pool)):  # a second pass: again each once, before any third showing
        used.append(pick_challenge(catalog, c, day, used).id)
    assert sorted(used[len(pool) :]) == sorted(pool)


def test_picking_is_deterministic_and_varies_between_cohorts(catalog: Catalog) -> None:
    c = cohort("UTC", "09:00")
    assert pick_challenge(catalog, c, c.start_date, []) == pick_challenge(catalog, c, c.start_date, [])
    firsts = {pick_challenge(catalog, replace(c, id=i), c.start_date, []).id for i in range(1, 30)}
    assert len(firsts) > 1


def test_the_cohort_walks_the_stages_at_their_suggested_weeks(catalog: Catalog) -> None:
    c = cohort("UTC", "09:00")
    first, second = catalog.stages[0], catalog.stages[1]
    assert current_stage(catalog, c, c.start_date) == first
    last_day_of_first = c.start_date + dt.timedelta(weeks=first.weeks, days=-1)
    assert current_stage(catalog, c, last_day_of_first) == first
    assert current_stage(catalog, c, last_day_of_first + dt.timedelta(days=1)) == second
    assert position(catalog, c, c.start_date + dt.timedelta(weeks=first.weeks + 1)).week == 1
    far = c.start_date + dt.timedelta(weeks=sum(s.weeks for s in catalog.stages) + 10)
    assert current_stage(catalog, c, far) == catalog.stages[-1]
    pick = pick_challenge(catalog, c, last_day_of_first + dt.timedelta(days=1), [])
    assert pick.stage == second.id


def test_a_stage_set_by_hand_restarts_the_pace_from_there(catalog: Catalog) -> None:
    target = catalog.stages[4]
    moved = replace(cohort("UTC", "09:00"), stage_id=target.id, stage_since=dt.date(2026, 6, 1))
    assert current_stage(catalog, moved, dt.date(2026, 6, 1)) == target
    after = dt.date(2026, 6, 1) + dt.timedelta(weeks=target.weeks)
    assert current_stage(catalog, moved, after) == catalog.stages[5]


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected_local"),
    [
        (
            "America/New_York",
            dt.date(2026, 3, 8),
            "02:30",
            dt.time(3, 0),
        ),  # skipped: the first valid time after
        ("Europe/Berlin", dt.date(2026, 3, 29), "02:30", dt.time(3, 0)),
        ("Australia/Lord_Howe", dt.date(2026, 10, 4), "02:10", dt.time(2, 30)),  # a 30-minute jump
        ("America/New_York", dt.date(2026, 11, 1), "01:30", dt.time(1, 30)),  # repeated: the first one
        ("Europe/Berlin", dt.date(2026, 6, 1), "09:00", dt.time(9, 0)),
    ],
)
def test_due_instant_across_dst(tz: str, day: dt.date, at: str, expected_local: dt.time) -> None:
    instant = due_instant(cohort(tz, at), day)
    local = instant.astimezone(ZoneInfo(tz))
    assert (local.date(), local.time()) == (day, expected_local)
    if day == dt.date(2026, 11, 1):
        assert local.fold == 0  # the earlier 01:30, before the clocks went back
    assert is_due(cohort(tz, at), instant) == day
    assert is_due(cohort(tz, at), instant - dt.timedelta(minutes=1)) is None


def test_a_missed_post_is_still_due_just_after_midnight() -> None:
    c = cohort("UTC", "23:45")
    just_after = dt.datetime(2026, 11, 24, 0, 5, tzinfo=dt.UTC)
    assert due_days(c, just_after) == [dt.date(2026, 11, 23)]
