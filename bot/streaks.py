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
    """Fold the days after `state.through` up to `through` into the state; days before are already final.

    The fold steps from one active or excused day to the next and settles each run of unmarked days between
    them at once, so its cost follows the member's history, never the calendar distance it spans (an excusal
    dated in year 1 costs one step, not 740,000).
    """
    if state.through is not None and through <= state.through:
        return state
    after = state.through
    marked = sorted({d for d in (*active, *excused) if d <= through and (after is None or d > after)})
    if after is None and not marked:
        return replace(state, through=through)
    # Ordinals rather than dates: stepping past date.max (a stored 9999-12-31) would overflow.
    day = marked[0].toordinal() if after is None else after.toordinal() + 1
    current, longest, freezes = state.current, state.longest, state.freezes
    frozen = set(state.frozen)
    for mark in marked:
        current, freezes = _miss(day, mark.toordinal() - day, current, freezes, frozen)
        if mark in active:
            current += 1
            longest = max(longest, current)
            if current % FREEZE_EVERY == 0:
                freezes = min(MAX_FREEZES, freezes + 1)
        day = mark.toordinal() + 1
    current, freezes = _miss(day, through.toordinal() + 1 - day, current, freezes, frozen)
    return StreakState(through, current, longest, freezes, frozenset(frozen))


def _miss(first: int, count: int, current: int, freezes: int, frozen: set[dt.date]) -> tuple[int, int]:
    """Settle `count` missed days from ordinal `first`: held freezes cover the first, else the run ends."""
    if count <= 0 or current == 0:
        return current, freezes
    used = min(freezes, count)
    frozen.update(dt.date.fromordinal(first + i) for i in range(used))
    return (current if used == count else 0), freezes - used


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
