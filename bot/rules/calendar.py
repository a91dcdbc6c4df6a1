"""A cohort's calendar: which local dates are posting days, judged by the rules in force on each day.

A posting day is on or after the cohort's start, on a weekday the cohort posted on at that date, and not in a
pause, a holiday or (for one member) a break. Every other day is a rest day: missing it never breaks a
streak, being active on it still counts. Pure: no I/O and no clock; counting is by date arithmetic, so a
span of years costs as little as a week.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable

from bot.kernel.types import CalendarHistory, Cohort, DaySpan, SpanKind
from bot.kernel.untrusted import verbatim

_LAST = dt.date.max.toordinal()
_WEEKDAYS = frozenset(range(7))


class Calendar:
    """Posting days of one cohort (and, with `breaks`, of one member in it), as ordinals for speed."""

    __slots__ = ("_era_days", "_era_starts", "_eras", "_off_ends", "_off_starts", "_spans", "start")

    def __init__(
        self,
        start: dt.date,
        weekdays: frozenset[int],
        history: CalendarHistory = CalendarHistory(),  # noqa: B008 - frozen, never changed
        breaks: Iterable[DaySpan] = (),
    ) -> None:
        self.start = start
        eras = sorted(history.eras) or [(dt.date.min, weekdays)]
        if eras[0][0] != dt.date.min:  # before the first recorded change, the first era's days held
            eras.insert(0, (dt.date.min, eras[0][1]))
        self._eras = tuple(eras)
        self._era_starts = [d.toordinal() for d, _ in eras]
        # Only real weekdays: a stray 7 in a hand-edited row would be counted as a posting day no date has.
        self._era_days = [days & _WEEKDAYS for _, days in eras]
        self._spans = (*history.spans, *breaks)
        starts: list[int] = []
        ends: list[int] = []
        for first, last in sorted(
            (s.first.toordinal(), _LAST if s.last is None else s.last.toordinal()) for s in self._spans
        ):
            if last < first:
                continue
            if ends and first <= ends[-1] + 1:  # overlapping or touching: one rest stretch
                ends[-1] = max(ends[-1], last)
            else:
                starts.append(first)
                ends.append(last)
        self._off_starts, self._off_ends = starts, ends

    @classmethod
    def of(cls, cohort: Cohort, breaks: Iterable[DaySpan] = ()) -> Calendar:
        if cohort.end_date is not None:  # every day after the last one rests
            breaks = (*breaks, DaySpan(cohort.end_date + dt.timedelta(days=1), None, SpanKind.END))
        return cls(cohort.start_date, cohort.weekdays, cohort.history, breaks)

    def with_breaks(self, breaks: tuple[DaySpan, ...]) -> Calendar:
        """This calendar less a member's breaks; itself when there are none (most members, so a recap or an
        export builds the cohort's calendar once, not once a member)."""
        if not breaks:
            return self
        return Calendar(self.start, frozenset(), CalendarHistory(self._eras, self._spans), breaks)

    def is_posting_day(self, day: dt.date) -> bool:
        n = day.toordinal()
        return n >= self.start.toordinal() and self._off_end(n) is None and day.weekday() in self._days_at(n)

    def posting_among(self, days: Iterable[dt.date]) -> set[dt.date]:
        """The posting days among `days`, at once: a fold asks of every active day in a member's history."""
        start = self.start
        if len(self._era_starts) == 1 and not self._off_starts:
            weekdays = self._era_days[0]
            return {d for d in days if d >= start and d.weekday() in weekdays}
        return {d for d in days if self.is_posting_day(d)}

    def rest_reason(self, day: dt.date) -> str | None:
        """Why `day` is a rest day, in words a member understands; None on a posting day."""
        if self.is_posting_day(day):
            return None
        if day < self.start:
            return "the cohort has not started yet"
        for span in self._spans:
            if span.covers(day):
                if span.kind is SpanKind.BREAK:
                    return "you are on a break"
                if span.kind is SpanKind.HOLIDAY:
                    return f"a holiday ({verbatim(span.label)})" if span.label else "a holiday"
                if span.kind is SpanKind.END:
                    return "the cohort has ended"
                return "the cohort is paused"
        return "the cohort does not post on this weekday"

    def count(self, first: dt.date, last: dt.date) -> int:
        """How many posting days lie in [first, last]."""
        return self._count(max(first.toordinal(), self.start.toordinal()), last.toordinal())

    def posting_days(self, first: dt.date, last: dt.date, limit: int) -> list[dt.date]:
        """The first `limit` posting days in [first, last], skipping rest stretches whole."""
        found: list[dt.date] = []
        n, end = max(first.toordinal(), self.start.toordinal()), last.toordinal()
        while n <= end and len(found) < limit:
            off_end = self._off_end(n)
            if off_end is not None:
                n = off_end + 1
                continue
            days = self._days_at(n)
            era = bisect.bisect_right(self._era_starts, n)
            era_end = self._era_starts[era] - 1 if era < len(self._era_starts) else _LAST
            if not days:
                n = era_end + 1
                continue
            if dt.date.fromordinal(n).weekday() in days:
                found.append(dt.date.fromordinal(n))
            n += 1
        return found

    def next_posting_day(self, after: dt.date) -> dt.date | None:
        """The first posting day on or after `after`, within a year and a half; None if none."""
        # A cohort paused for good, or holidays to the end of time, has no next day: the bound ends the walk.
        try:
            horizon = after + dt.timedelta(days=550)
        except OverflowError:
            horizon = dt.date.max
        found = self.posting_days(after, horizon, 1)
        return found[0] if found else None

    def _days_at(self, n: int) -> frozenset[int]:
        return self._era_days[bisect.bisect_right(self._era_starts, n) - 1]

    def _off_end(self, n: int) -> int | None:
        """The last day of the rest stretch holding ordinal `n`, or None when `n` is in none."""
        i = bisect.bisect_right(self._off_starts, n) - 1
        return self._off_ends[i] if i >= 0 and n <= self._off_ends[i] else None

    def _count(self, first: int, last: int) -> int:
        # Only the eras that hold a day of [first, last]: a fold counts gap after gap, and walking every era
        # for each gap made a cohort whose weekdays changed daily for a year cost 15 ms a member.
        total = 0
        starts = self._era_starts
        for i in range(max(bisect.bisect_right(starts, first) - 1, 0), len(starts)):
            era_start = starts[i]
            if era_start > last:
                break
            era_end = starts[i + 1] - 1 if i + 1 < len(starts) else _LAST
            lo, hi = max(first, era_start), min(last, era_end)
            if lo > hi or not self._era_days[i]:
                continue
            days = self._era_days[i]
            total += _weekdays_in(lo, hi, days)
            j = max(bisect.bisect_right(self._off_starts, lo) - 1, 0)
            while j < len(self._off_starts) and self._off_starts[j] <= hi:
                a, b = max(lo, self._off_starts[j]), min(hi, self._off_ends[j])
                if a <= b:
                    total -= _weekdays_in(a, b, days)
                j += 1
        return total


def _weekdays_in(first: int, last: int, days: frozenset[int]) -> int:
    """How many ordinals in [first, last] fall on one of `days` (0 = Monday)."""
    length = last - first + 1
    weeks, extra = divmod(length, 7)
    # Ordinal 1 (0001-01-01) was a Monday, so (n - 1) % 7 is n's weekday.
    start = (first - 1) % 7
    return weeks * len(days) + sum(1 for k in range(extra) if (start + k) % 7 in days)


def with_weekdays(cohort: Cohort, weekdays: frozenset[int], since: dt.date) -> CalendarHistory:
    """The cohort's history after its posting weekdays change from local date `since` on."""
    eras = list(cohort.history.eras) or [(dt.date.min, cohort.weekdays)]
    eras = sorted(((d, days) for d, days in eras if d < since), key=lambda era: era[0])
    # Setting the days already in force changes nothing: an era for it would only grow the history.
    if not eras or eras[-1][1] != weekdays:
        eras.append((since, weekdays))
    return CalendarHistory(tuple(eras), cohort.history.spans)


def paused_from(cohort: Cohort, day: dt.date) -> CalendarHistory:
    """The history with a pause open from local date `day`.

    A pause that ended the day before is opened again rather than joined by a new one: paused each evening
    and resumed each morning, a cohort keeps one span, not one a night.
    """
    spans = list(cohort.history.spans)
    for i, span in enumerate(spans):
        if span.kind is SpanKind.PAUSE and span.last is not None and span.last + dt.timedelta(days=1) == day:
            spans[i] = DaySpan(span.first, None, SpanKind.PAUSE)
            return CalendarHistory(cohort.history.eras, tuple(spans))
    return CalendarHistory(cohort.history.eras, (*spans, DaySpan(day, None, SpanKind.PAUSE)))


def resumed_on(cohort: Cohort, day: dt.date) -> CalendarHistory:
    """The history with every open pause closed the day before `day` (a pause of no day at all is dropped)."""
    spans = []
    for span in cohort.history.spans:
        if span.kind is SpanKind.PAUSE and span.last is None:
            if span.first >= day:
                continue
            span = DaySpan(span.first, day - dt.timedelta(days=1), SpanKind.PAUSE)
        spans.append(span)
    return CalendarHistory(cohort.history.eras, tuple(spans))
