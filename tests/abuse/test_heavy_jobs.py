"""The heavy jobs (weekly recap, reminders, cohort export) read a cohort in a fixed number of store calls,
whatever its size, and give exactly what the one-member-at-a-time versions gave (issue 12: bounded cost)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from bot.jobs.recap import build_recap
from bot.jobs.reminders import send_reminders
from bot.kernel.types import Cohort, ConversationRef, Excusal
from bot.kernel.untrusted import verbatim
from bot.rules.streaks import summarize
from tests.conftest import Bot, text_of

SIZES = (5, 50)
TUESDAY_EVENING = dt.datetime(2026, 11, 24, 20, 30, tzinfo=dt.UTC)


def room(n: int) -> ConversationRef:
    return ConversationRef("console", "ws1", f"room{n}")


def count_calls(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count every call of the real store's public methods (one call: one round trip or one streamed read)."""
    calls: Counter[str] = Counter()
    store = bot.core.store
    for name in dir(type(store)):
        method = getattr(store, name)
        if name.startswith("_") or not callable(method):
            continue

        def counted(*args: Any, _name: str = name, _method: Callable[..., Any] = method, **kw: Any) -> Any:
            calls[_name] += 1
            return _method(*args, **kw)

        monkeypatch.setattr(store, name, counted)
    return calls


async def cohort_of(bot: Bot, size: int) -> Cohort:
    """Cohort `c<size>` of `size` members, active on two days with gaps and an excusal or two, one gone."""
    bot.core.limiter = None  # many members acting in one test is the point, not spam
    where = room(size)
    reply = await bot.say(
        "Mia", f"cohort create c{size} time=09:00 tz=UTC days=daily start=2026-11-10", where
    )
    assert not reply.error, reply.text
    names = [f"=m{size}x{i}" if i % 7 == 0 else f"m{size}x{i}" for i in range(size)]
    for name in names:
        assert not (await bot.say(name, f"join c{size}", where)).error
    for back in (4, 2, 1):
        bot.clock.set(TUESDAY_EVENING - dt.timedelta(days=back, hours=8))
        for i, name in enumerate(names):
            if (i + back) % 3:
                assert not (await bot.say(name, f"done note {i}", where)).error
    cohort = await bot.core.store.find_cohort("console", "ws1", f"c{size}")
    assert cohort is not None
    for m in (await bot.core.store.cohort_members(cohort.id))[::4]:
        day = TUESDAY_EVENING.date() - dt.timedelta(days=3)
        await bot.core.store.add_excusal(Excusal(m.id, cohort.id, day, "bot down", "mia", bot.clock.now()))
    assert not (await bot.say(names[1], f"leave c{size}", where)).error  # their ledger rows stay
    bot.clock.set(TUESDAY_EVENING)
    return cohort


async def old_export(bot: Bot, cohort: Cohort) -> tuple[bytes, bytes]:
    """The export as it was built before, one member at a time: the reference for the bytes."""
    store, now = bot.core.store, bot.clock.now()
    from bot.features.moderation import _csv_row
    from bot.kernel.clock import local_date

    members = await store.cohort_members(cohort.id)
    scores = {s.member_id: s for s in await store.scores(cohort.id)}
    people = io.StringIO()
    out = csv.writer(people)
    out.writerow(
        _csv_row(
            [
                *("member", "user_id", "timezone", "current_streak", "longest_streak", "freezes"),
                *("points", "answers", "correct", "checkins"),
            ]
        )
    )
    for m in sorted(members, key=lambda m: m.name.casefold()):
        active, excused = await store.member_days(cohort.id, m.id)
        s = summarize(active, excused, local_date(now, m.timezone or cohort.timezone))
        sc = scores.get(m.id)
        out.writerow(
            _csv_row(
                [m.name, m.user_id, m.timezone or cohort.timezone, s.current, s.longest, s.freezes]
                + ([sc.points, sc.answers, sc.correct, sc.checkins] if sc else [0, 0, 0, 0])
            )
        )
    names = {m.id: m for m in members}
    ledger = io.StringIO()
    out = csv.writer(ledger)
    out.writerow(
        ["local_date", "member", "user_id", "kind", "challenge_post", "choice", "correct", "points", "note"]
    )
    for a in await store.activities(cohort.id):
        who = names.get(a.member_id) or await store.get_member(a.member_id)
        out.writerow(
            _csv_row(
                [
                    a.local_date.isoformat(),
                    who.name if who else a.member_id,
                    who.user_id if who else "",
                    a.kind.value,
                    a.post_id or "",
                    a.choice or "",
                    "" if a.correct is None else a.correct,
                    a.points,
                    a.note,
                ]
            )
        )
    return people.getvalue().encode(), ledger.getvalue().encode()


async def test_export_reads_a_cohort_in_the_same_calls_whatever_its_size_and_its_bytes_are_unchanged(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cohorts = [await cohort_of(bot, n) for n in SIZES]
    expected = [await old_export(bot, c) for c in cohorts]
    calls = count_calls(bot, monkeypatch)
    per_size = []
    for n, want in zip(SIZES, expected, strict=True):
        calls.clear()
        reply = await bot.say("Mia", f"cohort export c{n}", room(n))
        assert not reply.error, reply.text
        assert (reply.attachments[0].data, reply.attachments[1].data) == want
        per_size.append(dict(calls))
        rows = list(csv.reader(io.StringIO(reply.attachments[1].data.decode())))
        assert len(rows) > 2 * n  # the test exercises a real ledger
    assert per_size[0] == per_size[1]
    assert "member_days" not in per_size[1] and "get_member" not in per_size[1]


async def test_the_weekly_recap_reads_a_cohort_in_the_same_calls_whatever_its_size(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cohorts = [await cohort_of(bot, n) for n in SIZES]
    calls = count_calls(bot, monkeypatch)
    per_size, texts = [], []
    for cohort in cohorts:
        calls.clear()
        reply = await build_recap(bot.core, cohort, TUESDAY_EVENING.date())
        assert reply is not None
        per_size.append(dict(calls))
        texts.append(text_of(reply))
    assert per_size[0] == per_size[1]
    # The longest streaks, exactly as folded one member at a time.
    for cohort, shown in zip(cohorts, texts, strict=True):
        expected = []
        for m in await bot.core.store.cohort_members(cohort.id):
            active, excused = await bot.core.store.member_days(cohort.id, m.id)
            current = summarize(active, excused, TUESDAY_EVENING.date()).current
            if current:
                expected.append((current, m.name))
        expected.sort(key=lambda s: (-s[0], s[1].casefold()))
        line = ", ".join(f"{verbatim(name)} 🔥{n}" for n, name in expected[:5])
        assert line and f"Longest streaks: {line}\n" in shown


async def test_reminders_for_fifty_members_due_at_once_take_a_fixed_number_of_store_calls(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cohort = await cohort_of(bot, 50)
    members = await bot.core.store.cohort_members(cohort.id)
    for m in members:
        await bot.core.store.set_reminder(m.id, dt.time(20))
    # Who should get one, decided the old way: a running streak, nothing done today.
    expected = set()
    for m in members:
        active, excused = await bot.core.store.member_days(cohort.id, m.id)
        streak = summarize(active, excused, TUESDAY_EVENING.date())
        if streak.today.value == "at_risk":
            expected.add((m.user_id, f"🔥 {streak.current} day" + ("s" if streak.current != 1 else "")))
    assert len(expected) > 20
    calls = count_calls(bot, monkeypatch)
    sent = await send_reminders(bot.core, {"console": bot.platform})
    assert sent == len(expected)
    got = {
        (user_id, text_of(reply).split(" in ")[0].split("\n")[-1]) for user_id, reply in bot.platform.direct
    }
    assert got == expected
    assert sum(calls.values()) <= 6, calls  # not one or two per member
    calls.clear()
    assert await send_reminders(bot.core, {"console": bot.platform}) == 0  # decided once a day
