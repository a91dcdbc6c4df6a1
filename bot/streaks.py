"""Pure streak rules over sets of local dates: current and longest streak, earned freezes, today's status.

A day is *active* when the member answered or checked in on it (its stored local date). The streak counts
active days in a run that no missed posting day broke. A day the cohort does not post on (its calendar's
rest days: other weekdays, pauses, holidays, the member's breaks, before the start) is never missed; being
active on one still counts. Every `FREEZE_EVERY` active posting days in a run earn a freeze (at most
`MAX_FREEZES` held); a missed posting day is covered by a held freeze automatically. A frozen or excused day
keeps the run alive without adding to it. Today not yet active is "at risk", never broken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.calendar import Calendar

# Seven active days in a row earn one freeze: a week of effort buys one day of grace.
FREEZE_EVERY = 7
# Holding more than two freezes would let a member skip half a week without effort.
MAX_FREEZES = 2
ONE_DAY = dt.timedelta(days=1)


class DayStatus(StrEnum):
    DONE = "done"  # active today
    EXCUSED = "excused"  # a moderator excused today
    AT_RISK = "at_risk"  # a streak is running and today is not yet active
    REST = "rest"  # today is a rest day and not yet active: nothing is at risk
    NONE = "none"  # no streak running and nothing done today


@dataclass(frozen=True)
class StreakState:
    """The fold of the ledger over every day up to and including `through`; later days continue from it."""

    through: dt.date | None = None
    current: int = 0
    longest: int = 0
    freezes: int = 0
    frozen: frozenset[dt.date] = frozenset()
    run: int = 0  # active posting days in the current run: what earns freezes
    broke_on: dt.date | None = None  # the missed posting day that ended the last run


@dataclass(frozen=True)
class StreakSummary:
    current: int
    longest: int
    freezes: int
    today: DayStatus
    frozen: frozenset[dt.date]
    broke_on: dt.date | None = None


EMPTY = StreakState()
# Without a calendar every day is a posting day.
EVERY_DAY = Calendar(dt.date.min, frozenset(range(7)))


def settle(
    state: StreakState,
    active: Collection[dt.date],
    excused: Collection[dt.date],
    through: dt.date,
    calendar: Calendar = EVERY_DAY,
) -> StreakState:
    """Fold the days after `state.through` up to `through` into the state; days before are already final.

    The fold steps from one active or excused day to the next and settles the days between them at once,
    counting their posting days by the calendar, so its cost follows the member's history, never the
    calendar distance it spans (an excusal dated in year 1 costs one step, not 740,000).
    """
    if state.through is not None and through <= state.through:
        return state
    after = state.through
    marked = sorted({d for d in (*active, *excused) if d <= through and (after is None or d > after)})
    if after is None and not marked:
        return replace(state, through=through)
    # Ordinals rather than dates: stepping past date.max (a stored 9999-12-31) would overflow.
    day = marked[0].toordinal() if after is None else after.toordinal() + 1
    fold = _Fold(state, calendar)
    for mark in marked:
        fold.miss(day, mark.toordinal() - 1)
        if mark in active:
            fold.active(mark)
        day = mark.toordinal() + 1
    fold.miss(day, through.toordinal())
    return StreakState(
        through, fold.current, fold.longest, fold.freezes, frozenset(fold.frozen), fold.run, fold.broke_on
    )


class _Fold:
    """The running figures of one fold."""

    def __init__(self, state: StreakState, calendar: Calendar) -> None:
        self.calendar = calendar
        self.current, self.longest, self.freezes = state.current, state.longest, state.freezes
        self.run, self.broke_on = state.run, state.broke_on
        self.frozen = set(state.frozen)

    def active(self, day: dt.date) -> None:
        self.current += 1
        self.longest = max(self.longest, self.current)
        if self.calendar.is_posting_day(day):
            self.run += 1
            if self.run % FREEZE_EVERY == 0:
                self.freezes = min(MAX_FREEZES, self.freezes + 1)

    def miss(self, first: int, last: int) -> None:
        """Settle the unmarked days from ordinal `first` to `last`: their posting days were missed; held
        freezes cover the first of them, else the run ends on the first one left uncovered."""
        if last < first or self.current == 0:
            return
        a, b = dt.date.fromordinal(first), dt.date.fromordinal(last)
        missed = self.calendar.count(a, b)
        if missed == 0:
            return
        used = min(self.freezes, missed)
        days = self.calendar.posting_days(a, b, used + 1)
        self.frozen.update(days[:used])
        self.freezes -= used
        if used < missed:
            self.current, self.run, self.broke_on = 0, 0, days[used]


def summarize(
    active: Collection[dt.date],
    excused: Collection[dt.date],
    today: dt.date,
    calendar: Calendar = EVERY_DAY,
) -> StreakSummary:
    """The streak as of the member's local `today`: the days before it are final, today can still change."""
    settled = settle(EMPTY, active, excused, today - ONE_DAY, calendar)
    fold = _Fold(settled, calendar)
    if today in active:
        fold.active(today)
        status = DayStatus.DONE
    elif today in excused:
        status = DayStatus.EXCUSED
    elif not calendar.is_posting_day(today):
        status = DayStatus.REST
    else:
        status = DayStatus.AT_RISK if fold.current > 0 else DayStatus.NONE
    return StreakSummary(fold.current, fold.longest, fold.freezes, status, settled.frozen, settled.broke_on)
