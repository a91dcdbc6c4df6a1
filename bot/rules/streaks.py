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

from bot.rules.calendar import Calendar

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
    # Plain locals, not attributes: this loop runs once per active day of the member's whole history.
    current, longest, freezes, run, broke_on = (
        state.current,
        state.longest,
        state.freezes,
        state.run,
        state.broke_on,
    )
    frozen = set(state.frozen)
    posting = calendar.posting_among(d for d in marked if d in active)
    for mark in marked:
        n = mark.toordinal()
        if n > day and current:
            current, freezes, run, broke_on = _miss(
                calendar, day, n - 1, current, freezes, frozen, run, broke_on
            )
        if mark in active:
            current += 1
            longest = max(longest, current)
            if mark in posting:
                run += 1
                if run % FREEZE_EVERY == 0:
                    freezes = min(MAX_FREEZES, freezes + 1)
        day = n + 1
    if current:
        current, freezes, run, broke_on = _miss(
            calendar, day, through.toordinal(), current, freezes, frozen, run, broke_on
        )
    return StreakState(through, current, longest, freezes, frozenset(frozen), run, broke_on)


def _miss(
    calendar: Calendar,
    first: int,
    last: int,
    current: int,
    freezes: int,
    frozen: set[dt.date],
    run: int,
    broke_on: dt.date | None,
) -> tuple[int, int, int, dt.date | None]:
    """Settle the unmarked days from ordinal `first` to `last`: their posting days were missed; held freezes
    cover the first of them (added to `frozen`), else the run ends on the first one left uncovered."""
    if last < first:
        return current, freezes, run, broke_on
    a, b = dt.date.fromordinal(first), dt.date.fromordinal(last)
    missed = calendar.count(a, b)
    if missed == 0:
        return current, freezes, run, broke_on
    used = min(freezes, missed)
    days = calendar.posting_days(a, b, used + 1)
    frozen.update(days[:used])
    if used < missed:
        return 0, freezes - used, 0, days[used]
    return current, freezes - used, run, broke_on


def summarize(
    active: Collection[dt.date],
    excused: Collection[dt.date],
    today: dt.date,
    calendar: Calendar = EVERY_DAY,
) -> StreakSummary:
    """The streak as of the member's local `today`: the days before it are final, today can still change."""
    settled = settle(EMPTY, active, excused, today - ONE_DAY, calendar)
    # Today is still open: its activity counts, but missing it (so far) breaks nothing.
    now = settle(settled, (today,), (), today, calendar) if today in active else settled
    if today in active:
        status = DayStatus.DONE
    elif today in excused:
        status = DayStatus.EXCUSED
    elif not calendar.is_posting_day(today):
        status = DayStatus.REST
    else:
        status = DayStatus.AT_RISK if now.current > 0 else DayStatus.NONE
    return StreakSummary(now.current, now.longest, now.freezes, status, settled.frozen, settled.broke_on)
