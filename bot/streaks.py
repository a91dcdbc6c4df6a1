"""Pure streak rules over sets of local dates: current and longest streak, earned freezes, today's status.

A day is *active* when the member answered or checked in on it (its stored local date). The streak counts
active days in an unbroken run that ends today or yesterday. Every `FREEZE_EVERY` active days in a run earn a
freeze (at most `MAX_FREEZES` held); a missed day is covered by a held freeze automatically. A frozen or
excused day keeps the run alive without adding to it. Today not yet active is "at risk", never broken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum

# Seven active days in a row earn one freeze: a week of effort buys one day of grace.
FREEZE_EVERY = 7
# Holding more than two freezes would let a member skip half a week without effort.
MAX_FREEZES = 2
ONE_DAY = dt.timedelta(days=1)


class DayStatus(StrEnum):
    DONE = "done"  # active today
    EXCUSED = "excused"  # a moderator excused today
    AT_RISK = "at_risk"  # a streak is running and today is not yet active
    NONE = "none"  # no streak running and nothing done today


@dataclass(frozen=True)
class StreakState:
    """The fold of the ledger over every day up to and including `through`; later days continue from it."""

    through: dt.date | None = None
    current: int = 0
    longest: int = 0
    freezes: int = 0
    frozen: frozenset[dt.date] = frozenset()


@dataclass(frozen=True)
class StreakSummary:
    current: int
    longest: int
    freezes: int
    today: DayStatus
    frozen: frozenset[dt.date]


EMPTY = StreakState()


def settle(
    state: StreakState,
    active: Collection[dt.date],
    excused: Collection[dt.date],
    through: dt.date,
) -> StreakState:
    """Fold the days after `state.through` up to `through` into the state; days before are already final."""
    if state.through is not None and through <= state.through:
        return state
    if state.through is None:
        days = [d for d in (*active, *excused) if d <= through]
        if not days:
            return replace(state, through=through)
        day = min(days)
    else:
        day = state.through + ONE_DAY
    current, longest, freezes = state.current, state.longest, state.freezes
    frozen = set(state.frozen)
    while day <= through:
        if day in active:
            current += 1
            longest = max(longest, current)
            if current % FREEZE_EVERY == 0:
                freezes = min(MAX_FREEZES, freezes + 1)
        elif day in excused:
            pass
        elif current > 0 and freezes > 0:
            freezes -= 1
            frozen.add(day)
        else:
            current = 0
        day += ONE_DAY
    return StreakState(through, current, longest, freezes, frozenset(frozen))


def summarize(active: Collection[dt.date], excused: Collection[dt.date], today: dt.date) -> StreakSummary:
    """The streak as of the member's local `today`: the days before it are final, today can still change."""
    settled = settle(EMPTY, active, excused, today - ONE_DAY)
    current, longest, freezes = settled.current, settled.longest, settled.freezes
    if today in active:
        current += 1
        longest = max(longest, current)
        if current % FREEZE_EVERY == 0:
            freezes = min(MAX_FREEZES, freezes + 1)
        status = DayStatus.DONE
    elif today in excused:
        status = DayStatus.EXCUSED
    else:
        status = DayStatus.AT_RISK if current > 0 else DayStatus.NONE
    return StreakSummary(current, longest, freezes, status, settled.frozen)
