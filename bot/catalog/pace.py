"""Where a cohort is on the roadmap: stage by stage at each stage's suggested weeks.

The pace counts from the cohort's start date at the first stage, or from the day a moderator set a stage
by hand; a cohort past the last stage stays there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.catalog.model import Catalog, Stage
from bot.kernel.types import Cohort


@dataclass(frozen=True)
class Position:
    stage: Stage
    week: int  # weeks already spent on this stage (0 in its first week)


def position(catalog: Catalog, cohort: Cohort, today: dt.date) -> Position:
    """The stage a cohort is on at its local date `today`, and how far into it."""
    stages = catalog.stages
    index = next((i for i, s in enumerate(stages) if s.id == cohort.stage_id), 0)
    since = cohort.stage_since if cohort.stage_id and cohort.stage_since else cohort.start_date
    weeks = max(0, (today - since).days) // 7
    while index < len(stages) - 1 and weeks >= stages[index].weeks:
        weeks -= stages[index].weeks
        index += 1
    return Position(stages[index], weeks)


def current_stage(catalog: Catalog, cohort: Cohort, today: dt.date) -> Stage:
    return position(catalog, cohort, today).stage
