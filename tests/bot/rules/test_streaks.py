"""The streak rules, by example and by property."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.streaks import EMPTY, MAX_FREEZES, DayStatus, settle, summarize

D0 = dt.date(2026, 3, 1)


def days(*offsets: int) -> set[dt.date]:
    return {D0 + dt.timedelta(days=o) for o in offsets}


def day(offset: int) -> dt.date:
    return D0 + dt.timedelta(days=offset)


def test_streak_counts_consecutive_days_ending_today() -> None:
    s = summarize(days(0, 1, 2), set(), day(2))
    assert (s.current, s.longest, s.today) == (3, 3, DayStatus.DONE)


def test_today_not_yet_active_is_at_risk_not_broken() -> None:
    s = summarize(days(0, 1, 2), set(), day(3))
    assert (s.current, s.today) == (3, DayStatus.AT_RISK)


def test_a_missed_day_without_freezes_breaks_the_streak_but_longest_is_kept() -> None:
    s = summarize(days(0, 1, 2, 4), set(), day(4))
    assert (s.current, s.longest) == (1, 3)
    s = summarize(days(0, 1, 2), set(), day(4))
    assert (s.current, s.longest, s.today) == (0, 3, DayStatus.NONE)


def test_seven_active_days_earn_a_freeze_that_covers_a_missed_day() -> None:
    active = days(*range(7))
    assert summarize(active, set(), day(6)).freezes == 1
    s = summarize(active | days(8), set(), day(8))  # day 7 missed
    assert (s.current, s.freezes, s.frozen) == (8, 0, frozenset(days(7)))


def test_at_most_two_freezes_are_held() -> None:
    s = summarize(days(*range(28)), set(), day(27))
    assert s.freezes == MAX_FREEZES


def test_two_missed_days_with_one_freeze_break_the_streak() -> None:
    s = summarize(days(*range(7), 9), set(), day(9))
    assert s.current == 1


def test_an_excused_day_keeps_the_streak_without_adding_to_it() -> None:
    s = summarize(days(0, 1, 3), days(2), day(3))
    assert (s.current, s.longest, s.freezes) == (3, 3, 0)
    assert summarize(days(0, 1), days(2), day(2)).today is DayStatus.EXCUSED


def reference(active: set[dt.date], excused: set[dt.date], today: dt.date) -> tuple[int, int, int]:
    """An independent reading of the rules: walk every day since the first, the way a person would."""
    if not active and not excused:
        return 0, 0, 0
    run = best = freezes = 0
    d = min(active | excused)
    while d <= today:
        if d in active:
            run += 1
            best = max(best, run)
            if run % 7 == 0 and freezes < 2:
                freezes += 1
        elif d in excused or d == today:
            pass
        elif run and freezes:
            freezes -= 1
        else:
            run = 0
        d += dt.timedelta(days=1)
    return run, best, freezes


ledgers = st.tuples(
    st.sets(st.integers(0, 60), max_size=50),
    st.sets(st.integers(0, 60), max_size=8),
    st.integers(0, 70),
)


@given(ledgers)
def test_summary_matches_an_independent_reading_of_the_rules(ledger: tuple[set[int], set[int], int]) -> None:
    act, exc, t = ledger
    active, excused, today = days(*act), days(*exc) - days(*act), day(t)
    active = {d for d in active if d <= today}
    excused = {d for d in excused if d <= today}
    s = summarize(active, excused, today)
    assert (s.current, s.longest, s.freezes) == reference(active, excused, today)


@given(ledgers, st.integers(0, 70))
def test_a_cached_fold_continued_later_equals_a_full_recomputation(
    ledger: tuple[set[int], set[int], int], split: int
) -> None:
    """A cached fold up to some day, continued to a later day, equals folding from scratch."""
    act, exc, t = ledger
    active, excused = days(*act), days(*exc)
    cached = settle(EMPTY, active, excused, day(min(split, t)))
    assert settle(cached, active, excused, day(t)) == settle(EMPTY, active, excused, day(t))


@settings(max_examples=50)
@given(st.lists(st.integers(0, 400), max_size=120), st.integers(0, 400))
def test_longest_is_never_below_current(offsets: list[int], t: int) -> None:
    s = summarize(days(*offsets), set(), day(t))
    assert 0 <= s.current <= s.longest
    assert 0 <= s.freezes <= MAX_FREEZES
