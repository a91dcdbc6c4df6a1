"""Every challenge is reachable: a cohort on any calendar sees every item of a stage before any
repeats, easier ones first, and stays on a stage (past its suggested weeks if need be) until each item
has been posted."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import replace

import pytest

from bot.catalog.daily import pick_challenge
from bot.catalog.model import Catalog, Challenge, Stage, Topic
from bot.catalog.pace import position
from bot.kernel.types import Cohort
from bot.rules.calendar import Calendar, paused_from, resumed_on

DAILY = frozenset(range(7))
MON_FRI = frozenset(range(5))
MON_WED_FRI = frozenset({0, 2, 4})
START = dt.date(2027, 1, 4)  # a Monday


def cohort(days: frozenset[int], start: dt.date = START, cohort_id: int = 7) -> Cohort:
    return Cohort(cohort_id, "console", "w", "c", "ml", dt.time(9), "UTC", days, start, False, "mod")


def replay(catalog: Catalog, c: Cohort) -> list[tuple[dt.date, str, Challenge]]:
    """Post on every posting day from the start until the last stage has shown each of its items once:
    (date, the stage the cohort is on, the challenge posted)."""
    calendar = Calendar.of(c)
    last = catalog.stages[-1].id
    last_size = sum(1 for ch in catalog.challenges.values() if ch.stage == last)
    used: list[str] = []
    out = []
    day = c.start_date
    while sum(1 for _, stage, _ in out if stage == last) < last_size:
        if calendar.is_posting_day(day):
            challenge = pick_challenge(catalog, c, day, used)
            used.append(challenge.id)
            out.append((day, position(catalog, c, day).stage.id, challenge))
        day += dt.timedelta(days=1)
        assert day < c.start_date + dt.timedelta(days=5 * 366), "the replay never reached the last stage"
    return out


@pytest.mark.parametrize("days", [DAILY, MON_FRI, MON_WED_FRI], ids=["daily", "mon-fri", "mon-wed-fri"])
def test_a_whole_cohort_sees_every_challenge_of_the_roadmap(catalog: Catalog, days: frozenset[int]) -> None:
    posts = replay(catalog, cohort(days))
    assert {ch.id for _, _, ch in posts} == set(catalog.challenges)  # nothing unreachable
    by_stage: dict[str, list[Challenge]] = defaultdict(list)
    for _, stage, ch in posts:
        assert ch.stage == stage  # a post comes from the stage the cohort is on
        by_stage[stage].append(ch)
    assert list(by_stage) == [s.id for s in catalog.stages]  # in roadmap order, no stage skipped
    for stage in catalog.stages:
        pool = [ch for ch in catalog.challenges.values() if ch.stage == stage.id]
        first_round = by_stage[stage.id][: len(pool)]
        assert len({ch.id for ch in first_round}) == len(pool), f"{stage.id}: a repeat before every item"
        difficulty = [ch.difficulty for ch in first_round]
        assert difficulty == sorted(difficulty), f"{stage.id}: difficulty does not rise"
        assert difficulty[0] == 1 and difficulty[-1] == max(ch.difficulty for ch in pool)


def test_a_sparser_calendar_takes_longer_but_never_less_than_the_suggested_weeks(catalog: Catalog) -> None:
    def weeks(days: frozenset[int]) -> dict[str, int]:
        posts = replay(catalog, cohort(days))
        first: dict[str, dt.date] = {}
        for day, stage, _ in posts:
            first.setdefault(stage, day)
        stages = [s.id for s in catalog.stages]
        return {a: (first[b] - first[a]).days // 7 for a, b in itertools.pairwise(stages)}

    daily, three = weeks(DAILY), weeks(MON_WED_FRI)
    for stage in catalog.stages[:-1]:
        assert daily[stage.id] >= stage.weeks and three[stage.id] >= daily[stage.id]
    assert sum(three.values()) > sum(daily.values())


def _pack(sizes: dict[str, tuple[int, int]]) -> Catalog:
    """A catalog of stages `id: (weeks, challenges)`, challenge difficulty rising 1, 2, 3, 1, 2, 3..."""
    catalog = Catalog()
    for sid, (weeks, count) in sizes.items():
        catalog.stages.append(Stage(sid, sid.title(), "s", weeks, (Topic("t", "T", "d"),)))
        for i in range(count):
            cid = f"{sid}-{i:02d}"
            catalog.challenges[cid] = Challenge(
                cid, "task", sid, "t", i % 3 + 1, (), instructions="do", done_when="d"
            )
    return catalog


def test_a_stage_lasts_until_its_items_are_posted_in_whole_weeks() -> None:
    pack = _pack({"one": (1, 9), "two": (2, 4)})
    c = cohort(MON_WED_FRI)  # 9 items at 3 a week: 3 weeks, not the suggested 1
    here = position(pack, c, START)
    assert (here.stage.id, here.week, here.weeks) == ("one", 0, 3)
    assert position(pack, c, START + dt.timedelta(days=20)).stage.id == "one"  # the 9th post is on day 18
    after = position(pack, c, START + dt.timedelta(days=21))
    assert (after.stage.id, after.week, after.weeks, after.started) == ("two", 0, 2, START + dt.timedelta(21))
    daily = cohort(DAILY)  # 9 items in the first 9 days: 2 whole weeks
    assert (position(pack, daily, START + dt.timedelta(days=13)).stage.id, here.weeks) == ("one", 3)
    assert position(pack, daily, START + dt.timedelta(days=9)).weeks == 2
    assert position(pack, daily, START + dt.timedelta(days=14)).stage.id == "two"


def test_a_pause_stretches_the_stage_and_an_open_pause_keeps_the_cohort_on_it() -> None:
    pack = _pack({"one": (1, 5), "two": (1, 3)})
    c = cohort(MON_FRI)
    paused = replace(c, history=paused_from(c, START + dt.timedelta(days=2)))  # posted Mon and Tue only
    stuck = position(pack, paused, START + dt.timedelta(days=200))
    assert (stuck.stage.id, stuck.week) == ("one", 28)
    back = replace(paused, history=resumed_on(paused, START + dt.timedelta(days=14)))  # Mon of week 3
    assert position(pack, back, START + dt.timedelta(days=16)).stage.id == "one"  # the 5th post is Wed
    assert position(pack, back, START + dt.timedelta(days=21)).stage.id == "two"


def test_a_cohort_that_has_not_started_is_on_the_first_stage() -> None:
    pack = _pack({"one": (1, 3), "two": (1, 3)})
    here = position(pack, cohort(MON_WED_FRI), START - dt.timedelta(days=30))
    assert (here.stage.id, here.week, here.weeks) == ("one", 0, 1)


def test_a_cohort_starting_at_the_calendars_end_is_on_its_first_stage() -> None:
    pack = _pack({"one": (1, 3), "two": (1, 3)})
    late = cohort(MON_WED_FRI, start=dt.date(9999, 12, 27))
    assert position(pack, late, dt.date(9999, 12, 31)).stage.id == "one"
    assert position(pack, late, dt.date(2026, 12, 3)).stage.id == "one"


def test_a_community_packs_extra_challenges_never_move_a_cohort_back_a_stage() -> None:
    pack = _pack({"one": (1, 6), "two": (1, 3)})
    c = cohort(MON_WED_FRI)  # "one": 6 items at 3 a week, 2 weeks
    day = START + dt.timedelta(days=15)
    assert position(pack, c, day).stage.id == "two"
    for i in range(6):  # ourclub adds six challenges to the built-in stage "one"
        cid = f"ourclub:extra-{i}"
        pack.challenges[cid] = Challenge(cid, "task", "one", "t", 1, (), instructions="do", done_when="d")
    pack.indexes.clear()
    assert position(pack, c, day).stage.id == "two"
