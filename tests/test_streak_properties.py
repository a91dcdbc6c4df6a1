"""Streaks shown by the core equal a full recomputation from independently computed local dates,
across the 2026 DST changes and members changing timezone."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.streaks import summarize
from tests.conftest import Bot, text_of

# Days around the 2026 changes: US 03-08 and 11-01, EU 03-29 and 10-25.
DST_DAYS = [dt.date(2026, 3, 8), dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 11, 1)]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "Pacific/Honolulu", "Australia/Lord_Howe", None]
_names = itertools.count()

steps = st.lists(
    st.tuples(st.integers(1, 40), st.sampled_from(ZONES), st.booleans()),  # hours on, new zone, act?
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(DST_DAYS), st.integers(-72, 24), steps)
async def test_streak_shown_equals_recomputation_from_local_dates_at_action_time(
    bot: Bot, dst_day: dt.date, offset_h: int, plan: list[tuple[int, str | None, bool]]
) -> None:
    if not await bot.core.store.list_cohorts():
        await bot.say("Mia", "cohort create dst tz=Europe/Berlin days=daily")
    name = f"m{next(_names)}"
    await bot.say(name, "join dst")
    bot.clock.set(dt.datetime.combine(dst_day, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(hours=offset_h))
    zone = "Europe/Berlin"  # the cohort's, until the member sets their own
    expected: set[dt.date] = set()
    for hours, new_zone, act in plan:
        bot.clock.advance(dt.timedelta(hours=hours))
        if new_zone is not None:
            await bot.say(name, f"timezone {new_zone}")
            zone = new_zone
        if act:
            reply = await bot.say(name, "done")
            day = bot.clock.now().astimezone(ZoneInfo(zone)).date()
            if reply.error:
                # Only a repeat, or a new day bought by a timezone change, is refused.
                assert day in expected or "Nothing was recorded" in reply.text, reply.text
            else:
                expected.add(day)
    today = bot.clock.now().astimezone(ZoneInfo(zone)).date()
    want = summarize(expected, set(), today)
    shown = text_of(await bot.say(name, "streak"))
    assert f"Current: {want.current} day" in shown
    assert f"Longest: {want.longest} day" in shown
    assert f"Freezes: {want.freezes}/2" in shown
    cohort = (await bot.core.store.list_cohorts())[0]
    member = await bot.core.store.upsert_member("console", name, name)
    stored = {a.local_date for a in await bot.core.store.activities(cohort.id, member.id)}
    assert stored == expected  # dates fixed when it happened, never reinterpreted
