"""Where a cohort is on the roadmap: stage by stage, each for its suggested weeks or as long as the cohort's
calendar needs to post every challenge of the stage once, whichever is longer.

So a cohort posting Monday, Wednesday and Friday spends longer on a stage than one posting every day, and
still sees every item of it: a stage of 18 challenges suggested for 3 weeks lasts 6 weeks at 3 posts a week.
A stage always lasts whole weeks, so stages change on the weekday the cohort started on.

The pace counts from the cohort's start date at the first stage, or from the day a moderator set a stage
by hand; a cohort past the last stage stays there.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from bot.catalog.model import Catalog, Challenge, Stage
from bot.kernel.types import Cohort
from bot.rules.calendar import Calendar

# How far ahead a stage's end is looked for: a cohort paused for good has no end, only its suggested weeks.
_HORIZON = dt.timedelta(days=3 * 366)


@dataclass(frozen=True)
class Position:
    stage: Stage
    week: int  # weeks already spent on this stage (0 in its first week)
    weeks: int  # how many weeks this stage lasts for this cohort (at least the stage's suggested weeks)
    started: dt.date  # the local date the cohort began this stage


def stage_sizes(catalog: Catalog) -> Counter[str]:
    """How many challenges each stage has from its own pack (built once per catalog).

    A community pack's challenges in a built-in stage are posted with the stage's own but do not lengthen
    it: adding or reloading a pack never moves a cohort back to a stage it had finished.
    """

    def own(ch: Challenge) -> bool:
        return ch.id.partition(":")[0] == ch.stage.partition(":")[0] if ":" in ch.id else ":" not in ch.stage

    return catalog.index(
        "stage-sizes", lambda c: Counter(ch.stage for ch in c.challenges.values() if own(ch))
    )


def stage_end(
    stage: Stage, items: int, calendar: Calendar, start: dt.date, horizon: dt.date
) -> dt.date | None:
    """The day after a stage begun on `start` ends: its suggested weeks on, or later, in whole weeks, once
    `items` posting days have passed. None when those posting days do not all come by `horizon`, or when
    the stage would end past the calendar's last date (a start in year 9999)."""
    try:
        suggested = start + dt.timedelta(weeks=stage.weeks)
        if items <= 0 or calendar.count(start, suggested - dt.timedelta(1)) >= items:
            return suggested  # the usual case, by date arithmetic alone
        days = calendar.posting_days(start, horizon, items)
        if len(days) < items:
            return None
        return start + dt.timedelta(weeks=-(-((days[-1] - start).days + 1) // 7))
    except OverflowError:
        return None


def position(catalog: Catalog, cohort: Cohort, today: dt.date) -> Position:
    """The stage a cohort is on at its local date `today`, how far into it, and how long it lasts."""
    stages = catalog.stages
    index = next((i for i, s in enumerate(stages) if s.id == cohort.stage_id), 0)
    start = cohort.stage_since if cohort.stage_id and cohort.stage_since else cohort.start_date
    calendar = Calendar.of(cohort)
    sizes = stage_sizes(catalog)
    while index < len(stages) - 1:
        end = stage_end(stages[index], sizes[stages[index].id], calendar, start, today)
        if end is None or end > today:
            break
        start = end
        index += 1
    stage = stages[index]
    elapsed = max(0, (today - start).days) // 7
    horizon = start + _HORIZON if start < dt.date.max - _HORIZON else dt.date.max
    end = stage_end(stage, sizes[stage.id], calendar, start, horizon)
    weeks = (end - start).days // 7 if end else stage.weeks
    return Position(stage, elapsed, max(weeks, elapsed + 1), start)


def current_stage(catalog: Catalog, cohort: Cohort, today: dt.date) -> Stage:
    return position(catalog, cohort, today).stage
